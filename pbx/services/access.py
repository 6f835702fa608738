"""Whose calls an actor may see — one rule for history, recordings, statistics and
exports, so a guessed id or link can never show more than the list does.

- owner and admin: the whole company;
- supervisor: calls of the members of the ring groups they belong to, and calls that
  reached those groups (`calls.target = 'group:<name>'`), plus their own;
- employee: their own calls only.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from pbx.errors import ValidationError
from pbx.services.cabinet_base import Actor, Perm, Role


@dataclass(frozen=True)
class CallScope:
    company_id: int
    employees: tuple[int, ...] | None = None  # None: every call of the company
    group_targets: tuple[str, ...] = ()

    @property
    def whole_company(self) -> bool:
        return self.employees is None

    def sql(self, alias: str, first: int) -> tuple[str, list[object]]:
        """A WHERE fragment on calls `alias` using parameters $first, $first+1; it also
        pins the company (parameter $first+2)."""
        a, b, c = first, first + 1, first + 2
        cond = (
            f"({alias}.company_id = ${c} AND (${a}::bigint[] IS NULL"
            f" OR {alias}.caller_employee_id = ANY(${a}::bigint[])"
            f" OR {alias}.callee_employee_id = ANY(${a}::bigint[])"
            f" OR {alias}.target = ANY(${b}::text[])))"
        )
        employees = list(self.employees) if self.employees is not None else None
        return cond, [employees, list(self.group_targets), self.company_id]


async def call_scope(pool: asyncpg.Pool, actor: Actor, mine: bool = False) -> CallScope:
    """`mine`: only the actor's own calls whatever the role."""
    if actor.can(Perm.VIEW_ALL_CALLS) and actor.role is not Role.SUPERVISOR and not mine:
        return CallScope(actor.company_id)
    if actor.employee_id is None:
        raise ValidationError("you have no phone profile in this company", key="no_profile")
    if actor.role is not Role.SUPERVISOR or mine:
        return CallScope(actor.company_id, (actor.employee_id,))
    rows = await pool.fetch(
        """SELECT g.name, array_agg(m2.employee_id) AS members
             FROM ring_group_members m
             JOIN ring_groups g ON g.id = m.group_id AND g.company_id = m.company_id
             JOIN ring_group_members m2 ON m2.group_id = g.id
            WHERE m.company_id = $1 AND m.employee_id = $2
            GROUP BY g.name""",
        actor.company_id,
        actor.employee_id,
    )
    members = {actor.employee_id}
    for r in rows:
        members.update(r["members"])
    return CallScope(
        actor.company_id,
        tuple(sorted(members)),
        tuple(sorted(f"group:{r['name']}" for r in rows)),
    )
