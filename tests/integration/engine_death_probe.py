"""Run in its own process (sippy's event loop is a process-wide singleton): start the
real adapter, let its loop die, and print what the asyncio side saw as JSON."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

from sippy.Core.EventDispatcher import ED2

from pbx.engine.events import EngineDied, EngineEvent, Target
from pbx.errors import EngineUnavailable
from pbx.sip.adapter import SippyAdapter


async def main(port: int) -> dict[str, object]:
    events: asyncio.Queue[EngineEvent] = asyncio.Queue()
    adapter = SippyAdapter(
        "127.0.0.1",
        port,
        ["-l127.0.0.1", "-m32000", "-M32099", "-dWARN", "-F"],
        Path(tempfile.mkdtemp()),
    )
    await adapter.start(events.put_nowait)
    alive_before = adapter.alive

    def crash() -> None:
        # Ordinary exceptions are logged and survived by ED2; SystemExit ends its loop.
        raise SystemExit("simulated engine crash")

    ED2.callFromThread(crash)
    died = await asyncio.wait_for(events.get(), 10)
    target = Target(user="1", host="127.0.0.1", port=5060, proxy=None, caller_id="2")
    try:
        await asyncio.wait_for(adapter.originate("x", "b1", target), 2)
        after = "no error"
    except EngineUnavailable as exc:
        after = f"EngineUnavailable: {exc}"
    return {
        "alive_before": alive_before,
        "event": type(died).__name__,
        "reason": died.reason if isinstance(died, EngineDied) else "",
        "alive_after": adapter.alive,
        "command_after": after,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(int(sys.argv[1])))))
