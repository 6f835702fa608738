"""Private PostgreSQL and Redis under the data directory, for single-machine installs.

When DATABASE_URL / REDIS_URL are set, nothing here runs: those servers are used.
Otherwise a private instance is created once (initdb) and started if its port is
closed, so `pbx run` and the test suite work on a fresh machine with nothing running.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

from pbx.config import Settings
from pbx.errors import PbxError
from pbx.logging import get_logger

log = get_logger(__name__)


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _wait_port(host: str, port: int, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        time.sleep(0.1)
    raise PbxError(f"{what} did not start listening on {host}:{port} within {timeout:.0f}s")


def _pg_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise PbxError("PostgreSQL is not installed: run scripts/setup.sh (apt package postgresql)")
    return Path(found[-1]).parent


def _as_postgres_user(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; use the package's system user then.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def ensure_postgres(settings: Settings) -> None:
    if settings.database_url or port_open("127.0.0.1", settings.private_pg_port):
        return
    bindir = _pg_bindir()
    data = settings.pg_dir.resolve()
    data.parent.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        data.mkdir(exist_ok=True)
        os.chown(data, pw.pw_uid, pw.pw_gid)
        # postgres must be able to reach the directory through its parents.
        for parent in data.parents:
            if parent == Path("/"):
                break
            parent.chmod(parent.stat().st_mode | 0o011)
    if not (data / "PG_VERSION").exists():
        log.info("initdb", dir=str(data))
        subprocess.run(
            _as_postgres_user(
                [str(bindir / "initdb"), "-D", str(data), "-U", "pbx", "--auth=trust", "-E", "UTF8"]
            ),
            check=True,
            capture_output=True,
        )
    logfile = data / "server.log"
    opts = (
        f"-p {settings.private_pg_port} -c listen_addresses=127.0.0.1 "
        f"-c unix_socket_directories={data} -c max_connections=200 -c fsync=off"
    )
    subprocess.run(
        _as_postgres_user(
            [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(logfile), "-o", opts, "-w", "start"]
        ),
        check=True,
        capture_output=True,
    )
    _wait_port("127.0.0.1", settings.private_pg_port, "PostgreSQL")
    created = subprocess.run(
        _as_postgres_user(
            [
                str(bindir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(settings.private_pg_port),
                "-U",
                "pbx",
                "pbx",
            ]
        ),
        capture_output=True,
        text=True,
    )
    if created.returncode != 0 and "already exists" not in created.stderr:
        raise PbxError(f"createdb failed: {created.stderr.strip()}")


def ensure_redis(settings: Settings) -> None:
    if settings.redis_url or port_open("127.0.0.1", settings.private_redis_port):
        return
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(server).exists():
        raise PbxError("Redis is not installed: run scripts/setup.sh (apt package redis-server)")
    data = settings.redis_dir.resolve()
    data.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            server,
            "--port",
            str(settings.private_redis_port),
            "--bind",
            "127.0.0.1",
            "--daemonize",
            "yes",
            "--dir",
            str(data),
            "--save",
            "",
            "--logfile",
            str(data / "redis.log"),
            "--pidfile",
            str(data / "redis.pid"),
        ],
        check=True,
        capture_output=True,
    )
    _wait_port("127.0.0.1", settings.private_redis_port, "Redis")


def ensure_services(settings: Settings) -> None:
    ensure_postgres(settings)
    ensure_redis(settings)


def stop_services(settings: Settings) -> None:
    """Stop the private instances this installation started (never external ones)."""
    if not settings.database_url and (settings.pg_dir / "postmaster.pid").exists():
        subprocess.run(
            _as_postgres_user(
                [
                    str(_pg_bindir() / "pg_ctl"),
                    "-D",
                    str(settings.pg_dir.resolve()),
                    "-m",
                    "fast",
                    "stop",
                ]
            ),
            capture_output=True,
        )
    pidfile = settings.redis_dir / "redis.pid"
    if not settings.redis_url and pidfile.exists():
        try:
            os.kill(int(pidfile.read_text().strip()), 15)
        except (ProcessLookupError, ValueError):
            pass
