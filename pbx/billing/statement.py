"""A month's statement from the billing history, by seed 001's rules: each item is
charged per day it was on (a whole month costs exactly the monthly price), at the net
price (listed price / 1.2, rounded to kopecks); VAT is added to the net total. Days
fully blocked at the customer's or operator's request are not charged; a block for
non-payment is (seed 001, note 2). Pure: the history comes in, lines come out."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from pbx.billing.catalogue import Catalogue, Feature, LimitKind
from pbx.billing.money import Total, net_of, per_day, total

FREE_BLOCKS = ("customer", "operator")

# Names of what extras buy, for statements and exports.
KIND_NAMES: dict[LimitKind, tuple[str, str]] = {
    LimitKind.EMPLOYEES: ("Extra employees", "Дополнительные сотрудники"),
    LimitKind.NUMBERS: ("Extra company numbers", "Дополнительные номера"),
    LimitKind.CHANNELS: ("Extra channels", "Дополнительные каналы"),
    LimitKind.IVR_MENUS: ("Extra voice menus", "Дополнительные голосовые меню"),
    LimitKind.IVR_LEVELS: ("Extra menu levels", "Дополнительные уровни меню"),
    LimitKind.RING_GROUPS: ("Extra ring groups", "Дополнительные группы обзвона"),
    LimitKind.CONFERENCE_ROOMS: ("Extra conference rooms", "Дополнительные конференц-комнаты"),
    LimitKind.CONFERENCE_PARTICIPANTS: (
        "Extra conference participants",
        "Дополнительные участники конференции",
    ),
    LimitKind.STORAGE_MB: ("Recording storage packs", "Пакеты хранилища записей"),
    LimitKind.STORAGE_PACKS: ("Recording storage packs", "Пакеты хранилища записей"),
    LimitKind.RETENTION_DAYS: ("Extra retention days", "Дополнительные дни хранения"),
    LimitKind.RECORDING_MINUTES: ("Extra recording minutes", "Дополнительные минуты записей"),
    LimitKind.MELODY_STORAGE_MB: ("Melody storage packs", "Пакеты хранилища мелодий"),
    LimitKind.SMS: ("SMS packs", "Пакеты SMS"),
}


class ChangeLike(Protocol):
    @property
    def at(self) -> datetime: ...
    @property
    def item(self) -> str: ...
    @property
    def quantity(self) -> int: ...


@dataclass(frozen=True)
class State:
    plan: str | None = None
    extras: dict[str, int] = field(default_factory=dict)
    options: frozenset[str] = frozenset()
    block: str | None = None

    def after(self, change: ChangeLike) -> State:
        kind, _, name = change.item.partition(":")
        on = change.quantity > 0
        if kind == "plan":
            return replace(self, plan=name if on else (None if self.plan == name else self.plan))
        if kind == "block":
            return replace(self, block=name if on else (None if self.block == name else self.block))
        if kind == "extra":
            return replace(self, extras={**self.extras, name: change.quantity})
        if kind == "option":
            options = self.options | {name} if on else self.options - {name}
            return replace(self, options=frozenset(options))
        return self


@dataclass(frozen=True)
class Line:
    item: str  # plan:<id>, extra:<kind>, option:<id>, sms:packs
    name_en: str
    name_ru: str
    quantity: int
    days: int  # days charged of the month (0 for one-off charges such as SMS packs)
    unit_price: Decimal  # listed, VAT included
    unit_net: Decimal
    net: Decimal

    def as_json(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "unit_price": str(self.unit_price),
            "unit_net": str(self.unit_net),
            "net": str(self.net),
        }


@dataclass(frozen=True)
class Statement:
    month: date
    days_in_month: int
    through: date  # the last day counted (the month's last day once closed)
    lines: list[Line]
    total: Total
    # The month's history, dated: plan changes, extras, options, blocks.
    changes: tuple[ChangeLike, ...] = ()
    timezone: str = "UTC"  # the company's, for dates


def month_days(month: date) -> int:
    return calendar.monthrange(month.year, month.month)[1]


def build(
    catalogue: Catalogue,
    history: Iterable[ChangeLike],
    month: date,
    timezone: str,
    through: date | None = None,
    sms_packs: int = 0,
) -> Statement:
    """The statement of `month` (its first day) counting days up to `through`."""
    tz = ZoneInfo(timezone)
    dim = month_days(month)
    last = min(through or month.replace(day=dim), month.replace(day=dim))
    changes = sorted(history, key=lambda c: c.at)
    state = State()
    i = 0
    days: dict[tuple[str, int, Decimal], int] = {}
    names: dict[str, tuple[str, str]] = {}
    prices: dict[tuple[str, int, Decimal], Decimal] = {}
    day = month
    while day <= last:
        begin = datetime.combine(day, time(), tz)
        end = datetime.combine(day + timedelta(days=1), time(), tz)
        # What changed at midnight sharp holds for the whole day.
        while i < len(changes) and changes[i].at <= begin:
            state = state.after(changes[i])
            i += 1
        states = [state]
        while i < len(changes) and changes[i].at < end:
            state = state.after(changes[i])
            states.append(state)
            i += 1
        for item, qty, price, name in _charges(catalogue, states):
            key = (item, qty, price)
            days[key] = days.get(key, 0) + 1
            prices[key] = price
            names[item] = name
        day += timedelta(days=1)
    vat = catalogue.vat_percent
    lines = [
        Line(
            item,
            *names[item],
            qty,
            n,
            price,
            net_of(price, vat),
            per_day(net_of(price, vat) * qty, n, dim),
        )
        for (item, qty, price), n in days.items()
    ]
    plan = catalogue.plans.get(state.plan or "")
    sms_price = plan.limit(LimitKind.SMS).extra if plan else None
    if sms_packs and sms_price is not None:
        unit_net = net_of(sms_price, vat)
        lines.append(
            Line(
                "sms:packs",
                *KIND_NAMES[LimitKind.SMS],
                sms_packs,
                0,
                sms_price,
                unit_net,
                unit_net * sms_packs,
            )
        )
    dated = in_period(changes, month, last, timezone)
    return Statement(month, dim, last, lines, total((ln.net for ln in lines), vat), dated, timezone)


def day_after(day: date, timezone: str) -> datetime:
    """Midnight that ends `day` in the company's zone."""
    return datetime.combine(day + timedelta(days=1), time(), ZoneInfo(timezone))


def in_period(
    changes: Iterable[ChangeLike], first: date, last: date, timezone: str
) -> tuple[ChangeLike, ...]:
    """The changes dated from `first` to `last` inclusive (company days), in order."""
    begin = datetime.combine(first, time(), ZoneInfo(timezone))
    end = day_after(last, timezone)
    return tuple(sorted((c for c in changes if begin <= c.at < end), key=lambda c: c.at))


def _charges(
    catalogue: Catalogue, states: list[State]
) -> Iterable[tuple[str, int, Decimal, tuple[str, str]]]:
    """What one day costs: (item, quantity, listed unit price, names)."""
    if all(s.block in FREE_BLOCKS for s in states):
        return
    plan_id = states[-1].plan
    plan = catalogue.plans.get(plan_id) if plan_id else None
    if plan is None:
        return
    yield f"plan:{plan_id}", 1, plan.monthly_fee, (plan.title, plan.title)
    for kind in sorted({k for s in states for k in s.extras}):
        qty = max(s.extras.get(kind, 0) for s in states)
        try:
            price = plan.limit(LimitKind(kind)).extra
        except ValueError:
            continue
        if qty > 0 and price is not None:
            yield f"extra:{kind}", qty, price, KIND_NAMES[LimitKind(kind)]
    for option in sorted({o for s in states for o in s.options}):
        offer = plan.feature(option)
        info = catalogue.options.get(option)
        if offer.status is Feature.PAID and info is not None:
            yield f"option:{option}", 1, offer.monthly_fee, (info.en, info.ru)
