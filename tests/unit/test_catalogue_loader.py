"""The catalogue loader: every preset loads; a broken file is refused with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbx.billing.catalogue import CatalogueError, LimitKind, load, presets, resolve

GOOD = """\
catalogue: mine
title: My plans
currency: RUB
vat_percent: 20
default_plan: small
options:
  recording: {en: Call recording, ru: Запись разговоров}
plans:
  small:
    title: Small
    monthly_fee: "100.00"
    limits:
      employees: {included: 2, max: 4, extra: "10.00"}
    features:
      recording: "50.00"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_preset_loads_and_resolves() -> None:
    found = presets()
    assert set(found) == {"seed000", "seed001", "seed002"}
    for name, cat in found.items():
        assert resolve(name) == cat
        assert cat.default_plan in cat.plans


def test_an_operators_own_file_loads(tmp_path: Path) -> None:
    cat = resolve(str(write(tmp_path, GOOD)))
    assert cat.plan("small").limit(LimitKind.EMPLOYEES).ceiling == 4
    assert str(cat.plan("small").feature("recording").monthly_fee) == "50.00"


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ('monthly_fee: "100.00"', "monthly_fee: 100.5", 11, "prices are strings"),
        ('extra: "10.00"', 'extra: "10.001"', 13, "two decimals"),
        ("max: 4", "max: 1", 13, "below the included"),
        ('recording: "50.00"', "crm: included", 15, "does not describe"),
        ("default_plan: small", "default_plan: big", 1, "is not one of the plans"),
        ("employees:", "unicorns:", 13, "unicorns"),
        ("title: Small", "title: [Small", 11, "not valid YAML"),
    ],
)
def test_a_broken_catalogue_names_the_line(
    tmp_path: Path, old: str, new: str, line: int, words: str
) -> None:
    assert old in GOOD
    with pytest.raises(CatalogueError) as e:
        load(write(tmp_path, GOOD.replace(old, new)))
    assert str(e.value).startswith(f"mine.yaml:{line}:"), str(e.value)
    assert words in str(e.value)


def test_an_unknown_catalogue_lists_the_presets() -> None:
    with pytest.raises(CatalogueError) as e:
        resolve("seed999")
    assert "seed000" in str(e.value) and "seed999" in str(e.value)
