"""The one place limits and paid features are enforced (issue 6). Services call
`Limits.need(kind, adding)` or `Limits.feature(name)` inside the transaction that makes
the change, after locking the company row, so two admins cannot both take the last
unit. The errors carry what the bot needs to offer the extra in one tap."""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import asyncpg

from pbx.billing.account import Account
from pbx.billing.catalogue import LimitKind
from pbx.errors import ValidationError
from storage import billing as db

# How the product counts what a plan limits; kinds without a query (channels, SMS) are
# enforced where they happen (the engine, the SMS sender).
USAGE_SQL: dict[LimitKind, str] = {
    LimitKind.EMPLOYEES: "SELECT count(*) FROM employees WHERE company_id = $1",
    LimitKind.NUMBERS: "SELECT count(*) FROM numbers WHERE company_id = $1",
    LimitKind.IVR_MENUS: "SELECT count(*) FROM ivr_menus WHERE company_id = $1",
    LimitKind.RING_GROUPS: "SELECT count(*) FROM ring_groups WHERE company_id = $1",
    LimitKind.MELODY_STORAGE_MB: (
        "SELECT ceil(coalesce(sum(size_bytes), 0) / 1048576.0)::int"
        " FROM audio_files WHERE company_id = $1"
    ),
    LimitKind.STORAGE_MB: (
        "SELECT ceil(coalesce(sum(bytes), 0) / 1048576.0)::int"
        " FROM recordings WHERE company_id = $1"
    ),
}


class LimitReached(ValidationError):
    """An action would go beyond the plan. `buyable` packs can lift it now."""

    def __init__(self, account: Account, kind: LimitKind, used: int, adding: int) -> None:
        limit = account.limit(kind)
        plan = account.plan
        assert plan is not None and limit.included is not None
        allowance = account.allowance(kind) or 0
        packs_needed = -(-(used + adding - allowance) // limit.step)
        left = account.packs_left(kind)
        buyable = limit.extra is not None and (left is None or left >= packs_needed)
        self.kind = kind
        self.packs_needed = packs_needed if buyable else 0
        params: dict[str, Any] = {
            "plan": plan.title,
            "kind": kind.value,
            "included": limit.included,
            "allowance": allowance,
            "next": used + adding,
            "step": limit.step,
            "price": str(limit.extra) if limit.extra is not None else "",
            "currency": account.catalogue.currency,
            "plans": ", ".join(account.catalogue.plans_allowing(kind, used + adding)) or "-",
        }
        if buyable:
            super().__init__(
                f"plan {plan.title} includes {limit.included} {kind.value}; more cost "
                f"{limit.extra} {account.catalogue.currency} a month per {limit.step}",
                key="limit_buy",
                **params,
            )
        else:
            super().__init__(
                f"plan {plan.title} allows at most {allowance} {kind.value}; plans that "
                f"allow {used + adding}: {params['plans']}",
                key="limit_cap",
                **params,
            )


class FeatureUnavailable(ValidationError):
    """A feature the plan lacks, or a paid option that is switched off."""

    def __init__(self, account: Account, name: str) -> None:
        plan = account.plan
        assert plan is not None
        offer = plan.feature(name)
        info = account.catalogue.options[name]
        self.option = name
        params = {
            "plan": plan.title,
            "option": name,
            "title_en": info.en,
            "title_ru": info.ru,
            "price": str(offer.monthly_fee),
            "currency": account.catalogue.currency,
            "plans": ", ".join(account.plans_offering(name)) or "-",
        }
        if offer.status.value == "paid":
            super().__init__(
                f"{info.en} is a paid option ({offer.monthly_fee} a month); switch it on "
                f"with /option {name} on",
                key="option_off",
                **params,
            )
        else:
            super().__init__(
                f"{info.en} is not available on plan {plan.title}; plans with it: "
                f"{params['plans']}",
                key="option_unavailable",
                **params,
            )


class Limits:
    """Checks for one company inside one transaction."""

    def __init__(self, conn: asyncpg.Connection, account: Account, company_id: int) -> None:
        self.conn = conn
        self.account = account
        self.company_id = company_id

    @classmethod
    async def of(
        cls, conn: asyncpg.Connection, catalogue: Any, company_id: int, lock: bool = True
    ) -> Limits:
        account = await db.account(conn, catalogue, company_id, lock=lock)
        return cls(conn, account, company_id)

    async def used(self, kind: LimitKind) -> int:
        sql = USAGE_SQL.get(kind)
        if sql is None:
            return 0
        return int(await self.conn.fetchval(sql, self.company_id) or 0)

    async def need(self, kind: LimitKind, adding: int = 1) -> None:
        """Refuse adding `adding` units of `kind` beyond the allowance."""
        allowance = self.account.allowance(kind)
        if allowance is None or adding <= 0:
            return
        used = await self.used(kind)
        if used + adding > allowance:
            raise LimitReached(self.account, kind, used, adding)

    def feature(self, name: str) -> None:
        if not self.account.has(name):
            raise FeatureUnavailable(self.account, name)

    def algorithm(self, algorithm: str) -> None:
        self.feature(f"algorithm_{algorithm}")

    async def ivr_depth(self) -> None:
        """Refuse a menu tree deeper than the plan allows (checked after the change,
        inside its transaction)."""
        allowed = self.account.ivr_depth()
        if allowed is None:
            return
        rows = await self.conn.fetch(
            "SELECT name, options FROM ivr_menus WHERE company_id = $1", self.company_id
        )
        depth = menu_depth({r["name"]: _menu_targets(r["options"]) for r in rows})
        if depth > allowed:
            names = ["ivr_two_levels", "ivr_unlimited_levels"]
            sold = [n for n in names if self.account.sold(n) and not self.account.has(n)]
            if sold:
                raise FeatureUnavailable(self.account, sold[0] if depth == 2 else sold[-1])
            raise LimitReached(self.account, LimitKind.IVR_LEVELS, depth - 1, 1)


def _menu_targets(options: Any) -> list[str]:
    data = json.loads(options) if isinstance(options, str) else options
    return [t.removeprefix("menu:") for t in data.values() if str(t).startswith("menu:")]


def menu_depth(graph: dict[str, Iterable[str]]) -> int:
    """Levels of the deepest menu chain; a jump back up a chain (e.g. "0: main menu")
    is not a new level."""

    def longest(name: str, path: frozenset[str]) -> int:
        below = [
            longest(child, path | {child})
            for child in graph.get(name, ())
            if child in graph and child not in path
        ]
        return 1 + max(below, default=0)

    return max((longest(n, frozenset({n})) for n in graph), default=0)


def month_fee(account: Account) -> Decimal:
    """The plan's listed monthly fee (0 outside billing)."""
    plan = account.plan
    return plan.monthly_fee if plan else Decimal("0.00")
