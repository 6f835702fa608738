"""Voicemail in the cabinet: the messages a user may hear, listened/unlistened state.

Owners and admins hear every box; an employee hears their own box and those of the
groups they belong to. Access is checked here, so guessing an id gets nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg

from pbx.errors import NotFound
from pbx.services.cabinet_base import Actor, CabinetBase, Perm

PAGE = 10


@dataclass(frozen=True)
class VoicemailInfo:
    id: int
    box: str
    caller: str
    number: str
    duration_s: int
    created_at: datetime
    listened: bool
    path: Path


class VoicemailArea(CabinetBase):
    async def _boxes(self, actor: Actor) -> list[str] | None:
        """The boxes `actor` may hear; None means all of the company's."""
        if actor.can(Perm.MANAGE_NUMBERS):
            return None
        if actor.employee_id is None:
            return []
        rows = await self.pool.fetch(
            """SELECT ext AS box FROM extensions WHERE company_id = $1 AND employee_id = $2
               UNION
               SELECT g.name FROM ring_groups g
                 JOIN ring_group_members m ON m.group_id = g.id
                WHERE g.company_id = $1 AND m.employee_id = $2""",
            actor.company_id,
            actor.employee_id,
        )
        return [r["box"] for r in rows]

    async def list_voicemails(self, actor: Actor, limit: int = PAGE) -> list[VoicemailInfo]:
        boxes = await self._boxes(actor)
        rows = await self.pool.fetch(
            """SELECT * FROM voicemails
                WHERE company_id = $1 AND ($2::text[] IS NULL OR box = ANY($2::text[]))
                ORDER BY created_at DESC LIMIT $3""",
            actor.company_id,
            boxes,
            limit,
        )
        return [_info(r) for r in rows]

    async def listen(self, actor: Actor, voicemail_id: int) -> VoicemailInfo:
        """The message's file for playback; marks it listened."""
        boxes = await self._boxes(actor)
        row = await self.pool.fetchrow(
            """UPDATE voicemails SET listened_at = COALESCE(listened_at, now())
                WHERE company_id = $1 AND id = $2
                  AND ($3::text[] IS NULL OR box = ANY($3::text[]))
                RETURNING *""",
            actor.company_id,
            voicemail_id,
            boxes,
        )
        if row is None:
            raise NotFound(f"no voicemail {voicemail_id}", key="no_such_voicemail")
        return _info(row)


def _info(r: asyncpg.Record) -> VoicemailInfo:
    return VoicemailInfo(
        id=r["id"],
        box=r["box"],
        caller=r["caller"],
        number=r["number"],
        duration_s=round(r["duration_ms"] / 1000),
        created_at=r["created_at"],
        listened=r["listened_at"] is not None,
        path=Path(r["path"]),
    )
