"""Seed 000's plan catalogue (`catalogues/seed000.yaml`) against the seed's tariff page:
fees, included units, extra prices and options of СТАРТ+, МИНИ, МИДИ, МАКСИ, МАКСИ+."""

from __future__ import annotations

from decimal import Decimal

from pbx.billing.catalogue import CATALOGUES, Catalogue, Feature, LimitKind, Plan, load

ALL = ["СТАРТ+", "МИНИ", "МИДИ", "МАКСИ", "МАКСИ+"]


def catalogue() -> Catalogue:
    return load(CATALOGUES / "seed000.yaml")


def plan(plan_id: str) -> Plan:
    return catalogue().plan(plan_id)


def terms(p: Plan, kind: LimitKind) -> tuple[int | None, Decimal | None, int | None]:
    """(included, extra price, max) of one limit on one plan."""
    limit = p.limit(kind)
    return limit.included, limit.extra, limit.max


def paid(p: Plan, name: str) -> Decimal | None:
    """The monthly price of a paid option; None when it is included or unavailable."""
    offer = p.feature(name)
    return offer.monthly_fee if offer.status is Feature.PAID else None


def test_catalogue_header() -> None:
    cat = catalogue()
    assert cat.catalogue == "seed000"
    assert cat.currency == "RUB"
    assert cat.vat_percent == Decimal(20)
    assert cat.default_plan == "mini"
    assert list(cat.plans) == ["start_plus", "mini", "midi", "maxi", "maxi_plus"]
    assert [p.title for p in cat.plans.values()] == ALL
    assert cat.options["ftp_access"].ru == "Разрешение на подключение к FTP серверу"


def test_rows_shared_by_every_plan() -> None:
    for p in catalogue().plans.values():
        assert p.limit(LimitKind.CHANNELS).unlimited, p.title
        numbers = p.limit(LimitKind.NUMBERS)
        assert (numbers.extra, numbers.max) == (Decimal("150.00"), None), p.title
        employees = p.limit(LimitKind.EMPLOYEES)
        assert (employees.extra, employees.max) == (Decimal("50.00"), None), p.title
        assert terms(p, LimitKind.IVR_LEVELS) == (1, None, None), p.title
        melody = p.limit(LimitKind.MELODY_STORAGE_MB)
        assert (melody.step, melody.extra, melody.max) == (5, Decimal("50.00"), None), p.title
        assert paid(p, "ftp_access") == Decimal("50.00"), p.title
        for name in ("schedule", "recording", "statistics", "fax", "voicemail"):
            assert p.feature(name).status is Feature.INCLUDED, (p.title, name)
        for name in (
            "algorithm_sequential",
            "algorithm_random",
            "algorithm_ring_all",
            "algorithm_cumulative",  # not on the page: included (the product has it)
        ):
            assert p.feature(name).status is Feature.INCLUDED, (p.title, name)
        assert p.feature("queue").status is Feature.UNAVAILABLE  # not on the page


def test_start_plus() -> None:
    p = plan("start_plus")
    assert p.title == "СТАРТ+"
    assert p.monthly_fee == Decimal("490.00")
    assert p.limit(LimitKind.NUMBERS).included == 2
    assert p.limit(LimitKind.EMPLOYEES).included == 4
    # "Увеличение кол-ва голосовых меню" and "... групп обзвона" are "-".
    assert terms(p, LimitKind.IVR_MENUS) == (1, None, None)
    assert not p.limit(LimitKind.IVR_MENUS).sellable
    assert p.limit(LimitKind.RING_GROUPS).ceiling == 1
    assert paid(p, "ivr_two_levels") == Decimal("100.00")
    assert paid(p, "ivr_unlimited_levels") == Decimal("250.00")
    # "Параллельный по приоритету (По позиции в списке)": 250 руб/мес.
    assert paid(p, "algorithm_priority") == Decimal("250.00")
    assert paid(p, "algorithm_least_idle") == Decimal("250.00")
    # No conference at all: no rooms, no participants, nothing to buy.
    assert p.feature("conference").status is Feature.UNAVAILABLE
    assert p.limit(LimitKind.CONFERENCE_ROOMS).ceiling == 0
    assert p.limit(LimitKind.CONFERENCE_PARTICIPANTS).ceiling == 0
    assert p.limit(LimitKind.MELODY_STORAGE_MB).included == 5
    assert terms(p, LimitKind.RETENTION_DAYS) == (1, None, None)
    assert terms(p, LimitKind.RECORDING_MINUTES) == (150, None, None)
    for name in ("retention_7d", "retention_14d", "retention_30d"):
        assert p.feature(name).status is Feature.UNAVAILABLE, name
    assert paid(p, "blacklist") == Decimal("50.00")
    assert paid(p, "whitelist") == Decimal("50.00")


def test_mini() -> None:
    p = plan("mini")
    assert p.title == "МИНИ"
    assert p.monthly_fee == Decimal("1000.00")
    assert terms(p, LimitKind.NUMBERS) == (2, Decimal("150.00"), None)
    assert terms(p, LimitKind.EMPLOYEES) == (10, Decimal("50.00"), None)
    assert terms(p, LimitKind.IVR_MENUS) == (1, Decimal("200.00"), None)
    assert terms(p, LimitKind.RING_GROUPS) == (1, Decimal("200.00"), None)
    assert paid(p, "ivr_two_levels") == Decimal("100.00")
    assert paid(p, "ivr_unlimited_levels") == Decimal("250.00")
    # "Параллельный по приоритету (По позиции в списке)": 250 руб/мес.
    assert paid(p, "algorithm_priority") == Decimal("250.00")
    assert paid(p, "algorithm_least_idle") == Decimal("250.00")
    assert p.feature("conference").status is Feature.INCLUDED
    assert terms(p, LimitKind.CONFERENCE_ROOMS) == (1, Decimal("250.00"), None)
    assert terms(p, LimitKind.CONFERENCE_PARTICIPANTS) == (5, Decimal("100.00"), None)
    assert terms(p, LimitKind.MELODY_STORAGE_MB) == (5, Decimal("50.00"), None)
    assert p.limit(LimitKind.MELODY_STORAGE_MB).step == 5
    assert terms(p, LimitKind.RETENTION_DAYS) == (3, None, None)
    assert terms(p, LimitKind.RECORDING_MINUTES) == (1500, None, None)
    assert paid(p, "retention_7d") == Decimal("150.00")
    assert paid(p, "retention_14d") == Decimal("350.00")
    assert paid(p, "retention_30d") == Decimal("600.00")
    assert paid(p, "blacklist") == Decimal("50.00")


def test_midi() -> None:
    p = plan("midi")
    assert p.title == "МИДИ"
    assert p.monthly_fee == Decimal("2500.00")
    assert terms(p, LimitKind.NUMBERS) == (5, Decimal("150.00"), None)
    assert terms(p, LimitKind.EMPLOYEES) == (40, Decimal("50.00"), None)
    assert p.feature("ivr_two_levels").status is Feature.INCLUDED
    assert paid(p, "ivr_unlimited_levels") == Decimal("250.00")
    assert p.feature("algorithm_priority").status is Feature.INCLUDED
    assert paid(p, "algorithm_least_idle") == Decimal("250.00")
    assert terms(p, LimitKind.CONFERENCE_ROOMS) == (2, Decimal("250.00"), None)
    assert p.limit(LimitKind.CONFERENCE_PARTICIPANTS).included == 10
    assert p.limit(LimitKind.MELODY_STORAGE_MB).included == 10
    assert p.limit(LimitKind.RETENTION_DAYS).included == 3
    assert p.limit(LimitKind.RECORDING_MINUTES).included == 1500
    assert p.feature("blacklist").status is Feature.INCLUDED
    assert p.feature("whitelist").status is Feature.INCLUDED


def test_maxi() -> None:
    p = plan("maxi")
    assert p.title == "МАКСИ"
    assert p.monthly_fee == Decimal("5000.00")
    assert terms(p, LimitKind.NUMBERS) == (20, Decimal("150.00"), None)
    assert terms(p, LimitKind.EMPLOYEES) == (150, Decimal("50.00"), None)
    for name in (
        "ivr_two_levels",
        "ivr_unlimited_levels",
        "algorithm_priority",
        "algorithm_least_idle",
        "blacklist",
        "whitelist",
    ):
        assert p.feature(name).status is Feature.INCLUDED, name
    assert p.limit(LimitKind.CONFERENCE_ROOMS).included == 3
    assert terms(p, LimitKind.CONFERENCE_PARTICIPANTS) == (20, Decimal("100.00"), None)
    assert p.limit(LimitKind.MELODY_STORAGE_MB).included == 20
    assert terms(p, LimitKind.RETENTION_DAYS) == (5, None, None)
    assert terms(p, LimitKind.RECORDING_MINUTES) == (2500, None, None)
    assert paid(p, "retention_30d") == Decimal("600.00")


def test_maxi_plus() -> None:
    p = plan("maxi_plus")
    assert p.title == "МАКСИ+"
    assert p.monthly_fee == Decimal("10000.00")
    assert terms(p, LimitKind.NUMBERS) == (50, Decimal("150.00"), None)
    assert terms(p, LimitKind.EMPLOYEES) == (250, Decimal("50.00"), None)
    assert terms(p, LimitKind.IVR_MENUS) == (1, Decimal("200.00"), None)
    assert p.feature("ivr_unlimited_levels").status is Feature.INCLUDED
    assert p.feature("algorithm_least_idle").status is Feature.INCLUDED
    assert terms(p, LimitKind.CONFERENCE_ROOMS) == (5, Decimal("250.00"), None)
    assert p.limit(LimitKind.CONFERENCE_PARTICIPANTS).included == 50
    assert p.limit(LimitKind.MELODY_STORAGE_MB).included == 20
    assert p.limit(LimitKind.RETENTION_DAYS).included == 5
    assert p.limit(LimitKind.RECORDING_MINUTES).included == 2500
    assert paid(p, "retention_14d") == Decimal("350.00")
    assert paid(p, "ftp_access") == Decimal("50.00")


def test_plans_allowing() -> None:
    cat = catalogue()
    # One menu / ring group everywhere; more can be bought on every plan but СТАРТ+.
    assert cat.plans_allowing(LimitKind.IVR_MENUS, 1) == ALL
    assert cat.plans_allowing(LimitKind.IVR_MENUS, 2) == ALL[1:]
    assert cat.plans_allowing(LimitKind.RING_GROUPS, 7) == ALL[1:]
    # СТАРТ+ has no conference at all.
    assert cat.plans_allowing(LimitKind.CONFERENCE_ROOMS, 1) == ALL[1:]
    assert cat.plans_allowing(LimitKind.CONFERENCE_PARTICIPANTS, 60) == ALL[1:]
    # Numbers and employees can be added without a cap; channels are unlimited.
    assert cat.plans_allowing(LimitKind.EMPLOYEES, 1000) == ALL
    assert cat.plans_allowing(LimitKind.NUMBERS, 100) == ALL
    assert cat.plans_allowing(LimitKind.CHANNELS, 10_000) == ALL
    assert cat.plans_allowing(LimitKind.MELODY_STORAGE_MB, 500) == ALL
    # The base recording retention is not sold in units (longer is an option).
    assert cat.plans_allowing(LimitKind.RETENTION_DAYS, 3) == ALL[1:]
    assert cat.plans_allowing(LimitKind.RETENTION_DAYS, 5) == ["МАКСИ", "МАКСИ+"]
    assert cat.plans_allowing(LimitKind.RECORDING_MINUTES, 1500) == ALL[1:]
    assert cat.plans_allowing(LimitKind.RECORDING_MINUTES, 1501) == ["МАКСИ", "МАКСИ+"]
