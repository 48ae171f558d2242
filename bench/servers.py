"""Start uvicorn servers on loopback as subprocesses, wait until they answer, stop them cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[1]


class BenchError(RuntimeError):
    """A benchmark step failed in a way the report must show."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """The parent's environment without BENZO_CDS_* (so runs are comparable), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENZO_CDS_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


class Server:
    """One `uvicorn APP` process group on 127.0.0.1; use as a context manager."""

    def __init__(
        self,
        name: str,
        app: str,
        *,
        workers: int = 1,
        env: dict[str, str] | None = None,
        ready_path: str = "/cds-services",
        log_dir: Path,
        port: int | None = None,
    ) -> None:
        self.name = name
        self.app = app
        self.workers = workers
        self.env = clean_env(env or {})
        self.ready_path = ready_path
        self.port = port or free_port()
        self.log_path = log_dir / f"{name}-w{workers}-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout_s: float = 60.0) -> Server:
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            self.app,
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        with self.log_path.open("wb") as log:
            # A new session makes the server and its workers one process group to signal.
            self.process = subprocess.Popen(
                cmd,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_ready(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout_s: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        ready_hits = 0
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(
                    f"{self.name} exited with {self.process.returncode} during "
                    f"start-up:\n{self.log_tail()}"
                )
            # With --workers > 1 uvicorn's supervisor keeps respawning a worker that cannot import.
            if "Traceback (most recent call last)" in self.log_tail(10_000):
                raise BenchError(f"{self.name} failed during start-up:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.base_url + self.ready_path, timeout=2) as reply:
                    if reply.status == 200:
                        ready_hits += 1
                        # Each new connection may land on another worker: see all of them up.
                        if ready_hits >= self.workers * 3:
                            return
                        continue
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise BenchError(
            f"{self.name} did not answer GET {self.ready_path} within "
            f"{timeout_s:.0f} s:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        except ProcessLookupError:
            pass

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
