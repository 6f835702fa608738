"""Wiring: the channels the settings enable, and the worker that delivers through them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import asyncpg

from notifications.email import EmailSender
from notifications.outbox import Channel, Sender
from notifications.sms import SmsSender
from notifications.worker import OutboxWorker
from pbx.config import Settings

if TYPE_CHECKING:
    from aiogram import Bot


@dataclass
class Notifications:
    worker: OutboxWorker
    sms: SmsSender | None = None
    channels: dict[Channel, Sender] = field(default_factory=dict)

    async def stop(self) -> None:
        await self.worker.stop()
        if self.sms is not None:
            await self.sms.close()


def build_senders(settings: Settings, bot: Bot | None) -> dict[Channel, Sender]:
    """One sender per configured channel; rows of other channels wait for a process
    that has them (several nodes may split the channels)."""
    senders: dict[Channel, Sender] = {}
    if bot is not None:
        # aiogram costs ~120 MB of RSS: import it only when there is a bot.
        from notifications.telegram import TelegramSender

        senders[Channel.TELEGRAM] = TelegramSender(bot)
    if settings.smtp_host:
        senders[Channel.EMAIL] = EmailSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            username=settings.smtp_user,
            password=settings.smtp_password,
            start_tls=settings.smtp_starttls,
            use_tls=settings.smtp_tls,
            timeout=settings.smtp_timeout,
        )
    if settings.sms_gateway_url:
        senders[Channel.SMS] = SmsSender(
            settings.sms_gateway_url,
            method=settings.sms_gateway_method,
            sender=settings.sms_sender,
            body_template=settings.sms_gateway_body,
        )
    return senders


async def start_worker(settings: Settings, pool: asyncpg.Pool, bot: Bot | None) -> Notifications:
    """Start delivering; call ``stop()`` on the result at shutdown."""
    senders = build_senders(settings, bot)
    worker = OutboxWorker(
        pool,
        senders,
        poll_seconds=settings.outbox_poll_seconds,
        max_attempts=settings.outbox_max_attempts,
        lease_seconds=settings.outbox_lease_seconds,
    )
    await worker.start()
    sms = senders.get(Channel.SMS)
    return Notifications(worker, sms if isinstance(sms, SmsSender) else None, senders)
