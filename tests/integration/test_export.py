"""Bulk export of recordings: the ZIP and its index.csv from real OGG files, the filter
words, who may export what (supervisors: their groups; employees: refused), and the
signed, expiring download link over real HTTP."""

from __future__ import annotations

import csv
import io
import itertools
import uuid
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from pbx.config import Settings
from pbx.errors import NotFound, ValidationError
from pbx.services.cabinet import Actor, Cabinet, Forbidden, Role, TgUser
from pbx.services.export import (
    INDEX_COLUMNS,
    Exporter,
    ExportResult,
    ExportRow,
    add_export_routes,
    make_token,
    purge_exports,
)
from pbx.services.history import parse_filter
from tests.support.bot import sine

HTTP_PORT = 27680
DAY = "2026-01-15..2026-01-15"
T0 = datetime(2026, 1, 15, 14, 12, tzinfo=UTC)  # 17:12 in Moscow, the company's zone
MSK = ZoneInfo("Europe/Moscow")
_ids = itertools.count(8_276_800_001)


async def make_ogg(path: Path, frequency: int) -> bytes:
    return await sine(path, frequency, 0.5)


@dataclass
class Office:
    settings: Settings
    owner: Actor
    supervisor: Actor
    employee: Actor
    files: dict[str, bytes]  # expected ZIP entry name -> the OGG's bytes


async def add_call(
    pool: asyncpg.Pool,
    settings: Settings,
    company_id: int,
    started: datetime,
    caller: str,
    callee: str,
    *,
    direction: str = "inbound",
    caller_emp: int | None = None,
    callee_emp: int | None = None,
    frequency: int | None = None,
) -> tuple[str, bytes | None]:
    """A call with a recording row; its OGG is made when `frequency` is given (else the
    file is missing). Returns the ZIP entry name and the file's bytes."""
    sip = f"exp-{uuid.uuid4().hex}@10.0.0.1"
    call_id = await pool.fetchval(
        """INSERT INTO calls (company_id, sip_call_id, direction, caller, callee,
               caller_employee_id, callee_employee_id, started_at, answered_at, ended_at,
               result, hangup_cause)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'answered', 'normal') RETURNING id""",
        company_id,
        sip,
        direction,
        caller,
        callee,
        caller_emp,
        callee_emp,
        started,
        started + timedelta(seconds=3),
        started + timedelta(seconds=45),
    )
    rel = f"recordings/{company_id}/{call_id}.ogg"
    data = await make_ogg(settings.data_dir / rel, frequency) if frequency else None
    await pool.execute(
        """INSERT INTO recordings (company_id, sip_call_id, path, bytes, seconds)
           VALUES ($1, $2, $3, $4, 42)""",
        company_id,
        sip,
        rel,
        len(data or b""),
    )
    # Named in the company's time, as a person reads it.
    name = f"{started.astimezone(MSK):%Y-%m-%d_%H%M}_{direction}_{caller}-{callee}_{call_id}.ogg"
    return name, data


@pytest.fixture
async def office(pool: asyncpg.Pool, tmp_path: Path) -> Office:
    settings = Settings(
        data_dir=tmp_path / "data",
        sip_domain="export.test",
        link_secret="test-link-secret",
        public_url=f"http://127.0.0.1:{HTTP_PORT}/",
    )
    cabinet = Cabinet(pool, settings)

    async def joined(owner: Actor, ext: str, role: Role) -> Actor:
        inv = await cabinet.invite(owner, ext, role)
        user = await cabinet.remember(TgUser(next(_ids), ext, None, "en"))
        return await cabinet.join(user, inv.token)

    owner_user = await cabinet.remember(TgUser(next(_ids), "Owner", None, "en"))
    _, owner = await cabinet.onboard(owner_user, "Export Co", "Europe/Moscow")
    await cabinet.set_recording(owner, {"mode": "all"})
    anna = await cabinet.add_employee(owner, "Anna", "101")
    boris = await cabinet.add_employee(owner, "Boris", "102")
    await cabinet.add_employee(owner, "Sveta", "103")
    await cabinet.add_group(owner, "sales")
    await cabinet.set_group_members(owner, "sales", ["101", "103"])
    await cabinet.add_group(owner, "support")
    await cabinet.set_group_members(owner, "support", ["102"])
    supervisor = await joined(owner, "103", Role.SUPERVISOR)
    employee = await joined(owner, "101", Role.EMPLOYEE)

    cid, files = owner.company_id, {}
    for started, caller, callee, kw in (
        (T0, "79161234567", "101", {"callee_emp": anna.id, "frequency": 440}),
        (
            T0 + timedelta(minutes=5),
            "79169999999",
            "102",
            {"callee_emp": boris.id, "frequency": 660},
        ),
        (
            T0 + timedelta(minutes=10),
            "101",
            "74950000000",
            {"direction": "outbound", "caller_emp": anna.id, "frequency": 880},
        ),
    ):
        name, data = await add_call(pool, settings, cid, started, caller, callee, **kw)  # type: ignore[arg-type]
        assert data is not None
        files[name] = data
    # Another day, and a recording whose file is gone: neither is packed.
    await add_call(
        pool,
        settings,
        cid,
        T0 + timedelta(days=1),
        "79160000001",
        "101",
        callee_emp=anna.id,
        frequency=500,
    )
    await add_call(
        pool, settings, cid, T0 + timedelta(minutes=20), "79160000002", "102", callee_emp=boris.id
    )
    return Office(settings, owner, supervisor, employee, files)


def read_zip(result: ExportResult) -> tuple[zipfile.ZipFile, list[dict[str, str]]]:
    zf = zipfile.ZipFile(io.BytesIO(result.path.read_bytes()))
    with zf.open("index.csv") as f:
        index = list(csv.DictReader(io.TextIOWrapper(f, "utf-8")))
    return zf, index


async def test_zip_holds_the_periods_recordings_and_an_index(
    office: Office, pool: asyncpg.Pool
) -> None:
    exporter = Exporter(pool, office.settings)
    seen: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        seen.append((done, total))

    rows = await exporter.select(office.owner, parse_filter(DAY))
    result = await exporter.build(office.owner, rows, progress)
    assert result.link is None and (result.count, result.missing) == (3, 1)
    assert result.path.parent == office.settings.data_dir / "exports"
    zf, index = read_zip(result)
    assert sorted(zf.namelist()) == sorted([*office.files, "index.csv"])
    for name, data in office.files.items():
        assert zf.read(name) == data and zf.getinfo(name).compress_type == zipfile.ZIP_STORED
    assert list(index[0]) == list(INDEX_COLUMNS)
    assert [r["file"] for r in index] == [*office.files, ""]  # oldest first; the lost file
    assert [r["caller"] for r in index] == ["79161234567", "79169999999", "101", "79160000002"]
    assert index[0]["started_at"] == "2026-01-15T17:12:00+03:00"
    assert (index[0]["talk_seconds"], index[0]["recording_seconds"]) == ("42", "42.0")
    assert seen and seen[-1] == (4, 4) and [d for d, _ in seen] == sorted({d for d, _ in seen})

    # The other filter words of /calls work too.
    only = await exporter.export(office.owner, parse_filter(f"{DAY} out ext 101"))
    zf, index = read_zip(only)
    assert [r["callee"] for r in index] == ["74950000000"]
    assert len(zf.namelist()) == 2

    # Nothing in the period: a clear error and no file.
    before = set((office.settings.data_dir / "exports").iterdir())
    with pytest.raises(NotFound) as e:
        await exporter.export(office.owner, parse_filter("2025-01-01..2025-01-31"))
    assert e.value.key == "export_empty"
    assert set((office.settings.data_dir / "exports").iterdir()) == before


async def test_supervisor_gets_only_their_groups_and_employees_are_refused(
    office: Office, pool: asyncpg.Pool
) -> None:
    exporter = Exporter(pool, office.settings)
    result = await exporter.export(office.supervisor, parse_filter(DAY))
    zf, index = read_zip(result)
    assert {r["callee"] for r in index} == {"101", "74950000000"}  # no support (102) calls
    assert not any("79169999999" in n for n in zf.namelist())
    with pytest.raises(NotFound):
        await exporter.export(office.supervisor, parse_filter(f"{DAY} group support"))
    with pytest.raises(Forbidden):
        await exporter.export(office.employee, parse_filter(DAY))
    owners = await exporter.select(office.owner, parse_filter(DAY))
    with pytest.raises(Forbidden):  # rows got by someone else do not help either
        await exporter.build(office.employee, owners)
    # Recording switched off: the files stay, but the bot no longer hands them out.
    await Cabinet(pool, office.settings).set_recording(office.owner, {"mode": "off"})
    with pytest.raises(ValidationError) as off:
        await exporter.export(office.owner, parse_filter(DAY))
    assert off.value.key == "recording_off"


async def test_progress_is_reported_in_steps(office: Office, pool: asyncpg.Pool) -> None:
    exporter = Exporter(pool, office.settings)
    one = (await exporter.select(office.owner, parse_filter(f"{DAY} ext 101 in")))[0]
    rows: list[ExportRow] = [replace(one, call_id=one.call_id * 100 + i) for i in range(40)]
    seen: list[int] = []

    async def progress(done: int, total: int) -> None:
        assert total == 40
        seen.append(done)

    result = await exporter.build(office.owner, rows, progress)
    assert result.count == 40
    # Every 10 % (4 files) while it runs fast; more only if a second passed in between.
    assert seen[-1] == 40 and seen == sorted(seen) and 4 <= len(seen) <= 12, seen
    assert seen[:2] == [4, 8] or len(seen) > 10


@pytest.fixture
async def http(office: Office) -> AsyncIterator[str]:
    app = web.Application()
    add_export_routes(app, office.settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", HTTP_PORT).start()
    yield f"http://127.0.0.1:{HTTP_PORT}"
    await runner.cleanup()


async def test_big_export_gets_a_signed_expiring_link(
    office: Office, pool: asyncpg.Pool, http: str
) -> None:
    exporter = Exporter(pool, office.settings, telegram_limit=1024)
    result = await exporter.export(office.owner, parse_filter(DAY))
    assert result.link is not None and result.link.startswith(f"{http}/exports/")
    assert result.expires_at - datetime.now(UTC) > timedelta(hours=23)
    token = result.link.rsplit("/", 1)[1]
    async with aiohttp.ClientSession() as session:
        async with session.get(result.link) as resp:
            assert resp.status == 200, await resp.text()
            assert "attachment" in resp.headers["Content-Disposition"]
            body = await resp.read()
        assert body == result.path.read_bytes()
        assert set(zipfile.ZipFile(io.BytesIO(body)).namelist()) == {*office.files, "index.csv"}

        payload, mac = token.split(".")
        flipped = mac[:-2] + ("A" if mac[-2] != "A" else "B") + mac[-1]
        other = Settings(link_secret="someone-elses-secret")
        for bad in (
            f"{payload}.{flipped}",
            f"{payload}x.{mac}",
            "garbage",
            make_token(other, office.owner.company_id, result.path.name, result.expires_at),
            # A valid signature for another company's claim on this file.
            make_token(
                office.settings, office.owner.company_id + 1, result.path.name, result.expires_at
            ),
        ):
            async with session.get(f"{http}/exports/{bad}") as resp:
                assert resp.status == 403 and "not valid" in await resp.text(), bad
        expired = make_token(
            office.settings,
            office.owner.company_id,
            result.path.name,
            datetime.now(UTC) - timedelta(seconds=1),
        )
        async with session.get(f"{http}/exports/{expired}") as resp:
            assert resp.status == 403 and "expired" in await resp.text()

        # Expired files are deleted; the link then says the export is gone.
        assert purge_exports(office.settings, datetime.now(UTC)) == 0
        assert purge_exports(office.settings, result.expires_at + timedelta(seconds=1)) == 1
        assert not result.path.exists()
        async with session.get(result.link) as resp:
            assert resp.status == 404 and "gone" in await resp.text()
