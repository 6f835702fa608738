"""Plans on real PostgreSQL: limits refused with the price or the plans that allow more,
extras bought, options on and off with their consequences, downgrade checks, and
statements computed from the history the triggers keep."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from notifications.render import render
from pbx.billing.catalogue import LimitKind
from pbx.billing.limits import FeatureUnavailable, LimitReached
from pbx.config import Settings
from pbx.errors import PbxError, ValidationError
from pbx.services.billing import DowngradeBlocked
from pbx.services.cabinet import Actor, Cabinet, Forbidden, Role, TgUser
from pbx.services.history import CallFilter
from storage.billing import sms_sent, take_sms

_ids = itertools.count(9_300_001)


def cabinet_for(pool: asyncpg.Pool, catalogue: str) -> Cabinet:
    return Cabinet(pool, Settings(sip_domain="bill.test", catalogue=catalogue, signup_plan=""))


async def owner(cabinet: Cabinet, plan: str | None = None) -> Actor:
    n = next(_ids)
    u = await cabinet.remember(TgUser(n, f"Owner{n}", None, "en"))
    _, actor = await cabinet.onboard(u, f"Co {n}", "Europe/Moscow")
    if plan:
        await cabinet.change_plan(actor, plan)
    return actor


async def staff(cabinet: Cabinet, actor: Actor, count: int) -> None:
    for _ in range(count):
        await cabinet.add_employee(actor, f"Person {next(_ids)}")


async def test_mini_offers_the_eleventh_employee_and_bills_it(pool: asyncpg.Pool) -> None:
    cab = cabinet_for(pool, "seed000")
    boss = await owner(cab)  # seed000 signs companies up on МИНИ
    await staff(cab, boss, 10)
    with pytest.raises(LimitReached) as e:
        await cab.add_employee(boss, "Eleventh")
    assert e.value.key == "limit_buy" and e.value.packs_needed == 1
    assert e.value.params["plan"] == "МИНИ" and e.value.params["included"] == 10
    assert e.value.params["price"] == "50.00"
    assert (
        await pool.fetchval("SELECT count(*) FROM employees WHERE company_id = $1", boss.company_id)
        == 10
    )  # nothing stored half-way

    account = await cab.buy(boss, "employees")
    assert account.allowance(e.value.kind) == 11
    await cab.add_employee(boss, "Eleventh")
    s = await cab.statement(boss, None)
    items = {ln.item: ln for ln in s.lines}
    assert set(items) == {"plan:mini", "extra:employees"}
    # Net = listed / 1.2 to kopecks, per day charged (today counts).
    assert items["plan:mini"].unit_net == Decimal("833.33")
    assert items["extra:employees"].unit_net == Decimal("41.67")
    # The company signed up today: charged from the day of its plan change to today.
    began = next(c.at for c in s.changes if c.item == "plan:mini")
    days = (s.through - began.astimezone(ZoneInfo(s.timezone)).date()).days + 1
    assert items["plan:mini"].days == days
    expected = (Decimal("833.33") * days / s.days_in_month).quantize(Decimal("0.01"))
    assert items["plan:mini"].net == expected
    assert s.total.gross == s.total.net + s.total.vat


async def test_a_capped_plan_names_the_plans_that_allow_more(pool: asyncpg.Pool) -> None:
    cab = cabinet_for(pool, "seed002")
    boss = await owner(cab, "lite")
    await staff(cab, boss, 3)
    with pytest.raises(LimitReached) as e:
        await cab.add_employee(boss, "Fourth")
    assert e.value.key == "limit_cap" and e.value.packs_needed == 0
    assert e.value.params["plans"] == "Бизнес, Про"
    with pytest.raises(ValidationError) as bought:
        await cab.buy(boss, "employees")
    assert bought.value.key == "limit_cap"


async def test_business_sells_up_to_ten_and_ring_all_is_paid(pool: asyncpg.Pool) -> None:
    cab = cabinet_for(pool, "seed002")
    boss = await owner(cab)  # Бизнес
    await cab.buy(boss, "employees", 5)
    with pytest.raises(ValidationError) as e:
        await cab.buy(boss, "employees")
    assert e.value.key == "limit_cap"
    with pytest.raises(FeatureUnavailable) as f:
        await cab.add_group(boss, "sales", "ring_all")
    assert f.value.key == "option_off" and f.value.params["price"] == "200.00"
    await cab.set_option(boss, "algorithm_ring_all", True)
    await cab.add_group(boss, "sales", "ring_all")
    lines = {ln.item: ln for ln in (await cab.statement(boss, None)).lines}
    assert lines["extra:employees"].quantity == 5
    assert lines["extra:employees"].unit_price == Decimal("120.00")
    assert lines["option:algorithm_ring_all"].unit_price == Decimal("200.00")


async def test_only_the_owner_spends_money(pool: asyncpg.Pool) -> None:
    cab = cabinet_for(pool, "seed000")
    boss = await owner(cab)
    await staff(cab, boss, 1)
    ext = (await cab.list_employees(boss))[0].ext
    inv = await cab.invite(boss, ext, Role.ADMIN)
    n = next(_ids)
    admin = await cab.join(await cab.remember(TgUser(n, "Adm", None, "en")), inv.token)
    with pytest.raises(Forbidden):
        await cab.buy(admin, "employees")
    assert (await cab.plan_view(admin)).account.plan_id == "mini"


async def test_recording_option_off_stops_recording_and_listening(pool: asyncpg.Pool) -> None:
    cab = cabinet_for(pool, "seed001")
    boss = await owner(cab)  # Минимальный: recording is 1500 a month
    with pytest.raises(FeatureUnavailable) as e:
        await cab.set_recording(boss, {"mode": "all"})
    assert e.value.key == "option_off" and e.value.params["price"] == "1500.00"
    await cab.set_option(boss, "recording", True)
    await cab.set_recording(boss, {"mode": "all"})
    await cab.set_option(boss, "recording", False)
    mode = await pool.fetchval(
        "SELECT recording_mode FROM companies WHERE id = $1", boss.company_id
    )
    assert mode == "off"
    with pytest.raises(ValidationError) as off:
        await cab.list_recordings(boss, CallFilter())
    assert off.value.key == "recording_off"


async def test_unavailable_option_names_the_plans(pool: asyncpg.Pool) -> None:
    cab = cabinet_for(pool, "seed002")
    boss = await owner(cab, "lite")
    with pytest.raises(FeatureUnavailable) as e:
        await cab.set_option(boss, "statistics", True)
    assert e.value.key == "option_unavailable"
    assert e.value.params["plans"] == "Бизнес, Про"


async def test_two_level_menu_needs_the_option_on_start_plus(pool: asyncpg.Pool) -> None:
    cab = cabinet_for(pool, "seed000")
    boss = await owner(cab, "start_plus")
    await cab.set_menu(boss, "sub", {})
    with pytest.raises(LimitReached):  # СТАРТ+ has one menu and sells no more
        await cab.set_menu(boss, "main", {"1": "menu:sub"})
    await cab.change_plan(boss, "mini")
    with pytest.raises(LimitReached) as more:
        await cab.set_menu(boss, "main", {"1": "menu:sub"})
    assert more.value.params["price"] == "200.00"
    await cab.buy(boss, "ivr_menus")
    with pytest.raises(FeatureUnavailable) as deep:
        await cab.set_menu(boss, "main", {"1": "menu:sub"})
    assert deep.value.option == "ivr_two_levels" and deep.value.params["price"] == "100.00"
    assert (
        await pool.fetchval("SELECT count(*) FROM ivr_menus WHERE company_id = $1", boss.company_id)
        == 1
    )
    await cab.set_option(boss, "ivr_two_levels", True)
    await cab.set_menu(boss, "main", {"1": "menu:sub", "0": "menu:main"})


async def test_downgrade_says_what_to_remove_first(pool: asyncpg.Pool) -> None:
    cab = cabinet_for(pool, "seed002")
    boss = await owner(cab)  # Бизнес
    await staff(cab, boss, 5)
    await cab.add_group(boss, "sales", "sequential")
    with pytest.raises(DowngradeBlocked) as e:
        await cab.change_plan(boss, "lite")
    problems = dict((k, p) for k, p in e.value.problems if k == "limit")
    assert problems["limit"]["kind"] in ("employees", "ring_groups")
    kinds = {p["kind"] for k, p in e.value.problems if k == "limit"}
    assert kinds == {"employees", "ring_groups"}
    assert (
        "feature",
        {"option": "algorithm_sequential", "what": "group sales"},
    ) in e.value.problems
    assert (await cab.plan_view(boss)).account.plan_id == "business"  # unchanged


async def test_upgrade_keeps_only_the_extras_still_needed(pool: asyncpg.Pool) -> None:
    cab = cabinet_for(pool, "seed000")
    boss = await owner(cab)
    await cab.buy(boss, "employees", 3)
    await staff(cab, boss, 12)
    account = await cab.change_plan(boss, "midi")
    assert account.extras == {}  # МИДИ includes 40
    account = await cab.change_plan(boss, "mini")
    assert account.allowance(next(iter(account.plan.limits))) is not None  # type: ignore[union-attr]
    assert sum(account.extras.values()) == 2  # 12 people on МИНИ: 2 beyond the 10


async def test_closed_month_is_charged_per_day_for_a_customer_block(pool: asyncpg.Pool) -> None:
    cab = cabinet_for(pool, "seed001")
    boss = await owner(cab)  # Минимальный, 790
    cid = boss.company_id
    await pool.execute("UPDATE companies SET blocked = 'customer' WHERE id = $1", cid)
    await pool.execute("UPDATE companies SET blocked = NULL WHERE id = $1", cid)
    # Put the history into November 2026 (Moscow): on the 1st, blocked 11th–20th.
    rows = await pool.fetch(
        "SELECT id, item, quantity FROM billing_changes WHERE company_id = $1 ORDER BY id", cid
    )
    msk = timedelta(hours=3)
    when = {
        "plan:minimal": datetime(2026, 11, 1, tzinfo=UTC) - msk,
        "block:customer": None,
    }
    for r in rows:
        at = when.get(r["item"])
        if r["item"] == "block:customer":
            day = 11 if r["quantity"] else 21
            at = datetime(2026, 11, day, tzinfo=UTC) - msk
        if at is not None:
            await pool.execute("UPDATE billing_changes SET at = $2 WHERE id = $1", r["id"], at)
    closed = await cab.close_months(datetime(2026, 12, 1, 9, tzinfo=UTC))
    assert closed >= 1
    s = await cab.statement(boss, "2026-11")
    (line,) = s.lines
    assert (line.item, line.days, line.unit_net) == ("plan:minimal", 20, Decimal("658.33"))
    assert line.net == Decimal("438.89")  # 658.33 × 20 / 30
    assert (s.total.vat, s.total.gross) == (Decimal("87.78"), Decimal("526.67"))
    dated = [
        (c.at.astimezone(ZoneInfo("Europe/Moscow")).day, c.item, c.quantity) for c in s.changes
    ]
    assert dated == [(1, "plan:minimal", 1), (11, "block:customer", 1), (21, "block:customer", 0)]
    assert await cab.close_months(datetime(2026, 12, 1, 10, tzinfo=UTC)) == 0  # once
    # The owner is told once, in their language, with one tap to the files.
    alerts = await pool.fetch(
        "SELECT kind, recipient, payload FROM outbox WHERE company_id = $1", cid
    )
    assert [(a["kind"], a["recipient"]) for a in alerts] == [("statement", str(boss.tg_id))]
    said = render("statement", json.loads(alerts[0]["payload"]))
    assert "2026-11" in said.text and "526.67 RUB" in said.text and "87.78" in said.text
    assert [b.callback_data for b in said.buttons] == ["stmt:2026-11:pdf", "stmt:2026-11:csv"]


async def test_bad_month_and_unknown_names_are_refused(pool: asyncpg.Pool) -> None:
    cab = cabinet_for(pool, "seed000")
    boss = await owner(cab)
    for call, key in (
        (cab.statement(boss, "11/2026"), "bad_month"),
        (cab.statement(boss, "2999-01"), "future_month"),
        (cab.buy(boss, "unicorns"), "bad_limit_kind"),
        (cab.set_option(boss, "teleport", True), "no_such_option"),
        (cab.change_plan(boss, "gold"), "no_such_plan"),
        (cab.set_option(boss, "recording", True), "option_included"),
    ):
        with pytest.raises(PbxError) as e:
            await call
        assert e.value.key == key


async def test_sms_are_counted_and_packs_renew(pool: asyncpg.Pool) -> None:
    cab = cabinet_for(pool, "seed002")
    boss = await owner(cab)  # Бизнес: 300 SMS a month, packs of 100 at 150
    cid = boss.company_id
    async with pool.acquire() as conn:
        sent = [await take_sms(conn, cid) for _ in range(301)]
        assert all(sent)  # the 301st bought a pack by itself
        assert await sms_sent(conn, cid) == 301
        await cab.set_sms_auto_renew(boss, False)
        more = [await take_sms(conn, cid) for _ in range(100)]
        assert more.count(True) == 99 and more[-1] is False  # 400 used up, no renewal
    view = await cab.plan_view(boss)
    row = next(r for r in view.limits if r.kind.value == "sms")
    assert (row.used, row.allowance, row.packs) == (400, 400, 1)
    assert view.sms_auto_renew is False
    await cab.buy(boss, "sms")
    lines = {ln.item: ln for ln in (await cab.statement(boss, None)).lines}
    sms = lines["sms:packs"]
    assert (sms.quantity, sms.days, sms.unit_price, sms.net) == (
        2,
        0,
        Decimal("150.00"),
        Decimal("300.00"),  # seed 002 lists these without VAT
    )


async def test_a_downgrade_keeps_a_used_feature_on_as_a_paid_option(pool: asyncpg.Pool) -> None:
    cab = cabinet_for(pool, "seed000")
    boss = await owner(cab, "midi")
    # "Параллельный по приоритету (По позиции в списке)": included on МИДИ,
    await cab.add_group(boss, "sales", "priority")
    account = await cab.change_plan(boss, "mini")  # 250 a month on МИНИ
    assert account.options == frozenset({"algorithm_priority"})
    lines = {ln.item for ln in (await cab.statement(boss, None)).lines}
    assert "option:algorithm_priority" in lines


async def test_storage_packs_and_retention_follow_the_plan(pool: asyncpg.Pool) -> None:
    cab = cabinet_for(pool, "seed001")
    boss = await owner(cab)  # Минимальный: 1 GB, +5 GB packs at 300
    await cab.set_storage(boss, {"packs": "1"})
    lines = {ln.item: ln for ln in (await cab.statement(boss, None)).lines}
    assert lines["extra:storage_mb"].unit_price == Decimal("300.00")
    storage = (await cab.plan_view(boss)).account.allowance(LimitKind.STORAGE_MB)
    assert storage == 1024 + 5120

    cab0 = cabinet_for(pool, "seed000")
    mini = await owner(cab0)  # МИНИ: 3 days, 1500 minutes, no storage packs sold
    row = "SELECT retention_days, storage_max_minutes FROM companies WHERE id = $1"
    assert tuple(await pool.fetchrow(row, mini.company_id)) == (3, 1500)
    with pytest.raises(ValidationError) as e:
        await cab0.set_storage(mini, {"packs": "1"})
    assert e.value.key == "nothing_to_buy"
    with pytest.raises(ValidationError) as long:
        await cab0.set_storage(mini, {"retention": "5"})
    assert long.value.key == "retention_over_plan" and long.value.params["most"] == 3
    await cab0.set_option(mini, "retention_14d", True)
    assert tuple(await pool.fetchrow(row, mini.company_id)) == (14, 7000)
    await cab0.set_storage(mini, {"retention": "10"})
    await cab0.set_option(mini, "retention_14d", False)
    assert tuple(await pool.fetchrow(row, mini.company_id)) == (3, 1500)


async def test_conditional_forwarding_is_the_smart_forwarding_option(pool: asyncpg.Pool) -> None:
    cab = cabinet_for(pool, "seed001")
    boss = await owner(cab)
    await staff(cab, boss, 1)
    ext = (await cab.list_employees(boss))[0].ext
    n = next(_ids)
    inv = await cab.invite(boss, ext)
    anna = await cab.join(await cab.remember(TgUser(n, "Anna", None, "en")), inv.token)
    await cab.set_forward(anna, "always", "+79161234567")  # plain forwarding: included
    with pytest.raises(FeatureUnavailable) as e:
        await cab.set_forward(anna, "unregistered")
    assert e.value.params["price"] == "300.00"
    await cab.set_option(boss, "smart_forwarding", True)
    assert await cab.set_forward(anna, "unregistered") == "79161234567"
    await cab.set_option(boss, "smart_forwarding", False)  # the conditional forward stops
    assert (
        await pool.fetchval(
            "SELECT forward_mode FROM employees WHERE company_id = $1", boss.company_id
        )
        == "off"
    )
