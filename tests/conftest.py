"""Shared fixtures: a private PostgreSQL/Redis (started if needed) and a fresh test database."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from pbx.config import Settings
from pbx.infra import ensure_services
from storage.db import migrate

ROOT = Path(__file__).resolve().parent.parent
# Companies the tests sign up are outside billing unless a test puts them on a plan
# (tests/*/test_*billing*.py do); subprocesses inherit this too.
os.environ["PBX_SIGNUP_PLAN"] = "none"
TEST_DB = f"pbx_test_{os.getpid()}"


def _base_settings() -> Settings:
    return Settings(data_dir=ROOT / "var")


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    s = _base_settings()
    ensure_services(s)
    return s


@pytest.fixture(scope="session")
async def db_dsn(base_settings: Settings) -> AsyncIterator[str]:
    """A database created and migrated for this test session, dropped afterwards."""
    admin = await asyncpg.connect(base_settings.dsn)
    await admin.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}"')
    await admin.execute(f'CREATE DATABASE "{TEST_DB}"')
    dsn = base_settings.dsn.rsplit("/", 1)[0] + f"/{TEST_DB}"
    conn = await asyncpg.connect(dsn)
    await migrate(conn)
    await conn.close()
    yield dsn
    await admin.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')
    await admin.close()


@pytest.fixture(scope="session")
async def pool(db_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    p = await asyncpg.create_pool(db_dsn, min_size=1, max_size=5)
    yield p
    await p.close()
