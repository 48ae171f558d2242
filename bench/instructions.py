"""Instructions per in-process call under callgrind: a speed figure the machine's noise cannot move.

`python -m bench.instructions [--calls 30] [--patients 30] [--cases ...]` runs each case in
its own process under `valgrind --tool=callgrind --instr-atstart=no`: start-up and warm-up run
uninstrumented; then instrumentation goes on, counters are zeroed, the calls rotate through
distinct patients, and the dump is read. The cost of the control round-trip itself (an empty
segment) is subtracted. Warm-up runs other patients first (bench.inprocess.WARMUP_SEED).
The floor cases are the same ASGI apps the wrk benchmark serves.
BENZO_CDS_* variables reach the service (BENZO_CDS_TYPED_DECODE=false: the lenient reader).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import site
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.inprocess import CASES, SERVICE_PATH, WARMUP_SEED, bodies, call, check, running

ROOT = Path(__file__).resolve().parents[1]
WARMUP = 5


def _control(*args: str) -> None:
    """callgrind_control on this very process; it returns once the command took effect."""
    subprocess.run(
        ["callgrind_control", *args, str(os.getpid())], check=True, capture_output=True, timeout=600
    )


async def _child(case_name: str, calls: int, patients: int, warmup: int) -> None:
    case = CASES[case_name]
    payloads = bodies(case, patients)
    warm = bodies(case, warmup, WARMUP_SEED)
    path = SERVICE_PATH[case.hook]
    async with running(case) as app:
        for body in warm:
            check(await call(app, path, body))
        _control("-i", "on")
        for body in warm[:WARMUP]:  # re-translate the hot code under instrumentation
            check(await call(app, path, body))
        _control("-z")
        _control("-d", "empty")
        _control("-z")
        for index in range(calls):
            check(await call(app, path, payloads[index % len(payloads)]))
        _control("-d", "calls")


def _summary(path: Path) -> int:
    found = re.search(r"^summary: (\d+)", path.read_text(encoding="utf-8"), re.MULTILINE)
    if found is None:
        raise RuntimeError(f"no summary in {path}")
    return int(found.group(1))


def measure(case: str, calls: int, patients: int, warmup: int) -> dict[str, float]:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise RuntimeError("valgrind is not installed (apt-get install -y valgrind)")
    python = os.path.realpath(sys.executable)  # valgrind must run the interpreter, not a shim
    with tempfile.TemporaryDirectory(prefix="benzo-callgrind-") as tmp:
        out = Path(tmp) / "cg.out"
        # The real interpreter does not see the virtualenv it was started from: name its
        # site-packages.
        paths = [str(ROOT), *site.getsitepackages()]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "BENZO_CDS_LOG_LEVEL": "WARNING"}
        done = subprocess.run(
            [
                valgrind,
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={out}",
                python,
                "-m",
                "bench.instructions",
                "--child",
                case,
                "--calls",
                str(calls),
                "--patients",
                str(patients),
                "--warmup",
                str(warmup),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        dumps = sorted(Path(tmp).glob("cg.out.*"), key=lambda p: int(p.suffix[1:]))
        if done.returncode != 0 or len(dumps) < 2:
            raise RuntimeError(f"callgrind run of {case} failed:\n{done.stderr[-2000:]}")
        empty, total = _summary(dumps[0]), _summary(dumps[1])
    return {
        "instructions_per_call": (total - empty) / calls,
        "calls": calls,
        "patients": patients,
        "warmup": warmup,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.instructions",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument(
        "--patients",
        type=int,
        default=30,
        help="distinct patients rotated through (bench.data.rotation)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=300,
        help="calls on other patients first (caches as a running worker's)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    args = parser.parse_args(argv)
    if args.child:
        asyncio.run(_child(args.child, args.calls, args.patients, args.warmup))
        return 0
    results = {}
    for case in args.cases:
        results[case] = measure(case, args.calls, args.patients, args.warmup)
        print(
            f"{case:24s} {results[case]['instructions_per_call'] / 1e6:9.2f} M instructions"
            " per call",
            flush=True,
        )
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
