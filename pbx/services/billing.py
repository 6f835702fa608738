"""Plans in the cabinet: the owner's view, buying extras, options on and off, plan
changes with downgrade checks, and statements. Limits themselves are checked by
`pbx.billing.limits` inside each service's own transaction."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from pbx.billing import statement as st
from pbx.billing.account import Account
from pbx.billing.catalogue import Feature, LimitKind
from pbx.billing.limits import USAGE_SQL, Limits
from pbx.errors import NotFound, ValidationError
from pbx.services.cabinet_base import Actor, CabinetBase, Perm, require
from pbx.services.statement_export import amount
from storage import billing as db
from storage.alerts import statement_ready

MONEY_PERM = Perm.MANAGE_BILLING

# What stops when a paid option is switched off (the seeds: without the recording
# option nothing is recorded and the recordings cannot be listened to).
SWITCHED_OFF = {
    "recording": "UPDATE companies SET recording_mode = 'off' WHERE id = $1",
    "queue_callback": "UPDATE queues SET callback = false WHERE company_id = $1",
    # Without the option a conditional forward would keep working unpaid: back to the phone.
    "smart_forwarding": "UPDATE employees SET forward_mode = 'off'"
    " WHERE company_id = $1 AND forward_mode = 'unregistered'",
}


@dataclass(frozen=True)
class LimitRow:
    kind: LimitKind
    used: int | None  # None: not counted here (channels are per call, SMS per month)
    allowance: int | None
    included: int | None
    packs: int
    step: int
    extra: Any  # Decimal | None


@dataclass(frozen=True)
class OptionRow:
    option: str
    name_en: str
    name_ru: str
    status: Feature
    fee: Any  # Decimal
    on: bool


@dataclass(frozen=True)
class PlanView:
    account: Account
    limits: list[LimitRow]
    options: list[OptionRow]
    running: st.Statement | None
    last: list[db.StoredStatement]
    sms_auto_renew: bool = True  # a pack is bought when the month's SMS run out


class DowngradeBlocked(ValidationError):
    """A plan change that would break limits or strand options: what to remove first."""

    def __init__(self, plan: str, problems: list[tuple[str, dict[str, Any]]]) -> None:
        super().__init__(
            f"plan {plan} cannot take this company as it is: "
            + "; ".join(f"{k} {p}" for k, p in problems),
            key="plan_change_blocked",
            plan=plan,
        )
        self.problems = problems


def this_month(today: date) -> date:
    return today.replace(day=1)


def parse_month(text: str | None, today: date) -> date:
    if not text:
        return this_month(today)
    try:
        month = datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError:
        raise ValidationError(
            f"{text!r} is not a month; write it as YYYY-MM, e.g. {today:%Y-%m}", key="bad_month"
        ) from None
    if month > today:
        raise ValidationError(f"{text} has not begun yet", key="future_month", month=text)
    return month


class BillingArea(CabinetBase):
    async def _today(self, company_id: int) -> tuple[date, str]:
        tz = await self.pool.fetchval("SELECT timezone FROM companies WHERE id = $1", company_id)
        return datetime.now(ZoneInfo(tz)).date(), tz

    async def start_plan(self, conn: asyncpg.Connection, company_id: int) -> None:
        """A company signing up starts on the installation's sign-up plan."""
        plan = self.settings.signup_plan or self.catalogue.default_plan
        if plan == "none":
            return
        if plan not in self.catalogue.plans:
            raise NotFound(
                f"PBX_SIGNUP_PLAN={plan!r} is not a plan of {self.catalogue.catalogue}",
                key="no_such_plan",
                plan=plan,
                plans=", ".join(self.catalogue.plans),
            )
        await conn.execute("UPDATE companies SET plan = $2 WHERE id = $1", company_id, plan)
        await db.apply_caps(conn, self.catalogue, company_id)

    # --- the owner's view ---------------------------------------------------------------
    async def plan_view(self, actor: Actor) -> PlanView:
        require(actor, Perm.MANAGE_EMPLOYEES)
        async with self.pool.acquire() as conn:
            limits = await Limits.of(conn, self.catalogue, actor.company_id, lock=False)
            rows = []
            account = limits.account
            if account.plan is not None:
                for kind in account.plan.limits:
                    rows.append(await self._limit_row(conn, limits, kind))
            last = await db.statements(conn, actor.company_id)
            renew = await db.sms_auto_renew(conn, actor.company_id)
        running = await self.statement(actor, None) if account.plan else None
        return PlanView(account, rows, self._options(account), running, last, renew)

    async def _limit_row(
        self, conn: asyncpg.Connection, limits: Limits, kind: LimitKind
    ) -> LimitRow:
        account, limit = limits.account, limits.account.limit(kind)
        used: int | None = await limits.used(kind) if kind in USAGE_SQL else None
        allowance, packs = account.allowance(kind), account.extras.get(kind, 0)
        if kind is LimitKind.SMS and limit.included is not None:
            # SMS packs are bought for the month (sms_usage), not as monthly extras.
            today, _ = await self._today(limits.company_id)
            used = await db.sms_sent(conn, limits.company_id)
            packs = await db.sms_packs(conn, limits.company_id, this_month(today))
            allowance = limit.included + packs * limit.step
        return LimitRow(kind, used, allowance, limit.included, packs, limit.step, limit.extra)

    def _options(self, account: Account) -> list[OptionRow]:
        plan = account.plan
        if plan is None:
            return []
        return [
            OptionRow(
                name,
                info.en,
                info.ru,
                plan.feature(name).status,
                plan.feature(name).monthly_fee,
                account.has(name),
            )
            for name, info in self.catalogue.options.items()
        ]

    # --- extras -----------------------------------------------------------------------
    async def buy(self, actor: Actor, kind_name: str, packs: int = 1) -> Account:
        """Buy `packs` more packs of `kind` (a unit, or `step` units)."""
        require(actor, MONEY_PERM)
        kind = _kind(kind_name)
        if not 1 <= packs <= 100:
            raise ValidationError("buy 1 to 100 at a time", key="bad_packs")
        async with self._tx() as conn:
            account = (await self._limits(conn, actor.company_id)).account
            limit = account.limit(kind)
            if account.plan is None or limit.unlimited:
                raise ValidationError(
                    f"{kind.value} is not limited on your plan",
                    key="nothing_to_buy",
                    kind=kind.value,
                )
            left = account.packs_left(kind)
            if limit.extra is None or (left is not None and left < packs):
                raise ValidationError(
                    f"plan {account.plan.title} allows at most {limit.ceiling} {kind.value}",
                    key="limit_cap",
                    plan=account.plan.title,
                    kind=kind.value,
                    allowance=account.allowance(kind) or 0,
                    next=(account.allowance(kind) or 0) + limit.step * packs,
                    plans=", ".join(self.catalogue.plans_allowing(kind, (limit.ceiling or 0) + 1))
                    or "-",
                )
            if kind is LimitKind.SMS:  # packs of this month's messages, charged once
                await db.take_sms(conn, actor.company_id, bought=packs)
                await self._audit(
                    conn, actor, actor.company_id, "billing.buy", kind.value, None, packs
                )
                return await db.account(conn, self.catalogue, actor.company_id)
            before = account.extras.get(kind, 0)
            await db.set_packs(conn, actor.company_id, kind, before + packs)
            await db.apply_caps(conn, self.catalogue, actor.company_id)
            await self._audit(
                conn, actor, actor.company_id, "billing.buy", kind.value, before, before + packs
            )
            return await db.account(conn, self.catalogue, actor.company_id)

    async def release(self, actor: Actor, kind_name: str, packs: int = 1) -> Account:
        """Give back packs that are no longer used."""
        require(actor, MONEY_PERM)
        kind = _kind(kind_name)
        async with self._tx() as conn:
            limits = await self._limits(conn, actor.company_id)
            before = limits.account.extras.get(kind, 0)
            if packs < 1 or packs > before:
                raise ValidationError(
                    f"you have {before} extra packs of {kind.value}",
                    key="bad_release",
                    kind=kind.value,
                    have=before,
                )
            limit = limits.account.limit(kind)
            used = await limits.used(kind)
            left = (limit.included or 0) + (before - packs) * limit.step
            if kind in USAGE_SQL and used > left:
                raise ValidationError(
                    f"{used} {kind.value} are in use; remove {used - left} first",
                    key="release_in_use",
                    kind=kind.value,
                    used=used,
                    remove=used - left,
                )
            await db.set_packs(conn, actor.company_id, kind, before - packs)
            await db.apply_caps(conn, self.catalogue, actor.company_id)
            await self._audit(
                conn, actor, actor.company_id, "billing.release", kind.value, before, before - packs
            )
            return await db.account(conn, self.catalogue, actor.company_id)

    # --- options ----------------------------------------------------------------------
    async def set_option(self, actor: Actor, option: str, on: bool) -> Account:
        require(actor, MONEY_PERM)
        async with self._tx() as conn:
            account = (await self._limits(conn, actor.company_id)).account
            if option not in self.catalogue.options or account.plan is None:
                raise NotFound(
                    f"no option {option!r}; see /plan for the list",
                    key="no_such_option",
                    option=option,
                )
            offer = account.plan.feature(option)
            if offer.status is Feature.INCLUDED:
                raise ValidationError(
                    f"{option} is included in plan {account.plan.title}",
                    key="option_included",
                    option=option,
                    plan=account.plan.title,
                )
            if offer.status is Feature.UNAVAILABLE and on:
                Limits(conn, account, actor.company_id).feature(option)
            await db.set_option(conn, actor.company_id, option, on)
            if not on and option in SWITCHED_OFF:
                await conn.execute(SWITCHED_OFF[option], actor.company_id)
            await self._audit(conn, actor, actor.company_id, "billing.option", option, None, on)
            await db.apply_caps(conn, self.catalogue, actor.company_id)
            return await db.account(conn, self.catalogue, actor.company_id)

    async def set_sms_auto_renew(self, actor: Actor, on: bool) -> None:
        """Buy the next SMS pack by itself when the month's run out (off: alerts stop
        going by SMS until next month or a pack bought by hand)."""
        require(actor, MONEY_PERM)
        async with self._tx() as conn:
            old = await db.sms_auto_renew(conn, actor.company_id)
            await db.sms_auto_renew(conn, actor.company_id, on)
            await self._audit(conn, actor, actor.company_id, "billing.sms_renew", "", old, on)

    # --- plan change ------------------------------------------------------------------
    async def change_plan(self, actor: Actor, plan_id: str) -> Account:
        require(actor, MONEY_PERM)
        new = self.catalogue.plans.get(plan_id)
        if new is None:
            raise NotFound(
                f"no plan {plan_id!r}; plans: {', '.join(self.catalogue.plans)}",
                key="no_such_plan",
                plan=plan_id,
                plans=", ".join(self.catalogue.plans),
            )
        async with self._tx() as conn:
            limits = await self._limits(conn, actor.company_id)
            old = limits.account
            moved = Account(self.catalogue, plan_id, {}, old.options, old.blocked)
            problems: list[tuple[str, dict[str, Any]]] = []
            packs: dict[LimitKind, int] = {}
            for kind in USAGE_SQL:
                used = await limits.used(kind)
                limit = new.limit(kind)
                ceiling = limit.ceiling
                if ceiling is not None and used > ceiling:
                    problems.append(
                        (
                            "limit",
                            {
                                "kind": kind.value,
                                "used": used,
                                "most": ceiling,
                                "remove": used - ceiling,
                            },
                        )
                    )
                elif limit.included is not None and used > limit.included:
                    packs[kind] = -(-(used - limit.included) // limit.step)
            for option in sorted(old.options):
                if new.feature(option).status is Feature.UNAVAILABLE:
                    problems.append(("option", {"option": option}))
            keep_on: set[str] = set()  # in use and paid on the new plan: stays on, billed
            for feature, what in await features_in_use(conn, actor.company_id):
                if moved.has(feature):
                    continue
                if new.feature(feature).status is Feature.PAID:
                    keep_on.add(feature)
                else:
                    problems.append(("feature", {"option": feature, "what": what}))
            if problems:
                raise DowngradeBlocked(new.title, problems)
            await conn.execute(
                "UPDATE companies SET plan = $2 WHERE id = $1", actor.company_id, plan_id
            )
            kinds = set(old.extras) | set(packs)
            for kind in kinds:
                keep = min(packs.get(kind, 0), max(old.extras.get(kind, 0), packs.get(kind, 0)))
                await db.set_packs(conn, actor.company_id, kind, keep)
            for option in old.options:
                if new.feature(option).status is Feature.INCLUDED:
                    await db.set_option(conn, actor.company_id, option, False)
            for option in keep_on:
                await db.set_option(conn, actor.company_id, option, True)
            await db.apply_caps(conn, self.catalogue, actor.company_id)
            await self._audit(
                conn, actor, actor.company_id, "billing.plan", "", old.plan_id, plan_id
            )
            return await db.account(conn, self.catalogue, actor.company_id)

    # --- statements -------------------------------------------------------------------
    async def statement(self, actor: Actor, month_text: str | None) -> st.Statement:
        require(actor, Perm.MANAGE_EMPLOYEES)
        today, tz = await self._today(actor.company_id)
        month = parse_month(month_text, today)
        stored = await db.statement(self.pool, actor.company_id, month)
        if stored is not None:
            frozen = _from_stored(stored)
            until = st.day_after(frozen.through, tz)
            history = await db.changes(self.pool, actor.company_id, until)
            dated = st.in_period(history, month, frozen.through, tz)
            return replace(frozen, timezone=tz, changes=dated)
        return await self._compute(actor.company_id, month, tz, today)

    async def _compute(self, company_id: int, month: date, tz: str, today: date) -> st.Statement:
        month_end = month.replace(day=st.month_days(month))
        through = min(today, month_end)
        history = await db.changes(self.pool, company_id, st.day_after(through, tz))
        sms = await db.sms_packs(self.pool, company_id, month)
        return st.build(self.catalogue, history, month, tz, through, sms)

    async def close_months(self, now: datetime | None = None) -> int:
        """Freeze last month's statement for every billed company (idempotent)."""
        now = now or datetime.now(UTC)
        closed = 0
        rows = await self.pool.fetch(
            """SELECT DISTINCT c.id, c.timezone FROM companies c
                 JOIN billing_changes b ON b.company_id = c.id"""
        )
        for r in rows:
            today = now.astimezone(ZoneInfo(r["timezone"])).date()
            month = (this_month(today) - timedelta(days=1)).replace(day=1)
            if await db.statement(self.pool, r["id"], month) is not None:
                continue
            s = await self._compute(r["id"], month, r["timezone"], today)
            if not s.lines:
                continue
            stored = db.StoredStatement(
                month, [ln.as_json() for ln in s.lines], s.total.net, s.total.vat, s.total.gross
            )
            async with self._tx() as conn:
                if await db.save_statement(conn, r["id"], self.catalogue.catalogue, stored):
                    closed += 1
                    money = {k: amount(getattr(s.total, k)) for k in ("net", "vat", "gross")}
                    month_text = f"{s.month:%Y-%m}"
                    cur = self.catalogue.currency
                    await statement_ready(conn, r["id"], month_text, money, cur)
        return closed


async def features_in_use(conn: asyncpg.Connection, company_id: int) -> list[tuple[str, str]]:
    """Features the company's configuration relies on, with what uses them."""
    out: list[tuple[str, str]] = []
    mode = await conn.fetchval("SELECT recording_mode FROM companies WHERE id = $1", company_id)
    if mode != "off":
        out.append(("recording", f"recording={mode}"))
    for r in await conn.fetch(
        "SELECT name, algorithm FROM ring_groups WHERE company_id = $1 ORDER BY name", company_id
    ):
        out.append((f"algorithm_{r['algorithm']}", f"group {r['name']}"))
    if await conn.fetchval("SELECT count(*) FROM queues WHERE company_id = $1", company_id):
        out.append(("queue", "queues"))
    return out


def _kind(name: str) -> LimitKind:
    try:
        return LimitKind(name)
    except ValueError:
        raise ValidationError(
            f"unknown limit {name!r}; one of: {', '.join(k.value for k in LimitKind)}",
            key="bad_limit_kind",
            kind=name,
        ) from None


def _from_stored(s: db.StoredStatement) -> st.Statement:
    from decimal import Decimal

    lines = [
        st.Line(
            d["item"],
            d["name_en"],
            d["name_ru"],
            d["quantity"],
            d["days"],
            Decimal(d["unit_price"]),
            Decimal(d["unit_net"]),
            Decimal(d["net"]),
        )
        for d in s.lines
    ]
    return st.Statement(
        s.month,
        st.month_days(s.month),
        s.month.replace(day=st.month_days(s.month)),
        lines,
        st.Total(s.net, s.vat, s.gross),
    )
