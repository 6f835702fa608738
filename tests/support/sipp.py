"""Run SIPp as a real SIP peer from tests and benchmarks (bounded in calls and time)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

SCENARIOS = Path(__file__).resolve().parents[2] / "bench" / "scenarios"


@dataclass
class SippResult:
    returncode: int
    successful: int
    failed: int
    output: str


def _count(output: str, label: str) -> int:
    m = re.findall(rf"{label}\s*\|\s*\d+\s*\|\s*(\d+)", output)
    return int(m[-1]) if m else 0


class Sipp:
    """One SIPp process; `await wait()` collects its summary."""

    def __init__(self, args: list[str], timeout: float = 60.0) -> None:
        self.args = ["sipp", *args, "-nostdin", "-timeout", f"{int(timeout)}s", "-timeout_error"]
        self.timeout = timeout
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> Sipp:
        self.proc = await asyncio.create_subprocess_exec(
            *self.args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        return self

    async def wait(self) -> SippResult:
        assert self.proc is not None
        out, _ = await asyncio.wait_for(self.proc.communicate(), self.timeout + 10)
        text = out.decode(errors="replace")
        return SippResult(
            self.proc.returncode or 0,
            _count(text, "Successful call"),
            _count(text, "Failed call"),
            text,
        )

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


def scenario(name: str) -> str:
    return str(SCENARIOS / name)
