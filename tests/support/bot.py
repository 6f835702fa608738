"""What bot tests share: a running bot against the fake Bot API, a chat helper, and
ffmpeg for making and reading test audio."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import redis.asyncio as aioredis

from bot.app import BotRunner
from pbx.config import Settings
from pbx.services.cabinet import Actor, Cabinet, Role
from pbx.services.cabinet import TgUser as CabinetUser
from tests.support.fake_telegram import BotMessage, FakeTelegram, TgUser


class Chat:
    """One user's private chat with the bot."""

    def __init__(self, tg: FakeTelegram, user: TgUser, timeout: float = 20) -> None:
        self.tg, self.user, self.timeout = tg, user, timeout

    async def say(self, text: str) -> BotMessage:
        await self.tg.send_text(self.user, text)
        return await self.reply()

    async def reply(self) -> BotMessage:
        return await self.tg.next_message(self.user.id, timeout=self.timeout)


@asynccontextmanager
async def running_bot(
    pool: asyncpg.Pool, port: int, settings: Settings, redis: aioredis.Redis | None = None
) -> AsyncIterator[tuple[FakeTelegram, Settings, Cabinet]]:
    """The real bot (long polling) against a fake Bot API on `port`; `settings` gets the
    fake's token and address; with `redis`, the cabinet sees presence and the board."""
    async with FakeTelegram(port=port) as tg:
        settings = settings.model_copy(
            update={"telegram_token": tg.token, "telegram_api_base": tg.base_url}
        )
        cabinet = Cabinet.with_redis(pool, settings, redis) if redis else Cabinet(pool, settings)
        runner = BotRunner(settings, cabinet)
        await runner.start()
        try:
            await tg.wait_for_poller()
            yield tg, settings, cabinet
        finally:
            await runner.stop()


async def sign_up(cabinet: Cabinet, user: TgUser, company: str, tz: str = "Europe/Moscow") -> Actor:
    """`user` creates `company` (on the signup plan) and owns it."""
    known = await cabinet.remember(
        CabinetUser(user.id, user.first_name, user.username, user.language_code)
    )
    _, owner = await cabinet.onboard(known, company, tz)
    return owner


async def join_as(
    cabinet: Cabinet, owner: Actor, ext: str, user: TgUser, role: Role = Role.EMPLOYEE
) -> Actor:
    """`user` redeems an invite of `owner`'s company for the employee at `ext`."""
    invite = await cabinet.invite(owner, ext, role)
    known = await cabinet.remember(
        CabinetUser(user.id, user.first_name, user.username, user.language_code)
    )
    return await cabinet.join(known, invite.token)


def bot_settings(base: Settings, data_dir: Path, domain: str) -> Settings:
    return Settings(data_dir=data_dir, sip_domain=domain, redis_url=base.redis_dsn)


async def ffmpeg(*args: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        "ffmpeg", "-nostdin", "-loglevel", "error", "-y", *args, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()


async def sine(path: Path, hz: float, seconds: float, codec: str = "libopus") -> bytes:
    """A tone file in any codec ffmpeg writes; returns its bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    src = f"sine=frequency={hz}:duration={seconds}:sample_rate=48000"
    await ffmpeg("-f", "lavfi", "-i", src, "-c:a", codec, str(path))
    return await asyncio.to_thread(path.read_bytes)
