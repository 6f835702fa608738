"""A statement as a file: CSV for spreadsheets and accounting, PDF to keep or forward.
Amounts are written from Decimal as text, never through float."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

from pbx.billing.statement import Statement

HEADERS = {
    "en": ("Item", "Quantity", "Days", "Unit price", "Unit net", "Net", "VAT", "Total"),
    "ru": ("Услуга", "Кол-во", "Дней", "Цена", "Цена без НДС", "Без НДС", "НДС", "Итого"),
}
HISTORY = {
    "en": ("History", "When", "Item", "Quantity"),
    "ru": ("История", "Когда", "Что", "Кол-во"),
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


def to_csv(s: Statement, lang: str) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([f"{s.month:%Y-%m}", f"through {s.through:%Y-%m-%d}"])
    writer.writerows(rows(s, lang))
    if s.changes:
        title, *head = HISTORY.get(lang, HISTORY["en"])
        writer.writerows([[], [title], head])
        tz = ZoneInfo(s.timezone)
        for c in s.changes:
            writer.writerow([f"{c.at.astimezone(tz):%Y-%m-%d %H:%M}", c.item, c.quantity])
    return buf.getvalue().encode("utf-8-sig")  # Excel reads UTF-8 with a BOM


def to_pdf(s: Statement, lang: str, title: str) -> bytes:
    """One A4 page with the table (matplotlib's PDF backend; DejaVu has Cyrillic)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    table = rows(s, lang)
    fig = Figure(figsize=(8.27, 11.69))
    ax = fig.add_axes((0.05, 0.05, 0.9, 0.85))
    ax.axis("off")
    fig.suptitle(f"{title}\n{s.month:%Y-%m} (→ {s.through:%Y-%m-%d})", fontsize=12)
    cells = ax.table(cellText=table[1:], colLabels=table[0], loc="upper center", cellLoc="left")
    cells.auto_set_font_size(False)
    cells.set_fontsize(8)
    cells.auto_set_column_width(list(range(len(table[0]))))
    buf = io.BytesIO()
    fig.savefig(buf, format="pdf")
    return buf.getvalue()


def amount(value: Decimal) -> str:
    """1234.5 → "1 234.50" (thin grouping that reads well in both languages)."""
    return f"{value:,.2f}".replace(",", "\u00a0")
