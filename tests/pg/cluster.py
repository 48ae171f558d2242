"""A throwaway PostgreSQL cluster on loopback for tests and CI (`python -m tests.pg.cluster`).

PostgreSQL refuses to run as root, so when the tests run as root (CI does) every server command
runs as the unprivileged `postgres` user that Debian's package creates. The cluster trusts
loopback connections and trades durability for speed (fsync off): it holds test data only.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

SERVER_USER = "postgres"
_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",  # TCP only: no socket in a shared /var/run
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "32MB",
}


class ClusterError(RuntimeError):
    """The cluster could not be created, started or stopped."""


def find_bin(name: str) -> str | None:
    """A PostgreSQL server binary from PATH or Debian's /usr/lib/postgresql/<major>/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return candidates[-1] if candidates else None


def unavailable_reason() -> str | None:
    """Why no throwaway cluster can be started here, or None when one can."""
    if find_bin("initdb") is None or find_bin("pg_ctl") is None:
        return (
            "PostgreSQL server binaries (initdb, pg_ctl) not found; install Debian's "
            "`postgresql` package or set BENZO_CDS_TEST_POSTGRES_URL"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root and there is no `{SERVER_USER}` user to run PostgreSQL"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgCluster:
    """initdb + pg_ctl in a private directory; start/stop keep the same port and data."""

    def __init__(self, directory: Path | None = None, port: int | None = None) -> None:
        self.dir = Path(directory or tempfile.mkdtemp(prefix="benzo-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.port = port or free_port()

    @property
    def url(self) -> str:
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        return f"postgresql+asyncpg://{SERVER_USER}@127.0.0.1:{self.port}/{name}"

    def init(self) -> PgCluster:
        if self.data.exists():
            return self
        self.dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        self._run(
            [
                find_bin("initdb") or "initdb",
                "-D",
                str(self.data),
                "-U",
                SERVER_USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ]
        )
        lines = [f"{key} = {value}" for key, value in _SETTINGS.items()]
        lines.append(f"port = {self.port}")
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# benzo-safety-cds test cluster\n" + "\n".join(lines) + "\n")
        return self

    def start(self) -> PgCluster:
        self.init()
        self._run(
            [
                find_bin("pg_ctl") or "pg_ctl",
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                "-t",
                "60",
                "start",
            ]
        )
        return self

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(
                [
                    find_bin("pg_ctl") or "pg_ctl",
                    "-D",
                    str(self.data),
                    "-m",
                    mode,
                    "-w",
                    "-t",
                    "60",
                    "stop",
                ]
            )

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; returns its URL."""
        return create_database(self.url, prefix)

    def _run(self, argv: list[str]) -> None:
        kwargs: dict[str, Any] = {}
        if os.geteuid() == 0:
            kwargs = {
                "user": SERVER_USER,
                "group": pwd.getpwnam(SERVER_USER).pw_gid,
                "extra_groups": [],
            }
        done = subprocess.run(
            argv, cwd=self.dir, capture_output=True, text=True, check=False, timeout=120, **kwargs
        )
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise ClusterError(
                f"{Path(argv[0]).name} failed ({done.returncode}): "
                f"{done.stderr.strip()[-2000:]}\n{log}"
            )


def asyncpg_dsn(url: str) -> str:
    """The same URL without SQLAlchemy's driver suffix, for asyncpg itself."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _admin(url: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(asyncpg_dsn(url), timeout=30)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def create_database(server_url: str, prefix: str = "t") -> str:
    """A new empty database on the server `server_url` points at; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    run_async(_admin(server_url, f'CREATE DATABASE "{name}"'))
    base, _, _ = server_url.rpartition("/")
    return f"{base}/{name}"


def drop_database(database_url: str) -> None:
    base, _, name = database_url.rpartition("/")
    run_async(_admin(f"{base}/postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def run_async(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine to completion from sync code, even when an event loop is running."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coro)
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
            result["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


def main(argv: list[str] | None = None) -> int:
    """`start DIR` prints the server URL; `stop DIR` stops it (used by .ci/run)."""
    parser = argparse.ArgumentParser(prog="python -m tests.pg.cluster", description=main.__doc__)
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    port_file = args.directory / "port"
    if args.action == "start":
        reason = unavailable_reason()
        if reason:
            print(reason, file=sys.stderr)  # noqa: T201
            return 1
        cluster = PgCluster(args.directory).start()
        port_file.write_text(str(cluster.port), encoding="utf-8")
        print(cluster.url)  # noqa: T201
        return 0
    if port_file.exists():
        PgCluster(args.directory, int(port_file.read_text(encoding="utf-8"))).stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
