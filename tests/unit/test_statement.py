"""Statement rules as properties: a whole month costs exactly the monthly net price,
days fully blocked at the customer's request are free, a non-payment block is not,
changes count from the day they happen, and VAT is charged once on the net total."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader

from pbx.billing.catalogue import presets
from pbx.billing.money import kopecks, net_of, per_day
from pbx.billing.statement import build, month_days
from pbx.services.statement_export import to_csv, to_pdf

CAT = presets()["seed000"]
VAT = CAT.vat_percent
MSK = ZoneInfo("Europe/Moscow")


@dataclass(frozen=True)
class Ch:
    at: datetime
    item: str
    quantity: int


def at(month: date, day: int, hour: int = 0) -> datetime:
    return datetime(month.year, month.month, day, hour, tzinfo=MSK)


months = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 1)).map(
    lambda d: d.replace(day=1)
)
plans = st.sampled_from(sorted(CAT.plans))


@given(months, plans)
def test_a_whole_month_costs_the_monthly_net_price(month: date, plan: str) -> None:
    history = [Ch(at(month, 1) - timedelta(days=40), f"plan:{plan}", 1)]
    s = build(CAT, history, month, "Europe/Moscow")
    (line,) = s.lines
    fee = CAT.plans[plan].monthly_fee
    assert line.days == month_days(month) and line.net == net_of(fee, VAT)
    assert s.total.vat == kopecks(line.net * VAT / 100)
    assert s.total.gross == s.total.net + s.total.vat


@given(
    months,
    plans,
    st.integers(1, 28),
    st.integers(0, 27),
    st.sampled_from(["customer", "operator", "nonpayment"]),
)
def test_blocked_days_are_free_unless_for_nonpayment(
    month: date, plan: str, first: int, length: int, reason: str
) -> None:
    dim = month_days(month)
    last = min(dim, first + length)  # blocked from `first` 00:00 to `last` 00:00
    history = [
        Ch(at(month, 1) - timedelta(days=1), f"plan:{plan}", 1),
        Ch(at(month, first), f"block:{reason}", 1),
        Ch(
            at(month, last) if last <= dim else at(month, dim) + timedelta(days=1),
            f"block:{reason}",
            0,
        ),
    ]
    s = build(CAT, history, month, "Europe/Moscow")
    free = (last - first) if reason != "nonpayment" else 0
    net = net_of(CAT.plans[plan].monthly_fee, VAT)
    assert sum(ln.days for ln in s.lines) == dim - free
    assert s.total.net == (per_day(net, dim - free, dim) if dim - free else Decimal("0.00"))


@given(months, st.integers(1, 28), st.integers(0, 23), st.integers(1, 5))
def test_extras_count_from_the_day_they_are_bought(
    month: date, day: int, hour: int, packs: int
) -> None:
    history = [
        Ch(at(month, 1) - timedelta(days=3), "plan:mini", 1),
        Ch(at(month, day, hour), "extra:employees", packs),
    ]
    s = build(CAT, history, month, "Europe/Moscow")
    dim = month_days(month)
    extra = next(ln for ln in s.lines if ln.item == "extra:employees")
    assert (extra.quantity, extra.days) == (packs, dim - day + 1)
    assert extra.net == per_day(net_of(Decimal("50.00"), VAT) * packs, dim - day + 1, dim)


@given(months, st.integers(2, 28))
def test_a_plan_change_splits_the_month_by_day(month: date, day: int) -> None:
    history = [
        Ch(at(month, 1) - timedelta(days=3), "plan:mini", 1),
        Ch(at(month, day, 12), "plan:mini", 0),
        Ch(at(month, day, 12), "plan:midi", 1),
    ]
    s = build(CAT, history, month, "Europe/Moscow")
    days = {ln.item: ln.days for ln in s.lines}
    # The day of the change is charged once, on the plan it ended with.
    assert days == {"plan:mini": day - 1, "plan:midi": month_days(month) - day + 1}


@given(months, st.integers(1, 28))
def test_running_total_counts_days_so_far(month: date, today: int) -> None:
    history = [Ch(datetime(2000, 1, 1, tzinfo=UTC), "plan:maxi", 1)]
    s = build(CAT, history, month, "Europe/Moscow", through=month.replace(day=today))
    (line,) = s.lines
    assert line.days == today and s.through.day == today


def test_exports_carry_the_same_figures() -> None:
    month = date(2026, 11, 1)
    history = [
        Ch(datetime(2026, 10, 1, tzinfo=UTC), "plan:mini", 1),
        Ch(at(month, 21), "extra:employees", 2),
    ]
    s = build(CAT, history, month, "Europe/Moscow")

    def said(item: str, n: int) -> str:
        return f"{item} in words ×{n}"

    rows = list(csv.reader(io.StringIO(to_csv(s, "ru", said).decode("utf-8-sig"))))
    assert rows[1] == ["Услуга", "Кол-во", "Дней", "Цена", "Цена без НДС", "Без НДС"]
    assert rows[2] == ["МИНИ", "1", "30/30", "1000.00", "833.33", "833.33"]
    # 2 × 41.67 for the 10 days from the 21st: 83.34 × 10 / 30 = 27.78
    assert rows[3] == ["Дополнительные сотрудники", "2", "10/30", "50.00", "41.67", "27.78"]
    assert [r[5] for r in rows[4:7]] == ["861.11", "172.22", "1033.33"]
    assert rows[8:] == [
        ["История"],
        ["Когда", "Изменение", "Код", "Кол-во"],
        ["2026-11-21 00:00", "extra:employees in words ×2", "extra:employees", "2"],
    ]
    pdf = to_pdf(s, "ru", "Счёт", said)
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    for figure in ("Счёт", "Дополнительные сотрудники", "27.78", "861.11", "1033.33"):
        assert figure in text, text
    assert "2026-11-21 00:00" in text and "extra:employees in words ×2" in text, text
