"""Scenario configuration on real PostgreSQL: what the cabinet stores is what the engine
reads; bad input is refused with nothing stored; a missed call alerts exactly once."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from pbx.config import Settings
from pbx.engine.calls import CallRecord, Result
from pbx.engine.plans import Voicemail
from pbx.engine.ringplan import Algorithm
from pbx.engine.routing import Direction
from pbx.engine.targets import Kind, Target
from pbx.errors import NotFound, ValidationError
from pbx.services.audio import AudioKind, AudioService
from pbx.services.cabinet import Actor, Cabinet, TgUser
from pbx.services.callback import CallBack
from storage.alerts import VoicemailStore
from storage.cdr import PgCallRecords
from storage.queues import DIAL_REQUESTS, next_dial
from storage.scenarios import PgScenarios
from tests.support.audio import generate_tone_wav

_ids = itertools.count(9_100_001)
_numbers = itertools.count(74950001000)


@pytest.fixture
def cabinet(pool: asyncpg.Pool) -> Cabinet:
    return Cabinet(pool, Settings(sip_domain="sc.test"))


async def office(cabinet: Cabinet) -> tuple[Actor, str]:
    """An owner with employees 101-103 (101 linked to a Telegram user) and a number."""
    n = next(_ids)
    u = await cabinet.remember(TgUser(n, f"Owner{n}", None, "ru"))
    _, owner = await cabinet.onboard(u, f"Co {n}", "Europe/Moscow")
    for ext, name in (("101", "Anna"), ("102", "Boris"), ("103", "Dora")):
        await cabinet.add_employee(owner, name, ext)
    inv = await cabinet.invite(owner, "101")
    await cabinet.join(await cabinet.remember(TgUser(next(_ids), "Anna", None, "en")), inv.token)
    trunk = await cabinet.prov.add_trunk(
        owner.company_id, "carrier", "127.0.0.9", 5060, ip_addresses=["127.0.0.9"], auth_mode="ip"
    )
    number = str(next(_numbers))
    await cabinet.prov.add_number(owner.company_id, number, trunk.id, "101")
    return owner, number


async def test_group_menu_schedule_scenario_round_trip(
    cabinet: Cabinet, pool: asyncpg.Pool
) -> None:
    owner, number = await office(cabinet)
    await cabinet.add_group(owner, "sales", "sequential")
    info = await cabinet.set_group_members(owner, "sales", ["102", "101,103"])
    assert info.members == [(1, "102", "Boris"), (2, "101", "Anna"), (2, "103", "Dora")]
    await cabinet.set_group(
        owner, "sales", {"interval": "10", "cyclic": "on", "fallback": "voicemail:sales"}
    )
    await cabinet.set_menu(owner, "main", {"1": "group:sales", "2": "ext:102", "timeout": "7"})
    await cabinet.set_hours(owner, "office", "mon-fri", "09:00-18:00")
    await cabinet.set_holiday(owner, "office", "2026-12-31")
    sc = await cabinet.set_scenario(
        owner, number, {"open": "menu:main", "closed": "voicemail:common", "schedule": "office"}
    )
    assert (sc.open_target, sc.closed_target, sc.schedule) == (
        "menu:main",
        "voicemail:common",
        "office",
    )

    engine = PgScenarios(pool, None, cabinet.settings)
    number_id = await pool.fetchval("SELECT id FROM numbers WHERE number = $1", number)
    plan = await engine.number_plan(owner.company_id, number_id)
    assert plan is not None and plan.lang == "ru"
    assert plan.open_target == Target(Kind.MENU, "main")
    assert plan.schedule is not None
    monday_noon = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
    assert plan.schedule.is_open(monday_noon)
    assert not plan.schedule.is_open(monday_noon + timedelta(days=5))  # Saturday
    assert not plan.schedule.is_open(datetime(2026, 12, 31, 9, 0, tzinfo=UTC))  # holiday
    group = await engine.group(owner.company_id, "sales")
    assert group is not None
    assert group.spec.algorithm is Algorithm.SEQUENTIAL and group.spec.interval == 10
    assert group.spec.cyclic and group.fallback == Target(Kind.VOICEMAIL, "sales")
    assert [(m.ext, m.position) for m in group.members] == [("102", 1), ("101", 2), ("103", 2)]
    menu = await engine.menu(owner.company_id, "main")
    assert menu is not None and menu.timeout == 7
    assert menu.options == {"1": Target(Kind.GROUP, "sales"), "2": Target(Kind.EXT, "102")}
    states = await engine.member_states(owner.company_id, group.members)
    assert not any(s.registered for s in states.values())  # no phone registered here

    await cabinet.set_override(owner, "office", "closed")
    plan = await engine.number_plan(owner.company_id, number_id)
    assert plan is not None and plan.schedule is not None
    assert not plan.schedule.is_open(monday_noon)


async def test_bad_input_is_refused_and_nothing_is_stored(
    cabinet: Cabinet, pool: asyncpg.Pool
) -> None:
    owner, number = await office(cabinet)
    await cabinet.add_group(owner, "support")
    cases = [
        (cabinet.add_group(owner, "support"), "group_exists"),
        (cabinet.add_group(owner, "Bad Name!"), "bad_entity_name"),
        (cabinet.add_group(owner, "x1", "loudest"), "bad_algorithm"),
        (cabinet.set_group_members(owner, "support", ["101", "999"]), "no_such_ext"),
        (cabinet.set_group(owner, "support", {"interval": "2"}), "bad_range"),
        (cabinet.set_group(owner, "support", {"fallback": "menu:nope"}), "target_missing"),
        (cabinet.set_menu(owner, "m1", {"1": "pizza:now"}), "target_syntax"),
        (cabinet.set_scenario(owner, number, {"open": "group:nope"}), "target_missing"),
        (cabinet.set_scenario(owner, number, {"colour": "red"}), "bad_option"),
        (cabinet.set_hours(owner, "office", "mon-fry", "09:00-18:00"), "days_syntax"),
        (cabinet.set_hours(owner, "office", "mon", "18:00-09:00"), "hours_order"),
    ]
    for coro, key in cases:
        with pytest.raises((ValidationError, NotFound)) as e:
            await coro
        assert e.value.key == key
    # Nothing half-stored: the menu with a bad option and the failed schedule do not exist.
    company = owner.company_id
    assert await pool.fetchval("SELECT count(*) FROM ivr_menus WHERE company_id = $1", company) == 0
    assert await pool.fetchval("SELECT count(*) FROM schedules WHERE company_id = $1", company) == 0
    members = await pool.fetchval(
        "SELECT count(*) FROM ring_group_members WHERE company_id = $1", company
    )
    assert members == 0

    await cabinet.set_scenario(owner, number, {"open": "group:support"})
    with pytest.raises(ValidationError) as e:
        await cabinet.remove_group(owner, "support")
    assert e.value.key == "target_in_use" and number in e.value.params["users"]


async def test_a_missed_call_alerts_each_recipient_once(
    cabinet: Cabinet, pool: asyncpg.Pool
) -> None:
    owner, number = await office(cabinet)
    company = owner.company_id
    anna, boris = [
        await pool.fetchval(
            "SELECT employee_id FROM extensions WHERE company_id = $1 AND ext = $2", company, ext
        )
        for ext in ("101", "102")
    ]
    await pool.execute("UPDATE employees SET email = 'boris@example.test' WHERE id = $1", boris)
    number_id = await pool.fetchval("SELECT id FROM numbers WHERE number = $1", number)
    now = datetime.now(UTC)

    def record(call_id: str, result: Result) -> CallRecord:
        return CallRecord(
            sip_call_id=call_id,
            company_id=company,
            direction=Direction.INBOUND,
            caller="79990001122",
            callee=number,
            started_at=now,
            ended_at=now + timedelta(seconds=20),
            result=result,
            hangup_cause="caller_cancel",
            sip_code=487,
            number_id=number_id,
            target="group:sales",
            concerned=(anna, boris),
            lang="ru",
        )

    sink = PgCallRecords(pool)
    missed = record(f"missed-{company}", Result.MISSED)
    await sink(missed)
    await sink(missed)  # a retry of the same call: still one alert each
    await sink(record(f"answered-{company}", Result.ANSWERED))
    rows = await pool.fetch(
        "SELECT channel, recipient, kind, payload FROM outbox WHERE company_id = $1 ORDER BY id",
        company,
    )
    got = sorted((r["channel"], r["recipient"]) for r in rows)
    owner_chat = str(owner.tg_id)
    anna_chat = str(
        await pool.fetchval("SELECT tg_id FROM memberships WHERE employee_id = $1", anna)
    )
    assert got == sorted(
        [("telegram", anna_chat), ("email", "boris@example.test"), ("telegram", owner_chat)]
    )
    assert {r["kind"] for r in rows} == {"missed_call"}

    await cabinet.set_alerts(owner, {"owner": "off", "email": "off"})
    await sink(record(f"missed2-{company}", Result.NO_ANSWER))
    later = await pool.fetch(
        "SELECT channel, recipient FROM outbox WHERE company_id = $1 AND payload->>'call_id' = "
        "(SELECT id::text FROM calls WHERE sip_call_id = $2)",
        company,
        f"missed2-{company}",
    )
    assert [(r["channel"], r["recipient"]) for r in later] == [("telegram", anna_chat)]


async def test_queue_config_and_call_back_request(
    cabinet: Cabinet, pool: asyncpg.Pool, base_settings: Settings
) -> None:
    # Not the database a running engine (the e2e service) pops dial requests from.
    redis = aioredis.from_url(base_settings.redis_dsn.rsplit("/", 1)[0] + "/2")
    try:
        cab = Cabinet.with_redis(pool, cabinet.settings, redis)
        owner, number = await office(cab)
        with pytest.raises(ValidationError) as e:
            await cab.set_queue(owner, "support", {"ring": "10"})
        assert e.value.key == "queue_needs_group"
        await cab.add_group(owner, "agents")
        q = await cab.set_queue(owner, "support", {"group": "agents", "max_wait": "120"})
        assert (q.group, q.max_wait, q.callback, q.waiting) == ("agents", 120, True, 0)
        await cab.set_scenario(owner, number, {"open": "queue:support"})
        for coro, key in (
            (cab.remove_group(owner, "agents"), "target_in_use"),
            (cab.remove_queue(owner, "support"), "target_in_use"),
            (cab.set_queue(owner, "other", {"group": "nope"}), "no_such_group"),
        ):
            with pytest.raises((ValidationError, NotFound)) as err:
                await coro
            assert err.value.key == key
        engine = PgScenarios(pool, redis, cab.settings)
        plan = await engine.queue(owner.company_id, "support")
        assert plan is not None and (plan.group, plan.max_wait) == ("agents", 120.0)

        # "Call back" on a missed call: a request for an engine node, nothing dialled here.
        anna = await pool.fetchval(
            "SELECT m.tg_id FROM memberships m JOIN extensions x"
            " ON x.company_id = m.company_id AND x.employee_id = m.employee_id"
            " WHERE m.company_id = $1 AND x.ext = '101'",
            owner.company_id,
        )
        actor = await cab.actor(anna)
        assert actor is not None
        call_id = await pool.fetchval(
            """INSERT INTO calls (company_id, sip_call_id, direction, caller, callee,
                   started_at, ended_at, result, hangup_cause)
               VALUES ($1, $2, 'inbound', '79990001122', $3, now(), now(), 'missed', 'x')
               RETURNING id""",
            owner.company_id,
            f"cb-{owner.company_id}",
            number,
        )
        await redis.delete(DIAL_REQUESTS)
        # Anna's phone is not registered: nothing is placed, and no mobile is set to offer.
        assert await cab.call_back(actor, call_id) == CallBack("79990001122", False, None)
        assert await next_dial(redis, timeout=0.5) is None
        with pytest.raises(ValidationError) as no_mobile:
            await cab.call_back(actor, call_id, to_mobile=True)
        assert no_mobile.value.key == "no_mobile"
        await cab.set_forward(actor, "off", "+7 999 000-33-44")
        placed = await cab.call_back(actor, call_id, to_mobile=True)
        assert placed == CallBack("79990001122", True, "79990003344")
        req = await next_dial(redis, timeout=1)
        assert req is not None and (req.ext, req.client, req.company_id, req.agent_mobile) == (
            "101",
            "79990001122",
            owner.company_id,
            "79990003344",
        )
        with pytest.raises(NotFound):
            await cab.call_back(actor, call_id + 1000)  # not this company's call
    finally:
        await redis.aclose()


async def test_voicemail_is_kept_once_and_a_silent_one_is_dropped(
    cabinet: Cabinet, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    owner, number = await office(cabinet)
    settings = Settings(sip_domain="sc.test", data_dir=tmp_path)
    store = VoicemailStore(pool, settings)
    anna = await pool.fetchval(
        "SELECT employee_id FROM extensions WHERE company_id = $1 AND ext = '101'",
        owner.company_id,
    )
    await pool.execute("UPDATE employees SET email = 'anna@example.test' WHERE id = $1", anna)

    def message(name: str, hz: float) -> Voicemail:
        wav = generate_tone_wav(tmp_path / f"{name}.wav", hz, 2.0)
        return Voicemail(
            owner.company_id, "101", name, "79990001122", number, str(wav), 2.0, (anna,)
        )

    assert not await store(message(f"silent-{owner.company_id}", 0))
    assert not (tmp_path / f"silent-{owner.company_id}.wav").exists()
    vm = message(f"spoken-{owner.company_id}", 440)
    assert await store(vm)
    row = await pool.fetchrow("SELECT * FROM voicemails WHERE sip_call_id = $1", vm.sip_call_id)
    assert row is not None and row["duration_ms"] == 2000 and row["path"].endswith(".ogg")
    size, wav_left = await asyncio.to_thread(
        lambda: (Path(row["path"]).stat().st_size, Path(vm.path).exists())
    )
    assert size > 0 and not wav_left
    rows = await pool.fetch(
        "SELECT channel, recipient, attachment FROM outbox"
        " WHERE company_id = $1 AND kind = 'voicemail' ORDER BY channel, recipient",
        owner.company_id,
    )
    assert {(r["channel"], r["attachment"]) for r in rows} == {
        ("email", row["path"]),
        ("telegram", row["path"]),
    }
    assert len(rows) == 3  # Anna by Telegram and e-mail, the owner by Telegram
    listed = await cabinet.list_voicemails(owner)
    assert [(v.caller, v.listened) for v in listed] == [("79990001122", False)]
    assert (await cabinet.listen(owner, listed[0].id)).listened
    with pytest.raises(NotFound):
        await cabinet.listen(owner, listed[0].id + 100_000)


async def test_audio_a_scenario_plays_cannot_be_removed(
    cabinet: Cabinet, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    owner, number = await office(cabinet)
    settings = Settings(sip_domain="sc.test", data_dir=tmp_path)
    audio = AudioService(pool, settings)
    wav = generate_tone_wav(tmp_path / "hello.wav", 700, 1.0)
    data = await asyncio.to_thread(wav.read_bytes)
    added = await audio.add(owner, AudioKind.GREETING, "Hello", data, "hello.wav")
    await cabinet.set_scenario(owner, number, {"greeting": "hello"})  # any letter case
    with pytest.raises(ValidationError) as e:
        await audio.remove(owner, added.id)
    assert e.value.key == "audio_in_use"
    assert [a.id for a in await audio.list(owner)] == [added.id]
    engine = PgScenarios(pool, None, settings)
    prompt = await engine.prompt(owner.company_id, "HELLO", "greeting", "en")
    assert prompt.base.endswith(f"/{owner.company_id}/{added.id}") and 0.9 < prompt.duration < 1.1
    await cabinet.set_scenario(owner, number, {"greeting": "none"})
    await audio.remove(owner, added.id)
    assert await audio.list(owner) == []
