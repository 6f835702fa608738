"""Call recordings against real PostgreSQL and ffmpeg: which calls the policy records,
keeping a file, quota (auto-pack vs delete-oldest, the minutes cap), retention with a
fake clock, and who may list and hear which recording (also by guessing ids)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from pbx.config import Settings
from pbx.engine.recording import RecordingRequest
from pbx.errors import NotFound, ValidationError
from pbx.services.cabinet import Actor, Cabinet, Role, TgUser
from pbx.services.history import CallFilter, parse_filter
from storage.directory import PgDirectory
from storage.recordings import MB, PACK_MB, RecordingStore
from tests.support.audio import generate_tone_wav

_ids = itertools.count(8_350_001)
_seq = itertools.count(1)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@dataclass
class Co:
    cabinet: Cabinet
    store: RecordingStore
    owner: Actor
    company_id: int
    emp: dict[str, int]  # ext -> employee id
    number_id: int


async def _member(c: Co, ext: str, role: Role) -> Actor:
    inv = await c.cabinet.invite(c.owner, ext, role)
    user = await c.cabinet.remember(TgUser(next(_ids), f"U{ext}", None, "en"))
    return await c.cabinet.join(user, inv.token)


@pytest.fixture
async def co(pool: asyncpg.Pool, tmp_path: Path) -> Co:
    cabinet = Cabinet(pool, Settings(sip_domain="rec.test", data_dir=tmp_path))
    user = await cabinet.remember(TgUser(next(_ids), "Owner", None, "en"))
    _, owner = await cabinet.onboard(user, f"Rec Co {next(_seq)}", "Europe/Moscow")
    emp = {}
    for ext in ("101", "102", "103", "104"):
        emp[ext] = (await cabinet.add_employee(owner, f"E{ext}", ext)).id
    trunk = await cabinet.add_trunk(owner, "carrier", "127.0.0.9", 5060, auth_mode="ip")
    number = f"7495{next(_ids) % 10_000_000:07d}"
    num = await cabinet.add_number(owner, number, trunk.id, "101")
    await cabinet.add_group(owner, "sales")
    await cabinet.set_group_members(owner, "sales", ["101", "102"])
    await cabinet.add_group(owner, "support")
    await cabinet.set_group_members(owner, "support", ["103"])
    return Co(cabinet, RecordingStore(pool, tmp_path), owner, owner.company_id, emp, num.id)


def _req(c: Co, **kw: object) -> RecordingRequest:
    base: dict[str, object] = dict(
        company_id=c.company_id,
        sip_call_id=f"rec-{next(_seq)}",
        direction="inbound",
        number_id=None,
        caller_employee_id=None,
        callee_employee_id=None,
        target="",
    )
    base.update(kw)
    return RecordingRequest(**base)  # type: ignore[arg-type]


async def test_policy_total_selective_and_off(co: Co) -> None:
    c, o = co.cabinet, co.owner
    e = co.emp
    assert await co.store.path_for(_req(co, callee_employee_id=e["101"]), NOW) is None  # off

    await c.set_recording(o, {"mode": "all"})
    path = await co.store.path_for(_req(co, callee_employee_id=e["104"]), NOW)
    assert path is not None and path.endswith(".wav") and f"/recordings/{co.company_id}/" in path

    await c.set_recording(o, {"mode": "selective"})
    assert await co.store.path_for(_req(co, callee_employee_id=e["104"]), NOW) is None
    view = await c.set_recording_rule(o, True, "employee", "104", "out")
    assert view.rules == ["employee 104 out"]
    # 104 records only what they dial, not what they receive.
    assert await co.store.path_for(_req(co, callee_employee_id=e["104"]), NOW) is None
    assert await co.store.path_for(_req(co, direction="outbound", caller_employee_id=e["104"]), NOW)
    await c.set_recording_rule(o, True, "group", "support")
    assert await co.store.path_for(_req(co, callee_employee_id=e["103"]), NOW)  # a member
    assert await co.store.path_for(_req(co, target="group:support"), NOW)  # reached the group
    assert await co.store.path_for(_req(co, callee_employee_id=e["101"]), NOW) is None
    number = await co.cabinet.pool.fetchval(
        "SELECT number FROM numbers WHERE id = $1", co.number_id
    )
    await c.set_recording_rule(o, True, "number", number)
    assert await co.store.path_for(
        _req(co, number_id=co.number_id, callee_employee_id=e["101"]), NOW
    )
    view = await c.recording_policy(o)
    assert view.rules == ["employee 104 out", "group support", f"number {number}"]

    # Bad input: a clear error, nothing stored.
    with pytest.raises(ValidationError) as bad:
        await c.set_recording(o, {"mode": "sometimes"})
    assert bad.value.key == "bad_recording_mode"
    with pytest.raises(NotFound):
        await c.set_recording_rule(o, True, "group", "nosuch")
    with pytest.raises(ValidationError):
        await c.set_recording_rule(o, True, "planet", "mars")
    with pytest.raises(NotFound):
        await c.set_recording_rule(o, False, "employee", "102")
    assert (await c.recording_policy(o)).rules == view.rules
    emp = await _member(co, "102", Role.EMPLOYEE)
    with pytest.raises(ValidationError) as denied:
        await c.set_recording(emp, {"mode": "off"})
    assert denied.value.key == "forbidden"


async def test_notice_makes_the_number_answer_first(co: Co) -> None:
    directory = PgDirectory(co.cabinet.pool)
    number = await co.cabinet.pool.fetchval(
        "SELECT number FROM numbers WHERE id = $1", co.number_id
    )
    did = await directory.did(number)
    assert did is not None and not did.scenario  # rings 101 directly
    await co.cabinet.set_recording(co.owner, {"mode": "all"})
    did = await directory.did(number)
    assert did is not None and did.scenario  # the notice plays first
    await co.cabinet.set_recording(co.owner, {"notice": "off"})
    did = await directory.did(number)
    assert did is not None and not did.scenario


async def test_a_finished_recording_is_compressed_and_kept_once(co: Co, tmp_path: Path) -> None:
    wav = tmp_path / "recordings" / str(co.company_id) / "x.wav"
    wav.parent.mkdir(parents=True)
    generate_tone_wav(wav, 440, 2.0)
    await co.store.recorded(co.company_id, "kept-1", str(wav), 2.0, NOW)
    row = await co.cabinet.pool.fetchrow("SELECT * FROM recordings WHERE sip_call_id = 'kept-1'")
    assert row is not None and row["path"].endswith(".ogg") and row["seconds"] == 2.0
    ogg = tmp_path / row["path"]
    assert ogg.read_bytes()[:4] == b"OggS" and row["bytes"] == ogg.stat().st_size
    assert not wav.exists()
    # A repeated event keeps nothing twice; a silent (empty) one keeps nothing.
    generate_tone_wav(wav, 440, 2.0)
    await co.store.recorded(co.company_id, "kept-1", str(wav), 2.0, NOW)
    await co.store.recorded(co.company_id, "empty-1", str(wav), 0.0, NOW)
    count = await co.cabinet.pool.fetchval(
        "SELECT count(*) FROM recordings WHERE company_id = $1", co.company_id
    )
    assert count == 1


async def _fake_recording(co: Co, name: str, size: int, at: datetime, seconds: float = 60) -> Path:
    """A row with a small real file but a declared size: quotas in GB stay testable."""
    rel = f"recordings/{co.company_id}/{name}.ogg"
    path = co.store.data_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"OggS-fake")
    await co.cabinet.pool.execute(
        """INSERT INTO recordings (company_id, sip_call_id, path, bytes, seconds, created_at)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        co.company_id,
        f"{co.company_id}-{name}",
        rel,
        size,
        seconds,
        at,
    )
    return path


async def _names(co: Co) -> list[str]:
    rows = await co.cabinet.pool.fetch(
        "SELECT sip_call_id FROM recordings WHERE company_id = $1 ORDER BY created_at",
        co.company_id,
    )
    return [r["sip_call_id"].split("-", 1)[1] for r in rows]


async def test_full_quota_deletes_the_oldest_first(co: Co) -> None:
    await co.cabinet.pool.execute(
        "UPDATE companies SET storage_quota_mb = 10 WHERE id = $1", co.company_id
    )
    files = [
        await _fake_recording(co, f"r{i}", 4 * MB, NOW + timedelta(minutes=i)) for i in range(3)
    ]
    result = await co.store.enforce_quota(co.company_id, NOW)  # 12 MB in 10 MB
    assert (result.deleted, result.freed, result.packs_added) == (1, 4 * MB, 0)
    assert await _names(co) == ["r1", "r2"]
    assert not files[0].exists() and files[1].exists()
    view = await co.cabinet.storage(co.owner)
    assert view.usage.bytes == 8 * MB and view.usage.quota_bytes == 10 * MB
    assert [(k, n) for _, k, n, _ in view.events] == [("quota_deleted", 1)]


async def test_auto_pack_buys_room_until_nine_packs(co: Co) -> None:
    await co.cabinet.set_storage(co.owner, {"auto_pack": "on"})
    await _fake_recording(co, "big1", 3 * 1024 * MB, NOW)  # 3 GB in the 1 GB plan
    result = await co.store.enforce_quota(co.company_id, NOW)
    assert (result.deleted, result.packs_added) == (0, 1)
    usage = (await co.cabinet.storage(co.owner)).usage
    assert usage.packs == 1 and usage.quota_bytes == (1024 + PACK_MB) * MB
    # 9 packs is the ceiling (1 + 45 GB); beyond it the oldest go.
    await _fake_recording(co, "big2", 44 * 1024 * MB, NOW + timedelta(minutes=1))
    result = await co.store.enforce_quota(co.company_id, NOW)
    assert (result.packs_added, result.deleted) == (8, 1)
    assert await _names(co) == ["big2"]
    view = await co.cabinet.storage(co.owner)
    assert view.usage.packs == 9
    assert [k for _, k, _, _ in view.events] == ["quota_deleted", "pack_added", "pack_added"]
    with pytest.raises(ValidationError):
        await co.cabinet.set_storage(co.owner, {"packs": "10"})
    assert (await co.cabinet.storage(co.owner)).usage.packs == 9
    # The owner gives packs back: dated, and the oldest go if the files no longer fit.
    await _fake_recording(co, "small", MB, NOW + timedelta(minutes=2))
    view = await co.cabinet.set_storage(co.owner, {"packs": "2", "auto_pack": "off"})
    assert view.usage.packs == 2 and await _names(co) == ["small"]
    assert [(k, n) for _, k, n, _ in view.events][:2] == [("quota_deleted", 1), ("pack_removed", 7)]


async def test_minutes_cap_counts_time_not_bytes(co: Co) -> None:
    await co.cabinet.pool.execute(
        "UPDATE companies SET storage_max_minutes = 3, storage_auto_pack = true WHERE id = $1",
        co.company_id,
    )
    for i in range(4):  # 4 one-minute calls in a 3-minute cap: packs do not help
        await _fake_recording(co, f"m{i}", 100_000, NOW + timedelta(minutes=i), seconds=60)
    result = await co.store.enforce_quota(co.company_id, NOW)
    assert (result.deleted, result.packs_added) == (1, 0)
    assert await _names(co) == ["m1", "m2", "m3"]


async def test_retention_with_a_fake_clock(co: Co) -> None:
    await co.cabinet.set_storage(co.owner, {"retention": "30"})
    old = await _fake_recording(co, "old", MB, NOW - timedelta(days=31))
    edge = await _fake_recording(co, "edge", MB, NOW - timedelta(days=29, hours=23))
    swept = await co.store.sweep_retention(NOW)
    assert swept.deleted >= 1  # other tests' companies may have old files too
    assert await _names(co) == ["edge"] and not old.exists() and edge.exists()
    swept = await co.store.sweep_retention(NOW + timedelta(days=1))
    assert await _names(co) == []
    view = await co.cabinet.storage(co.owner)
    assert [k for _, k, _, _ in view.events] == ["retention_deleted", "retention_deleted"]


async def _recorded_call(
    co: Co, name: str, caller_emp: int | None, callee_emp: int | None, target: str = ""
) -> int:
    await co.cabinet.pool.execute(
        """INSERT INTO calls (company_id, sip_call_id, direction, caller, callee,
               caller_employee_id, callee_employee_id, started_at, answered_at, ended_at,
               result, hangup_cause, target)
           VALUES ($1, $2, 'internal', 'a', 'b', $3, $4, $5::timestamptz, $5, $5 + interval '1 minute',
                   'answered', 'x', $6)""",
        co.company_id,
        f"{co.company_id}-{name}",
        caller_emp,
        callee_emp,
        datetime.now(UTC) - timedelta(minutes=next(_seq)),
        target,
    )
    await _fake_recording(co, name, 1000, datetime.now(UTC))
    rec_id = await co.cabinet.pool.fetchval(
        "SELECT id FROM recordings WHERE sip_call_id = $1", f"{co.company_id}-{name}"
    )
    return int(rec_id)


async def test_who_may_hear_which_recording(co: Co) -> None:
    e, c = co.emp, co.cabinet
    await c.set_recording(co.owner, {"mode": "all"})
    sales = await _recorded_call(co, "sales", None, e["102"])
    support = await _recorded_call(co, "support", None, e["103"])
    mine = await _recorded_call(co, "mine", e["101"], e["104"])
    to_group = await _recorded_call(co, "togroup", None, None, target="group:support")

    everything, _ = await c.list_recordings(co.owner, CallFilter())
    assert {r.id for r in everything} == {sales, support, mine, to_group}

    sup = await _member(co, "101", Role.SUPERVISOR)  # a member of sales only
    seen, _ = await c.list_recordings(sup, CallFilter())
    assert {r.id for r in seen} == {sales, mine}
    for hidden in (support, to_group):
        with pytest.raises(NotFound):
            await c.recording(sup, hidden)
    assert (await c.recording(sup, sales)).path.exists()

    sup3 = await _member(co, "103", Role.SUPERVISOR)
    assert {r.id for r in (await c.list_recordings(sup3, CallFilter()))[0]} == {support, to_group}

    emp = await _member(co, "104", Role.EMPLOYEE)
    with pytest.raises(ValidationError) as no:
        await c.list_recordings(emp, CallFilter())
    assert no.value.key == "recordings_not_allowed"
    await c.set_recording(co.owner, {"employees": "on"})
    assert [r.id for r in (await c.list_recordings(emp, CallFilter()))[0]] == [mine]
    with pytest.raises(NotFound):
        await c.recording(emp, sales)

    # Filters: the group filter shows the group's calls and its members' calls.
    grouped, _ = await c.list_recordings(co.owner, parse_filter("group support"))
    assert {r.id for r in grouped} == {support, to_group}

    # Another company guessing the id gets nothing.
    other_user = await c.remember(TgUser(next(_ids), "Other", None, "en"))
    _, other = await c.onboard(other_user, f"Other {next(_seq)}", "Europe/Moscow")
    await c.set_recording(other, {"mode": "all"})
    with pytest.raises(NotFound):
        await c.recording(other, sales)

    # Recording switched off: files stay, the bot no longer reaches them.
    await c.set_recording(co.owner, {"mode": "off"})
    with pytest.raises(ValidationError) as off:
        await c.recording(co.owner, sales)
    assert off.value.key == "recording_off"
    assert (co.store.data_dir / f"recordings/{co.company_id}/sales.ogg").exists()
