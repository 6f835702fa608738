"""Routers per area; handlers stay thin: parse, call a cabinet service, answer."""

from aiogram import Router

from bot.handlers import (
    audio,
    billing,
    common,
    employees,
    export,
    fallback,
    groups,
    history,
    live,
    menu,
    numbers,
    onboarding,
    recordings,
    scenario,
    selfservice,
    stats,
)


def build_routers() -> list[Router]:
    return [
        m.routes.build()
        for m in (
            onboarding,
            common,
            menu,
            employees,
            numbers,
            history,
            selfservice,
            audio,
            groups,
            scenario,
            export,
            stats,
            recordings,
            billing,
            live,
            fallback,
        )
    ]
