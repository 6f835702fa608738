"""Routers per area; handlers stay thin: parse, call a cabinet service, answer."""

from aiogram import Router

from bot.handlers import common, employees, onboarding, selfservice

ROUTERS: list[Router] = [onboarding.router, common.router, employees.router, selfservice.router]
