"""Statistics as files: CSV (UTF-8 with a BOM, so spreadsheets read names right) and
XLSX (openpyxl, imported when used) of the per-employee and the by-day tables."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from pbx.services.stats import Bucket, EmployeeStats

EMPLOYEE_COLUMNS = (
    "ext",
    "name",
    "received",
    "answered",
    "missed",
    "made",
    "talk_seconds",
    "avg_talk_seconds",
    "avg_answer_seconds",
)
DAY_COLUMNS = ("day", "calls", "answered", "missed")

Row = tuple[str | int | float, ...]


def employee_rows(employees: Sequence[EmployeeStats]) -> list[Row]:
    return [
        (
            e.ext or "",
            e.name,
            e.received,
            e.answered,
            e.missed,
            e.made,
            e.talk_seconds,
            round(e.avg_talk, 1),
            "" if e.avg_answer is None else round(e.avg_answer, 1),
        )
        for e in employees
    ]


def day_rows(days: Sequence[Bucket]) -> list[Row]:
    return [(str(b.key), b.calls, b.answered, b.missed) for b in days]


def _csv(header: Sequence[str], rows: list[Row]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8-sig")


def employees_csv(employees: Sequence[EmployeeStats]) -> bytes:
    return _csv(EMPLOYEE_COLUMNS, employee_rows(employees))


def days_csv(days: Sequence[Bucket]) -> bytes:
    return _csv(DAY_COLUMNS, day_rows(days))


def xlsx(employees: Sequence[EmployeeStats], days: Sequence[Bucket], period: str) -> bytes:
    """A workbook with the sheets "employees" and "days"."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    sheets = (
        ("employees", EMPLOYEE_COLUMNS, employee_rows(employees)),
        ("days", DAY_COLUMNS, day_rows(days)),
    )
    for i, (title, header, rows) in enumerate(sheets):
        ws = wb.active if i == 0 else wb.create_sheet()
        assert ws is not None
        ws.title = title
        ws.append(list(header))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append(list(row))
        for col, name in zip(ws.iter_cols(min_row=1, max_row=1), header, strict=True):
            width = max([len(name), *(len(str(r[header.index(name)])) for r in rows)])
            ws.column_dimensions[col[0].column_letter].width = min(40, width + 2)
        ws.freeze_panes = "A2"
    wb.properties.title = f"Call statistics {period}"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
