"""Start Kamailio in the foreground, wait until it answers SIP, restart it if it dies.

The caller keeps permissions' address table in sync (``sync_trusted_engines``) before
``start()`` and before ``reload()``: the supervisor owns the process, not the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import secrets
import shutil
import signal
import socket
import time
from collections import deque
from pathlib import Path
from typing import Any

from pbx.config import Settings
from pbx.edge.config import ctl_socket, edge_dir, render, write_dispatcher_list
from pbx.errors import PbxError
from pbx.logging import get_logger

log = get_logger(__name__)

LOG_ROTATE_BYTES = 10 * 1024 * 1024


class _OptionsProbe(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.answered: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if not self.answered.done():
            self.answered.set_result(data.decode(errors="replace").split("\r\n", 1)[0])

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable: nobody listens yet.
        if not self.answered.done():
            self.answered.set_result(None)


async def sip_ping(host: str, port: int, timeout: float = 0.5) -> bool:
    """One OPTIONS over UDP; True if a SIP response comes back."""
    loop = asyncio.get_running_loop()
    transport, probe = await loop.create_datagram_endpoint(
        _OptionsProbe, local_addr=(host, 0), remote_addr=(host, port)
    )
    try:
        lport = transport.get_extra_info("sockname")[1]
        tag = secrets.token_hex(6)
        msg = (
            f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {host}:{lport};branch=z9hG4bK{tag};rport\r\n"
            f"From: <sip:probe@{host}>;tag={tag}\r\nTo: <sip:{host}:{port}>\r\n"
            f"Call-ID: {tag}@{host}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 5\r\n"
            "User-Agent: tgpbx-supervisor\r\nContent-Length: 0\r\n\r\n"
        )
        transport.sendto(msg.encode())
        status = await asyncio.wait_for(probe.answered, timeout)
        return status is not None and status.startswith("SIP/2.0 ")
    except TimeoutError:
        return False
    finally:
        transport.close()


def _probe_host(host: str) -> str:
    return {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)


def port_in_use(host: str, port: int) -> str | None:
    """Which of UDP/TCP host:port another process already holds (None if both are free)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for kind, name in ((socket.SOCK_DGRAM, "udp"), (socket.SOCK_STREAM, "tcp")):
        with socket.socket(family, kind) as s:
            if kind == socket.SOCK_STREAM:
                # As Kamailio does: a connection in TIME_WAIT does not hold the port.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, port))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return name
                raise PbxError(f"cannot use {host}:{port} for the SIP edge: {exc}") from exc
    return None


class KamailioSupervisor:
    """Owns one Kamailio process (and its process group).

    ``start()`` renders and checks the config, starts Kamailio and returns once it answers
    an OPTIONS on the SIP port. If Kamailio exits unexpectedly it is restarted after a
    backoff (1 s doubling to 30 s); after ``max_restarts`` restarts within
    ``restart_window`` seconds the supervisor gives up and ``status()["failed"]`` says why.
    """

    def __init__(
        self,
        settings: Settings,
        db_url: str,
        start_timeout: float = 20.0,
        max_restarts: int = 5,
        restart_window: float = 300.0,
    ) -> None:
        self.settings = settings
        self.db_url = db_url
        self.start_timeout = start_timeout
        self.max_restarts = max_restarts
        self.restart_window = restart_window
        self.dir = edge_dir(settings)
        self.log_path = self.dir / "kamailio.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self.last_exit: int | None = None
        self.failed: str | None = None
        self._started_at = 0.0
        self._stopping = False
        self._watch: asyncio.Task[None] | None = None

    # --- lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            raise PbxError(f"Kamailio is already running (pid {self.proc.pid})")
        cfg = await render(self.settings, self.db_url)
        self._rotate_log()
        self._stopping = False
        self.failed = None
        await self._spawn(cfg)
        self._watch = asyncio.create_task(self._watchdog(cfg), name="kamailio-watchdog")

    async def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds; only the process we started."""
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
        await self._terminate(grace)

    def status(self) -> dict[str, Any]:
        running = self.proc is not None and self.proc.returncode is None
        return {
            "running": running,
            "pid": self.proc.pid if self.proc else None,
            "restarts": self.restarts,
            "last_exit": self.last_exit,
            "failed": self.failed,
            "log": str(self.log_path),
        }

    # --- management ------------------------------------------------------------
    async def rpc(self, *command: str, timeout: float = 5.0) -> str:
        """One RPC command over Kamailio's control socket (kamcmd), e.g. ``dispatcher.list``."""
        kamcmd = Path(self.settings.kamailio_bin).with_name("kamcmd")
        binary = str(kamcmd) if kamcmd.exists() else shutil.which("kamcmd")
        if binary is None:
            raise PbxError("kamcmd not found: install the kamailio package")
        proc = await asyncio.create_subprocess_exec(
            binary,
            "-s",
            f"unix:{ctl_socket(self.settings)}",
            *command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise PbxError(f"Kamailio did not answer {' '.join(command)} in {timeout} s") from None
        text = out.decode(errors="replace")
        if proc.returncode != 0 or text.startswith("error:"):
            raise PbxError(f"Kamailio RPC {' '.join(command)} failed: {text.strip()}")
        return text

    async def reload(self) -> None:
        """Apply a changed engine list without a restart: rewrite the dispatcher list and
        re-read it and the address table (sync_trusted_engines first). Anything else in
        the settings (ports, limits) needs stop() and start()."""
        write_dispatcher_list(self.settings)
        await self.rpc("dispatcher.reload")
        await self.rpc("permissions.addressReload")

    # --- internals -------------------------------------------------------------
    def _rotate_log(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            if self.log_path.stat().st_size > LOG_ROTATE_BYTES:
                os.replace(self.log_path, self.log_path.with_name("kamailio.log.1"))

    async def _spawn(self, cfg: Path) -> None:
        s = self.settings
        busy = port_in_use(s.edge_host, s.edge_port)
        if busy is not None:
            raise PbxError(
                f"{busy.upper()} port {s.edge_host}:{s.edge_port} is already in use (another "
                f"Kamailio? see {self.dir / 'kamailio.pid'}): stop it or set PBX_EDGE_PORT"
            )
        (self.dir / "rt").mkdir(parents=True, exist_ok=True)
        (self.dir / "kamailio.pid").unlink(missing_ok=True)  # left by a killed Kamailio
        with self.log_path.open("ab") as logfile:
            self.proc = await asyncio.create_subprocess_exec(
                s.kamailio_bin,
                "-f",
                str(cfg),
                "-DD",  # stay in the foreground, with children
                "-E",  # log to stderr (our log file)
                "-Y",
                str(self.dir / "rt"),  # runtime dir: never the system Kamailio's
                "-P",
                str(self.dir / "kamailio.pid"),
                "-m",
                "128",
                "-M",
                "16",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=logfile,
                stderr=logfile,
                start_new_session=True,  # its own process group: ours to end, and only ours
            )
        self._started_at = time.monotonic()
        proc = self.proc
        host = _probe_host(s.edge_host)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                self._kill_group(proc.pid)
                raise PbxError(
                    f"Kamailio exited at start (code {proc.returncode}); see {self.log_path}"
                )
            if await sip_ping(host, s.edge_port) and proc.returncode is None:
                log.info("kamailio_ready", pid=proc.pid, port=s.edge_port)
                return
            await asyncio.sleep(0.05)  # poll interval between probes
        await self._terminate()
        raise PbxError(f"Kamailio did not answer on port {s.edge_port}; see {self.log_path}")

    async def _watchdog(self, cfg: Path) -> None:
        attempts: deque[float] = deque()
        backoff = 1.0
        while True:
            proc = self.proc
            assert proc is not None
            code = await proc.wait()
            if self._stopping:
                return
            self.last_exit = code
            self._kill_group(proc.pid)
            if time.monotonic() - self._started_at > 60:
                backoff = 1.0  # it had been running fine: a fresh failure
            while True:
                now = time.monotonic()
                while attempts and now - attempts[0] > self.restart_window:
                    attempts.popleft()
                if len(attempts) >= self.max_restarts:
                    self.failed = (
                        f"Kamailio exited {len(attempts) + 1} times within "
                        f"{self.restart_window:.0f} s (last exit code {code}); "
                        f"see {self.log_path}"
                    )
                    log.error("kamailio_given_up", reason=self.failed)
                    return
                attempts.append(now)
                log.error("kamailio_exited", code=code, restart_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                try:
                    await self._spawn(cfg)
                except PbxError as exc:
                    log.error("kamailio_restart_failed", error=str(exc))
                    continue
                self.restarts += 1
                break

    @staticmethod
    def _kill_group(pgid: int) -> None:
        """Kamailio's children outlive a killed main process and keep the port; they are
        in the process group we started it in, so end that group."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)

    async def _terminate(self, grace: float = 5.0) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), grace)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        self._kill_group(proc.pid)
