"""Routers per area; handlers stay thin: parse, call a cabinet service, answer."""

from aiogram import Router

from bot.handlers import (
    common,
    employees,
    fallback,
    history,
    menu,
    numbers,
    onboarding,
    selfservice,
)


def build_routers() -> list[Router]:
    return [
        m.routes.build()
        for m in (onboarding, common, menu, employees, numbers, history, selfservice, fallback)
    ]
