"""The seed 001 preset against its tariff page («Тарифы на услугу Облачная АТС»): each
plan's characteristic figures, exact to the kopeck, and the page's money rules applied
to the catalogue's prices."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pbx.billing.catalogue import CATALOGUES, Catalogue, Feature, Limit, LimitKind, Plan, load
from pbx.billing.money import net_of, per_day, total

ALGORITHMS = (
    "algorithm_sequential",
    "algorithm_cumulative",
    "algorithm_ring_all",
    "algorithm_least_idle",
    "algorithm_random",
)
INCLUDED_EVERYWHERE = (
    *ALGORITHMS,
    "crm_basic",
    "conference",
    "callback_widget",
    "fax",
    "statistics",
    "voicemail",
    "schedule",
    "blacklist",
    "whitelist",
    "sms_notifications",
)


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return load(CATALOGUES / "seed001.yaml")


def _limit(plan: Plan, kind: LimitKind) -> tuple[int | None, int | None, Decimal | None, int]:
    lim = plan.limit(kind)
    return (lim.included, lim.max, lim.extra, lim.step)


def _paid(plan: Plan, name: str) -> Decimal:
    offer = plan.feature(name)
    assert offer.status is Feature.PAID, f"{name} is {offer.status}, not paid"
    return offer.monthly_fee


def _common(plan: Plan) -> None:
    """Rows that are the same in every column of the seed."""
    # «Количество уровней голосового меню» 2, no more can be bought.
    assert _limit(plan, LimitKind.IVR_LEVELS) == (2, 2, None, 1)
    assert plan.limit(LimitKind.IVR_LEVELS).ceiling == 2
    # «Голосовое меню» ✓ with no count: unlimited menus.
    assert plan.limit(LimitKind.IVR_MENUS).unlimited
    # 1 Гб included, «Дополнительные 5 Гб хранилища» 300 ₽/мес.
    assert _limit(plan, LimitKind.STORAGE_MB) == (1024, None, Decimal("300.00"), 5120)
    # «Максимальное количество лицензий конференции» 100.
    assert plan.limit(LimitKind.CONFERENCE_PARTICIPANTS).ceiling == 100
    assert not plan.limit(LimitKind.CONFERENCE_PARTICIPANTS).sellable
    assert _paid(plan, "queue") == Decimal("500.00")
    assert _paid(plan, "smart_forwarding") == Decimal("300.00")
    assert _paid(plan, "recording") == Decimal("1500.00")
    assert _paid(plan, "crm") == Decimal("450.00")
    for name in INCLUDED_EVERYWHERE:
        assert plan.feature(name).status is Feature.INCLUDED, name
    assert plan.feature("ivr_unlimited_levels").status is Feature.UNAVAILABLE


def test_catalogue_header(cat: Catalogue) -> None:
    assert cat.catalogue == "seed001"
    assert cat.currency == "RUB"
    assert cat.vat_percent == Decimal(20)  # «* Стоимость включает НДС»
    assert cat.default_plan == "minimal"
    assert list(cat.plans) == ["micro", "minimal", "basic", "standard", "professional"]
    titles = [p.title for p in cat.plans.values()]
    assert titles == ["Микро", "Минимальный", "Базовый", "Стандартный", "Профессиональный"]
    for name in ("sip_pbx", "crm_basic"):
        assert cat.options[name].en and cat.options[name].ru


def test_micro(cat: Catalogue) -> None:
    plan = cat.plan("micro")
    assert plan.monthly_fee == Decimal("490.00")
    assert _limit(plan, LimitKind.NUMBERS) == (1, None, Decimal("300.00"), 1)
    assert _limit(plan, LimitKind.EMPLOYEES) == (1, None, Decimal("400.00"), 1)
    assert _limit(plan, LimitKind.CHANNELS) == (10, None, Decimal("100.00"), 1)
    assert _paid(plan, "sip_pbx") == Decimal("1250.00")
    _common(plan)


def test_minimal(cat: Catalogue) -> None:
    plan = cat.plan("minimal")
    assert plan.monthly_fee == Decimal("790.00")
    assert _limit(plan, LimitKind.NUMBERS) == (2, None, Decimal("150.00"), 1)
    assert _limit(plan, LimitKind.EMPLOYEES) == (4, None, Decimal("200.00"), 1)
    assert _limit(plan, LimitKind.CHANNELS) == (10, None, Decimal("100.00"), 1)
    assert _paid(plan, "sip_pbx") == Decimal("1250.00")
    _common(plan)


def test_basic(cat: Catalogue) -> None:
    plan = cat.plan("basic")
    assert plan.monthly_fee == Decimal("1790.00")
    assert _limit(plan, LimitKind.NUMBERS) == (3, None, Decimal("150.00"), 1)
    assert _limit(plan, LimitKind.EMPLOYEES) == (10, None, Decimal("200.00"), 1)
    assert _limit(plan, LimitKind.CHANNELS) == (20, None, Decimal("50.00"), 1)
    assert _paid(plan, "sip_pbx") == Decimal("1250.00")
    _common(plan)


def test_standard(cat: Catalogue) -> None:
    plan = cat.plan("standard")
    assert plan.monthly_fee == Decimal("3490.00")
    assert _limit(plan, LimitKind.NUMBERS) == (5, None, Decimal("150.00"), 1)
    assert _limit(plan, LimitKind.EMPLOYEES) == (20, None, Decimal("200.00"), 1)
    assert _limit(plan, LimitKind.CHANNELS) == (40, None, Decimal("50.00"), 1)
    assert _paid(plan, "sip_pbx") == Decimal("500.00")
    _common(plan)


def test_professional(cat: Catalogue) -> None:
    plan = cat.plan("professional")
    assert plan.monthly_fee == Decimal("7990.00")
    assert _limit(plan, LimitKind.NUMBERS) == (10, None, Decimal("150.00"), 1)
    assert _limit(plan, LimitKind.EMPLOYEES) == (50, None, Decimal("200.00"), 1)
    assert _limit(plan, LimitKind.CHANNELS) == (100, None, Decimal("50.00"), 1)
    assert _paid(plan, "sip_pbx") == Decimal("500.00")
    _common(plan)


def test_extras_have_no_cap(cat: Catalogue) -> None:
    # The seed sells numbers, employees, channels and storage «сверх пакета» without a
    # ceiling; the IVR depth and conference licences are fixed.
    for plan in cat.plans.values():
        for kind in (LimitKind.NUMBERS, LimitKind.EMPLOYEES, LimitKind.CHANNELS):
            lim: Limit = plan.limit(kind)
            assert lim.sellable and lim.packs_cap() is None, (plan.title, kind)
        assert plan.limit(LimitKind.STORAGE_MB).packs_cap() is None
        assert plan.limit(LimitKind.IVR_LEVELS).packs_cap() == 0
    assert cat.plans_allowing(LimitKind.IVR_LEVELS, 3) == []
    assert cat.plans_allowing(LimitKind.CONFERENCE_PARTICIPANTS, 101) == []


def test_money_rules_of_the_seed(cat: Catalogue) -> None:
    vat = cat.vat_percent
    minimal = cat.plan("minimal")
    # Note 3: the net price is the listed one divided by 1.2, rounded to kopecks.
    net = net_of(minimal.monthly_fee, vat)
    assert net == Decimal("658.33")
    assert net_of(cat.plan("micro").monthly_fee, vat) == Decimal("408.33")
    assert net_of(cat.plan("professional").monthly_fee, vat) == Decimal("6658.33")
    assert net_of(minimal.limit(LimitKind.NUMBERS).extra or Decimal(0), vat) == Decimal("125.00")
    assert net_of(_paid(minimal, "recording"), vat) == Decimal("1250.00")
    # VAT charged on the net total gives back the listed price.
    t = total([net], vat)
    assert (t.net, t.vat, t.gross) == (Decimal("658.33"), Decimal("131.67"), Decimal("790.00"))
    # Note 2: blocked 10 days of a 30-day month at the customer's request: charged per
    # day for the 20 days the number worked.
    assert per_day(net, 20, 30) == Decimal("438.89")
    # A whole month (e.g. blocked for non-payment: charged in full) is the monthly net.
    assert per_day(net, 30, 30) == net
    # A month's bill: fee, one extra number, recording.
    nets = [
        net,
        net_of(Decimal("150.00"), vat),
        net_of(Decimal("1500.00"), vat),
    ]
    bill = total(nets, vat)
    assert (bill.net, bill.vat, bill.gross) == (
        Decimal("2033.33"),
        Decimal("406.67"),
        Decimal("2440.00"),
    )
