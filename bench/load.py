"""SIPp load through Kamailio and the engine, with media, reporting what it measures.

    .venv/bin/python -m bench.load --calls 300 --rate 30 --hold 20
    .venv/bin/python -m bench.load --calls 1200 --rate 60 --hold 1
    .venv/bin/python -m bench.load --calls 100 --rate 10 --hold 20 --record
    .venv/bin/python -m bench.load --calls 1200 --rate 60 --hold 1 --inbound --channels 1000
    .venv/bin/python -m bench.load --calls 1000 --rate 20 --hold 1 --inbound --greeting --rounds 3

Starts `pbx run` as its own process (private PostgreSQL/Redis, fresh `pbx_bench`
database), provisions one company with ext 101 (the SIPp caller, digest auth through
the edge) and ext 102 (a SIPp callee registered through the edge, echoing RTP), runs
the calls (or, with --inbound, has a carrier at 127.0.0.2 call a company number routed
to ext 102, straight at the engine; --channels caps that number's concurrent calls, which
makes every call take a channel lease in Redis; --greeting has the number play the
shipped greeting first, as early media from the engine), samples CPU and memory of the service and of Kamailio every second, and
prints a Markdown row set (also appended to docs/benchmarks.md with --write).
Bounded: every SIPp run has a global timeout and a call count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from tests.support.sipp import Sipp, scenario

ROOT = Path(__file__).resolve().parents[1]
PBX = str(ROOT / ".venv" / "bin" / "pbx")
PCAP = Path("/usr/share/sip-tester/g711a.pcap")
EDGE, ENGINE, HTTP = 27060, 27070, 27081
UAS_PORT, UAC_PORT, REG_PORT = 27102, 27101, 27103
CARRIER_IP, DID = "127.0.0.2", "74950000001"
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def pcap_packets(path: Path) -> int:
    data = path.read_bytes()
    pos, count = 24, 0
    while pos + 16 <= len(data):
        incl = struct.unpack("<I", data[pos + 8 : pos + 12])[0]
        pos += 16 + incl
        count += 1
    return count


def proc_sample(pid: int) -> tuple[float, int]:
    """CPU seconds used so far and resident memory in bytes."""
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    cpu = (int(parts[11]) + int(parts[12])) / TICKS
    rss = int(parts[21]) * PAGE
    return cpu, rss


def kamailio_pids(parent: int) -> list[int]:
    out = subprocess.run(
        ["pgrep", "-f", f"kamailio.*{ROOT / 'var' / 'bench'}"], capture_output=True, text=True
    )
    return [int(p) for p in out.stdout.split() if int(p) != parent]


@dataclass
class Usage:
    samples: list[tuple[float, float, int]] = field(default_factory=list)  # t, cpu s, rss

    def add(self, t: float, cpu: float, rss: int) -> None:
        self.samples.append((t, cpu, rss))

    def summary(self) -> dict[str, float]:
        if len(self.samples) < 2:
            return {}
        (t0, c0, _), (t1, c1, _) = self.samples[0], self.samples[-1]
        peaks = [
            (b[1] - a[1]) / (b[0] - a[0]) * 100
            for a, b in zip(self.samples, self.samples[1:], strict=False)
        ]
        return {
            "cpu_avg_pct": round((c1 - c0) / (t1 - t0) * 100, 1),
            "cpu_peak_pct": round(max(peaks), 1),
            "rss_peak_mb": round(max(s[2] for s in self.samples) / 2**20, 1),
        }


async def cli(env: dict[str, str], *args: str) -> Any:
    proc = await asyncio.create_subprocess_exec(
        PBX, "--json", *args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await proc.communicate()
    if proc.returncode:
        raise SystemExit(f"pbx {' '.join(args)} failed: {err.decode()}")
    return json.loads(out)


async def http_json(path: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{HTTP}{path}") as r:
        return dict(await r.json())


async def fresh_database(dsn_admin: str) -> str:
    conn = await asyncpg.connect(dsn_admin)
    await conn.execute("DROP DATABASE IF EXISTS pbx_bench WITH (FORCE)")
    await conn.execute("CREATE DATABASE pbx_bench")
    await conn.close()
    return dsn_admin.rsplit("/", 1)[0] + "/pbx_bench"


async def wait_healthy(proc: asyncio.subprocess.Process, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            raise SystemExit("pbx run exited during start-up")
        try:
            if (await http_json("/status")).get("healthy"):
                return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit("pbx run did not become healthy")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from pbx.config import Settings
    from pbx.infra import ensure_services

    base = Settings(data_dir=ROOT / "var")
    ensure_services(base)
    dsn = await fresh_database(base.dsn)
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "REDIS_URL": base.redis_dsn,
        "PBX_DATA_DIR": str(ROOT / "var" / "bench"),
        "PBX_SIP_DOMAIN": "bench.test",
        "PBX_EDGE_PORT": str(EDGE),
        "PBX_ENGINE_PORT": str(ENGINE),
        "PBX_HTTP_PORT": str(HTTP),
        "PBX_RTP_PORT_MIN": "40000",
        "PBX_RTP_PORT_MAX": "44999",
        "PBX_PIKE_REQS_DENSITY": "100000",  # one SIPp address sends everything
        "PBX_TRUNK_ALLOW_LOOPBACK": "true",  # the SIPp carrier is on 127.0.0.2
        "PBX_LOG_LEVEL": "WARNING",
        "PBX_NO_ANSWER_TIMEOUT": "60",
    }
    log = (ROOT / "var" / "bench-pbx.log").open("wb")
    service = await asyncio.create_subprocess_exec(PBX, "run", env=env, stderr=log)
    try:
        await wait_healthy(service)
        company = await cli(env, "company", "create", "Bench")
        a = await cli(env, "employee", "add", "--company", str(company["id"]), "--name", "Caller")
        b = await cli(env, "employee", "add", "--company", str(company["id"]), "--name", "Callee")
        domain = company["sip_domain"]
        cid = str(company["id"])
        if args.inbound:
            trunk = await cli(
                env,
                "trunk",
                "add",
                "--company",
                cid,
                "--name",
                "carrier",
                "--host",
                CARRIER_IP,
                "--port",
                str(UAC_PORT),
                "--ip",
                CARRIER_IP,
            )
            await cli(
                env,
                "number",
                "add",
                "--company",
                cid,
                DID,
                "--trunk",
                str(trunk["id"]),
                "--to",
                b["ext"],
            )
        conn = await asyncpg.connect(dsn)
        if args.record:  # every call recorded: both directions mixed, OGG, quota check
            await conn.execute(
                "UPDATE companies SET recording_mode = 'all' WHERE id = $1", int(cid)
            )
        if args.greeting:  # no such upload: the shipped greeting, played by the engine
            await conn.execute(
                "UPDATE numbers SET greeting = 'bench' WHERE company_id = $1", int(cid)
            )
        if args.channels:  # what a plan's channel limit writes
            await conn.execute(
                "UPDATE companies SET channels_per_number = $2 WHERE id = $1",
                int(cid),
                args.channels,
            )
        await conn.close()
        out = await drive(args, service.pid, domain, a, b)
        # More rounds in the same process: the SIP table back at 0 and RSS level after
        # each one show that ended calls leave nothing behind.
        out["rounds"] = [summary_of(out)]
        for _ in range(args.rounds - 1):
            out["rounds"].append(summary_of(await drive(args, service.pid, domain, a, b)))
        if args.record:
            out["recordings"] = await recordings_kept(dsn, service.pid, out["successful"])
        return out
    finally:
        service.terminate()
        await asyncio.wait_for(service.wait(), 30)


def children_cpu(pid: int) -> float:
    """CPU seconds of the service's finished child processes (ffmpeg encodes)."""
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[13]) + int(parts[14])) / TICKS


async def recordings_kept(dsn: str, pid: int, expected: int) -> dict[str, Any]:
    """Wait (bounded) until every answered call's recording is kept; report the cost."""
    conn = await asyncpg.connect(dsn)
    t0, cpu0 = time.monotonic(), proc_sample(pid)[0] + children_cpu(pid)
    deadline = t0 + 300
    row: Any = None
    while time.monotonic() < deadline:
        row = await conn.fetchrow(
            "SELECT count(*) AS n, COALESCE(sum(bytes), 0) AS b, COALESCE(sum(seconds), 0) AS s"
            " FROM recordings"
        )
        if row["n"] >= expected:
            break
        await asyncio.sleep(0.5)
    await conn.close()
    cpu = proc_sample(pid)[0] + children_cpu(pid) - cpu0
    minutes = float(row["s"]) / 60 if row else 0.0
    return {
        "kept": row["n"] if row else 0,
        "expected": expected,
        "drain_after_last_call_s": round(time.monotonic() - t0, 1),
        "cpu_s_after_last_call": round(cpu, 1),
        "audio_minutes": round(minutes, 1),
        "bytes_per_minute": round(int(row["b"]) / minutes) if minutes else None,
        "encode_cpu_s_total": round(children_cpu(pid), 1),
    }


def creds(emp: dict[str, Any]) -> tuple[str, str]:
    c = emp.get("credentials", emp)
    return c["login"], c["password"]


async def drive(
    args: argparse.Namespace, pid: int, domain: str, a: dict[str, Any], b: dict[str, Any]
) -> dict[str, Any]:
    a_login, a_pw = creds(a)
    b_login, b_pw = creds(b)
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    (tmp / "reg.csv").write_text(f"SEQUENTIAL\n{domain};{b_login};127.0.0.1:{UAS_PORT}\n")
    (tmp / "uac.csv").write_text(f"SEQUENTIAL\n{domain};{a_login}\n")
    limit = str(max(args.calls, 10))
    uas = await Sipp(
        [
            "-sf",
            scenario("uas.xml"),
            "-i",
            "127.0.0.1",
            "-p",
            str(UAS_PORT),
            "-rtp_echo",
            "-mp",
            "24000",
            "-m",
            str(args.calls),
            "-bind_local",
        ],
        timeout=args.calls / args.rate + args.hold + 60,
    ).start()
    reg = await Sipp(
        [
            "-sf",
            scenario("register.xml"),
            "-i",
            "127.0.0.1",
            "-p",
            str(REG_PORT),
            "-inf",
            str(tmp / "reg.csv"),
            "-au",
            b_login,
            "-ap",
            b_pw,
            "-m",
            "1",
            f"127.0.0.1:{EDGE}",
        ],
        timeout=15,
    ).start()
    r = await reg.wait()
    if r.successful != 1:
        await uas.stop()
        raise SystemExit(f"registration of the callee failed:\n{r.output[-1500:]}")
    kam = kamailio_pids(pid)
    usage_pbx, usage_kam = Usage(), Usage()
    if args.inbound:  # a carrier: IP-authenticated, straight at the engine
        (tmp / "uac.csv").write_text(f"SEQUENTIAL\n127.0.0.1:{ENGINE};79990001122\n")
        caller = ["-sf", scenario("uac_carrier.xml"), "-i", CARRIER_IP, "-s", DID]
        peer = f"127.0.0.1:{ENGINE}"
    else:  # a phone through the edge, answering its digest challenge
        caller = ["-sf", scenario("uac_auth.xml"), "-i", "127.0.0.1", "-s", b_login]
        caller += ["-au", a_login, "-ap", a_pw]
        peer = f"127.0.0.1:{EDGE}"
    uac = await Sipp(
        [
            *caller,
            "-p",
            str(UAC_PORT),
            "-inf",
            str(tmp / "uac.csv"),
            "-r",
            str(args.rate),
            "-m",
            str(args.calls),
            "-l",
            limit,
            "-d",
            str(int(args.hold * 1000)),
            "-mp",
            "28000",
            *(["-trace_msg", "-message_file", str(tmp / "uac.msgs")] if args.trace else []),
            peer,
        ],
        timeout=args.calls / args.rate + args.hold + 60,
    ).start()
    flood = await start_flood(args.flood, args.calls / args.rate + args.hold)
    t_start = time.monotonic()
    peak_calls = 0
    while uac.proc is not None and uac.proc.returncode is None:
        t = time.monotonic()
        cpu, rss = proc_sample(pid)
        usage_pbx.add(t, cpu, rss)
        kc, kr = 0.0, 0
        for k in kam:
            try:
                c, m = proc_sample(k)
            except FileNotFoundError:
                continue
            kc, kr = kc + c, kr + m
        usage_kam.add(t, kc, kr)
        peak_calls = max(peak_calls, int((await http_json("/metrics")).get("active_calls", 0)))
        try:
            await asyncio.wait_for(asyncio.shield(uac.proc.wait()), 1.0)
        except TimeoutError:
            pass
    result = await uac.wait()
    elapsed = time.monotonic() - t_start
    flooded = await stop_flood(flood)
    drained = await sip_table_drained(args.drain_wait)
    rss_end = proc_sample(pid)[1]
    metrics = await http_json("/metrics")
    await uas.stop()
    relay = metrics.get("relay", {})
    # Each call plays the pcap (or as much as fits in the hold time) to the callee, which
    # echoes it back: both directions cross the relay.
    played = min(pcap_packets(PCAP), int(args.hold / 0.02))
    expected = result.successful * played * 2
    transmitted = relay.get("packets_transmitted", 0)
    return {
        "calls": args.calls,
        "rate": args.rate,
        "hold_s": args.hold,
        "successful": result.successful,
        "failed": result.failed,
        "peak_concurrent": peak_calls,
        "engine_cps_peak": metrics.get("calls_per_s_peak"),
        "elapsed_s": round(elapsed, 1),
        "setup_delay_ms": metrics.get("setup_delay_ms"),
        "rtp_expected": expected,
        "rtp_relayed": transmitted,
        "rtp_loss_pct": round(max(0.0, 1 - transmitted / expected) * 100, 3) if expected else None,
        "sip_calls_left": drained,
        "rss_mb_first_last_after": [
            round(usage_pbx.samples[0][2] / 2**20, 1) if usage_pbx.samples else None,
            round(usage_pbx.samples[-1][2] / 2**20, 1) if usage_pbx.samples else None,
            round(rss_end / 2**20, 1),
        ],
        "pbx": usage_pbx.summary(),
        "kamailio": usage_kam.summary(),
        "relay_counters": relay,
        "flood": {**flooded, "dropped": metrics.get("sip_dropped")} if flooded else None,
        "sipp_tail": result.output[-600:] if result.failed else "",
        "work_dir": str(tmp),
    }


FLOODER = "127.0.0.74"  # an address no trunk lists: a scanner in front of the engine


async def start_flood(rate: float, seconds: float) -> asyncio.subprocess.Process | None:
    """INVITEs at `rate` per second from a stranger straight at the engine's port for the
    whole load (bench/flood.py, its own process)."""
    if not rate:
        return None
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.flood", "--source", FLOODER,
        "--to", f"127.0.0.1:{ENGINE}", "--rate", str(rate), "--seconds", str(seconds + 60),
        "--max", str(int(rate * (seconds + 60))),
        stdout=asyncio.subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    assert proc.stdout is not None
    await asyncio.wait_for(proc.stdout.readline(), 10)  # it is sending
    return proc


async def stop_flood(proc: asyncio.subprocess.Process | None) -> dict[str, Any]:
    if proc is None:
        return {}
    if proc.returncode is None:
        proc.terminate()
    out, _ = await proc.communicate()
    return dict(json.loads(out.decode().strip().splitlines()[-1]))


def summary_of(out: dict[str, Any]) -> dict[str, Any]:
    keys = ("successful", "failed", "sip_calls_left", "rss_mb_first_last_after", "sipp_tail")
    return {k: out[k] for k in keys}


async def sip_table_drained(timeout: float = 20.0) -> int:
    """Calls left in the engine's SIP table once the load is over (0 expected), waiting
    up to `timeout` for the last BYEs to be answered."""
    deadline = time.monotonic() + timeout
    while True:
        left = int((await http_json("/metrics")).get("sip_calls", -1))
        if left == 0 or time.monotonic() > deadline:
            return left
        await asyncio.sleep(0.5)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--calls", type=int, default=300)
    p.add_argument("--rate", type=float, default=30)
    p.add_argument("--hold", type=float, default=20, help="seconds each call stays up")
    p.add_argument("--trace", action="store_true", help="keep the caller's SIP messages")
    p.add_argument("--record", action="store_true", help="record every call (mixed OGG)")
    p.add_argument("--inbound", action="store_true", help="a carrier calls a company number")
    p.add_argument("--channels", type=int, help="the company's channels per number (a plan cap)")
    p.add_argument("--greeting", action="store_true", help="the number plays a greeting first")
    p.add_argument("--rounds", type=int, default=1, help="run the load this many times")
    p.add_argument(
        "--flood", type=float, default=0, help="INVITE/s from a stranger at the engine meanwhile"
    )
    p.add_argument(
        "--drain-wait", type=float, default=20, help="seconds to wait for the SIP table to drain"
    )
    args = p.parse_args()
    out = asyncio.run(run(args))
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
