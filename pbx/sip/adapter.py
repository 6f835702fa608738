"""The only module that imports sippy and rtp.io: a B2BUA signalling/media adapter.

Everything here runs on one dedicated thread (sippy's ED2 loop). Call logic on the
asyncio side drives it through `SippyAdapter`'s async commands (posted with
`ED2.callFromThread`) and learns what happened through plain event objects handed
back with `loop.call_soon_threadsafe`. Callbacks on this thread never block.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sippy.CCEvents import (
    CCEventConnect,
    CCEventDisconnect,
    CCEventFail,
    CCEventPreConnect,
    CCEventRing,
    CCEventTry,
)
from sippy.Core.EventDispatcher import ED2
from sippy.MyConfigParser import MyConfigParser
from sippy.Rtp_proxy.client import Rtp_proxy_client
from sippy.Rtp_proxy.session import Rtp_proxy_session
from sippy.SipCallId import SipCallId
from sippy.SipConf import SipConf
from sippy.SipHeader import SipHeader
from sippy.SipLogger import SipLogger
from sippy.SipRegistrationAgent import SipRegistrationAgent
from sippy.SipTransactionManager import SipTransactionManager
from sippy.SipURL import SipURL
from sippy.UA import UA

from pbx.engine.events import (
    CalleeGone,
    CallerGone,
    CallOffered,
    EngineDied,
    EngineEvent,
    LegAnswered,
    LegFailed,
    LegRinging,
    Registration,
    Target,
    TrunkRegistration,
)
from pbx.errors import EngineUnavailable
from pbx.logging import get_logger

log = get_logger(__name__)

# Headers the SIP edge adds after authenticating a device; read only from the edge.
PASSED_HEADERS = ("x-pbx-user", "x-pbx-domain")


def _lowercase_transport_params() -> None:
    """sippy refuses `;transport=UDP` (upper case, as SIPp and some phones send it) and
    then never sends the BYE; RFC 3261 says the value is case-insensitive."""
    if getattr(SipURL, "_pbx_patched", False):
        return
    original = SipURL.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if isinstance(self.transport, str):
            self.transport = self.transport.lower()

    SipURL.__init__ = init  # type: ignore[method-assign]
    SipURL._pbx_patched = True  # type: ignore[attr-defined]


class _Leg:
    """One outgoing leg (B) of a call, with its sippy UA."""

    def __init__(self, leg_id: str, ua: Any) -> None:
        self.leg_id = leg_id
        self.ua = ua
        self.answered = False


class _SipCall:
    """Leg A plus at most one live leg B, media anchored in one relay session."""

    def __init__(self, adapter: SippyAdapter) -> None:
        self.adapter = adapter
        gc = adapter.global_config
        self.ua_a = UA(
            gc,
            event_cb=lambda ev, ua: self._guarded(self._on_a_event, ev, ua),
            dead_cbs=(self._on_dead,),
        )
        self.ua_a.local_ua = adapter.ua_name
        self.call_id = ""
        self.e_try: Any = None
        self.rtp: Any = None
        self.leg: _Leg | None = None
        self.connected = False
        self.source: tuple[str, int] = ("", 0)
        self.t_invite = time.monotonic()

    def _guarded(self, handler: Callable[..., None], *args: Any) -> None:
        """A bug in our handling must end the call cleanly, not leave it hanging."""
        try:
            handler(*args)
        except Exception as exc:
            log.error("sip_event_failed", call_id=self.call_id, error=repr(exc))
            if self.leg is not None and not self.leg.ua.isDead():
                self.leg.ua.disconnect()
            if not self.ua_a.isDead():
                self.ua_a.recvEvent(CCEventFail((500, "Server Internal Error")))
            self.adapter.emit(CallerGone(self.call_id))

    # --- events from leg A -------------------------------------------------
    def _on_a_event(self, event: Any, ua: Any) -> None:
        if isinstance(event, CCEventTry) and self.e_try is None:
            self.e_try = event
            return
        if isinstance(event, CCEventDisconnect | CCEventFail):
            if self.leg is not None and not self.leg.ua.isDead():
                self.leg.ua.recvEvent(CCEventDisconnect(rtime=event.rtime))
            # Free the relay ports now; the UAs linger ~32 s in their dead state.
            self.release_media()
            self.adapter.emit(CallerGone(self.call_id))
            return
        # re-INVITEs, INFO and the like go through to the other side.
        if self.leg is not None and self.leg.answered:
            self.leg.ua.recvEvent(event)

    # --- events from leg B -------------------------------------------------
    def _on_b_event(self, leg: _Leg, event: Any, ua: Any) -> None:
        if leg is not self.leg:
            return
        if isinstance(event, CCEventRing | CCEventPreConnect):
            if not self.connected:
                self.ua_a.recvEvent(event)
                if isinstance(event, CCEventRing):
                    self.adapter.emit(LegRinging(self.call_id, leg.leg_id))
            return
        if isinstance(event, CCEventConnect):
            leg.answered = True
            self.connected = True
            self.ua_a.recvEvent(event)
            self.adapter.emit(LegAnswered(self.call_id, leg.leg_id))
            return
        if isinstance(event, CCEventFail | CCEventDisconnect):
            if leg.answered:
                if not self.ua_a.isDead():
                    self.ua_a.recvEvent(CCEventDisconnect(rtime=event.rtime))
                self.release_media()
                self.adapter.emit(CalleeGone(self.call_id, leg.leg_id))
            else:
                # CCEventFail data is (code, reason[, more]); a local disconnect has none.
                data = event.getData() if isinstance(event, CCEventFail) else (487, "Terminated")
                code, reason = data[0], data[1]
                self.leg = None
                self.adapter.emit(LegFailed(self.call_id, leg.leg_id, int(code), str(reason)))
            return
        if leg.answered:
            self.ua_a.recvEvent(event)

    def _on_dead(self, ua: Any) -> None:
        if self.leg is None or self.leg.ua.isDead():
            self.adapter.forget(self)

    def _on_leg_dead(self, ua: Any) -> None:
        if self.ua_a.isDead():
            self.adapter.forget(self)

    # --- commands (on the sippy thread) --------------------------------------
    def originate(self, leg_id: str, target: Target) -> None:
        if self.e_try is None or self.ua_a.isDead():
            self.adapter.emit(LegFailed(self.call_id, leg_id, 487, "Caller gone"))
            return
        gc = self.adapter.global_config
        leg = _Leg(leg_id, None)
        ua = UA(
            gc,
            event_cb=lambda ev, ua: self._guarded(self._on_b_event, leg, ev, ua),
            username=target.username,
            password=target.password,
            nh_address=(target.host, target.port),
            dead_cbs=(self._on_leg_dead,),
            extra_headers=[SipHeader(name=n, body=v) for n, v in target.headers] or None,
        )
        ua.local_ua = self.adapter.ua_name
        if target.proxy is not None:
            ua.outbound_proxy = target.proxy
        leg.ua = ua
        _cid, _cli, _cld, body, _auth, _name = self.e_try.getData()
        if self.rtp is not None:
            ua.on_local_sdp_change = self.rtp.on_caller_sdp_change
            ua.on_remote_sdp_change = self.rtp.on_callee_sdp_change
            self.rtp.caller.raddress = target.proxy or (target.host, target.port)
            if body is not None:
                body = body.getCopy()
        self.leg = leg
        ev = CCEventTry(
            (
                SipCallId(f"{self.call_id}-{leg_id}"),
                target.caller_id,
                target.user,
                body,
                None,
                target.caller_name,
            )
        )
        ua.recvEvent(ev)
        if leg_id == "b1":
            # Added setup delay: INVITE in on leg A -> INVITE out on leg B.
            self.adapter.setup_delays.append(time.monotonic() - self.t_invite)
            self.adapter.setup_times.append(self.t_invite)

    def reject(self, code: int, reason: str) -> None:
        if not self.ua_a.isDead():
            self.ua_a.recvEvent(CCEventFail((code, reason)))
        self.release_media()

    def cancel_leg(self, leg_id: str) -> None:
        if self.leg is not None and self.leg.leg_id == leg_id and not self.leg.ua.isDead():
            self.leg.ua.disconnect()

    def hangup(self) -> None:
        if self.leg is not None and not self.leg.ua.isDead():
            self.leg.ua.disconnect()
        if not self.ua_a.isDead():
            self.ua_a.disconnect()

    def release_media(self) -> None:
        if self.rtp is not None:
            self.rtp.delete()
            self.rtp = None


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
    ) -> None:
        self.host = host
        self.port = port
        self.rtp_args = rtp_args
        self.work_dir = work_dir
        self.sip_log = sip_log
        self.ua_name = ua_name
        self.global_config: Any = None
        self.calls: dict[str, _SipCall] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sink: Callable[[EngineEvent], None] | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self.alive = False
        self.death_reason: str | None = None
        self._all_gone: asyncio.Event | None = None
        self.registrations: dict[int, Any] = {}
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
        _lowercase_transport_params()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        os.chdir(self.work_dir)
        gc = MyConfigParser()
        SipConf.my_uaname = self.ua_name
        SipConf.allow_formats = (0, 8, 101)
        gc["_sip_address"] = self.host
        gc["_sip_port"] = self.port
        gc["_sip_logger"] = SipLogger("pbx-engine") if self.sip_log else _NullLogger()
        spath = "rtp.io:" + ";".join(self.rtp_args)
        gc["_rtp_proxy_clients"] = [Rtp_proxy_client(gc, spath=spath, no_version_check=True)]
        gc["_sip_tm"] = SipTransactionManager(gc, self._on_request)
        self.global_config = gc

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
        call = _SipCall(self)
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
        call.rtp = Rtp_proxy_session(self.global_config, call_id=call.call_id)
        call.rtp.callee.raddress = call.source
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

    def forget(self, call: _SipCall) -> None:
        call.release_media()
        self.calls.pop(call.call_id, None)
        self._signal_if_idle()

    # --- Signalling commands (asyncio side) ----------------------------------
    def _with_call(self, call_id: str, action: Callable[[_SipCall], None]) -> None:
        call = self.calls.get(call_id)
        if call is not None:
            action(call)

    async def originate(self, call_id: str, leg_id: str, target: Target) -> None:
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
