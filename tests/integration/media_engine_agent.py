"""Run the real SippyAdapter in its own process (sippy's event loop is process-wide) and
drive it over stdin/stdout: one JSON command per line in, one JSON event per line out.

    {"cmd": "originate" | "dial_out", "call_id": ..., "leg_id": "b1", "user": "b", "port": 27701}
    {"cmd": "answer" | "stop_play" | "stop_recording" | "hangup", "call_id": ...}
    {"cmd": "play", "call_id": ..., "prompt": ..., "loop": false}
    {"cmd": "start_recording", "call_id": ..., "path": ...}
    {"cmd": "cancel_leg", "call_id": ..., "leg_id": ...}

Events are the adapter's, as {"event": "<class name>", <fields>}; every command is
acknowledged with {"event": "ok", "seq": n} once the adapter accepted it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from pbx.engine.events import EngineEvent, Target
from pbx.sip.adapter import SippyAdapter


def _out(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _on_event(ev: EngineEvent) -> None:
    _out({"event": type(ev).__name__, **dataclasses.asdict(ev)})


async def _run(adapter: SippyAdapter, req: dict[str, Any]) -> None:
    cmd, call_id = req["cmd"], req.get("call_id", "")
    if cmd == "originate":
        target = Target(
            user=req["user"], host="127.0.0.1", port=req["port"], proxy=None, caller_id="100"
        )
        await adapter.originate(call_id, req["leg_id"], target)
    elif cmd == "dial_out":
        target = Target(
            user=req["user"], host="127.0.0.1", port=req["port"], proxy=None, caller_id="100"
        )
        await adapter.dial_out(call_id, target)
    elif cmd == "answer":
        await adapter.answer(call_id)
    elif cmd == "play":
        await adapter.play(call_id, req["prompt"], req.get("loop", False))
    elif cmd == "stop_play":
        await adapter.stop_play(call_id)
    elif cmd == "start_recording":
        await adapter.start_recording(call_id, req["path"], req.get("both", False))
    elif cmd == "stop_recording":
        await adapter.stop_recording(call_id)
    elif cmd == "cancel_leg":
        await adapter.cancel_leg(call_id, req["leg_id"])
    elif cmd == "hangup":
        await adapter.hangup(call_id)
    else:
        raise ValueError(f"unknown command {cmd}")


async def main(port: int, work_dir: Path) -> None:
    adapter = SippyAdapter(
        "127.0.0.1",
        port,
        ["-l127.0.0.1", "-m27800", "-M27999", "-dWARN", "-F"],
        work_dir,
    )
    await adapter.start(_on_event)
    _out({"event": "ready", "dtmf_module": adapter.caps.dtmf_module})
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        req = json.loads(line)
        if req["cmd"] == "quit":
            break
        try:
            await _run(adapter, req)
        except Exception as exc:
            _out({"event": "error", "seq": req.get("seq"), "message": repr(exc)})
        else:
            _out({"event": "ok", "seq": req.get("seq")})
    await adapter.stop(grace=3)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), Path(sys.argv[2])))
