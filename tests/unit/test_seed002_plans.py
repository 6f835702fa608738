"""Seed 002's catalogue (Дом.ру Бизнес «Облачная АТС 3.0»: Лайт, Бизнес, Про) against the
seed's grid: fees, employees, groups, algorithms, paid options and SMS packs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pbx.billing.catalogue import CATALOGUES, Catalogue, Feature, LimitKind, load


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return load(CATALOGUES / "seed002.yaml")


def test_catalogue_header(cat: Catalogue) -> None:
    assert cat.catalogue == "seed002"
    assert cat.currency == "RUB"
    # The grid's «НДС» column says «нет» for every monthly row.
    assert cat.vat_percent == Decimal(0)
    assert cat.default_plan == "business"
    assert list(cat.plans) == ["lite", "business", "pro"]
    assert [p.title for p in cat.plans.values()] == ["Лайт", "Бизнес", "Про"]
    for plan in cat.plans.values():
        assert set(plan.features) <= set(cat.options)


def test_lite(cat: Catalogue) -> None:
    lite = cat.plan("lite")
    assert lite.monthly_fee == Decimal("487.00")
    # 3 employees, no more can be bought ("больше 3х нельзя").
    employees = lite.limit(LimitKind.EMPLOYEES)
    assert (employees.included, employees.extra, employees.ceiling) == (3, None, 3)
    assert not employees.sellable
    assert cat.plans_allowing(LimitKind.EMPLOYEES, 3) == ["Лайт", "Бизнес", "Про"]
    assert cat.plans_allowing(LimitKind.EMPLOYEES, 4) == ["Бизнес", "Про"]
    # No IVR, groups, conferences or SMS.
    for kind in (
        LimitKind.IVR_MENUS,
        LimitKind.RING_GROUPS,
        LimitKind.CONFERENCE_ROOMS,
        LimitKind.SMS,
    ):
        assert lite.limit(kind).ceiling == 0, kind
    # Base functions are included; every paid option and algorithm is unavailable.
    for name in ("call_pickup", "call_history", "schedule", "voicemail", "greeting"):
        assert lite.feature(name).status is Feature.INCLUDED, name
    for name in (
        "ivr_two_levels",
        "conference",
        "fax",
        "algorithm_sequential",
        "algorithm_cumulative",
        "algorithm_ring_all",
        "algorithm_least_idle",
        "recording",
        "effective_sales",
        "statistics",
        "crm",
    ):
        assert lite.feature(name).status is Feature.UNAVAILABLE, name


def test_business(cat: Catalogue) -> None:
    biz = cat.plan("business")
    assert biz.monthly_fee == Decimal("850.00")
    # 5 included, 5 more at 120 ₽ each, up to 10 inclusive.
    employees = biz.limit(LimitKind.EMPLOYEES)
    assert (employees.included, employees.max, employees.extra) == (5, 10, Decimal("120.00"))
    assert employees.packs_cap() == 5
    assert cat.plans_allowing(LimitKind.EMPLOYEES, 10) == ["Бизнес", "Про"]
    assert cat.plans_allowing(LimitKind.EMPLOYEES, 11) == ["Про"]
    # 2 groups in the fee, no additional groups.
    groups = biz.limit(LimitKind.RING_GROUPS)
    assert (groups.included, groups.extra, groups.ceiling) == (2, None, 2)
    # One IVR level free, the second level a free option.
    assert biz.limit(LimitKind.IVR_LEVELS).included == 1
    assert biz.feature("ivr_two_levels").status is Feature.INCLUDED
    assert biz.feature("ivr_unlimited_levels").status is Feature.UNAVAILABLE
    # Algorithms: one by one and cumulative in the fee, ring all and uniform 200 ₽.
    assert biz.feature("algorithm_sequential").status is Feature.INCLUDED
    assert biz.feature("algorithm_cumulative").status is Feature.INCLUDED
    ring_all = biz.feature("algorithm_ring_all")
    assert (ring_all.status, ring_all.monthly_fee) == (Feature.PAID, Decimal("200.00"))
    assert biz.feature("algorithm_least_idle").monthly_fee == Decimal("200.00")
    assert biz.feature("algorithm_random").status is Feature.UNAVAILABLE
    # Paid options.
    fees = {
        name: biz.feature(name).monthly_fee
        for name in ("recording", "effective_sales", "statistics", "crm")
    }
    assert fees == {
        "recording": Decimal("1000.00"),
        "effective_sales": Decimal("600.00"),
        "statistics": Decimal("500.00"),
        "crm": Decimal("500.00"),
    }
    assert biz.feature("conference").status is Feature.INCLUDED
    assert biz.feature("fax").status is Feature.INCLUDED
    # Recordings are kept 12 months.
    assert biz.limit(LimitKind.RETENTION_DAYS).included == 365
    # 300 SMS a month, then modules of 100 SMS for 150 ₽.
    sms = biz.limit(LimitKind.SMS)
    assert (sms.included, sms.step, sms.extra, sms.max) == (300, 100, Decimal("150.00"), None)


def test_pro(cat: Catalogue) -> None:
    pro = cat.plan("pro")
    assert pro.monthly_fee == Decimal("2500.00")
    # 15 included, extra profiles without limit at 130 ₽.
    employees = pro.limit(LimitKind.EMPLOYEES)
    assert (employees.included, employees.extra, employees.ceiling) == (15, Decimal("130.00"), None)
    assert cat.plans_allowing(LimitKind.EMPLOYEES, 1000) == ["Про"]
    # 5 groups in the fee, more at 100 ₽ each.
    groups = pro.limit(LimitKind.RING_GROUPS)
    assert (groups.included, groups.extra, groups.ceiling) == (5, Decimal("100.00"), None)
    assert cat.plans_allowing(LimitKind.RING_GROUPS, 3) == ["Про"]
    # Ring all is free on Про, uniform still 200 ₽.
    assert pro.feature("algorithm_ring_all").status is Feature.INCLUDED
    least_idle = pro.feature("algorithm_least_idle")
    assert (least_idle.status, least_idle.monthly_fee) == (Feature.PAID, Decimal("200.00"))
    # Statistics is cheaper than on Бизнес; the other options cost the same.
    assert pro.feature("statistics").monthly_fee == Decimal("300.00")
    assert pro.feature("recording").monthly_fee == Decimal("1000.00")
    assert pro.feature("effective_sales").monthly_fee == Decimal("600.00")
    assert pro.feature("crm").monthly_fee == Decimal("500.00")
    sms = pro.limit(LimitKind.SMS)
    assert (sms.included, sms.step, sms.extra) == (300, 100, Decimal("150.00"))
