"""Handlers declared once per module, built into a fresh aiogram Router per Dispatcher.

aiogram lets a Router belong to one Dispatcher only; declaring on a collector lets the
service (and the tests, which run a polling and a webhook bot) build as many as needed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram import Router
from aiogram.filters import Filter
from aiogram.types import TelegramObject

Handler = Callable[..., Any]


class IsMember(Filter):
    """Only for users who belong to a company; others fall through to the fallback
    handler, which tells them how to join."""

    async def __call__(self, event: TelegramObject, actor: Any = None) -> bool:
        return actor is not None


class Routes:
    def __init__(self, name: str) -> None:
        self.name = name
        self._entries: list[tuple[str, tuple[Any, ...], Handler]] = []

    def _on(
        self, kind: str, filters: tuple[Any, ...], member: bool
    ) -> Callable[[Handler], Handler]:
        if member:
            filters = (*filters, IsMember())

        def register(handler: Handler) -> Handler:
            self._entries.append((kind, filters, handler))
            return handler

        return register

    def message(self, *filters: Any, member: bool = False) -> Callable[[Handler], Handler]:
        return self._on("message", filters, member)

    def callback_query(self, *filters: Any, member: bool = False) -> Callable[[Handler], Handler]:
        return self._on("callback_query", filters, member)

    def build(self) -> Router:
        router = Router(name=self.name)
        for kind, filters, handler in self._entries:
            getattr(router, kind).register(handler, *filters)
        return router
