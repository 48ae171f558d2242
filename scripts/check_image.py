"""Run the Dockerfile's steps without a container daemon: fresh venv, its pip step, its CMD.

What it proves, on the files the image would hold:
- the image's `RUN pip install` step installs the service from the copied files alone;
- its CMD (development defaults, 0.0.0.0) refuses to start, exit 2, naming BENZO_CDS_DEMO;
- with BENZO_CDS_DEMO=true (served on loopback here) the HEALTHCHECK passes, the preview lists
  the copied fixtures, `benzo-cds demo` shows their listed cards, and SQLite writes to /data.

Paths the image uses (/srv, /data) are mapped into a temporary folder. Needs network for pip.
Exit 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Image:
    """The parts of a Dockerfile this check replays."""

    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    copies: list[tuple[str, str]] = field(default_factory=list)  # (source, destination)
    runs: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    user: str = ""


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def _exec_form(text: str) -> list[str]:
    return json.loads(text) if text.startswith("[") else ["sh", "-c", text]


def parse_dockerfile(text: str) -> Image:
    image = Image()
    for word, rest in instructions(text):
        if word == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                image.env[key] = value
        elif word == "WORKDIR":
            image.workdir = rest
        elif word == "COPY":
            parts = shlex.split(rest)
            for source in parts[:-1]:
                image.copies.append((source, parts[-1]))
        elif word == "RUN":
            image.runs.append(rest)
        elif word == "VOLUME":
            image.volumes += json.loads(rest) if rest.startswith("[") else rest.split()
        elif word == "HEALTHCHECK":
            image.healthcheck = _exec_form(rest.split(" CMD ", 1)[1].strip())
        elif word == "CMD":
            image.cmd = _exec_form(rest)
        elif word == "USER":
            image.user = rest
    return image


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Check:
    def __init__(self) -> None:
        self.failures: list[str] = []

    def __call__(self, ok: bool, what: str, detail: str = "") -> None:
        shown = "" if ok or not detail else f"\n     {detail}"
        print(f"{'ok  ' if ok else 'FAIL'} {what}{shown}", flush=True)
        if not ok:
            self.failures.append(what)


def _stage(image: Image, srv: Path) -> None:
    """Copy what the Dockerfile copies, from the checkout into the mapped WORKDIR."""
    for source, destination in image.copies:
        target = (
            srv / destination
            if not destination.startswith("/")
            else Path(str(srv) + destination.removeprefix(image.workdir))
        )
        origin = ROOT / source
        if destination.endswith("/") or destination in ("./", "."):
            target = target / Path(source).name
        target.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_dir():
            shutil.copytree(
                origin,
                target,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
        else:
            shutil.copy2(origin, target)


def _mapped(value: str, mapping: dict[str, str]) -> str:
    for old, new in mapping.items():
        value = value.replace(old, new)
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    image = parse_dockerfile((ROOT / "Dockerfile").read_text(encoding="utf-8"))
    check = Check()
    check("/data" in image.volumes, "/data is a declared VOLUME")
    check(bool(image.user) and image.user not in ("root", "0"), "runs as a non-root user")
    work = Path(tempfile.mkdtemp(prefix="benzo-image-"))
    try:
        srv, data, home = work / "srv", work / "data", work / "home"
        for folder in (srv, data, home):
            folder.mkdir()
        _stage(image, srv)
        mapping = {"/srv": str(srv), "/data": str(data)}
        venv = work / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("BENZO_CDS_", "PYTHON", "VIRTUAL_ENV"))
        }
        env.update({k: _mapped(v, mapping) for k, v in image.env.items()})
        env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", HOME=str(home))
        for step in image.runs:
            if "pip install" not in step:
                continue  # user and folder set-up: mapped above
            started = time.monotonic()
            done = subprocess.run(
                ["sh", "-c", step], cwd=srv, env=env, capture_output=True, text=True, check=False
            )
            check(
                done.returncode == 0,
                f"RUN {step}  ({time.monotonic() - started:.0f} s)",
                done.stderr[-2000:],
            )
        if check.failures:
            return 1
        # The CMD as written: development defaults on 0.0.0.0 must refuse before binding.
        refused = subprocess.run(
            image.cmd, cwd=home, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        check(
            refused.returncode == 2
            and "BENZO_CDS_DEMO" in refused.stderr
            and "Traceback" not in refused.stderr,
            "CMD in development mode on 0.0.0.0 refuses (exit 2, names BENZO_CDS_DEMO)",
            f"exit {refused.returncode}: {refused.stderr[-1000:]}",
        )
        _demo_run(image, env, home, data, check)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("image steps OK" if not check.failures else f"{len(check.failures)} check(s) failed")
    return 1 if check.failures else 0


def _demo_run(image: Image, env: dict[str, str], home: Path, data: Path, check: Check) -> None:
    """The CMD with BENZO_CDS_DEMO=true, on loopback and a free port (this is no container)."""
    port = free_port()
    command = [_mapped(part, {"0.0.0.0": "127.0.0.1", "8000": str(port)}) for part in image.cmd]
    demo_env = env | {"BENZO_CDS_DEMO": "true"}
    server = subprocess.Popen(
        command, cwd=home, env=demo_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        health = [part.replace("8000", str(port)) for part in image.healthcheck]
        deadline = time.monotonic() + 60
        healthy = False
        while time.monotonic() < deadline and server.poll() is None and not healthy:
            healthy = (
                subprocess.run(health, env=demo_env, capture_output=True, check=False).returncode
                == 0
            )
            time.sleep(0.5)
        if not healthy:
            server.terminate()
            output = server.communicate(timeout=20)[0] or ""
            check(False, "with BENZO_CDS_DEMO=true the HEALTHCHECK passes", output[-2000:])
            return
        check(True, "with BENZO_CDS_DEMO=true the HEALTHCHECK passes")
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/preview/fixtures", timeout=10) as answer:
            listed = json.load(answer)
        check(
            any(p.startswith("hooks/") for p in listed),
            f"the preview lists the image's fixtures ({len(listed)})",
        )
        demo = subprocess.run(
            ["benzo-cds", "demo", "--url", base],
            cwd=home,
            env=demo_env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        check(
            demo.returncode == 0 and "0 different" in demo.stdout,
            "`benzo-cds demo` in the image: every fixture shows its listed cards",
            demo.stdout[-1500:] + demo.stderr[-500:],
        )
        check((data / "benzo_cds.db").is_file(), "the SQLite store is written under /data")
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


if __name__ == "__main__":
    sys.exit(main())
