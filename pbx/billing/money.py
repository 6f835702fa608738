"""Money rules of seed 001, in Decimal only: catalogue prices include VAT; calculations
use the net price, the listed price divided by (1 + VAT) and rounded to kopecks; VAT is
then charged on the net total; a month with a block at the customer's request is
charged per day."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

KOPECK = Decimal("0.01")
HUNDRED = Decimal(100)


def kopecks(amount: Decimal) -> Decimal:
    """Mathematical rounding (half up) to kopecks."""
    return amount.quantize(KOPECK, rounding=ROUND_HALF_UP)


def net_of(price: Decimal, vat_percent: Decimal) -> Decimal:
    """The net price of a listed (VAT-inclusive) price."""
    return kopecks(price / (1 + vat_percent / HUNDRED))


def per_day(net_monthly: Decimal, days_billed: int, days_in_month: int) -> Decimal:
    """A monthly net amount for `days_billed` of the month's `days_in_month` days."""
    if not 0 <= days_billed <= days_in_month or days_in_month <= 0:
        raise ValueError(f"{days_billed} billed days of a {days_in_month}-day month")
    return kopecks(net_monthly * days_billed / days_in_month)


@dataclass(frozen=True)
class Total:
    net: Decimal
    vat: Decimal
    gross: Decimal


def total(nets: Iterable[Decimal], vat_percent: Decimal) -> Total:
    """The statement's bottom line: net sum, VAT on it, and the two together."""
    net = sum(nets, Decimal("0.00"))
    vat = kopecks(net * vat_percent / HUNDRED)
    return Total(net=kopecks(net), vat=vat, gross=kopecks(net) + vat)
