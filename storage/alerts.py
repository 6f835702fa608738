"""Missed-call and voicemail alerts, written into the outbox with the facts they report.

A missed-call alert is enqueued in the same transaction as the call record, and the
call record is written once per call: so a client's unanswered call produces exactly
one alert per recipient and channel (the dedup key says so again), however many
phones rang, and none when anybody answered.
"""

from __future__ import annotations

import asyncio
import math
import wave
from array import array
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from notifications.outbox import Channel, enqueue
from pbx.config import Settings
from pbx.engine.calls import CallRecord
from pbx.engine.plans import Voicemail
from pbx.logging import get_logger
from pbx.services.audio import to_ogg_opus
from storage.billing import take_sms

log = get_logger(__name__)


@dataclass(frozen=True)
class Recipient:
    channel: Channel
    address: str
    lang: str
    # The PBX can ring them back ("Call back" offers it): a phone or a mobile to ring.
    can_call_back: bool = False


# An employee `e` the PBX can ring: an extension with a SIP device, or a mobile number.
CALLABLE_SQL = """(coalesce(e.mobile, '') <> '' OR EXISTS (
    SELECT 1 FROM extensions x JOIN sip_devices d
        ON d.company_id = x.company_id AND d.employee_id = x.employee_id AND d.enabled
     WHERE x.company_id = e.company_id AND x.employee_id = e.id))"""


async def recipients(
    conn: asyncpg.Connection, company_id: int, employee_ids: list[int], fallback_lang: str
) -> list[Recipient]:
    """Where to tell `employee_ids` (and the owner, if the company asks for it)."""
    company = await conn.fetchrow(
        "SELECT missed_to_owner, alert_email, alert_sms FROM companies WHERE id = $1",
        company_id,
    )
    if company is None:
        return []
    rows = await conn.fetch(
        f"""SELECT e.id, e.email, e.mobile, m.tg_id, u.language, {CALLABLE_SQL} AS callable
             FROM employees e
             LEFT JOIN memberships m ON m.company_id = e.company_id AND m.employee_id = e.id
             LEFT JOIN tg_users u ON u.tg_id = m.tg_id
            WHERE e.company_id = $1 AND e.id = ANY($2::bigint[]) AND e.enabled""",
        company_id,
        employee_ids,
    )
    out: list[Recipient] = []
    tg_seen: set[int] = set()
    for r in rows:
        lang = r["language"] or fallback_lang
        if r["tg_id"] is not None:
            tg_seen.add(r["tg_id"])
            out.append(Recipient(Channel.TELEGRAM, str(r["tg_id"]), lang, r["callable"]))
        if company["alert_email"] and r["email"]:
            out.append(Recipient(Channel.EMAIL, r["email"], lang))
        if company["alert_sms"] and r["mobile"] and await take_sms(conn, company_id):
            out.append(Recipient(Channel.SMS, "+" + r["mobile"].lstrip("+"), lang))
    if company["missed_to_owner"] or not out:
        for o in await owners(conn, company_id):
            if int(o.address) not in tg_seen:
                out.append(o)
    return out


async def statement_ready(
    conn: asyncpg.Connection, company_id: int, month: str, money: dict[str, str], currency: str
) -> None:
    """Tell the owners a month's statement is issued, in its own transaction: exactly
    once per month whichever node closes it (the outbox dedups by key)."""
    for o in await owners(conn, company_id):
        await enqueue(
            conn,
            company_id=company_id,
            channel=o.channel,
            recipient=o.address,
            kind="statement",
            payload={"month": month, "currency": currency, "lang": o.lang, **money},
            dedup_key=f"statement:{company_id}:{month}:{o.address}",
        )


async def owners(conn: asyncpg.Connection, company_id: int) -> list[Recipient]:
    """The company's owners in Telegram, each in their language; an owner who is no
    employee with a phone or a mobile cannot be rung back."""
    rows = await conn.fetch(
        f"""SELECT m.tg_id, u.language, coalesce({CALLABLE_SQL}, false) AS callable
              FROM memberships m JOIN tg_users u USING (tg_id)
              LEFT JOIN employees e ON e.company_id = m.company_id AND e.id = m.employee_id
             WHERE m.company_id = $1 AND m.role = 'owner'""",
        company_id,
    )
    return [
        Recipient(Channel.TELEGRAM, str(r["tg_id"]), r["language"], r["callable"]) for r in rows
    ]


async def _company_tz(conn: asyncpg.Connection, company_id: int) -> str:
    return str(await conn.fetchval("SELECT timezone FROM companies WHERE id = $1", company_id))


def _target_label(target: str) -> str:
    return target.replace(":", " ") if target and target != "hangup" else ""


async def missed_call(conn: asyncpg.Connection, rec: CallRecord, call_row_id: int) -> int:
    """Enqueue the alerts for a missed call; run inside the call record's transaction."""
    if not rec.missed:
        return 0
    tz = await _company_tz(conn, rec.company_id)
    number = await conn.fetchval(
        "SELECT number FROM numbers WHERE company_id = $1 AND id = $2",
        rec.company_id,
        rec.number_id,
    )
    added = 0
    for r in await recipients(conn, rec.company_id, list(rec.concerned), rec.lang):
        payload = {
            "lang": r.lang,
            "call_id": call_row_id,
            "caller": rec.caller,
            "number": number or "",
            "at": rec.started_at.isoformat(),
            "target": _target_label(rec.target),
            "company_tz": tz,
            "call_back": r.can_call_back,
        }
        added += await enqueue(
            conn,
            company_id=rec.company_id,
            channel=r.channel,
            recipient=r.address,
            kind="missed_call",
            payload=payload,
            dedup_key=f"missed:{call_row_id}:{r.channel.value}:{r.address}",
        )
    return added


SILENCE_RMS = 100  # of 32768: about -50 dBFS, below any speech on a phone line


def is_silent(wav: Path) -> bool:
    """Nothing but line noise in a 16-bit WAV (or no audio at all)."""
    with wave.open(str(wav), "rb") as w:
        frames = w.readframes(w.getnframes())
    samples = array("h", frames[: len(frames) // 2 * 2])
    if not samples:
        return True
    return math.sqrt(sum(x * x for x in samples) / len(samples)) < SILENCE_RMS


class VoicemailStore:
    """Moves a recorded message into the company's media, records it, alerts the box."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings) -> None:
        self.pool = pool
        self.settings = settings

    async def __call__(self, vm: Voicemail) -> bool:
        """True when the message was kept; a silent recording is dropped (the call then
        counts as missed and alerts as such)."""
        wav = Path(vm.path)
        if await asyncio.to_thread(is_silent, wav):
            await asyncio.to_thread(wav.unlink, missing_ok=True)
            return False
        folder = self.settings.data_dir / "media" / str(vm.company_id) / "voicemail"
        folder.mkdir(parents=True, exist_ok=True)
        ogg = (folder / f"{wav.stem}.ogg").resolve()
        await to_ogg_opus(wav, ogg)
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                vm_id = await conn.fetchval(
                    """INSERT INTO voicemails (company_id, box, sip_call_id, caller, number,
                           path, duration_ms)
                       VALUES ($1, $2, $3, $4, $5, $6, $7)
                       ON CONFLICT (sip_call_id) DO NOTHING RETURNING id""",
                    vm.company_id,
                    vm.box,
                    vm.sip_call_id,
                    vm.caller,
                    vm.number,
                    str(ogg),
                    int(vm.duration * 1000),
                )
                if vm_id is None:
                    return True  # already kept (a retry)
                tz = await _company_tz(conn, vm.company_id)
                at = await conn.fetchval("SELECT created_at FROM voicemails WHERE id = $1", vm_id)
                for r in await recipients(conn, vm.company_id, list(vm.recipients), "ru"):
                    if r.channel is Channel.SMS:
                        continue  # a voice message does not fit in an SMS
                    await enqueue(
                        conn,
                        company_id=vm.company_id,
                        channel=r.channel,
                        recipient=r.address,
                        kind="voicemail",
                        payload={
                            "lang": r.lang,
                            "caller": vm.caller,
                            "number": vm.number,
                            "at": at.isoformat(),
                            "duration": round(vm.duration),
                            "box": vm.box,
                            "company_tz": tz,
                        },
                        dedup_key=f"voicemail:{vm_id}:{r.channel.value}:{r.address}",
                        attachment=str(ogg),
                    )
        except BaseException:
            ogg.unlink(missing_ok=True)  # nothing stored half-way
            raise
        await asyncio.to_thread(wav.unlink, missing_ok=True)
        return True
