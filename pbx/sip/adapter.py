"""A B2BUA signalling/media adapter; `pbx.sip` is the only package that imports sippy
and rtp.io (calls and forking in `call.py`, the relay's media in `media.py`).

Everything here runs on one dedicated thread (sippy's ED2 loop). Call logic on the
asyncio side drives it through `SippyAdapter`'s async commands (posted with
`ED2.callFromThread`) and learns what happened through plain event objects handed
back with `loop.call_soon_threadsafe`. Callbacks on this thread never block.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sippy.CLIManager import CLIManager
from sippy.Core.EventDispatcher import ED2
from sippy.MyConfigParser import MyConfigParser
from sippy.Rtp_proxy.client import Rtp_proxy_client
from sippy.SipConf import SipConf
from sippy.SipLogger import SipLogger
from sippy.SipRegistrationAgent import SipRegistrationAgent
from sippy.SipTransactionManager import SipTransactionManager
from sippy.SipURL import SipURL
from sippy.Udp_server import Udp_server, Udp_server_opts

from pbx.engine.events import (
    CallOffered,
    DtmfReceived,
    EngineDied,
    EngineEvent,
    LegFailed,
    RecordingDone,
    Registration,
    Target,
    TrunkRegistration,
)
from pbx.errors import EngineUnavailable
from pbx.logging import get_logger
from pbx.sip import patches
from pbx.sip.call import DIAL_OUT_LEG, SipCall
from pbx.sip.guard import SourceGuard
from pbx.sip.media import CallMedia, RelayCaps, discover
from pbx.sip.patches import EdgeTrust, TransactionManagerFixes
from pbx.sip.resolver import Resolver

log = get_logger(__name__)

# Headers the SIP edge adds after authenticating a device; read only from the edge.
PASSED_HEADERS = ("x-pbx-user", "x-pbx-domain")


class _InOrderUdpOpts(Udp_server_opts):
    # sippy's default of 3 sender and 3 receiver threads per socket reorders datagrams:
    # under load a caller got 200 OK before the 180 sent just ahead of it (a strict peer
    # fails the call). One thread each keeps the order at no measurable cost in CPU
    # (docs/benchmarks.md, 2026-12-02).
    nworkers = 1


class _TransactionManager(TransactionManagerFixes, SipTransactionManager):
    model_udp_server = (Udp_server, _InOrderUdpOpts)


class SippyAdapter:
    """Owns the sippy thread; implements `pbx.engine.events.Signalling`."""

    def __init__(
        self,
        host: str,
        port: int,
        rtp_args: list[str],
        work_dir: Path,
        sip_log: bool = False,
        ua_name: str = "tgpbx",
        record_dir: Path | None = None,
        edge: EdgeTrust | None = None,
        guard: SourceGuard | None = None,
    ) -> None:
        """`record_dir`: where the relay writes call recordings (pcap) before they
        become WAVs; default `<work_dir>/recordings`."""
        self.host = host
        self.port = port
        self.rtp_args = rtp_args
        self.work_dir = work_dir
        self.sip_log = sip_log
        self.ua_name = ua_name
        self.global_config: Any = None
        self.calls: dict[str, SipCall] = {}
        self.record_dir = record_dir or work_dir / "recordings"
        self.caps = RelayCaps()
        self._media_ready = threading.Event()
        self._notify_cli: Any = None
        self._media_keys: dict[str, SipCall] = {}  # relay notify tag key -> call
        self._next_key = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sink: Callable[[EngineEvent], None] | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self.alive = False
        self.death_reason: str | None = None
        self._all_gone: asyncio.Event | None = None
        self.registrations: dict[int, Any] = {}
        self.resolver = Resolver()
        self.edge = edge
        self.guard = guard  # who may reach the SIP port at all (None: anybody)
        self.setup_delays: deque[float] = deque(maxlen=100_000)
        self.setup_times: deque[float] = deque(maxlen=100_000)

    # --- lifecycle -----------------------------------------------------------
    async def start(self, sink: Callable[[EngineEvent], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._sink = sink
        self._thread = threading.Thread(target=self._thread_main, name="sippy", daemon=True)
        self._thread.start()
        await asyncio.to_thread(self._ready.wait, 30)
        if self._start_error is not None:
            raise EngineUnavailable(f"SIP engine failed to start: {self._start_error}")
        if not self._ready.is_set():
            raise EngineUnavailable("SIP engine did not start within 30 s")
        if not await asyncio.to_thread(self._media_ready.wait, 10):
            log.error("relay_probe_timeout")
        if self.caps.dtmf_module is None:
            log.error("relay_dtmf_unavailable")

    def _thread_main(self) -> None:
        # ED2 was created at import time on another thread; it must own this one.
        ED2.my_ident = threading.get_ident()
        try:
            self._setup()
        except BaseException as exc:
            self._start_error = exc
            self._ready.set()
            return
        self.alive = True
        self._ready.set()
        reason = "engine loop exited"
        try:
            ED2.loop()
        except BaseException as exc:
            reason = f"engine loop crashed: {exc!r}"
            log.error("engine_crashed", error=repr(exc))
        finally:
            self.alive = False
            self.death_reason = reason
            self.emit(EngineDied(reason))

    def _setup(self) -> None:
        # rtp.io writes rtpproxy_acct.csv into the working directory.
        patches.apply()
        if self.guard is not None:
            patches.GUARDS[self.port] = self.guard  # before the socket's receiver exists
        self.work_dir.mkdir(parents=True, exist_ok=True)
        os.chdir(self.work_dir)
        gc = MyConfigParser()
        SipConf.my_uaname = self.ua_name
        SipConf.allow_formats = (0, 8, 101)
        gc["_sip_address"] = self.host
        gc["_sip_port"] = self.port
        gc["_sip_logger"] = SipLogger("pbx-engine") if self.sip_log else _NullLogger()
        spool = self.record_dir / ".spool"
        spool.mkdir(parents=True, exist_ok=True)
        # -S/-r: spool and final directory for recordings; -P: record as pcap.
        args = [*self.rtp_args, f"-S{spool}", f"-r{self.record_dir}", "-P"]
        spath = "rtp.io:" + ";".join(args)
        rtpc = Rtp_proxy_client(gc, spath=spath, no_version_check=True, nsetup_f=self._notify_setup)
        gc["_rtp_proxy_clients"] = [rtpc]
        tm = _TransactionManager(gc, self._on_request)
        tm.edge = self.edge
        gc["_sip_tm"] = tm
        self.global_config = gc
        discover(rtpc, str(rtpc.notify_socket), self._media_probed)

    def _notify_setup(self, nsock: Any, spec: str) -> None:
        # The relay's notifications (DTMF, media timeouts) arrive as lines on this socket;
        # CLIManager reads them on its own thread and hands each line to the sippy thread.
        self._notify_cli = CLIManager(nsock, self._on_relay_notify)

    def _media_probed(self, caps: RelayCaps) -> None:
        self.caps = caps
        log.info("relay_caps", dtmf_module=caps.dtmf_module, notify=caps.notify_supported)
        self._media_ready.set()

    def _on_relay_notify(self, _clim: Any, line: str) -> None:
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith("d_"):
            call = self._media_keys.get(parts[0][2:])
            if call is not None:
                self.emit(DtmfReceived(call.call_id, parts[1]))
        elif parts and parts[0].startswith("t_"):
            log.info("relay_media_timeout", key=parts[0][2:])

    async def stop(self, grace: float = 5.0) -> None:
        """Hang up every live call (BYE/CANCEL), wait for them to finish, stop the loop."""
        if self.alive:
            self._all_gone = asyncio.Event()
            await self._call(self._hangup_all)
            try:
                await asyncio.wait_for(self._all_gone.wait(), grace)
            except TimeoutError:
                log.warning("calls_still_live_at_stop", count=len(self.calls))
            if self.alive:
                ED2.callFromThread(ED2.breakLoop)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, grace)
        self.resolver.close()

    def _hangup_all(self) -> None:
        for call in list(self.calls.values()):
            call.hangup()
        self._signal_if_idle()

    def _signal_if_idle(self) -> None:
        if not self.calls and self._all_gone is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._all_gone.set)

    # --- thread bridge -------------------------------------------------------
    def emit(self, event: EngineEvent) -> None:
        if self._loop is not None and self._sink is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._sink, event)

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        if not self.alive:
            raise EngineUnavailable(self.death_reason or "SIP engine is not running")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()

        def run() -> None:
            try:
                result = fn(*args)
            except BaseException as exc:
                loop.call_soon_threadsafe(_set_exc, fut, exc)
            else:
                loop.call_soon_threadsafe(_set_result, fut, result)

        ED2.callFromThread(run)
        return await fut

    # --- sippy callbacks (sippy thread) --------------------------------------
    def _on_request(self, req: Any, sip_t: Any) -> Any:
        method = req.getMethod()
        if req.getHFBody("to").getTag() is not None:
            return (req.genResponse(481, "Call Leg/Transaction Does Not Exist"), None, None)
        if method == "OPTIONS":
            return (req.genResponse(200, "OK"), None, None)
        if method != "INVITE":
            return (req.genResponse(501, "Not Implemented"), None, None)
        call = SipCall(self)
        call.call_id = str(req.getHFBody("call-id"))
        src_host, src_port = req.getSource()
        call.source = (str(src_host), int(src_port))
        headers = {
            h.name.lower(): str(h.getBody())
            for h in req.headers
            if h.name.lower() in PASSED_HEADERS
        }
        ruri = req.getRURI()
        to_url = req.getHFBody("to").getUrl()
        from_addr = req.getHFBody("from").getUri()
        from_url = from_addr.url
        self.calls[call.call_id] = call
        result = call.ua_a.recvRequest(req, sip_t)
        if call.e_try is None:
            self.forget(call)
            return result
        self._attach_media(call)
        assert call.media is not None
        call.media.rtp.callee.raddress = call.source
        self.emit(
            CallOffered(
                call_id=call.call_id,
                ruri_user=str(ruri.username or ""),
                ruri_host=str(ruri.host),
                from_user=str(from_url.username or ""),
                from_host=str(from_url.host),
                from_name=from_addr.name,
                source_ip=call.source[0],
                source_port=call.source[1],
                to_user=str(to_url.username or ""),
                headers=headers,
            )
        )
        return result

    def _attach_media(self, call: SipCall) -> None:
        self._next_key += 1
        key = str(self._next_key)
        call_id = call.call_id
        call.media = CallMedia(
            self.global_config,
            call_id,
            key,
            self.caps,
            self.record_dir,
            lambda path, duration: self.emit(RecordingDone(call_id, path, duration)),
        )
        self._media_keys[key] = call

    def forget(self, call: SipCall) -> None:
        call.forgotten = True
        call.release_media()
        if self.calls.get(call.call_id) is call:
            del self.calls[call.call_id]
        for key in [k for k, c in self._media_keys.items() if c is call]:
            del self._media_keys[key]
        self._signal_if_idle()

    # --- Signalling commands (asyncio side) ----------------------------------
    def _with_call(self, call_id: str, action: Callable[[SipCall], None]) -> None:
        call = self.calls.get(call_id)
        if call is not None:
            action(call)

    async def _addressed(self, target: Target) -> Target | None:
        """`target` with its next hop as an address (see pbx.sip.resolver); None when
        its host name does not resolve in time. Targets sent via a proxy (the edge) are
        addressed already."""
        if target.proxy is not None:
            if self.edge is None:
                return target
            # The edge rings a phone only for a request carrying the shared secret.
            auth = (EdgeTrust.HEADER, self.edge.secret)
            return dataclasses.replace(target, headers=(*target.headers, auth))
        address = await self.resolver.address(target.host)
        return dataclasses.replace(target, host=address) if address else None

    async def originate(self, call_id: str, leg_id: str, target: Target) -> None:
        addressed = await self._addressed(target)
        if addressed is None:
            self.emit(LegFailed(call_id, leg_id, 503, "Next hop does not resolve"))
            return
        target = addressed

        def run() -> None:
            call = self.calls.get(call_id)
            if call is None:
                self.emit(LegFailed(call_id, leg_id, 487, "Caller gone"))
                return
            call.originate(leg_id, target)

        await self._call(run)

    async def reject(self, call_id: str, code: int, reason: str) -> None:
        await self._call(self._with_call, call_id, lambda c: c.reject(code, reason))

    async def cancel_leg(self, call_id: str, leg_id: str) -> None:
        await self._call(self._with_call, call_id, lambda c: c.cancel_leg(leg_id))

    async def hangup(self, call_id: str) -> None:
        await self._call(self._with_call, call_id, lambda c: c.hangup())

    async def answer(self, call_id: str) -> None:
        """200 OK to leg A from the relay; `CallerAnswered` follows right after the 200
        is sent (not on ACK: sippy retransmits the 200 until the ACK comes)."""
        await self._call(self._with_call, call_id, lambda c: c._guarded(c.answer))

    async def progress(self, call_id: str) -> None:
        """183 with the relay's SDP to leg A: what is played next is early media."""
        await self._call(self._with_call, call_id, lambda c: c._guarded(c.progress))

    async def dial_out(self, call_id: str, target: Target) -> None:
        """Call `target` as leg A of a new call `call_id` (click-to-call); see Signalling."""
        addressed = await self._addressed(target)
        if addressed is None:
            self.emit(LegFailed(call_id, DIAL_OUT_LEG, 503, "Next hop does not resolve"))
            return
        target = addressed

        def run() -> None:
            if call_id in self.calls:
                self.emit(LegFailed(call_id, DIAL_OUT_LEG, 482, "Call id in use"))
                return
            call = SipCall(self)
            call.call_id = call_id
            self.calls[call_id] = call
            self._attach_media(call)
            call.dial_out(target)

        await self._call(run)

    async def play(self, call_id: str, prompt: str, loop: bool = False) -> None:
        await self._call(self._with_media, call_id, lambda m: m.play(prompt, loop))

    async def stop_play(self, call_id: str) -> None:
        await self._call(self._with_media, call_id, lambda m: m.stop_play())

    async def start_recording(self, call_id: str, path: str, both: bool = False) -> None:
        await self._call(self._with_media, call_id, lambda m: m.start_recording(path, both))

    async def stop_recording(self, call_id: str) -> None:
        await self._call(self._with_media, call_id, lambda m: m.stop_recording())

    def _with_media(self, call_id: str, action: Callable[[CallMedia], None]) -> None:
        call = self.calls.get(call_id)
        if call is not None and call.media is not None:
            action(call.media)

    async def relay_stats(self) -> dict[str, int]:
        """The media relay's counters (rtpproxy `Ib` command)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[dict[str, int]] = loop.create_future()

        def reply(text: str | None, ex: Any = None) -> None:
            stats: dict[str, int] = {}
            for line in (text or "").splitlines():
                key, _, value = line.partition(":")
                if value.strip().isdigit():
                    stats[key.strip().replace(" ", "_")] = int(value)
            loop.call_soon_threadsafe(_set_result, fut, stats)

        def run() -> None:
            self.global_config["_rtp_proxy_clients"][0].send_command("Ib", reply)

        await self._call(run)
        return await asyncio.wait_for(fut, 5)

    async def register(self, reg: Registration) -> None:
        address = await self.resolver.address(reg.host)
        if address is None:
            self.emit(TrunkRegistration(reg.trunk_id, False, f"{reg.host} does not resolve"))
            return
        reg = dataclasses.replace(reg, host=address)

        def run() -> None:
            old = self.registrations.pop(reg.trunk_id, None)
            if old is not None:
                old.stopregister()
            aor = SipURL(username=reg.username, host=reg.domain)
            contact = SipURL(username=reg.username, host=self.host, port=self.port)
            agent = SipRegistrationAgent(
                self.global_config,
                aor,
                contact,
                user=reg.username,
                passw=reg.password,
                exp=reg.expires,
                rok_cb=lambda _t, _c, _a: self.emit(
                    TrunkRegistration(reg.trunk_id, True, "200 OK")
                ),
                rfail_cb=lambda sl, _a: self.emit(TrunkRegistration(reg.trunk_id, False, str(sl))),
                target=((reg.host, reg.port), "udp"),
            )
            self.registrations[reg.trunk_id] = agent
            agent.doregister()

        await self._call(run)

    async def unregister(self, trunk_id: int) -> None:
        def run() -> None:
            agent = self.registrations.pop(trunk_id, None)
            if agent is not None:
                agent.stopregister()

        await self._call(run)


class _NullLogger:
    """SIP message logging costs a lot; off unless asked for."""

    def write(self, *args: Any, **kwargs: Any) -> None:
        return None


def _set_result(fut: asyncio.Future[Any], value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


def _set_exc(fut: asyncio.Future[Any], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)
