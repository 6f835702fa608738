"""The durable outbox: alerts are rows in PostgreSQL, written with the fact they report.

Producers call :func:`enqueue` inside their own transaction; :class:`~notifications.worker.
OutboxWorker` delivers the rows through one :class:`Sender` per channel. A sender says how
an attempt went by returning (delivered), raising :class:`RetryLater` (temporary: try again
later) or :class:`Undeliverable` (permanent: mark the row failed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

import asyncpg

from notifications.render import KINDS

# Workers LISTEN here; enqueue NOTIFYs it (delivered when the producer's transaction commits).
NOTIFY_CHANNEL = "pbx_outbox"


class Channel(StrEnum):
    TELEGRAM = "telegram"
    EMAIL = "email"
    SMS = "sms"


class Status(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class RetryLater(Exception):
    """A temporary failure: the row stays pending and is retried after a delay.

    `seconds` is the wait the other side asked for (Telegram's retry_after, an HTTP
    Retry-After); the worker never retries sooner than its own backoff either.
    """

    def __init__(self, seconds: float | None = None, reason: str = "") -> None:
        super().__init__(reason or (f"retry after {seconds}s" if seconds else "retry later"))
        self.seconds = seconds
        self.reason = str(self)


class Undeliverable(Exception):
    """A permanent failure (blocked bot, unknown chat, refused address): the row is
    marked failed with this reason and never retried."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class OutboxItem:
    id: int
    company_id: int
    channel: Channel
    recipient: str
    kind: str
    payload: dict[str, Any]
    attachment: str | None
    dedup_key: str
    status: Status
    attempts: int  # including the attempt in progress when handed to a sender
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None = None
    failed_at: datetime | None = None
    last_error: str | None = None
    claim_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> OutboxItem:
        payload = row["payload"]
        if isinstance(payload, str):  # asyncpg hands jsonb over as text without a codec
            payload = json.loads(payload)
        token = row["claim_token"]
        return cls(
            id=row["id"],
            company_id=row["company_id"],
            channel=Channel(row["channel"]),
            recipient=row["recipient"],
            kind=row["kind"],
            payload=dict(payload),
            attachment=row["attachment"],
            dedup_key=row["dedup_key"],
            status=Status(row["status"]),
            attempts=row["attempts"],
            next_attempt_at=row["next_attempt_at"],
            created_at=row["created_at"],
            sent_at=row["sent_at"],
            failed_at=row["failed_at"],
            last_error=row["last_error"],
            claim_token=str(token) if token is not None else None,
        )


class Sender(Protocol):
    """Delivers one item over one channel; raises RetryLater or Undeliverable."""

    async def send(self, item: OutboxItem) -> None: ...


COLUMNS = (
    "id, company_id, channel, recipient, kind, payload, attachment, dedup_key, status, "
    "attempts, next_attempt_at, created_at, sent_at, failed_at, last_error, claim_token"
)


async def enqueue(
    conn: asyncpg.Connection,
    *,
    company_id: int,
    channel: Channel,
    recipient: str,
    kind: str,
    payload: dict[str, Any],
    dedup_key: str,
    attachment: str | None = None,
) -> bool:
    """Add an alert unless one with `dedup_key` exists; True if a row was added.

    Run it in the caller's transaction: the alert exists iff that transaction commits
    (and the NOTIFY that wakes the workers is delivered only then, too).
    """
    # Programming errors, not user input: fail loudly before anything is written.
    channel = Channel(channel)
    if kind not in KINDS:
        raise ValueError(f"no renderer for notification kind {kind!r}; known: {sorted(KINDS)}")
    if not recipient.strip():
        raise ValueError("notification recipient is empty")
    if not dedup_key:
        raise ValueError("dedup_key is empty")
    row_id = await conn.fetchval(
        """INSERT INTO outbox (company_id, channel, recipient, kind, payload, attachment,
                               dedup_key)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)
           ON CONFLICT (dedup_key) DO NOTHING
           RETURNING id""",
        company_id,
        channel.value,
        recipient.strip(),
        kind,
        json.dumps(payload, ensure_ascii=False, default=str),  # datetimes as ISO text
        attachment,
        dedup_key,
    )
    if row_id is None:
        return False
    await conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, channel.value)
    return True


async def get(conn: asyncpg.Connection, *, company_id: int, dedup_key: str) -> OutboxItem | None:
    """One alert of a company by its dedup key (for status: delivered/pending/failed)."""
    row = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM outbox WHERE company_id = $1 AND dedup_key = $2",
        company_id,
        dedup_key,
    )
    return OutboxItem.from_row(row) if row else None


async def recent(conn: asyncpg.Connection, *, company_id: int, limit: int = 20) -> list[OutboxItem]:
    """A company's latest alerts, newest first."""
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM outbox WHERE company_id = $1 "
        "ORDER BY created_at DESC, id DESC LIMIT $2",
        company_id,
        limit,
    )
    return [OutboxItem.from_row(r) for r in rows]
