"""A statement as a file: CSV for spreadsheets and accounting, PDF to keep or forward.
Amounts are written from Decimal as text, never through float."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal
from zoneinfo import ZoneInfo

from pbx.billing.statement import Statement

HEADERS = {
    "en": ("Item", "Quantity", "Days", "Unit price", "Unit net", "Net", "VAT", "Total"),
    "ru": ("Услуга", "Кол-во", "Дней", "Цена", "Цена без НДС", "Без НДС", "НДС", "Итого"),
}
Describe = Callable[[str, int], str]  # (item code, quantity) → the change in words
HISTORY = {
    "en": ("History", "When", "Change", "Item", "Quantity"),
    "ru": ("История", "Когда", "Изменение", "Код", "Кол-во"),
}


def _name(line_en: str, line_ru: str, lang: str) -> str:
    return line_ru if lang == "ru" else line_en


def rows(s: Statement, lang: str) -> list[list[str]]:
    """Header, one row per line, then the net, VAT and total row."""
    h = HEADERS.get(lang, HEADERS["en"])
    out = [list(h[:6])]
    for ln in s.lines:
        days = f"{ln.days}/{s.days_in_month}" if ln.days else "-"
        out.append(
            [
                _name(ln.name_en, ln.name_ru, lang),
                str(ln.quantity),
                days,
                str(ln.unit_price),
                str(ln.unit_net),
                str(ln.net),
            ]
        )
    out.append([h[5], "", "", "", "", str(s.total.net)])
    out.append([h[6], "", "", "", "", str(s.total.vat)])
    out.append([h[7], "", "", "", "", str(s.total.gross)])
    return out


def to_csv(s: Statement, lang: str, describe: Describe | None = None) -> bytes:
    """The statement's lines and totals, then its dated history: each change in words
    (`describe(item, quantity)`, the bot's wording) beside its code for machines."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([f"{s.month:%Y-%m}", f"through {s.through:%Y-%m-%d}"])
    writer.writerows(rows(s, lang))
    if s.changes:
        title, *head = HISTORY.get(lang, HISTORY["en"])
        writer.writerows([[], [title], head, *history(s, describe)])
    return buf.getvalue().encode("utf-8-sig")  # Excel reads UTF-8 with a BOM


def history(s: Statement, describe: Describe | None) -> list[list[str]]:
    """The month's dated changes: when (company time), in words, code, quantity."""
    tz = ZoneInfo(s.timezone)
    return [
        [
            f"{c.at.astimezone(tz):%Y-%m-%d %H:%M}",
            describe(c.item, c.quantity) if describe else c.item,
            c.item,
            str(c.quantity),
        ]
        for c in s.changes
    ]


def to_pdf(s: Statement, lang: str, title: str, describe: Describe | None = None) -> bytes:
    """One A4 page: the table, then the dated changes (matplotlib's PDF backend; DejaVu
    has Cyrillic)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.27, 11.69))
    fig.suptitle(f"{title}\n{s.month:%Y-%m} (→ {s.through:%Y-%m-%d})", fontsize=12)
    table = rows(s, lang)
    tables = [(table[0], table[1:])]
    if s.changes:
        _, when, said, *_ = HISTORY.get(lang, HISTORY["en"])
        tables.append(([when, said], [r[:2] for r in history(s, describe)]))
    height = 0.85 / len(tables)
    for i, (head, body) in enumerate(tables):
        ax = fig.add_axes((0.05, 0.9 - height * (i + 1), 0.9, height))
        ax.axis("off")
        cells = ax.table(cellText=body, colLabels=head, loc="upper center", cellLoc="left")
        cells.auto_set_font_size(False)
        cells.set_fontsize(8)
        cells.auto_set_column_width(list(range(len(head))))
    buf = io.BytesIO()
    fig.savefig(buf, format="pdf")
    return buf.getvalue()


def amount(value: Decimal) -> str:
    """1234.5 → "1 234.50" (thin grouping that reads well in both languages)."""
    return f"{value:,.2f}".replace(",", "\u00a0")
