"""Statistics charts as PNG bytes (matplotlib, Agg backend, imported only when drawing:
it is heavy). Labels come translated from the caller; pure CPU work, so the bot runs
it in a thread."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pbx.services.stats import Bucket, EmployeeStats

ANSWERED = "#2e8b57"
MISSED = "#d9534f"
OTHER = "#b0b0b0"
TALK = "#4a7fb5"


@dataclass(frozen=True)
class Labels:
    title: str
    answered: str
    missed: str
    other: str  # outgoing calls nobody answered
    axis: str  # "hour (UTC)" / "day"
    calls: str


def _figure(width: float, height: float) -> tuple[Any, Any]:
    """A figure on its own Agg canvas: no pyplot, so no global state shared between
    threads drawing at the same time."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig, fig.subplots()


def _legend_on_top(ax: Any, title: str) -> None:
    """The title, and the legend between it and the bars, so it never hides one."""
    ax.set_title(title, pad=26)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def calls_chart(buckets: Sequence[Bucket], labels: Labels) -> bytes:
    """Stacked bars per hour of day or per day: answered, missed, unanswered outgoing."""
    from matplotlib.ticker import MaxNLocator

    keys = [b.key if isinstance(b.key, int) else b.key.strftime("%m-%d") for b in buckets]
    x = list(range(len(buckets)))
    answered = [b.answered for b in buckets]
    missed = [b.missed for b in buckets]
    other = [b.other for b in buckets]
    fig, ax = _figure(max(6.0, min(16.0, 0.35 * len(x) + 2)), 4.5)
    ax.bar(x, answered, color=ANSWERED, label=labels.answered)
    ax.bar(x, missed, bottom=answered, color=MISSED, label=labels.missed)
    if any(other):
        base = [a + m for a, m in zip(answered, missed, strict=True)]
        ax.bar(x, other, bottom=base, color=OTHER, label=labels.other)
    step = max(1, len(x) // 16)
    days = bool(buckets) and not isinstance(buckets[0].key, int)
    ax.set_xticks(x[::step], [str(k) for k in keys[::step]], rotation=45 if days else 0)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(labels.axis)
    ax.set_ylabel(labels.calls)
    _legend_on_top(ax, labels.title)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _png(fig)


def rating_chart(
    employees: Sequence[EmployeeStats], title: str, answered: str, talk_minutes: str
) -> bytes:
    """Horizontal bars, best at the top: answered calls and talk minutes per employee."""
    from matplotlib.ticker import MaxNLocator

    shown = list(employees)[:20]
    names = [f"{e.ext or '—'} {e.name}"[:28] for e in shown][::-1]
    y = list(range(len(shown)))
    counts = [e.answered for e in shown][::-1]
    minutes = [round(e.talk_seconds / 60, 1) for e in shown][::-1]
    fig, ax = _figure(8, max(2.5, 0.45 * len(shown) + 1.5))
    height = 0.4
    ax.barh([i + height / 2 for i in y], counts, height, color=ANSWERED, label=answered)
    ax.barh([i - height / 2 for i in y], minutes, height, color=TALK, label=talk_minutes)
    for i, (c, m) in enumerate(zip(counts, minutes, strict=True)):
        ax.text(c, i + height / 2, f" {c}", va="center", fontsize=8)
        ax.text(m, i - height / 2, f" {m:g}", va="center", fontsize=8)
    ax.set_yticks(y, names)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _legend_on_top(ax, title)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return _png(fig)
