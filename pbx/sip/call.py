"""One call in the B2BUA: leg A, its B legs (forking) and its media. Runs on the sippy
thread only; see `pbx.sip.adapter` for the thread bridge."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sippy.CCEvents import (
    CCEventConnect,
    CCEventDisconnect,
    CCEventFail,
    CCEventPreConnect,
    CCEventRing,
    CCEventTry,
    CCEventUpdate,
)
from sippy.SipCallId import SipCallId
from sippy.SipHeader import SipHeader
from sippy.UA import UA

from pbx.engine.events import (
    CalleeGone,
    CallerAnswered,
    CallerGone,
    LegAnswered,
    LegFailed,
    LegRinging,
    Target,
)
from pbx.logging import get_logger
from pbx.sip.media import CallMedia

if TYPE_CHECKING:
    from pbx.sip.adapter import SippyAdapter

log = get_logger(__name__)


class _Leg:
    """One outgoing leg (B) of a call, with its sippy UA."""

    def __init__(self, leg_id: str, ua: Any) -> None:
        self.leg_id = leg_id
        self.ua = ua
        self.answered = False


# A leg that answers after another one was bridged gets a BYE and is reported with this
# (RFC 3326 uses "Call completed elsewhere" for the same situation on a CANCEL).
ANSWERED_ELSEWHERE = (487, "Call completed elsewhere")
DIAL_OUT_LEG = "a"  # the leg id in LegFailed for leg A of a call the engine dialled


class SipCall:
    """Leg A plus any number of ringing B legs (forking), at most one of them bridged.

    Media is anchored in one relay session: leg A is its caller side; every B leg is
    offered the same relay port, and the relay's callee side points at the bridged leg
    (or, while forking, at the single live leg sending early media).
    Early media: a 183 with SDP is passed to A only while exactly one leg is live; with
    several legs ringing it reaches A as a plain 180 (no SDP), so A never switches
    between the legs' early audio.
    """

    def __init__(self, adapter: SippyAdapter) -> None:
        self.adapter = adapter
        gc = adapter.global_config
        self.ua_a = UA(
            gc,
            event_cb=lambda ev, ua: self._guarded(self._on_a_event, ev, ua),
            **self._end_cbs(),
        )
        self.ua_a.local_ua = adapter.ua_name
        self.call_id = ""
        self.e_try: Any = None
        self.media: CallMedia | None = None
        self.legs: dict[str, _Leg] = {}  # live (not failed, not hung up) B legs
        self.all_uas: list[Any] = []
        self.bridged: _Leg | None = None
        self.connected = False  # leg A has its 200 OK (from a leg B or from the engine)
        # The engine sent A a 183 with the relay's SDP (prompts as early media): A is
        # neither answered nor billed; B legs' progress is not passed on any more.
        self.early = False
        self.early_sdp: Any = None
        self.answer_when_ready = False
        self._ended: set[int] = set()  # ids of our UAs that reached Disconnected/Failed/Dead
        self.forgotten = False
        self.outbound = False  # leg A was dialled by the engine (dial_out)
        self.source: tuple[str, int] = ("", 0)
        self.t_invite = time.monotonic()

    @property
    def rtp(self) -> Any:
        return self.media.rtp if self.media is not None else None

    def _guarded(self, handler: Callable[..., Any], *args: Any) -> Any:
        """A bug in our handling must end the call cleanly, not leave it hanging."""
        try:
            return handler(*args)
        except Exception as exc:
            log.error("sip_event_failed", call_id=self.call_id, error=repr(exc))
            for leg in list(self.legs.values()):
                if not leg.ua.isDead():
                    leg.ua.disconnect()
            self.legs.clear()
            if not self.ua_a.isDead():
                if self.connected:
                    self.ua_a.disconnect()
                else:
                    self.ua_a.recvEvent(CCEventFail((500, "Server Internal Error")))
            self.release_media()
            self.adapter.emit(CallerGone(self.call_id))
            return None

    # --- events from leg A -------------------------------------------------
    def _on_a_event(self, event: Any, ua: Any) -> None:
        if self.outbound and not self.connected:
            self._on_dialled_a_event(event)
            return
        if isinstance(event, CCEventTry) and self.e_try is None:
            self.e_try = event
            return
        if isinstance(event, CCEventDisconnect | CCEventFail):
            for leg in list(self.legs.values()):
                if not leg.ua.isDead():
                    leg.ua.recvEvent(CCEventDisconnect(rtime=event.rtime))
            # Free the relay ports now; the UAs linger ~32 s in their dead state.
            self.release_media()
            self.adapter.emit(CallerGone(self.call_id))
            return
        # re-INVITEs, INFO and the like go through to the bridged side.
        if self.bridged is not None and self.bridged.answered:
            if isinstance(event, CCEventUpdate) and self.media is not None:
                self.media.fit_for_b(event.getData())  # B must not switch codecs
            self.bridged.ua.recvEvent(event)
        elif isinstance(event, CCEventUpdate) and self.connected and self.media is not None:
            body = event.getData()
            if body is None:
                self.ua_a.recvEvent(CCEventFail((488, "Not Acceptable Here")))
                return
            self.media.update_caller(body, lambda sdp: self._guarded(self._updated, sdp))

    def _updated(self, sdp: Any) -> None:
        if self.ua_a.isDead():
            return
        if sdp is None:
            self.ua_a.recvEvent(CCEventFail((488, "Not Acceptable Here")))
        else:
            self.ua_a.recvEvent(CCEventConnect((200, "OK", sdp)))

    def _on_dialled_a_event(self, event: Any) -> None:
        if isinstance(event, CCEventConnect):
            self.connected = True
            self.adapter.emit(CallerAnswered(self.call_id))
        elif isinstance(event, CCEventFail | CCEventDisconnect):
            data = event.getData() if isinstance(event, CCEventFail) else None
            code, reason = (data[0], data[1]) if data else (487, "Terminated")
            self.release_media()
            self.adapter.emit(LegFailed(self.call_id, DIAL_OUT_LEG, int(code), str(reason)))

    # --- events from B legs -------------------------------------------------
    def _leg_remote_sdp(self, leg: _Leg, body: Any, done: Callable[..., None]) -> Any:
        """B's SDP re-points the relay only for the leg that is (or becomes) bridged, or
        for early media from the only live leg; anything else must not touch it."""
        event = getattr(done, "args", (None,))[0]
        if self.rtp is None or self.legs.get(leg.leg_id) is not leg:
            return body  # no relay, or a cancelled leg whose 200 crossed our CANCEL
        if self.bridged is None and isinstance(event, CCEventConnect):
            self.bridged = leg
        early = (
            isinstance(event, CCEventRing)
            and self.bridged is None
            and not self.connected
            and not self.early
            and len(self.legs) == 1
        )
        if self.bridged is leg or early:
            return self.rtp.on_callee_sdp_change(body, done)
        return body

    def _on_b_event(self, leg: _Leg, event: Any, ua: Any) -> None:
        if self.legs.get(leg.leg_id) is not leg:
            return
        if isinstance(event, CCEventRing | CCEventPreConnect):
            self._b_progress(leg, event)
            return
        if isinstance(event, CCEventConnect):
            self._b_answered(leg, event)
            return
        if isinstance(event, CCEventFail | CCEventDisconnect):
            del self.legs[leg.leg_id]
            if leg.answered:
                self.bridged = None
                if not self.ua_a.isDead():
                    self.ua_a.recvEvent(CCEventDisconnect(rtime=event.rtime))
                self.release_media()
                self.adapter.emit(CalleeGone(self.call_id, leg.leg_id))
            else:
                if self.bridged is leg:
                    self.bridged = None
                # CCEventFail data is (code, reason[, more]); a local disconnect has none.
                data = event.getData() if isinstance(event, CCEventFail) else (487, "Terminated")
                code, reason = data[0], data[1]
                self.adapter.emit(LegFailed(self.call_id, leg.leg_id, int(code), str(reason)))
            return
        if leg.answered:
            self.ua_a.recvEvent(event)

    def _b_progress(self, leg: _Leg, event: Any) -> None:
        if isinstance(event, CCEventRing):
            self.adapter.emit(LegRinging(self.call_id, leg.leg_id))
        if self.connected or self.early or self.bridged is not None:
            return  # A already answered (or hears the engine's early media): nothing to show
        data = event.getData()
        body = data[2] if data is not None and len(data) > 2 else None
        if body is not None and len(self.legs) > 1:
            event = CCEventRing((180, "Ringing", None), rtime=event.rtime)
        self.ua_a.recvEvent(event)

    def _b_answered(self, leg: _Leg, event: Any) -> None:
        if self.bridged is None:
            self.bridged = leg  # a 200 OK without SDP never went through _leg_remote_sdp
        if self.bridged is not leg:
            # Never bridge two: the late one is hung up and reported as failed.
            del self.legs[leg.leg_id]
            leg.ua.disconnect()
            code, reason = ANSWERED_ELSEWHERE
            self.adapter.emit(LegFailed(self.call_id, leg.leg_id, code, reason))
            return
        leg.answered = True
        if self.connected:
            # The engine answered A (IVR, queue): the relay now points at B; no re-INVITE.
            if self.media is not None:
                self.media.stop_play()
        elif self.early and self.early_sdp is not None:
            # A hears the engine's early media: answer it now, with the SDP of the 183
            # (the relay already points at B).
            if self.media is not None:
                self.media.stop_play()
            self.connected = True
            self.ua_a.recvEvent(CCEventConnect((200, "OK", self.early_sdp.getCopy())))
        else:
            self.connected = True
            self.ua_a.recvEvent(event)
        self.adapter.emit(LegAnswered(self.call_id, leg.leg_id))

    def _end_cbs(self) -> dict[str, tuple[Callable[..., None], ...]]:
        """Callbacks that tell us a UA of ours is over. sippy runs dead callbacks before
        the UA's state says dead, and keeps a UA ~32 s in Disconnected/Failed to absorb
        retransmissions (it answers them itself), so the call leaves our table as soon as
        every UA has ended, not when the last one is dead."""
        cb = (self._ua_ended,)
        return {"disc_cbs": cb, "fail_cbs": cb, "dead_cbs": cb}

    def _ua_ended(self, ua: Any, *_args: Any) -> None:
        self._ended.add(id(ua))
        if self.forgotten:
            return
        if all(id(x) in self._ended for x in (self.ua_a, *self.all_uas)):
            self.adapter.forget(self)

    # --- commands (on the sippy thread) --------------------------------------
    def originate(self, leg_id: str, target: Target) -> None:
        if self.a_offer() is None or self.ua_a.isDead():
            self.adapter.emit(LegFailed(self.call_id, leg_id, 487, "Caller gone"))
            return
        if self.bridged is not None or leg_id in self.legs:
            code, reason = ANSWERED_ELSEWHERE
            self.adapter.emit(LegFailed(self.call_id, leg_id, code, reason))
            return
        leg = _Leg(leg_id, None)
        ua = self._uac(target, lambda ev, ua: self._guarded(self._on_b_event, leg, ev, ua))
        leg.ua = ua
        body = self.a_offer()
        if self.rtp is not None and self.media is not None:
            ua.on_local_sdp_change = self.rtp.on_caller_sdp_change
            ua.on_remote_sdp_change = lambda b, done: self._guarded(
                self._leg_remote_sdp, leg, b, done
            )
            self.rtp.caller.raddress = target.proxy or (target.host, target.port)
            if body is not None:
                body = self.media.offer_for_b(body)
        self.legs[leg_id] = leg
        self.all_uas.append(ua)
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
        if len(self.all_uas) == 1:
            # Added setup delay: INVITE in on leg A -> INVITE out on the first leg B.
            self.adapter.setup_delays.append(time.monotonic() - self.t_invite)
            self.adapter.setup_times.append(self.t_invite)

    def a_offer(self) -> Any:
        """A's SDP, which every B leg is offered (through the relay)."""
        if self.e_try is not None:
            return self.e_try.getData()[3]
        return self.media.a_sdp if self.media is not None else None

    def _uac(self, target: Target, event_cb: Callable[..., None]) -> Any:
        ua = UA(
            self.adapter.global_config,
            event_cb=event_cb,
            username=target.username,
            password=target.password,
            nh_address=(target.host, target.port),
            **self._end_cbs(),
            extra_headers=[SipHeader(name=n, bodys=v) for n, v in target.headers] or None,
        )
        ua.local_ua = self.adapter.ua_name
        if target.proxy is not None:
            ua.outbound_proxy = target.proxy
        return ua

    def dial_out(self, target: Target) -> None:
        """Call leg A from the engine, offering the relay; B legs follow its answer."""
        assert self.media is not None
        self.outbound = True
        ua = self._uac(target, lambda ev, ua: self._guarded(self._on_a_event, ev, ua))
        ua.on_remote_sdp_change = lambda b, done: self._guarded(self._a_answer_sdp, b, done)
        self.ua_a = ua

        def offered(body: Any) -> None:
            if body is None:
                self.adapter.emit(LegFailed(self.call_id, DIAL_OUT_LEG, 500, "Media Relay Failed"))
                self.adapter.forget(self)
                return
            call_id = SipCallId(self.call_id)
            ua.recvEvent(
                CCEventTry((call_id, target.caller_id, target.user, body, None, target.caller_name))
            )

        self.media.offer(lambda body: self._guarded(offered, body))

    def _a_answer_sdp(self, body: Any, done: Callable[..., None]) -> Any:
        if self.media is None or self.connected:
            return body
        self.media.accept_answer(body, done)
        return None

    def answer(self) -> None:
        """200 OK to A with the relay's SDP (the one of the 183, if early media went
        first); B legs may be bridged later (no re-INVITE)."""
        if self.connected or self.ua_a.isDead():
            return
        if self.early_sdp is not None:
            self._answered(self.early_sdp.getCopy())
        elif self.early:
            self.answer_when_ready = True  # the 183's SDP is on its way from the relay
        else:
            self._relay_answer(self._answered)

    def _answered(self, sdp: Any) -> None:
        if self.ua_a.isDead() or self.connected:
            return
        self.connected = True
        self.ua_a.recvEvent(CCEventConnect((200, "OK", sdp)))
        self.adapter.emit(CallerAnswered(self.call_id))

    def progress(self) -> None:
        """183 Session Progress to A with the relay's SDP, so prompts reach the caller as
        early media: the carrier sees no answer (and bills none) until `answer` or a
        leg B answers; a failure later ends the call with its own code."""
        if self.connected or self.early or self.ua_a.isDead():
            return
        self.early = True

        def ready(sdp: Any) -> None:
            if self.ua_a.isDead() or self.connected:
                return
            self.early_sdp = sdp.getCopy()
            if self.answer_when_ready:
                self._answered(sdp)
            else:
                self.ua_a.recvEvent(CCEventRing((183, "Session Progress", sdp)))

        self._relay_answer(ready)

    def _relay_answer(self, then: Callable[[Any], None]) -> None:
        """The relay's SDP answer to A's offer (one codec), handed to `then`; A is
        refused when it offers nothing the relay can play to or the relay fails."""
        if self.e_try is None or self.media is None:
            return
        body = self.e_try.getData()[3]
        if body is None:
            self.reject(488, "Not Acceptable Here")
            return

        def done(sdp: Any) -> None:
            if self.ua_a.isDead() or self.connected:
                return
            if sdp is None:
                self.reject(500, "Media Relay Failed")
                return
            then(sdp)

        try:
            self.media.answer(body, lambda sdp: self._guarded(done, sdp))
        except ValueError as exc:
            log.warning("answer_refused", call_id=self.call_id, reason=str(exc))
            self.reject(488, "Not Acceptable Here")

    def reject(self, code: int, reason: str) -> None:
        if not self.ua_a.isDead():
            self.ua_a.recvEvent(CCEventFail((code, reason)))
        self.release_media()

    def cancel_leg(self, leg_id: str) -> None:
        leg = self.legs.get(leg_id)
        if leg is not None and not leg.ua.isDead():
            leg.ua.disconnect()

    def hangup(self) -> None:
        for leg in list(self.legs.values()):
            if not leg.ua.isDead():
                leg.ua.disconnect()
        if not self.ua_a.isDead():
            self.ua_a.disconnect()

    def release_media(self) -> None:
        if self.media is not None:
            self.media.release()
            self.media = None
