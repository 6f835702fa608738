"""Seed 001's money rules as properties: net from a VAT-inclusive price, per-day
charging, the VAT split of a statement — Decimal to the kopeck, never float."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pbx.billing.money import KOPECK, net_of, per_day, total

prices = st.decimals(min_value="0.00", max_value="1000000.00", places=2)
VAT = Decimal(20)


@given(prices)
def test_net_is_the_price_over_1_2_rounded_to_kopecks(price: Decimal) -> None:
    net = net_of(price, VAT)
    assert net == net.quantize(KOPECK)
    assert abs(net * Decimal("1.2") - price) <= Decimal("0.006")  # half a kopeck × 1.2


def test_seed_examples() -> None:
    assert net_of(Decimal("490.00"), VAT) == Decimal("408.33")
    assert net_of(Decimal("1000.00"), VAT) == Decimal("833.33")
    assert net_of(Decimal("50.00"), VAT) == Decimal("41.67")
    t = total([Decimal("833.33"), Decimal("41.67")], VAT)
    assert (t.net, t.vat, t.gross) == (Decimal("875.00"), Decimal("175.00"), Decimal("1050.00"))


@given(prices, st.integers(min_value=28, max_value=31), st.data())
def test_per_day(net: Decimal, days: int, data: st.DataObject) -> None:
    assert per_day(net, days, days) == net  # a whole month is the monthly amount
    assert per_day(net, 0, days) == Decimal("0.00")
    a = data.draw(st.integers(min_value=0, max_value=days))
    b = data.draw(st.integers(min_value=a, max_value=days))
    assert per_day(net, a, days) <= per_day(net, b, days)  # more days never cost less
    # Split at any day, the two parts differ from the whole by rounding only.
    assert abs(per_day(net, a, days) + per_day(net, days - a, days) - net) <= KOPECK


def test_per_day_refuses_impossible_days() -> None:
    with pytest.raises(ValueError):
        per_day(Decimal("100.00"), 32, 31)


@given(st.lists(prices, max_size=30))
def test_statement_total_adds_up(nets: list[Decimal]) -> None:
    t = total(nets, VAT)
    assert t.gross == t.net + t.vat
    assert t.net == sum(nets, Decimal(0))
    assert abs(t.vat - t.net * Decimal("0.2")) <= Decimal("0.005")
    assert all(x == x.quantize(KOPECK) for x in (t.net, t.vat, t.gross))
