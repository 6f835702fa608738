"""Start Kamailio in the foreground, wait until it answers SIP, restart it if it dies."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import time
from typing import Any

from pbx.config import Settings
from pbx.edge.config import edge_dir, render
from pbx.errors import PbxError
from pbx.logging import get_logger

log = get_logger(__name__)


class _OptionsProbe(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.answered: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if not self.answered.done():
            self.answered.set_result(data.decode(errors="replace").split("\r\n", 1)[0])


async def sip_ping(host: str, port: int, timeout: float = 0.5) -> bool:
    """One OPTIONS over UDP; True if anything SIP comes back."""
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
        return status.startswith("SIP/2.0 ")
    except TimeoutError:
        return False
    finally:
        transport.close()


class KamailioSupervisor:
    """Owns one Kamailio process; the caller keeps the address table in sync first."""

    def __init__(self, settings: Settings, db_url: str, start_timeout: float = 20.0) -> None:
        self.settings = settings
        self.db_url = db_url
        self.start_timeout = start_timeout
        self.proc: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self.last_exit: int | None = None
        self._stopping = False
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        cfg = await render(self.settings, self.db_url)
        self._stopping = False
        await self._spawn(cfg)
        self._watch = asyncio.create_task(self._watchdog(cfg))

    async def _spawn(self, cfg: Any) -> None:
        d = edge_dir(self.settings).resolve()
        (d / "rt").mkdir(exist_ok=True)
        logfile = (d / "kamailio.log").open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            self.settings.kamailio_bin,
            "-f",
            str(cfg),
            "-DD",
            "-E",
            "-Y",
            str(d / "rt"),
            "-P",
            str(d / "kamailio.pid"),
            "-m",
            "128",
            "-M",
            "16",
            stdout=logfile,
            stderr=logfile,
            start_new_session=True,  # our signals only, by PID
        )
        logfile.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.returncode is not None:
                raise PbxError(
                    f"Kamailio exited at start ({self.proc.returncode}); see {d / 'kamailio.log'}"
                )
            if (
                await sip_ping(self.settings.edge_host, self.settings.edge_port)
                and self.proc.returncode is None
            ):
                log.info("kamailio_ready", pid=self.proc.pid, port=self.settings.edge_port)
                return
        await self._terminate()
        raise PbxError(
            f"Kamailio did not answer on port {self.settings.edge_port}; see {d / 'kamailio.log'}"
        )

    async def _watchdog(self, cfg: Any) -> None:
        backoff = 1.0
        while not self._stopping:
            assert self.proc is not None
            code = await self.proc.wait()
            if self._stopping:
                return
            self.last_exit = code
            self._kill_orphans(self.proc.pid)
            log.error("kamailio_exited", code=code, restart_in=backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)
            try:
                await self._spawn(cfg)
                self.restarts += 1
                backoff = 1.0
            except PbxError as exc:
                log.error("kamailio_restart_failed", error=str(exc))

    @staticmethod
    def _kill_orphans(pgid: int) -> None:
        """Kamailio's children outlive a killed main process and keep the port; they
        are in the process group we started it in, so end that group."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)

    async def _terminate(self, grace: float = 5.0) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        self._kill_orphans(proc.pid)

    async def stop(self) -> None:
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await self._terminate()

    def status(self) -> dict[str, Any]:
        running = self.proc is not None and self.proc.returncode is None
        return {
            "running": running,
            "pid": self.proc.pid if self.proc else None,
            "restarts": self.restarts,
            "last_exit": self.last_exit,
        }
