"""Chat-ops argument parsing and the message catalogues."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot import chatops
from bot.chatops import EmployeeArgs, Usage
from bot.i18n import LOCALES, chunks, error_text, t
from pbx.errors import ValidationError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            "Ivan Petrov 105 ivan@example.com",
            EmployeeArgs("Ivan Petrov", "105", "ivan@example.com", None),
        ),
        ("Анна", EmployeeArgs("Анна", None, None, None)),
        ("Anna +79161234567 101", EmployeeArgs("Anna", "101", None, "+79161234567")),
    ],
)
def test_employee_add_arguments(args: str, expected: EmployeeArgs) -> None:
    assert chatops.employee_add(args) == expected


@pytest.mark.parametrize("args", [None, "", "105", "Ivan 105 106", "Ivan 105 Petrov"])
def test_employee_add_refuses_what_does_not_fit(args: str | None) -> None:
    with pytest.raises(Usage):
        chatops.employee_add(args)


def test_one_word_and_choices() -> None:
    assert chatops.one_word("ON", ("on", "off")) == "on"
    assert chatops.word_and_optional("always +7916", ("off", "always")) == ("always", "+7916")
    for bad in (None, "maybe", "on off"):
        with pytest.raises(Usage):
            chatops.one_word(bad, ("on", "off"))


def _keys(lang: str) -> set[str]:
    """Message ids of every catalogue of the language (bot.ftl, audio.ftl, ...)."""
    keys: set[str] = set()
    for path in sorted((LOCALES / lang).glob("*.ftl")):
        found = set(re.findall(r"^([a-z][a-z0-9_-]*) =", path.read_text(), re.M))
        assert not keys & found, f"{path.name} redefines {sorted(keys & found)}"
        keys |= found
    return keys


def test_catalogues_have_the_same_messages() -> None:
    assert _keys("en") == _keys("ru")


def test_every_message_the_code_uses_exists() -> None:
    used: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        used |= set(re.findall(r'\btr\("([a-z][a-z0-9-]*)"', path.read_text()))
    assert used and used <= _keys("en"), sorted(used - _keys("en"))


def test_every_error_key_raised_is_translated() -> None:
    raised: set[str] = set()
    for path in (ROOT / "pbx").rglob("*.py"):
        raised |= set(re.findall(r'key="([a-z_]+)"', path.read_text()))
    missing = {k for k in raised if f"err-{k}" not in _keys("ru")}
    assert raised and not missing, sorted(missing)


def test_errors_in_the_users_language() -> None:
    exc = ValidationError("extension 'x' is invalid", key="bad_ext", ext="x")
    assert "внутренний номер" in error_text("ru", exc)
    assert "not a valid extension" in error_text("en", exc)
    # An error without a translation still says what went wrong.
    assert "boom" in error_text("ru", ValidationError("boom"))
    assert t("de", "usage", usage="/x") == "Usage: /x"


def test_long_lists_are_split_between_lines() -> None:
    lines = [f"{i:03d} " + "x" * 95 for i in range(100)]  # ~10 000 characters
    parts = chunks(lines)
    assert len(parts) == 3 and all(len(p) <= 4000 for p in parts)
    assert "\n".join(parts).split("\n") == lines


def test_words_and_options() -> None:
    assert chatops.words_and_options("sales interval=10 fallback=voicemail:sales") == (
        ["sales"],
        {"interval": "10", "fallback": "voicemail:sales"},
    )
    assert chatops.words_and_options("main 1=group:sales #=menu:top") == (
        ["main"],
        {"1": "group:sales", "#": "menu:top"},
    )
    for bad in (None, "", "x=1 sales", "sales =5", "sales k="):
        with pytest.raises(Usage):
            chatops.words_and_options(bad)
