"""One name per ring-group algorithm, in English and Russian, wherever a person reads it:
the bot's labels and every shipped catalogue's option names (issue 13.3). Least-idle is
the seeds' "Равномерный (наиболее свободному) По времени простоя": whoever has been idle
longest rings first, so no text may call it "least idle first"."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bot.i18n import t
from pbx.billing.catalogue import CATALOGUES, load
from pbx.engine.ringplan import Algorithm

# The names, written out (not read from the code under test).
NAMES = {
    Algorithm.SEQUENTIAL: ("one by one", "по очереди"),
    Algorithm.CUMULATIVE: (
        "cumulative (earlier phones keep ringing)",
        "по нарастающей (прежние телефоны продолжают звонить)",
    ),
    Algorithm.RING_ALL: ("all at once", "всем сразу"),
    Algorithm.LEAST_IDLE: ("even (longest idle first)", "равномерный (наиболее свободному)"),
    Algorithm.RANDOM: ("random", "случайный выбор"),
    Algorithm.PRIORITY: (
        "parallel by priority (position in the list)",
        "параллельный по приоритету (по позиции в списке)",
    ),
}
PREFIX = ("Ring group: ", "Группа обзвона: ")
SHIPPED = sorted(CATALOGUES.glob("*.yaml"))
ROOT = Path(__file__).parents[2]
READ_BY_PEOPLE = [
    *SHIPPED,
    *ROOT.glob("bot/locales/*/*.ftl"),
    *ROOT.glob("docs/*.md"),
    ROOT / "README.md",
]


def test_every_algorithm_has_one_name() -> None:
    assert set(NAMES) == set(Algorithm)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_bot_labels(lang: str) -> None:
    i = ("en", "ru").index(lang)
    for algorithm, names in NAMES.items():
        assert t(lang, f"algo-{algorithm}") == names[i], algorithm


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_catalogue_option_names(path: Path) -> None:
    catalogue = load(path)
    for algorithm, (en, ru) in NAMES.items():
        info = catalogue.options.get(f"algorithm_{algorithm}")
        if info is None:
            continue
        assert (info.en, info.ru) == (PREFIX[0] + en, PREFIX[1] + ru), (path, algorithm)


def test_seed000_sells_priority_not_cumulative_under_the_priority_words() -> None:
    seed = load(CATALOGUES / "seed000.yaml")
    mini = seed.plans["mini"]
    assert mini.feature("algorithm_priority").monthly_fee == Decimal("250.00")
    assert "приоритет" in seed.options["algorithm_priority"].ru
    assert "приоритет" not in seed.options["algorithm_cumulative"].ru


@pytest.mark.parametrize("path", READ_BY_PEOPLE, ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_calls_least_idle_least_idle_first(path: Path) -> None:
    assert "least idle first" not in path.read_text(encoding="utf-8").lower()
