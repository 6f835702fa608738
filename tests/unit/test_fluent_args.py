"""Every message the code formats gets every variable its text uses, in both languages:
a missing one shows the reader a placeholder ("?", "{$name}"; issue 13.7: /plan).

Checked statically: each call `tr("key", a=…)` or `t(lang, "key", a=…)` with a literal
key in bot/, against the variables of that message in bot/locales."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from fluent.syntax import FluentParser
from fluent.syntax import ast as fast
from fluent.syntax.visitor import Visitor

ROOT = Path(__file__).parents[2]
LOCALES = ROOT / "bot" / "locales"
CODE = sorted(ROOT.glob("bot/**/*.py"))


class _Vars(Visitor):
    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_VariableReference(self, node: fast.VariableReference) -> None:
        self.names.add(node.id.name)


def variables(lang: str) -> dict[str, set[str]]:
    """message id → the variables its text (value and variants) refers to."""
    out: dict[str, set[str]] = {}
    for path in sorted((LOCALES / lang).glob("*.ftl")):
        resource = FluentParser().parse(path.read_text(encoding="utf-8"))
        for entry in resource.body:
            if isinstance(entry, fast.Message):
                found = _Vars()
                found.visit(entry)
                out[entry.id.name] = found.names
    return out


def calls() -> list[tuple[str, str, set[str], bool]]:
    """(where, key, keyword names given, has **kwargs) for tr("key", …) and t(lang, "key", …)."""
    found = []
    for path in CODE:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(
                node.func, ast.Name | ast.Attribute
            ):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
            index = {"tr": 0, "t": 1}.get(name)
            if index is None or len(node.args) <= index:
                continue
            key = node.args[index]
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                continue
            given = {k.arg for k in node.keywords if k.arg}
            spread = any(k.arg is None for k in node.keywords)
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            found.append((where, key.value, given, spread))
    return found


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_every_variable_is_given(lang: str) -> None:
    messages = variables(lang)
    missing = [
        f"{where} {key}: {sorted(messages[key] - given)}"
        for where, key, given, spread in calls()
        if key in messages and not spread and messages[key] - given
    ]
    assert missing == []


def test_the_check_sees_the_calls() -> None:
    keys = {key for _, key, _, _ in calls()}
    assert {"joined", "bill-plan", "call-card"} <= keys
