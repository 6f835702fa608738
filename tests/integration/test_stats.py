"""Call statistics on a hand-made history in PostgreSQL: every figure against numbers
worked out by hand below, the access scope (supervisor: their groups; employee: only
themself), charts as real PNGs and the CSV/XLSX exports."""

from __future__ import annotations

import csv
import io
import itertools
import struct
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from pbx.config import Settings
from pbx.errors import NotFound, ValidationError
from pbx.services import charts, stats_export
from pbx.services.cabinet import Actor, Cabinet, Role, TgUser
from pbx.services.stats import Bucket, Period, Stats, days_of, parse_period, rating

_ids = itertools.count(8_300_001)
RANGE = "2026-03-02..2026-03-04"  # three UTC days; the third has no calls
D1, D2 = "2026-03-02", "2026-03-03"
N1, N2, N3 = "74957650001", "74957650002", "74957650003"

# (day, time, direction, caller, callee, number, target, answered after s, ended after s)
# Employees: a=101, b=102 (group sales); c=103 (group support); d=104.
CALLS: list[tuple[str, str, str, str | None, str | None, str, str, int | None, int]] = [
    (D1, "09:00:00", "inbound", None, "a", N1, "group:sales", 10, 70),  # 1
    (D1, "09:30:00", "inbound", None, "a", N1, "group:sales", 20, 200),  # 2
    (D1, "10:15:00", "inbound", None, None, N1, "group:sales", None, 30),  # 3 nobody answered
    (D1, "10:45:00", "inbound", None, "b", N1, "", None, 25),  # 4 b missed it
    (D1, "14:00:00", "outbound", "a", None, N1, "", 5, 125),  # 5
    (D2, "09:10:00", "internal", "a", "b", "", "", 4, 64),  # 6
    (D2, "11:00:00", "inbound", None, "c", N2, "group:support", 6, 306),  # 7
    (D2, "11:20:00", "outbound", "c", None, N2, "", None, 15),  # 8 nobody answered c
    (D2, "16:00:00", "inbound", None, "d", N2, "", 30, 90),  # 9
    # Outside the range: the first second after it and the last one before it.
    ("2026-03-05", "00:00:00", "inbound", None, "a", N1, "group:sales", 1, 11),
    ("2026-03-01", "23:59:59", "inbound", None, "a", N1, "group:sales", 1, 11),
]


@dataclass
class Office:
    cabinet: Cabinet
    stats: Stats
    owner: Actor
    supervisor: Actor  # b, in group sales
    employee: Actor  # c
    emp: dict[str, int]


async def _insert_calls(pool: asyncpg.Pool, company_id: int, emp: dict[str, int]) -> None:
    numbers = {
        r["number"]: r["id"]
        for r in await pool.fetch(
            "SELECT id, number FROM numbers WHERE company_id = $1", company_id
        )
    }
    for i, (day, at, direction, caller, callee, number, target, ans, end) in enumerate(CALLS):
        started = datetime.fromisoformat(f"{day}T{at}+00:00")
        await pool.execute(
            """INSERT INTO calls (company_id, sip_call_id, direction, caller, callee,
                   caller_employee_id, callee_employee_id, number_id, started_at, answered_at,
                   ended_at, result, hangup_cause, target)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'x', $13)""",
            company_id,
            f"stats-{company_id}-{i}",
            direction,
            caller or "79160000001",
            callee or "79160000002",
            emp[caller] if caller else None,
            emp[callee] if callee else None,
            numbers.get(number),
            started,
            started + timedelta(seconds=ans) if ans is not None else None,
            started + timedelta(seconds=end),
            "answered" if ans is not None else "missed",
            target,
        )


async def _join(cabinet: Cabinet, owner: Actor, ext: str, role: Role) -> Actor:
    invite = await cabinet.invite(owner, ext, role)
    user = await cabinet.remember(TgUser(next(_ids), ext, None, "en"))
    return await cabinet.join(user, invite.token)


@pytest.fixture(scope="module")
async def office(pool: asyncpg.Pool) -> Office:
    """One company for the module: company numbers are unique across companies."""
    cabinet = Cabinet(pool, Settings(sip_domain="stats.test"))
    owner_user = await cabinet.remember(TgUser(next(_ids), "O", None, "en"))
    _, owner = await cabinet.onboard(owner_user, "Stats Co", "Europe/Moscow")
    emp = {}
    for key, ext, name in (("a", "101", "Anna"), ("b", "102", "Boris"), ("c", "103", "Chen")):
        emp[key] = (await cabinet.add_employee(owner, name, ext)).id
    emp["d"] = (await cabinet.add_employee(owner, "Dora", "104")).id
    await cabinet.add_group(owner, "sales")
    await cabinet.set_group_members(owner, "sales", ["101", "102"])
    await cabinet.add_group(owner, "support")
    await cabinet.set_group_members(owner, "support", ["103"])
    trunk = await cabinet.add_trunk(owner, "Main", "203.0.113.65", 5060)
    for number in (N1, N2, N3):
        await cabinet.add_number(owner, number, trunk.id, "101")
    await _insert_calls(pool, owner.company_id, emp)
    supervisor = await _join(cabinet, owner, "102", Role.SUPERVISOR)
    employee = await _join(cabinet, owner, "103", Role.EMPLOYEE)
    return Office(cabinet, Stats(pool), owner, supervisor, employee, emp)


def _row(e: object) -> tuple[object, ...]:
    """ext, received, answered, missed, made, talk calls, talk, answer seconds (sum)."""
    return tuple(
        getattr(e, k)
        for k in (
            "ext",
            "received",
            "answered",
            "missed",
            "made",
            "talk_calls",
            "talk_seconds",
            "answer_seconds",
        )
    )


def _group(g: object) -> tuple[object, ...]:
    """name, calls, in, out, answered, missed, talk, answer seconds, answered not outgoing."""
    keys = ("name", "calls", "inbound", "outbound", "answered", "missed", "talk_seconds")
    return tuple(getattr(g, k) for k in (*keys, "answer_seconds", "answered_in"))


def _hours(buckets: list[Bucket]) -> dict[object, tuple[int, int, int]]:
    return {b.key: (b.calls, b.answered, b.missed) for b in buckets if b.calls}


# Worked out by hand from CALLS (numbers 1-9 are the calls inside the range):
A = ("101", 2, 2, 0, 2, 4, 60 + 180 + 120 + 60, 10 + 20)  # received 1,2; made 5,6
B = ("102", 2, 1, 1, 0, 1, 60, 4)  # received 4 (missed), 6 (answered after 4 s)
C = ("103", 1, 1, 0, 1, 1, 300, 6)  # received 7; made 8 (unanswered)
D = ("104", 1, 1, 0, 0, 1, 60, 30)  # received 9
SALES = ("sales", 6, 4, 1, 4, 2, 420, 10 + 20 + 4, 3)  # calls 1-6
SUPPORT = ("support", 2, 1, 1, 1, 0, 300, 6, 1)  # calls 7, 8
NUM1 = (N1, 5, 4, 1, 3, 2, 360, 30, 2)  # calls 1-5
NUM2 = (N2, 3, 2, 1, 2, 0, 360, 36, 2)  # calls 7-9
NUM3 = (N3, 0, 0, 0, 0, 0, 0, 0, 0)
HOURS = {9: (3, 3, 0), 10: (2, 0, 2), 11: (2, 1, 0), 14: (1, 1, 0), 16: (1, 1, 0)}
DAYS = [(date(2026, 3, 2), 5, 3, 2), (date(2026, 3, 3), 4, 3, 0), (date(2026, 3, 4), 0, 0, 0)]


async def test_owner_sees_every_figure_of_the_company(office: Office) -> None:
    s, owner, period = office.stats, office.owner, parse_period(RANGE)
    people = await s.employees(owner, period)
    assert [_row(e) for e in people] == [A, B, C, D]
    anna = people[0]
    assert (anna.name, anna.avg_talk, anna.avg_answer) == ("Anna", 105.0, 15.0)
    assert (people[1].avg_talk, people[1].avg_answer) == (60.0, 4.0)

    t = await s.totals(owner, period)
    assert (t.calls, t.inbound, t.outbound, t.internal, t.answered, t.missed) == (9, 6, 2, 1, 6, 2)
    assert (t.talk_seconds, t.answer_seconds, t.answered_in, t.avg_answer) == (780, 70, 5, 14.0)

    assert [_group(g) for g in await s.groups(owner, period)] == [SALES, SUPPORT]
    assert [_group(n) for n in await s.numbers(owner, period)] == [NUM1, NUM2, NUM3]
    hours = await s.by_hour(owner, period)
    assert [b.key for b in hours] == list(range(24)) and _hours(hours) == HOURS
    assert next(b for b in hours if b.key == 11).other == 1  # call 8: outgoing, unanswered
    days = await s.by_day(owner, period)
    assert [(b.key, b.calls, b.answered, b.missed) for b in days] == DAYS

    # Rating: answered calls, then talk time (c before b and d), then extension.
    assert [e.ext for e in rating(people)] == ["101", "103", "102", "104"]
    dora = await s.employee(owner, "104", period)
    assert _row(dora) == D and dora.name == "Dora"
    with pytest.raises(NotFound):
        await s.employee(owner, "109", period)

    # Each bound of the range: a call a second outside on either side is not counted.
    wider = parse_period("2026-03-01..2026-03-05")
    assert (await s.totals(owner, wider)).calls == 11
    assert _hours(await s.by_hour(owner, wider))[23] == (1, 1, 0)


async def test_supervisor_sees_only_their_groups(office: Office) -> None:
    s, sup, period = office.stats, office.supervisor, parse_period(RANGE)
    assert [_row(e) for e in await s.employees(sup, period)] == [A, B]
    t = await s.totals(sup, period)  # calls 1-6
    assert (t.calls, t.inbound, t.outbound, t.internal, t.answered, t.missed) == (6, 4, 1, 1, 4, 2)
    assert t.talk_seconds == 420
    assert [_group(g) for g in await s.groups(sup, period)] == [SALES]
    assert [_group(n) for n in await s.numbers(sup, period)] == [NUM1]
    assert _hours(await s.by_hour(sup, period)) == {9: (3, 3, 0), 10: (2, 0, 2), 14: (1, 1, 0)}
    days = await s.by_day(sup, period)
    assert [(b.calls, b.answered, b.missed) for b in days] == [(5, 3, 2), (1, 1, 0), (0, 0, 0)]
    for other in ("103", "104"):
        with pytest.raises(NotFound):
            await s.employee(sup, other, period)


async def test_employee_sees_only_themself(office: Office) -> None:
    s, me, period = office.stats, office.employee, parse_period(RANGE)
    assert [_row(e) for e in await s.employees(me, period)] == [C]
    assert _row(await s.employee(me, "103", period)) == C
    with pytest.raises(NotFound):
        await s.employee(me, "101", period)
    t = await s.totals(me, period)  # calls 7, 8
    assert (t.calls, t.inbound, t.outbound, t.answered, t.missed, t.talk_seconds) == (
        2,
        1,
        1,
        1,
        0,
        300,
    )
    assert [_group(g) for g in await s.groups(me, period)] == [SUPPORT]
    # Number 2 also took call 9 (to d): not shown to c.
    assert [_group(n) for n in await s.numbers(me, period)] == [(N2, 2, 1, 1, 1, 0, 300, 6, 1)]
    assert _hours(await s.by_hour(me, period)) == {11: (2, 1, 0)}


async def test_named_periods_and_bad_words(office: Office, pool: asyncpg.Pool) -> None:
    now = datetime.now(UTC)
    await pool.execute(
        """INSERT INTO calls (company_id, sip_call_id, direction, caller, callee,
               callee_employee_id, started_at, answered_at, ended_at, result, hangup_cause)
           VALUES ($1, $2, 'inbound', '79160000003', '104', $3, $4, $4, $4, 'answered', 'x')""",
        office.owner.company_id,
        f"stats-now-{office.owner.company_id}",
        office.emp["d"],
        now,
    )
    s = office.stats
    today = await s.by_day(office.owner, parse_period(None))
    assert [(b.key, b.calls, b.answered) for b in today] == [(now.date(), 1, 1)]
    assert (await s.totals(office.owner, parse_period("today"))).calls == 1
    assert (await s.totals(office.owner, parse_period("month"))).calls == 1
    week = days_of(parse_period("week"), now)
    assert len(week) == 8 and week[-1] == now.date()
    assert days_of(parse_period("yesterday"), now) == [now.date() - timedelta(days=1)]
    assert (await s.totals(office.owner, parse_period("yesterday"))).calls == 0

    assert parse_period(" WEEK ") == Period("week")
    assert parse_period(RANGE) == Period(None, "2026-03-02", "2026-03-04")
    assert parse_period(RANGE).label == RANGE
    for bad in ("missed", "in", "ext", "week month", "2026-03-05..2026-03-01", "2026-02-30..x"):
        with pytest.raises(ValidationError) as e:
            parse_period(bad)
        assert e.value.key == "bad_period", bad
    with pytest.raises(ValidationError) as e:
        parse_period("2024-01-01..2026-01-01")
    assert e.value.key == "period_too_long"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _keep(folder: Path, name: str, png: bytes) -> None:
    """Charts are kept in the test's folder, to be looked at when they change."""
    (folder / f"stats_{name}.png").write_bytes(png)


async def test_charts_and_exports(office: Office, tmp_path: Path) -> None:
    s, owner, period = office.stats, office.owner, parse_period(RANGE)
    labels = charts.Labels("Calls by hour", "Answered", "Missed", "Outgoing", "Hour", "Calls")
    people = await s.employees(owner, period)
    days = await s.by_day(owner, period)
    pictures = {
        "hour": charts.calls_chart(await s.by_hour(owner, period), labels),
        "day": charts.calls_chart(days, labels),
        "rating": charts.rating_chart(rating(people), "Rating", "Answered", "Talk, min"),
    }
    for name, png in pictures.items():
        width, height = _png_size(png)
        assert width >= 400 and height >= 200, name
        _keep(tmp_path, name, png)
    # A month of days, in Russian: still a picture.
    month = [
        Bucket(date(2026, 3, 1) + timedelta(days=i), i % 5 + 1, i % 3, i % 2) for i in range(31)
    ]
    ru = charts.Labels("Звонки по дням", "Отвечено", "Пропущено", "Исх.", "День", "Звонки")
    month_png = charts.calls_chart(month, ru)
    assert _png_size(month_png)[0] > _png_size(pictures["day"])[0]  # wider for more days
    _keep(tmp_path, "month_ru", month_png)

    rows = list(csv.reader(io.StringIO(stats_export.employees_csv(people).decode("utf-8-sig"))))
    assert rows[0] == list(stats_export.EMPLOYEE_COLUMNS)
    assert rows[1] == ["101", "Anna", "2", "2", "0", "2", "420", "105.0", "15.0"]
    assert [r[0] for r in rows[1:]] == ["101", "102", "103", "104"]
    day_rows = list(csv.reader(io.StringIO(stats_export.days_csv(days).decode("utf-8-sig"))))
    assert day_rows == [
        ["day", "calls", "answered", "missed"],
        ["2026-03-02", "5", "3", "2"],
        ["2026-03-03", "4", "3", "0"],
        ["2026-03-04", "0", "0", "0"],
    ]

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(stats_export.xlsx(people, days, RANGE)))
    assert book.sheetnames == ["employees", "days"]
    sheet = list(book["employees"].iter_rows(values_only=True))
    assert sheet[0] == stats_export.EMPLOYEE_COLUMNS
    assert sheet[2] == ("102", "Boris", 2, 1, 1, 0, 60, 60, 4)
    assert list(book["days"].iter_rows(values_only=True))[1:] == [
        ("2026-03-02", 5, 3, 2),
        ("2026-03-03", 4, 3, 0),
        ("2026-03-04", 0, 0, 0),
    ]
