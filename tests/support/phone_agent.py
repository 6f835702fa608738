"""A scriptable SIP phone: one pjsua2 Endpoint in its own process, driven by JSON lines.

Run as ``python -m tests.support.phone_agent --port N [--name NAME] [--host 127.0.0.1]``.
Commands arrive on stdin, one JSON object per line: ``{"cmd": "call", "uri": "...", "id": 7}``.
Every command gets exactly one reply carrying the same ``id``: ``{"event": "ok", "id": 7, ...}``
or ``{"event": "error", "id": 7, "message": "..."}``. Asynchronous events (``reg_state``,
``incoming``, ``call_state``, ``media_active``, ``dtmf``, ``record_stopped``, ...) are written to
stdout, one JSON object per line, each with an ``event`` key and a ``t`` timestamp (seconds since
the agent started). Anything pjsua itself prints goes to stderr, never to the protocol stream.

Commands (optional fields in brackets; ``call`` defaults to the newest live call):
  ping · quit
  register {uri, registrar, username, password, [realm], [proxy], [expires]} · unregister
  call {uri, [headers]} -> ok {call, call_id} · answer {[code=200], [call]} · ringing {[code]}
  auto_answer {[code=200|null], [delay_ms=0]} · auto_ringing {[enabled]} (180 on INVITE, default)
  hangup {[call], [code]} · hangup_all · hold · unhold · transfer {uri | to_call, [call]}
  dtmf {digits, [method=rfc2833|info]} · play_tone {freq, [freq2]} · play_wav {path, [loop]}
  stop_audio · record {path, [max_ms]} · stop_record · timer {ms, [name]}
Events:
  ready {port, uri} · reg_state {code, reason, active, expires}
  incoming {call, call_id, from, to, request_uri, msg} · call_state {call, call_id, state,
  last_status_code, reason, role, remote} · media_state {call, status} · media_active {call}
  dtmf {call, digit} · transfer_request · transfer_status {code, final} · record_stopped {path,
  duration_ms, complete} · timer {name} · error {message} · bye

pjsua2 is only ever touched from the main thread: it polls ``libHandleEvents`` and, between
polls, runs the commands a reader thread has queued from stdin and fires due timers. Callbacks
never let an exception escape (they turn it into an ``error`` event). See ``tests/support/phone.py``
for the asyncio wrapper used by tests.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, TextIO

import pjsua2 as pj

STATE_NAMES: dict[int, str] = {
    pj.PJSIP_INV_STATE_NULL: "NULL",
    pj.PJSIP_INV_STATE_CALLING: "CALLING",
    pj.PJSIP_INV_STATE_INCOMING: "INCOMING",
    pj.PJSIP_INV_STATE_EARLY: "EARLY",
    pj.PJSIP_INV_STATE_CONNECTING: "CONNECTING",
    pj.PJSIP_INV_STATE_CONFIRMED: "CONFIRMED",
    pj.PJSIP_INV_STATE_DISCONNECTED: "DISCONNECTED",
}
MEDIA_STATUS_NAMES: dict[int, str] = {
    pj.PJSUA_CALL_MEDIA_NONE: "NONE",
    pj.PJSUA_CALL_MEDIA_ACTIVE: "ACTIVE",
    pj.PJSUA_CALL_MEDIA_LOCAL_HOLD: "LOCAL_HOLD",
    pj.PJSUA_CALL_MEDIA_REMOTE_HOLD: "REMOTE_HOLD",
    pj.PJSUA_CALL_MEDIA_ERROR: "ERROR",
}
CLOCK_RATE = 8000
POLL_MS = 10
Timer = tuple[float, Callable[[], object]]  # (monotonic deadline, action)
FINALIZE_TIMEOUT = 3.0  # seconds to wait for a destroyed recorder to complete its WAV


def sip_header(msg: str, name: str, compact: str = "") -> str:
    """First value of a header in a raw SIP message (handles compact names), or ""."""
    names = {name.lower(), compact.lower()} - {""}
    for line in msg.split("\r\n\r\n", 1)[0].splitlines()[1:]:
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() in names:
            return value.strip()
    return ""


def _wav_complete(path: str) -> bool:
    """True once a WAV writer has closed the file: its RIFF size matches the file size."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            size = os.fstat(f.fileno()).st_size
    except OSError:
        return False
    if size < 44 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return False
    return int.from_bytes(head[4:8], "little") == size - 8


def _err_text(exc: BaseException) -> str:
    if isinstance(exc, pj.Error):
        return f"{exc.title}: {exc.reason} (status {exc.status})"
    return f"{type(exc).__name__}: {exc}"


class PhoneCall(pj.Call):  # type: ignore[misc]
    """A call that reports its state to the agent. The agent holds it until DISCONNECTED."""

    def __init__(self, agent: Agent, acc: pj.Account, call_id: int = pj.PJSUA_INVALID_ID) -> None:
        super().__init__(acc, call_id)
        self.agent = agent
        self.handle = -1  # pjsua call id, known once the call exists
        self.audio: list[pj.AudioMedia] = []  # active audio media, refreshed on media changes
        self.media_status = "NONE"

    def onCallState(self, prm: pj.OnCallStateParam) -> None:
        self.agent.guard("onCallState", lambda: self.agent.on_call_state(self))

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:
        self.agent.guard("onCallMediaState", lambda: self.agent.on_call_media(self))

    def onDtmfDigit(self, prm: pj.OnDtmfDigitParam) -> None:
        self.agent.guard(
            "onDtmfDigit",
            lambda: self.agent.emit(
                "dtmf", call=self.handle, digit=prm.digit, method=int(prm.method)
            ),
        )

    def onCallTransferRequest(self, prm: pj.OnCallTransferRequestParam) -> None:
        def accept() -> None:
            # A REFER we received: pjsua dials the target; give it its own Call object
            # (otherwise pjsua2 re-binds this one to the new call).
            prm.newCall = self.agent.new_child_call()
            self.agent.emit("transfer_request", call=self.handle, uri=prm.dstUri)

        self.agent.guard("onCallTransferRequest", accept)

    def onCallReplaced(self, prm: pj.OnCallReplacedParam) -> None:
        def replaced() -> None:
            new = self.agent.new_child_call(prm.newCallId)
            prm.newCall = new
            self.agent.emit("call_replaced", call=self.handle, new_call=prm.newCallId)

        self.agent.guard("onCallReplaced", replaced)

    def onCallTransferStatus(self, prm: pj.OnCallTransferStatusParam) -> None:
        def report() -> None:
            code = int(prm.statusCode)
            final = bool(prm.finalNotify)
            self.agent.emit(
                "transfer_status", call=self.handle, code=code, reason=prm.reason, final=final
            )
            if final and 200 <= code < 300 and self.isActive():
                # like a desk phone: the transferor leaves once the target answered
                self.agent.schedule(0, self.agent.hangup_quietly(self.handle))

        self.agent.guard("onCallTransferStatus", report)


class PhoneAccount(pj.Account):  # type: ignore[misc]
    def __init__(self, agent: Agent, kind: str) -> None:
        super().__init__()
        self.agent = agent
        self.kind = kind  # "local" (no registrar) or "registered"

    def onRegState(self, prm: pj.OnRegStateParam) -> None:
        def report() -> None:
            info = self.getInfo()
            self.agent.emit(
                "reg_state",
                code=int(prm.code),
                reason=prm.reason,
                active=bool(info.regIsActive),
                expires=int(prm.expiration),
            )

        self.agent.guard("onRegState", report)

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:
        msg = prm.rdata.wholeMsg
        src = prm.rdata.srcAddress
        self.agent.guard(
            "onIncomingCall", lambda: self.agent.on_incoming(self, prm.callId, msg, src)
        )


class Agent:
    def __init__(self, args: argparse.Namespace, out: TextIO) -> None:
        self.args = args
        self.out = out
        self.t0 = time.monotonic()
        self.commands: queue.Queue[str | None] = queue.Queue()
        self.timers: list[Timer] = []
        self.calls: dict[int, PhoneCall] = {}
        self.pending_calls: list[PhoneCall] = []  # outgoing calls before makeCall returns
        self.dead_calls: list[PhoneCall] = []  # released outside of their own callbacks
        self.current: int | None = None
        self.local_acc: PhoneAccount | None = None
        self.reg_acc: PhoneAccount | None = None
        self.source: pj.AudioMedia | None = None  # what the phone "says": tone/wav
        self.source_desc: dict[str, Any] = {}
        self.recorder: pj.AudioMediaRecorder | None = None
        self.record_path = ""
        self.record_started = 0.0
        self.record_timer: Timer | None = None
        self.finalizing: list[tuple[float, dict[str, Any]]] = []  # (deadline, event fields)
        self.auto_answer_code: int | None = None
        self.auto_answer_delay_ms = 0
        self.auto_ringing = not args.no_auto_ringing
        self.running = True
        self.ep = pj.Endpoint()

    # ---------------------------------------------------------------- output

    def emit(self, event: str, **fields: Any) -> None:
        rec = {"event": event, "t": round(time.monotonic() - self.t0, 3), **fields}
        try:
            self.out.write(json.dumps(rec) + "\n")
            self.out.flush()
        except (BrokenPipeError, ValueError):
            self.running = False

    def guard(self, where: str, fn: Callable[[], object]) -> None:
        """Run callback code; an exception becomes an ``error`` event instead of a crash."""
        try:
            fn()
        except BaseException as exc:  # never let anything escape into C++
            self.emit("error", message=f"{where}: {_err_text(exc)}")
            traceback.print_exc(file=sys.stderr)

    # ----------------------------------------------------------------- setup

    def start(self) -> None:
        a = self.args
        self.ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = True
        cfg.uaConfig.maxCalls = 4
        cfg.uaConfig.userAgent = f"tgpbx-test-phone/{a.name}"
        cfg.uaConfig.natTypeInSdp = 0
        cfg.logConfig.level = a.log_level
        cfg.logConfig.consoleLevel = a.log_level
        cfg.logConfig.msgLogging = a.log_level >= 4
        med = cfg.medConfig
        med.clockRate = CLOCK_RATE
        med.sndClockRate = CLOCK_RATE
        med.channelCount = 1
        med.noVad = True
        med.ecTailLen = 0
        med.threadCnt = 1
        self.ep.libInit(cfg)

        tcfg = pj.TransportConfig()
        tcfg.port = a.port
        tcfg.boundAddress = a.host
        tcfg.publicAddress = a.host
        self.ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
        self.ep.libStart()
        self.ep.audDevManager().setNullDev()
        self._set_codecs(a.codecs.split(","))

        acc = PhoneAccount(self, "local")
        acfg = self._account_config(f"sip:{a.name}@{a.host}:{a.port}")
        acc.create(acfg, True)
        self.local_acc = acc
        self.emit(
            "ready",
            port=a.port,
            uri=f"sip:{a.name}@{a.host}:{a.port}",
            pid=os.getpid(),
            version=self.ep.libVersion().full,
        )

    def _set_codecs(self, wanted: list[str]) -> None:
        if [w.strip().lower() for w in wanted] == ["default"]:
            return  # pjsua's own list and order (speex, iLBC, GSM, G.711, G.722), as shipped
        prio = {name.strip().upper(): 255 - i for i, name in enumerate(wanted) if name.strip()}
        for ci in self.ep.codecEnum2():
            base = ci.codecId.split("/")[0].upper()
            self.ep.codecSetPriority(ci.codecId, prio.get(base, 0))

    def _account_config(self, id_uri: str) -> pj.AccountConfig:
        a = self.args
        cfg = pj.AccountConfig()
        cfg.idUri = id_uri
        cfg.regConfig.registrarUri = ""
        cfg.regConfig.timeoutSec = 300
        cfg.regConfig.retryIntervalSec = 30
        cfg.regConfig.dropCallsOnFail = False
        nat = cfg.natConfig
        nat.sipStunUse = pj.PJSUA_STUN_USE_DISABLED
        nat.mediaStunUse = pj.PJSUA_STUN_USE_DISABLED
        nat.iceEnabled = False
        nat.turnEnabled = False
        nat.contactRewriteUse = 0
        nat.viaRewriteUse = 0
        nat.sdpNatRewriteUse = 0
        nat.sipOutboundUse = 0
        nat.udpKaIntervalSec = 0
        mt = cfg.mediaConfig.transportConfig
        mt.boundAddress = a.host
        mt.publicAddress = a.host
        if a.rtp_port:
            mt.port = a.rtp_port
            mt.portRange = 100
        cfg.callConfig.timerUse = pj.PJSUA_SIP_TIMER_INACTIVE
        return cfg

    # ------------------------------------------------------------ main loop

    def run(self) -> None:
        reader = threading.Thread(target=self._read_stdin, name="stdin", daemon=True)
        reader.start()
        while self.running:
            self.ep.libHandleEvents(POLL_MS)
            self.dead_calls.clear()
            self._run_timers()
            if self.finalizing:
                self._check_finalized()
            while self.running:
                try:
                    line = self.commands.get_nowait()
                except queue.Empty:
                    break
                if line is None:  # stdin closed: the controller is gone
                    self.running = False
                    break
                self._dispatch(line)
        self.shutdown()

    def _read_stdin(self) -> None:
        for line in sys.stdin:
            if line.strip():
                self.commands.put(line)
        self.commands.put(None)

    def schedule(self, delay_ms: float, fn: Callable[[], object]) -> Timer:
        entry: Timer = (time.monotonic() + delay_ms / 1000.0, fn)
        self.timers.append(entry)
        return entry

    def cancel(self, entry: Timer) -> None:
        if entry in self.timers:
            self.timers.remove(entry)

    def _run_timers(self) -> None:
        now = time.monotonic()
        due = [t for t in self.timers if t[0] <= now]
        for entry in due:
            self.timers.remove(entry)
            self.guard("timer", entry[1])

    def _dispatch(self, line: str) -> None:
        req_id: Any = None
        try:
            req = json.loads(line)
            if not isinstance(req, dict):
                raise ValueError("command must be a JSON object")
            req_id = req.pop("id", None)
            name = str(req.pop("cmd", ""))
            handler = getattr(self, f"cmd_{name}", None)
            if handler is None:
                raise ValueError(f"unknown command {name!r}")
            result = handler(**req) or {}
            self.emit("ok", id=req_id, cmd=name, **result)
        except BaseException as exc:
            self.emit("error", id=req_id, message=_err_text(exc))
            if not isinstance(exc, (ValueError, KeyError, TypeError, pj.Error)):
                traceback.print_exc(file=sys.stderr)

    # ----------------------------------------------------------- callbacks

    def on_incoming(self, acc: PhoneAccount, call_id: int, msg: str, src: str) -> None:
        call = PhoneCall(self, acc, call_id)
        call.handle = call_id
        self.calls[call_id] = call
        self.current = call_id
        ci = call.getInfo()
        self.emit(
            "incoming",
            call=call_id,
            call_id=ci.callIdString,
            **{"from": sip_header(msg, "From", "f"), "to": sip_header(msg, "To", "t")},
            request_uri=msg.split("\r\n", 1)[0].split(" ")[1] if " " in msg else "",
            remote_uri=ci.remoteUri,
            account=acc.kind,
            src=src,
            msg=msg,
        )
        if self.auto_answer_code is not None:
            code = self.auto_answer_code
            if self.auto_ringing and (self.auto_answer_delay_ms > 0 or code >= 300):
                self._answer(call, 180)
            if self.auto_answer_delay_ms > 0:
                self.schedule(self.auto_answer_delay_ms, lambda: self._auto_answer(call_id, code))
            else:
                self._answer(call, code)
        elif self.auto_ringing:
            self._answer(call, 180)

    def _auto_answer(self, call_id: int, code: int) -> None:
        call = self.calls.get(call_id)
        if call is not None:
            self._answer(call, code)

    def hangup_quietly(self, handle: int) -> Callable[[], None]:
        def hangup() -> None:
            call = self.calls.get(handle)
            if call is not None and call.isActive():
                call.hangup(pj.CallOpParam(True))

        return hangup

    def new_child_call(self, call_id: int = pj.PJSUA_INVALID_ID) -> PhoneCall:
        """A Call object for a call pjsua creates by itself (transfer target, Replaces)."""
        call = PhoneCall(self, self._acc(), call_id)
        if call_id >= 0:
            call.handle = call_id
            self.calls[call_id] = call
            self.current = call_id
        else:
            self.pending_calls.append(call)  # registered on its first state change
        return call

    def on_call_state(self, call: PhoneCall) -> None:
        ci = call.getInfo()
        if call.handle < 0 or call in self.pending_calls:
            call.handle = ci.id
            if call in self.pending_calls and ci.state != pj.PJSIP_INV_STATE_DISCONNECTED:
                self.pending_calls.remove(call)
                self.calls[call.handle] = call
                self.current = call.handle
        state = STATE_NAMES.get(ci.state, str(ci.state))
        self.emit(
            "call_state",
            call=call.handle,
            state=state,
            last_status_code=int(ci.lastStatusCode),
            reason=ci.lastReason,
            call_id=ci.callIdString,
            role="caller" if ci.role == pj.PJSIP_ROLE_UAC else "callee",
            remote=ci.remoteUri,
        )
        if ci.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            call.audio = []
            self.calls.pop(call.handle, None)
            if call in self.pending_calls:
                self.pending_calls.remove(call)
            self.dead_calls.append(call)  # dropped after this callback returns
            if self.current == call.handle:
                self.current = max(self.calls) if self.calls else None

    def on_call_media(self, call: PhoneCall) -> None:
        ci = call.getInfo()  # keep the CallInfo alive while iterating its media
        audio: list[pj.AudioMedia] = []
        statuses: list[str] = []
        for mi in ci.media:
            if mi.type != pj.PJMEDIA_TYPE_AUDIO:
                continue
            statuses.append(MEDIA_STATUS_NAMES.get(mi.status, str(mi.status)))
            if mi.status in (pj.PJSUA_CALL_MEDIA_ACTIVE, pj.PJSUA_CALL_MEDIA_REMOTE_HOLD):
                audio.append(call.getAudioMedia(mi.index))
        call.audio = audio
        status = statuses[0] if statuses else "NONE"
        call.media_status = status
        for am in audio:
            if self.source is not None:
                self.source.startTransmit(am)
            if self.recorder is not None:
                am.startTransmit(self.recorder)
        self.emit("media_state", call=call.handle, status=status, call_id=ci.callIdString)
        if status == "ACTIVE":
            codec = ""
            if audio:
                # The codec this call's stream uses (what the two ends agreed on).
                codec = str(
                    call.getStreamInfo(
                        next(m.index for m in ci.media if m.type == pj.PJMEDIA_TYPE_AUDIO)
                    ).codecName
                )
            self.emit("media_active", call=call.handle, call_id=ci.callIdString, codec=codec)

    # ------------------------------------------------------------- helpers

    def _call(self, call: int | None) -> PhoneCall:
        handle = self.current if call is None else call
        if handle is None or handle not in self.calls:
            raise ValueError(f"no such call: {call!r} (calls: {sorted(self.calls)})")
        return self.calls[handle]

    def _answer(self, call: PhoneCall, code: int) -> None:
        prm = pj.CallOpParam(True)
        prm.statusCode = code
        call.answer(prm)

    def _active_audio(self) -> list[pj.AudioMedia]:
        return [am for c in self.calls.values() for am in c.audio]

    def _set_source(self, media: pj.AudioMedia | None, desc: dict[str, Any]) -> None:
        self.source = None  # destroying the old player/tone removes it from the bridge
        self.source_desc = desc
        if media is not None:
            self.source = media
            for am in self._active_audio():
                media.startTransmit(am)

    def _stop_recorder(self) -> dict[str, Any]:
        """Destroy the recorder; ``record_stopped`` follows once the WAV file is complete.

        The conference bridge removes ports asynchronously (on its clock thread), so the WAV
        writer is closed, and its header sizes written, a little after the destructor returns.
        """
        if self.recorder is None:
            return {}
        if self.record_timer is not None:
            self.cancel(self.record_timer)
            self.record_timer = None
        self.recorder = None
        info = {
            "path": self.record_path,
            "duration_ms": int((time.monotonic() - self.record_started) * 1000),
        }
        self.finalizing.append((time.monotonic() + FINALIZE_TIMEOUT, info))
        return info

    def _check_finalized(self) -> None:
        for entry in list(self.finalizing):
            deadline, info = entry
            complete = _wav_complete(info["path"])
            if complete or time.monotonic() > deadline:
                self.finalizing.remove(entry)
                self.emit("record_stopped", complete=complete, **info)

    def _acc(self) -> PhoneAccount:
        acc = self.reg_acc or self.local_acc
        assert acc is not None
        return acc

    # ------------------------------------------------------------ commands

    def cmd_ping(self) -> dict[str, Any]:
        return {"calls": sorted(self.calls), "current": self.current}

    def cmd_register(
        self,
        uri: str,
        registrar: str,
        username: str,
        password: str,
        realm: str | None = None,
        proxy: str | None = None,
        expires: int = 300,
    ) -> dict[str, Any]:
        if self.reg_acc is not None:
            self.reg_acc.shutdown()
            self.reg_acc = None
        cfg = self._account_config(uri)
        cfg.regConfig.registrarUri = registrar
        cfg.regConfig.timeoutSec = expires
        cfg.sipConfig.authCreds.append(
            pj.AuthCredInfo("digest", realm or "*", username, 0, password)
        )
        if proxy:
            cfg.sipConfig.proxies.append(proxy)
        acc = PhoneAccount(self, "registered")
        acc.create(cfg, True)
        self.reg_acc = acc
        return {}

    def cmd_unregister(self) -> dict[str, Any]:
        if self.reg_acc is None:
            raise ValueError("not registered")
        self.reg_acc.setRegistration(False)
        return {}

    def cmd_call(self, uri: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        if len(self.calls) >= 4:
            raise ValueError("too many calls (max 4 per phone)")
        call = PhoneCall(self, self._acc())
        prm = pj.CallOpParam(True)
        for name, value in (headers or {}).items():
            h = pj.SipHeader()
            h.hName = name
            h.hValue = value
            prm.txOption.headers.append(h)
        self.pending_calls.append(call)
        try:
            call.makeCall(uri, prm)
        finally:
            if call in self.pending_calls:
                self.pending_calls.remove(call)
        call.handle = call.getId()
        call_id = ""
        if call.handle >= 0 and call.isActive():
            self.calls[call.handle] = call
            self.current = call.handle
            call_id = call.getInfo().callIdString
        else:
            self.dead_calls.append(call)
        return {"call": call.handle, "call_id": call_id}

    def cmd_answer(self, code: int = 200, call: int | None = None) -> dict[str, Any]:
        c = self._call(call)
        self._answer(c, code)
        return {"call": c.handle}

    def cmd_ringing(self, code: int = 180, call: int | None = None) -> dict[str, Any]:
        return self.cmd_answer(code, call)

    def cmd_auto_answer(self, code: int | None = 200, delay_ms: int = 0) -> dict[str, Any]:
        self.auto_answer_code = code
        self.auto_answer_delay_ms = delay_ms
        return {}

    def cmd_auto_ringing(self, enabled: bool = True) -> dict[str, Any]:
        self.auto_ringing = enabled
        return {}

    def cmd_hangup(self, call: int | None = None, code: int | None = None) -> dict[str, Any]:
        c = self._call(call)
        prm = pj.CallOpParam(True)
        if code is not None:
            prm.statusCode = code
        c.hangup(prm)
        return {"call": c.handle}

    def cmd_hangup_all(self) -> dict[str, Any]:
        self.ep.hangupAllCalls()
        return {}

    def cmd_hold(self, call: int | None = None) -> dict[str, Any]:
        c = self._call(call)
        c.setHold(pj.CallOpParam(True))
        return {"call": c.handle}

    def cmd_unhold(self, call: int | None = None) -> dict[str, Any]:
        c = self._call(call)
        prm = pj.CallOpParam(True)
        prm.opt.flag = pj.PJSUA_CALL_UNHOLD
        c.reinvite(prm)
        return {"call": c.handle}

    def cmd_transfer(
        self, uri: str | None = None, call: int | None = None, to_call: int | None = None
    ) -> dict[str, Any]:
        """Blind transfer to ``uri`` (REFER), or attended: replace ``to_call`` (REFER with
        Replaces)."""
        c = self._call(call)
        if to_call is not None:
            c.xferReplaces(self._call(to_call), pj.CallOpParam(True))
        elif uri:
            c.xfer(uri, pj.CallOpParam(True))
        else:
            raise ValueError("transfer needs uri or to_call")
        return {"call": c.handle}

    def cmd_dtmf(
        self, digits: str, call: int | None = None, method: str = "rfc2833"
    ) -> dict[str, Any]:
        c = self._call(call)
        prm = pj.CallSendDtmfParam()
        prm.digits = digits
        prm.method = (
            pj.PJSUA_DTMF_METHOD_SIP_INFO if method == "info" else pj.PJSUA_DTMF_METHOD_RFC2833
        )
        c.sendDtmf(prm)
        return {"call": c.handle}

    def cmd_play_tone(
        self, freq: int = 440, freq2: int = 0, volume: int = 0, loop: bool = True
    ) -> dict[str, Any]:
        tg = pj.ToneGenerator()
        tg.createToneGenerator(CLOCK_RATE, 1)
        td = pj.ToneDesc()
        td.freq1 = int(freq)
        td.freq2 = int(freq2)
        td.on_msec = 30000  # a C short: <= 32767; looped for a continuous tone
        td.off_msec = 0
        td.volume = int(volume)
        tones = pj.ToneDescVector()
        tones.append(td)
        tg.play(tones, loop)
        self._set_source(tg, {"tone": freq})
        return {}

    def cmd_play_wav(self, path: str, loop: bool = True) -> dict[str, Any]:
        player = pj.AudioMediaPlayer()
        player.createPlayer(path, 0 if loop else pj.PJMEDIA_FILE_NO_LOOP)
        self._set_source(player, {"wav": path})
        return {}

    def cmd_stop_audio(self) -> dict[str, Any]:
        self._set_source(None, {})
        return {}

    def cmd_record(self, path: str, max_ms: int | None = None) -> dict[str, Any]:
        self._stop_recorder()
        rec = pj.AudioMediaRecorder()
        rec.createRecorder(path)
        self.recorder = rec
        self.record_path = path
        self.record_started = time.monotonic()
        for am in self._active_audio():
            am.startTransmit(rec)
        if max_ms is not None:
            self.record_timer = self.schedule(max_ms, self._stop_recorder)
        return {"path": path}

    def cmd_stop_record(self) -> dict[str, Any]:
        if self.recorder is None:
            raise ValueError("not recording")
        return self._stop_recorder()

    def cmd_timer(self, ms: int, name: str = "timer") -> dict[str, Any]:
        self.schedule(ms, lambda: self.emit("timer", name=name))
        return {}

    def cmd_quit(self) -> dict[str, Any]:
        self.running = False
        return {}

    # ------------------------------------------------------------ shutdown

    def _pump(self, seconds: float, done: Callable[[], bool]) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not done():
            self.ep.libHandleEvents(POLL_MS)
            if self.finalizing:
                self._check_finalized()

    def shutdown(self) -> None:
        try:
            self._stop_recorder()
            self._set_source(None, {})
            self._pump(FINALIZE_TIMEOUT, lambda: not self.finalizing)
            if self.calls:
                self.ep.hangupAllCalls()
                self._pump(2.0, lambda: not self.calls)
            if self.reg_acc is not None and self.reg_acc.getInfo().regIsActive:
                acc = self.reg_acc
                acc.setRegistration(False)
                self._pump(1.0, lambda: not acc.getInfo().regIsActive)
            self._pump(0.05, lambda: False)
            self.calls.clear()
            self.pending_calls.clear()
            self.dead_calls.clear()
            for account in (self.reg_acc, self.local_acc):
                if account is not None:
                    account.shutdown()
            self.reg_acc = self.local_acc = None
            self.ep.libDestroy(pj.PJSUA_DESTROY_NO_RX_MSG)  # skip its fixed 1 s wait
        except BaseException as exc:
            self.emit("error", message=f"shutdown: {_err_text(exc)}")
        self.emit("bye")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--port", type=int, required=True, help="SIP UDP port to bind")
    p.add_argument("--host", default="127.0.0.1", help="address for SIP and RTP")
    p.add_argument("--name", default="phone", help="user part of the local (unregistered) URI")
    p.add_argument("--rtp-port", type=int, default=0, help="first RTP port (0: pjsua picks)")
    p.add_argument("--codecs", default="PCMU,PCMA", help="codecs to offer, in order, or 'default'")
    p.add_argument("--log-level", type=int, default=0, help="pjsua log level to stderr (0-6)")
    p.add_argument("--no-auto-ringing", action="store_true", help="don't send 180 on INVITE")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # The protocol owns the real stdout; everything else (pjsua's printf logging, stray prints)
    # is sent to stderr so it can never corrupt the JSON stream.
    proto = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    agent = Agent(args, proto)
    code = 0
    try:
        agent.start()
    except BaseException as exc:
        agent.emit("error", message=f"startup: {_err_text(exc)}")
        code = 2
    else:
        agent.run()
    proto.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: destroying SWIG proxies after libDestroy can crash.
    os._exit(code)


if __name__ == "__main__":
    main()
