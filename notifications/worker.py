"""Delivers the outbox: claim due rows under a lease, send, record the outcome.

Several workers (one per service process) can run against one database: rows are
claimed with ``FOR UPDATE SKIP LOCKED`` and held by a lease (``locked_until``). A worker
that dies mid-send leaves its lease to expire and another worker retries the row, so an
alert is delivered at least once; a crash between the send and its bookkeeping is the
only way to deliver it twice. The claim counts the attempt, so a row that kills its
worker every time still ends as failed after ``max_attempts``.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from notifications.outbox import (
    COLUMNS,
    NOTIFY_CHANNEL,
    Channel,
    OutboxItem,
    RetryLater,
    Sender,
    Undeliverable,
)
from notifications.render import RenderError
from pbx.logging import get_logger

log = get_logger(__name__)

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def backoff(attempts: int, *, base: float, cap: float) -> float:
    """Seconds before the next try after `attempts` failed ones: base, 2·base, 4·base, …"""
    return float(min(cap, base * 2 ** max(0, attempts - 1)))


_CLAIM = f"""
WITH due AS (
    SELECT id FROM outbox
    WHERE status = 'pending' AND channel = ANY($1::text[])
      AND next_attempt_at <= $2 AND (locked_until IS NULL OR locked_until <= $2)
    ORDER BY next_attempt_at, id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
UPDATE outbox o
SET attempts = o.attempts + 1, locked_until = $4, claim_token = $5
FROM due WHERE o.id = due.id
RETURNING {", ".join("o." + c.strip() for c in COLUMNS.split(","))}
"""
_SENT = """
UPDATE outbox SET status = 'sent', sent_at = $2, locked_until = NULL, claim_token = NULL
WHERE id = $1 AND status = 'pending'
"""
# Guarded by the claim token: a worker whose lease ran out must not undo a newer claim.
_RETRY = """
UPDATE outbox SET next_attempt_at = $3, last_error = $4, locked_until = NULL, claim_token = NULL
WHERE id = $1 AND claim_token = $2 AND status = 'pending'
"""
_FAIL = """
UPDATE outbox SET status = 'failed', failed_at = $3, last_error = $4, locked_until = NULL,
                  claim_token = NULL
WHERE id = $1 AND claim_token = $2 AND status = 'pending'
"""
_NEXT_DUE = """
SELECT min(GREATEST(next_attempt_at, COALESCE(locked_until, next_attempt_at)))
FROM outbox WHERE status = 'pending' AND channel = ANY($1::text[])
"""


class OutboxWorker:
    def __init__(
        self,
        pool: asyncpg.Pool,
        channels: Mapping[Channel, Sender],
        *,
        poll_seconds: float = 5.0,
        max_attempts: int = 12,
        clock: Clock = utcnow,
        lease_seconds: float = 120.0,
        batch_size: int = 20,
        concurrency: int = 8,
        backoff_base: float = 5.0,
        backoff_cap: float = 3600.0,
        send_timeout: float | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.pool = pool
        self.channels = dict(channels)
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts
        self.clock = clock
        self.lease = timedelta(seconds=lease_seconds)
        self.batch_size = batch_size
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        # A send must end well inside its lease, or a second worker would send it too.
        self.send_timeout = send_timeout or lease_seconds * 0.8
        self._names = [c.value for c in self.channels]
        self._slots = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        # Set while the worker waits between rounds (nothing due, or all due rows done).
        self.idle = asyncio.Event()
        self._listener: Any = None  # a pool connection LISTENing on NOTIFY_CHANNEL

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="outbox-worker")

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming; give sends in flight `grace` seconds, then cancel them (their
        rows are retried by any worker once the lease runs out)."""
        task, self._task = self._task, None
        if task is not None:
            self._stopping = True
            self._wake.set()
            done, _ = await asyncio.wait({task}, timeout=grace)
            if not done:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._stopping = False
        await self._unlisten()

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()  # before the round: a NOTIFY during it wakes the next one
            self.idle.clear()
            delay = self.poll_seconds
            try:
                await self._listen()
                await self.run_once()
                delay = await self._next_wake()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away: keep the loop, poll again
                log.error("outbox_round_failed", error=repr(exc))
            if self._stopping:
                return
            self.idle.set()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    async def _listen(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            return
        await self._unlisten()
        conn = await self.pool.acquire()
        try:
            await conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
        except BaseException:
            await self.pool.release(conn)
            raise
        self._listener = conn

    async def _unlisten(self) -> None:
        conn, self._listener = self._listener, None
        if conn is None:
            return
        with contextlib.suppress(Exception):
            if not conn.is_closed():
                await conn.remove_listener(NOTIFY_CHANNEL, self._on_notify)
        with contextlib.suppress(Exception):
            await self.pool.release(conn)

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        if payload in self._names:
            self._wake.set()

    async def _next_wake(self) -> float:
        """Seconds until a row is due (a retry, an expired lease), at most poll_seconds."""
        due = await self.pool.fetchval(_NEXT_DUE, self._names)
        if due is None:
            return self.poll_seconds
        wait = (due - self.clock()).total_seconds()
        return min(self.poll_seconds, max(0.05, wait))

    # ---------------------------------------------------------------- one round

    async def run_once(self) -> int:
        """Deliver everything due now; the number of rows handled (sent, retried, failed)."""
        handled = 0
        while not self._stopping and (items := await self._claim()):
            await asyncio.gather(*(self._handle(item) for item in items))
            handled += len(items)
        return handled

    async def _claim(self) -> list[OutboxItem]:
        if not self._names:
            return []
        now = self.clock()
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                _CLAIM, self._names, now, self.batch_size, now + self.lease, uuid.uuid4()
            )
        items = [OutboxItem.from_row(r) for r in rows]
        return sorted(items, key=lambda i: (i.next_attempt_at, i.id))

    async def _handle(self, item: OutboxItem) -> None:
        if item.attempts > self.max_attempts:  # earlier attempts died with their worker
            await self._fail(item, item.last_error or "no worker finished a delivery attempt")
            return
        sender = self.channels[item.channel]
        async with self._slots:
            try:
                async with asyncio.timeout(self.send_timeout):
                    await sender.send(item)
            except RetryLater as exc:
                await self._retry(item, exc.seconds, exc.reason)
            except (Undeliverable, RenderError) as exc:
                await self._fail(item, str(exc))
            except TimeoutError:
                await self._retry(item, None, f"no answer within {self.send_timeout:g}s")
            except Exception as exc:  # a bug or an unforeseen error: retried, then failed
                log.exception("outbox_send_crashed", id=item.id, channel=item.channel)
                await self._retry(item, None, repr(exc))
            else:
                await self.pool.execute(_SENT, item.id, self.clock())
                log.info("outbox_sent", id=item.id, channel=item.channel, kind=item.kind)

    async def _retry(self, item: OutboxItem, seconds: float | None, reason: str) -> None:
        if item.attempts >= self.max_attempts:
            await self._fail(item, f"gave up after {item.attempts} attempts: {reason}")
            return
        delay = max(
            seconds or 0.0, backoff(item.attempts, base=self.backoff_base, cap=self.backoff_cap)
        )
        at = self.clock() + timedelta(seconds=delay)
        await self.pool.execute(_RETRY, item.id, _uuid(item), at, reason[:1000])
        log.warning(
            "outbox_retry",
            id=item.id,
            channel=item.channel,
            attempts=item.attempts,
            delay=delay,
            reason=reason,
        )

    async def _fail(self, item: OutboxItem, reason: str) -> None:
        await self.pool.execute(_FAIL, item.id, _uuid(item), self.clock(), reason[:1000])
        log.warning("outbox_failed", id=item.id, channel=item.channel, reason=reason)


def _uuid(item: OutboxItem) -> uuid.UUID | None:
    return uuid.UUID(item.claim_token) if item.claim_token else None
