"""Small shared parts of the cabinet's configuration commands: on/off flags, bounded
numbers, entity names, key=value options and updating the columns they name."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import asyncpg

from pbx.engine.targets import NAME
from pbx.errors import ValidationError

ON = ("on", "yes", "true", "1", "да", "вкл")
OFF = ("off", "no", "false", "0", "нет", "выкл")


def flag(value: str) -> bool:
    low = value.strip().lower()
    if low in ON:
        return True
    if low in OFF:
        return False
    raise ValidationError(f"say on or off, not {value!r}", key="bad_flag", value=value)


def number_in(value: str, lo: int, hi: int, what: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = lo - 1
    if not lo <= n <= hi:
        raise ValidationError(
            f"{what} must be a whole number from {lo} to {hi}",
            key="bad_range",
            what=what,
            lo=lo,
            hi=hi,
        )
    return n


def entity_name(name: str) -> str:
    name = name.strip().lower()
    if not NAME.match(name):
        raise ValidationError(
            f"name {name!r} is invalid: latin letters, digits, - and _, starting with a letter",
            key="bad_entity_name",
            name=name,
        )
    return name


OptionParser = Callable[[str], Any]  # returns the column's value, or an awaitable of it


async def parse_options(
    opts: dict[str, str], fields: dict[str, tuple[str, OptionParser]]
) -> dict[str, Any]:
    """key=value options → column values, each checked by its parser; an unknown key
    says which are known."""
    values: dict[str, Any] = {}
    for key, raw in opts.items():
        if key not in fields:
            raise unknown_option(key, " ".join(fields))
        column, parse = fields[key]
        value = parse(raw)
        values[column] = await value if inspect.isawaitable(value) else value
    return values


def unknown_option(key: str, known: str) -> ValidationError:
    return ValidationError(f"unknown option {key!r}", key="bad_option", option=key, known=known)


async def update_row(
    conn: asyncpg.Connection, table: str, row_id: int, values: dict[str, Any]
) -> Any:
    """UPDATE the given columns (names come from this module, never from users)."""
    if not values:
        return await conn.fetchrow(f"SELECT * FROM {table} WHERE id = $1", row_id)
    sets = ", ".join(f"{col} = ${i}" for i, col in enumerate(values, start=2))
    return await conn.fetchrow(
        f"UPDATE {table} SET {sets} WHERE id = $1 RETURNING *", row_id, *values.values()
    )
