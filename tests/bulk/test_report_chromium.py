"""The dry-run report in real headless Chromium: every chart renders, with visible bars."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from app.bulk.run import HTML_NAME, DryRun
from app.bulk.svg import PALETTE
from tests.preview import png_pixels

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
requires_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary on PATH (apt-get install chromium)"
)

# Added to a copy of the report only: measures what the browser actually laid out.
_MEASURE = """<script>
const charts = [...document.querySelectorAll('svg')].map(svg => {
  const box = svg.getBoundingClientRect();
  const bars = [...svg.querySelectorAll('rect')].filter(r => r.getBBox().width > 0
                                                        && r.getBBox().height > 0);
  return {title: svg.querySelector('title').textContent, width: box.width,
          height: box.height, bars: bars.length};
});
const out = document.createElement('pre');
out.id = 'measured';
out.textContent = JSON.stringify(charts);
document.body.appendChild(out);
</script>"""


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=5000",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@requires_chromium
def test_report_charts_render_with_bars(local_run: DryRun, tmp_path: Path) -> None:
    page = (local_run.out / HTML_NAME).read_text(encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", _MEASURE + "</body>"), encoding="utf-8")
    result = _chromium(tmp_path / "profile", "--dump-dom", probe.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    found = re.search(r'<pre id="measured">(.*?)</pre>', result.stdout, flags=re.S)
    assert found, "the page did not run in the browser"
    charts = {c["title"]: c for c in json.loads(found.group(1).replace("&quot;", '"'))}
    assert len(charts) == 5
    for title, chart in charts.items():
        assert chart["width"] > 300 and chart["height"] > 50, title
    by_title = {t.split(",")[0].split(" by ")[0]: c for t, c in charts.items()}
    # The `all` mix puts every patient on an opioid and a benzodiazepine: every chart has data.
    assert by_title["Cards per 1"]["bars"] >= 3 * 4  # age bands x rules that fired
    assert by_title["Overlap cards"]["bars"] >= 1
    assert by_title["Patients on a BZRA"]["bars"] >= 1
    assert by_title["Patients with a card"]["bars"] >= 3
    assert by_title["Current BZRA and opioid orders"]["bars"] >= 1


@requires_chromium
def test_report_screenshot_shows_the_charts(local_run: DryRun, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    result = _chromium(
        tmp_path / "profile",
        f"--screenshot={shot}",
        "--window-size=1000,1400",
        (local_run.out / HTML_NAME).as_uri(),
    )
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    assert png_pixels.size(shot) == (1000, 1400)
    pixels = {p for row in png_pixels.top_rows(shot, 1400) for p in row}
    bar_blue = tuple(int(PALETTE[0][i : i + 2], 16) for i in (1, 3, 5))
    assert bar_blue in pixels, "no chart bar drawn in the first screen"
