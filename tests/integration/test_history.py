"""Call history: filters, pages and access, on a generated history in PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from pbx.config import Settings
from pbx.errors import NotFound, ValidationError
from pbx.services.cabinet import Cabinet, Role, TgUser
from pbx.services.history import PAGE, CallFilter, History, parse_filter

_ids = itertools.count(8_100_001)


async def _insert(pool: asyncpg.Pool, company_id: int, n: int, **kw: object) -> int:
    now = datetime.now(UTC)
    started = now - timedelta(minutes=n)
    answered = kw.get("answered", True)
    return int(
        await pool.fetchval(
            """INSERT INTO calls (company_id, sip_call_id, direction, caller, callee,
                   caller_employee_id, callee_employee_id, started_at, answered_at, ended_at,
                   result, hangup_cause)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'x') RETURNING id""",
            company_id,
            f"hist-{company_id}-{n}",
            kw.get("direction", "inbound"),
            kw.get("caller", "79160000000"),
            kw.get("callee", "101"),
            kw.get("caller_emp"),
            kw.get("callee_emp"),
            started,
            started + timedelta(seconds=5) if answered else None,
            started + timedelta(seconds=65),
            "answered" if answered else "missed",
        )
    )


@pytest.fixture
async def setup(pool: asyncpg.Pool) -> tuple[Cabinet, History, object, object, int, int]:
    cabinet = Cabinet(pool, Settings(sip_domain="hist.test"))
    owner_user = await cabinet.remember(TgUser(next(_ids), "H", None, "en"))
    _, owner = await cabinet.onboard(owner_user, "History Co", "Europe/Moscow")
    a = await cabinet.add_employee(owner, "A", "101")
    b = await cabinet.add_employee(owner, "B", "102")
    inv = await cabinet.invite(owner, "101", Role.EMPLOYEE)
    emp = await cabinet.join(await cabinet.remember(TgUser(next(_ids), "E", None, "en")), inv.token)
    for n in range(1, 24):  # 23 calls: 101 answers the odd ones, 102 the even ones
        who = a.id if n % 2 else b.id
        await _insert(
            pool,
            owner.company_id,
            n,
            callee_emp=who,
            callee="101" if n % 2 else "102",
            answered=n % 5 != 0,
            caller=f"7916000{n:04d}",
        )
    return cabinet, History(pool), owner, emp, a.id, b.id


async def test_pages_and_filters(setup: tuple) -> None:  # type: ignore[type-arg]
    _, history, owner, _, _, _ = setup
    first, more = await history.page(owner, CallFilter(), 0)
    assert len(first) == PAGE and more
    third, more3 = await history.page(owner, CallFilter(), 2)
    assert len(third) == 3 and not more3
    ids = [c.id for c in first] + [c.id for c in (await history.page(owner, CallFilter(), 1))[0]]
    assert len(set(ids)) == 2 * PAGE  # no repeats across pages
    missed, _ = await history.page(owner, parse_filter("missed"), 0)
    assert len(missed) == 4 and all(c.answered_at is None for c in missed)  # n = 5, 10, 15, 20
    ext, _ = await history.page(owner, parse_filter("ext 102 week"), 0)
    assert len(ext) == 10 and all(c.callee == "102" for c in ext)
    client, _ = await history.page(owner, parse_filter("client +79160000007"), 0)
    assert [c.caller for c in client] == ["79160000007"]
    today = datetime.now(UTC).date()
    since = today - timedelta(days=1)  # the calls started up to 23 minutes ago
    in_range, _ = await history.page(owner, parse_filter(f"{since}..{today} ext 101"), 0)
    assert len(in_range) == PAGE and all(c.callee == "101" for c in in_range)
    before, _ = await history.page(owner, parse_filter("2001-01-01..2001-01-31"), 0)
    assert before == []
    with pytest.raises(ValidationError):
        parse_filter("2026-12-31..2026-01-01")
    with pytest.raises(ValidationError) as e:
        parse_filter("yesterday-ish")
    assert e.value.key == "bad_filter"


async def test_employee_sees_only_own_calls_even_by_guessing(
    setup: tuple, pool: asyncpg.Pool
) -> None:  # type: ignore[type-arg]
    _, history, owner, emp, _a, b_id = setup
    mine, _ = await history.page(emp, CallFilter(), 0)
    assert mine and all(c.callee == "101" for c in mine)
    others = await pool.fetchval(
        "SELECT id FROM calls WHERE company_id = $1 AND callee_employee_id = $2 LIMIT 1",
        owner.company_id,
        b_id,
    )
    assert (await history.card(owner, others)).callee == "102"
    with pytest.raises(NotFound):
        await history.card(emp, others)
    foreign = await pool.fetchval(
        "SELECT id FROM calls WHERE company_id <> $1 LIMIT 1", owner.company_id
    )
    if foreign is not None:
        with pytest.raises(NotFound):
            await history.card(owner, foreign)
