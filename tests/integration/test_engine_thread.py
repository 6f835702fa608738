"""If the engine thread dies, the asyncio side learns it at once and nothing waits."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_engine_death_fails_pending_work_at_once() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.integration.engine_death_probe", "25470"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["alive_before"] is True
    assert seen["event"] == "EngineDied"
    assert "simulated engine crash" in seen["reason"]
    assert seen["alive_after"] is False
    assert seen["command_after"].startswith("EngineUnavailable")
