"""Notifications: a durable outbox in PostgreSQL delivered to Telegram, e-mail and SMS.

Producers call ``notifications.outbox.enqueue`` in their own transaction; the service
runs ``notifications.service.start_worker`` (an OutboxWorker with the configured channels).
"""

from notifications.outbox import (
    Channel,
    OutboxItem,
    RetryLater,
    Sender,
    Status,
    Undeliverable,
    enqueue,
)

__all__ = [
    "Channel",
    "OutboxItem",
    "RetryLater",
    "Sender",
    "Status",
    "Undeliverable",
    "enqueue",
]
