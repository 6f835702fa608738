"""asyncio side of the test phone: drives a ``tests.support.phone_agent`` subprocess.

    async with Phone(port=24000, name="alice") as a, Phone(port=24001, name="bob") as b:
        await b.auto_answer(200)
        await a.call(b.uri)
        await a.wait_state("CONFIRMED")
        await a.hangup()
        await b.wait_state("DISCONNECTED")

Every agent event is kept in ``phone.events``. ``wait_for`` returns the oldest matching event not
yet returned by an earlier wait (so an event that arrived before the wait started is found, and
each event is returned once); it raises ``PhoneTimeout`` (a ``TimeoutError``) listing the events
seen. Tests never sleep to synchronise: they wait for events.
"""

# Waits take a ``timeout=`` argument on purpose: a failed wait reports what the phone saw.

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

Event = dict[str, Any]
Predicate = Callable[[Event], bool]


class PhoneError(Exception):
    """The agent reported an error, died, or a call ended while waiting for another state."""


class PhoneTimeout(TimeoutError):
    def __init__(self, message: str, events: list[Event]) -> None:
        super().__init__(message)
        self.events = events


def _brief(ev: Event) -> str:
    shown = {k: v for k, v in ev.items() if k not in ("msg", "t")}
    return f"{ev.get('t', '?')}s {json.dumps(shown)}"


class Phone:
    def __init__(
        self,
        port: int,
        name: str = "phone",
        host: str = "127.0.0.1",
        rtp_port: int = 0,
        codecs: str = "default",  # pjsua's own list, as a real softphone offers it
        auto_ringing: bool = True,
        log_level: int | None = None,
        start_timeout: float = 10.0,
    ) -> None:
        self.port = port
        self.name = name
        self.host = host
        self.rtp_port = rtp_port
        self.codecs = codecs
        self.auto_ringing = auto_ringing
        env_level = os.environ.get("PHONE_LOG_LEVEL")
        self.log_level = log_level if log_level is not None else int(env_level or 0)
        self.start_timeout = start_timeout
        self.events: list[Event] = []
        self.errors: list[Event] = []  # error events not tied to a command
        self.stderr: deque[str] = deque(maxlen=400)
        self.current_call_id: str | None = None  # SIP Call-ID of the newest call
        self.proc: asyncio.subprocess.Process | None = None
        self._consumed: set[int] = set()
        self._floor = 0  # events before this index are ignored by wait_for (see mark())
        self._replies: dict[int, asyncio.Future[Event]] = {}
        self._ids = itertools.count(1)
        self._cond = asyncio.Condition()
        self._exited = False
        self._tasks: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------ lifecycle

    @property
    def uri(self) -> str:
        """Direct URI of this phone (no registrar needed)."""
        return f"sip:{self.name}@{self.host}:{self.port}"

    async def __aenter__(self) -> Phone:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        args = [
            sys.executable,
            "-m",
            "tests.support.phone_agent",
            "--port",
            str(self.port),
            "--host",
            self.host,
            "--name",
            self.name,
            "--rtp-port",
            str(self.rtp_port),
            "--codecs",
            self.codecs,
            "--log-level",
            str(self.log_level),
        ]
        if not self.auto_ringing:
            args.append("--no-auto-ringing")
        self.proc = await asyncio.create_subprocess_exec(
            *args,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=1 << 20,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._tasks = [
            asyncio.create_task(self._read_events(), name=f"phone-{self.name}-events"),
            asyncio.create_task(self._read_stderr(), name=f"phone-{self.name}-stderr"),
        ]
        try:
            await self.wait_for("ready", timeout=self.start_timeout)
        except BaseException:
            await self.close()
            raise

    async def close(self, timeout: float = 5.0) -> None:
        """Ask the agent to quit (it hangs up and unregisters), kill it if it doesn't."""
        proc = self.proc
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(Exception):
                await self._send({"cmd": "quit", "id": next(self._ids)})
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if proc.stdin is not None:
            with contextlib.suppress(Exception):
                proc.stdin.close()
        for task in self._tasks:
            if not task.done():
                task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        self._tasks = []

    # -------------------------------------------------------------- reading

    async def _read_events(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        try:
            async for raw in self.proc.stdout:
                line = raw.decode(errors="replace").strip()
                if not line:
                    continue
                try:
                    ev = json.loads(line)
                except json.JSONDecodeError:
                    self.stderr.append(f"[bad event line] {line}")
                    continue
                self._on_event(ev)
                async with self._cond:
                    self._cond.notify_all()
        finally:
            self._exited = True
            for fut in self._replies.values():
                if not fut.done():
                    fut.set_exception(PhoneError(f"{self.name}: agent exited\n{self._tail()}"))
            async with self._cond:
                self._cond.notify_all()

    def _on_event(self, ev: Event) -> None:
        kind = ev.get("event")
        req_id = ev.get("id")
        if kind in ("ok", "error") and req_id is not None:
            fut = self._replies.pop(req_id, None)
            if fut is not None and not fut.done():
                fut.set_result(ev)
            return
        if kind == "error":
            self.errors.append(ev)
        # the newest call, as the agent sees it (commands without call= act on it too)
        if kind == "incoming" or (kind == "call_state" and ev.get("state") == "CALLING"):
            self.current_call_id = ev.get("call_id") or self.current_call_id
        self.events.append(ev)

    async def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        async for raw in self.proc.stderr:
            self.stderr.append(raw.decode(errors="replace").rstrip())

    def _tail(self, lines: int = 40) -> str:
        tail = list(self.stderr)[-lines:]
        return "agent stderr (tail):\n  " + "\n  ".join(tail) if tail else "agent stderr: empty"

    # ------------------------------------------------------- events / waits

    def mark(self) -> None:
        """Forget every event received so far: later waits only see newer events."""
        self._floor = len(self.events)

    def _find(self, event: str, predicate: Predicate | None) -> int | None:
        for i in range(self._floor, len(self.events)):
            if i in self._consumed:
                continue
            ev = self.events[i]
            if ev.get("event") == event and (predicate is None or predicate(ev)):
                return i
        return None

    async def wait_for(
        self,
        event: str,
        predicate: Predicate | None = None,
        timeout: float = 10.0,
        fail: Predicate | None = None,
    ) -> Event:
        """Oldest unconsumed ``event`` matching ``predicate``; marks it consumed.

        ``fail``: an unconsumed event that matches it aborts the wait with ``PhoneError``.
        """
        deadline = time.monotonic() + timeout
        fail_idx: list[int] = []

        def ready() -> bool:
            if self._find(event, predicate) is not None:
                return True
            if fail is not None:
                for i in range(self._floor, len(self.events)):
                    if i not in self._consumed and fail(self.events[i]):
                        fail_idx.append(i)
                        return True
            return self._exited

        async with self._cond:
            try:
                await asyncio.wait_for(
                    self._cond.wait_for(ready), max(0.0, deadline - time.monotonic())
                )
            except TimeoutError:
                raise PhoneTimeout(
                    f"{self.name}: no {event!r} event within {timeout}s; events seen:\n"
                    + self.describe(),
                    list(self.events),
                ) from None
            idx = self._find(event, predicate)
            if idx is not None:
                self._consumed.add(idx)
                return self.events[idx]
            if fail_idx:
                self._consumed.add(fail_idx[0])
                raise PhoneError(
                    f"{self.name}: waiting for {event!r} but got {_brief(self.events[fail_idx[0]])}"
                    f"; events seen:\n{self.describe()}"
                )
            raise PhoneError(
                f"{self.name}: agent exited while waiting for {event!r}; events seen:\n"
                f"{self.describe()}\n{self._tail()}"
            )

    def describe(self) -> str:
        return "\n".join(f"  {_brief(ev)}" for ev in self.events) or "  (none)"

    # -------------------------------------------------------------- commands

    async def _send(self, req: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(req) + "\n").encode())
        await self.proc.stdin.drain()

    async def command(self, cmd: str, timeout: float = 5.0, **args: Any) -> Event:
        """Send a command and return its ``ok`` reply; raise ``PhoneError`` on ``error``."""
        if self.proc is None or self._exited:
            raise PhoneError(f"{self.name}: agent is not running\n{self._tail()}")
        req_id = next(self._ids)
        fut: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self._replies[req_id] = fut
        await self._send({"cmd": cmd, "id": req_id, **args})
        try:
            reply = await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            self._replies.pop(req_id, None)
            raise PhoneTimeout(
                f"{self.name}: no reply to {cmd!r} within {timeout}s", list(self.events)
            ) from None
        if reply.get("event") == "error":
            raise PhoneError(f"{self.name}: {cmd} failed: {reply.get('message')}")
        return reply

    # --- registration

    async def register(
        self,
        uri: str,
        registrar: str,
        username: str,
        password: str,
        realm: str | None = None,
        proxy: str | None = None,
        expires: int = 300,
        expect_code: int | None = 200,
        timeout: float = 10.0,
    ) -> Event:
        """Create the registered account and wait for the registration result."""
        await self.command(
            "register",
            uri=uri,
            registrar=registrar,
            username=username,
            password=password,
            realm=realm,
            proxy=proxy,
            expires=expires,
        )
        ev = await self.wait_for("reg_state", timeout=timeout)
        if expect_code is not None and ev["code"] != expect_code:
            raise PhoneError(f"{self.name}: registration got {ev['code']} {ev['reason']}")
        return ev

    async def unregister(self, timeout: float = 10.0) -> Event:
        await self.command("unregister")
        return await self.wait_for("reg_state", lambda e: not e["active"], timeout=timeout)

    # --- calls

    async def call(self, uri: str, headers: dict[str, str] | None = None) -> int:
        """Start a call; returns the agent's call handle. Events follow (``wait_state``)."""
        reply = await self.command("call", uri=uri, headers=headers)
        self.current_call_id = reply.get("call_id") or None
        return int(reply["call"])

    async def answer(self, code: int = 200, call: int | None = None) -> None:
        await self.command("answer", code=code, call=call)

    async def reject(self, code: int = 486, call: int | None = None) -> None:
        await self.command("answer", code=code, call=call)

    async def ringing(self, code: int = 180, call: int | None = None) -> None:
        await self.command("ringing", code=code, call=call)

    async def auto_answer(self, code: int | None = 200, delay_ms: int = 0) -> None:
        """Answer (or reject, code >= 300) every incoming call; ``None`` turns it off."""
        await self.command("auto_answer", code=code, delay_ms=delay_ms)

    async def hangup(self, call: int | None = None, code: int | None = None) -> None:
        await self.command("hangup", call=call, code=code)

    async def hold(self, call: int | None = None) -> None:
        await self.command("hold", call=call)

    async def unhold(self, call: int | None = None) -> None:
        await self.command("unhold", call=call)

    async def transfer(self, uri: str, call: int | None = None) -> None:
        await self.command("transfer", uri=uri, call=call)

    async def wait_incoming(self, timeout: float = 10.0) -> Event:
        ev = await self.wait_for("incoming", timeout=timeout)
        self.current_call_id = ev["call_id"]
        return ev

    def _this_call(self, call_id: str | None) -> Predicate:
        def match(ev: Event) -> bool:
            want = call_id or self.current_call_id
            return want is None or ev.get("call_id") == want

        return match

    async def wait_state(
        self, state: str, timeout: float = 10.0, call_id: str | None = None
    ) -> Event:
        """Wait until the call (default: the newest one) reaches ``state``.

        Waiting for anything but DISCONNECTED fails at once if the call ends instead.
        """
        this = self._this_call(call_id)
        fail: Predicate | None = None
        if state != "DISCONNECTED":

            def fail(ev: Event) -> bool:
                return (
                    ev.get("event") == "call_state" and ev["state"] == "DISCONNECTED" and this(ev)
                )

        return await self.wait_for(
            "call_state", lambda e: e["state"] == state and this(e), timeout=timeout, fail=fail
        )

    def codec(self, call_id: str | None = None) -> str:
        """The codec of the call's audio stream (default: the newest call), as last
        negotiated; events are read, not consumed."""
        this = self._this_call(call_id)
        seen = [ev for ev in self.events if ev.get("event") == "media_active" and this(ev)]
        return str(seen[-1].get("codec", "")) if seen else ""

    def saw_state(self, state: str, call_id: str | None = None) -> bool:
        """Whether the call (default: the newest) ever reached ``state``, marks ignored:
        e.g. a caller that must never have been answered (CONFIRMED)."""
        this = self._this_call(call_id)
        return any(
            ev.get("event") == "call_state" and ev["state"] == state and this(ev)
            for ev in self.events
        )

    async def wait_early_media(self, timeout: float = 10.0) -> Event:
        """183 Session Progress with SDP: the caller hears the PBX before any answer."""
        await self.wait_for(
            "call_state",
            lambda e: e["state"] == "EARLY" and e["last_status_code"] == 183,
            timeout=timeout,
        )
        return await self.wait_media(timeout)

    async def wait_media(self, timeout: float = 10.0) -> Event:
        return await self.wait_for("media_active", timeout=timeout)

    # --- audio

    async def play_tone(self, hz: int, hz2: int = 0) -> None:
        """Send a continuous tone into every call (now and later) until ``stop_audio``."""
        await self.command("play_tone", freq=hz, freq2=hz2)

    async def play_wav(self, path: str | Path, loop: bool = True) -> None:
        await self.command("play_wav", path=str(path), loop=loop)

    async def stop_audio(self) -> None:
        await self.command("stop_audio")

    async def record_to(self, path: str | Path, max_ms: int | None = None) -> None:
        """Record what the phone hears into a WAV; with ``max_ms`` it stops by itself
        (``wait_record_stopped``)."""
        await self.command("record", path=str(path), max_ms=max_ms)

    async def stop_record(self) -> Event:
        """Stop recording; the WAV is complete when this returns."""
        await self.command("stop_record")
        return await self.wait_record_stopped()

    async def wait_record_stopped(self, timeout: float = 10.0) -> Event:
        """Wait until the recorder is gone and its WAV file is complete (readable)."""
        ev = await self.wait_for("record_stopped", timeout=timeout)
        if not ev.get("complete"):
            raise PhoneError(f"{self.name}: recording {ev['path']} was not finalised")
        return ev

    # --- DTMF

    async def send_dtmf(self, digits: str, method: str = "rfc2833") -> None:
        await self.command("dtmf", digits=digits, method=method)

    async def wait_dtmf(self, count: int = 1, timeout: float = 10.0) -> str:
        """Collect ``count`` received DTMF digits (within ``timeout`` overall)."""
        deadline = time.monotonic() + timeout
        digits = ""
        for _ in range(count):
            ev = await self.wait_for("dtmf", timeout=max(0.0, deadline - time.monotonic()))
            digits += ev["digit"]
        return digits

    # --- misc

    async def timer(self, ms: int, name: str = "timer") -> None:
        """Ask the agent for a ``timer`` event after ``ms`` (a clock for measured waits)."""
        await self.command("timer", ms=ms, name=name)
