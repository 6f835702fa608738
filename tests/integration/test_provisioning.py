"""Provisioning services against a real PostgreSQL (the session's test database)."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from pbx.config import Settings
from pbx.errors import NotFound, ValidationError
from pbx.services import Company, Provisioning
from storage import employees as employees_repo


@pytest.fixture
def settings(base_settings: Settings) -> Settings:
    return base_settings.model_copy(
        update={"sip_domain": "pbx.test", "edge_advertise": "sip.example.net", "edge_port": 5080}
    )


@pytest.fixture
def prov(pool: asyncpg.Pool, settings: Settings) -> Provisioning:
    return Provisioning(pool, settings)


@pytest.fixture
async def company(prov: Provisioning) -> Company:
    return await prov.create_company("Acme")


async def count(pool: asyncpg.Pool, table: str, company_id: int) -> int:
    n: int = await pool.fetchval(f"SELECT count(*) FROM {table} WHERE company_id = $1", company_id)
    return n


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


# Companies


async def test_company_gets_its_own_sip_domain(prov: Provisioning, pool: asyncpg.Pool) -> None:
    a = await prov.create_company("  Acme   Ltd ", "Asia/Yekaterinburg")
    b = await prov.create_company("Beta")
    assert a.name == "Acme Ltd"
    assert a.timezone == "Asia/Yekaterinburg"
    assert b.timezone == "Europe/Moscow"
    assert a.sip_domain == f"c{a.id}.pbx.test"
    assert b.sip_domain == f"c{b.id}.pbx.test"
    stored = await pool.fetchval("SELECT sip_domain FROM companies WHERE id = $1", a.id)
    assert stored == a.sip_domain
    listed = [c.id for c in await prov.list_companies()]
    assert a.id in listed and b.id in listed


async def test_bad_company_input_stores_nothing(prov: Provisioning, pool: asyncpg.Pool) -> None:
    before = await pool.fetchval("SELECT count(*) FROM companies")
    with pytest.raises(ValidationError, match="unknown time zone"):
        await prov.create_company("Acme", "Moscow/Red_Square")
    with pytest.raises(ValidationError, match="company name is empty"):
        await prov.create_company("  ")
    assert await pool.fetchval("SELECT count(*) FROM companies") == before


# Employees and SIP credentials


async def test_extensions_are_assigned_from_101_filling_gaps(
    prov: Provisioning, company: Company
) -> None:
    first = await prov.add_employee(company.id, "Anna")
    chosen = await prov.add_employee(company.id, "Boris", ext="103")
    second = await prov.add_employee(company.id, "Vera")
    third = await prov.add_employee(company.id, "Gleb")
    assert [first.employee.ext, chosen.employee.ext, second.employee.ext, third.employee.ext] == [
        "101",
        "103",
        "102",
        "104",
    ]
    listed = await prov.list_employees(company.id)
    assert [(e.name, e.ext) for e in listed] == [
        ("Anna", "101"),
        ("Vera", "102"),
        ("Boris", "103"),
        ("Gleb", "104"),
    ]


async def test_concurrent_additions_get_distinct_extensions(
    prov: Provisioning, company: Company
) -> None:
    added = await asyncio.gather(*(prov.add_employee(company.id, f"E{i}") for i in range(5)))
    assert sorted(a.employee.ext or "" for a in added) == ["101", "102", "103", "104", "105"]


async def test_credentials_are_returned_once_and_stored_as_ha1(
    prov: Provisioning, company: Company, pool: asyncpg.Pool
) -> None:
    new = await prov.add_employee(
        company.id, "Anna", email="anna@acme.example", mobile="8 916 123-45-67"
    )
    creds = new.credentials
    assert (creds.ext, creds.login, creds.domain) == ("101", "101", company.sip_domain)
    assert creds.registrar == "sip.example.net:5080"
    assert len(creds.password) == 16
    assert creds.password not in repr(new)
    assert (new.employee.email, new.employee.mobile) == ("anna@acme.example", "79161234567")
    row = await pool.fetchrow(
        "SELECT * FROM kamailio_subscriber WHERE username = '101' AND domain = $1",
        company.sip_domain,
    )
    assert row["ha1"] == md5(f"101:{company.sip_domain}:{creds.password}")
    assert row["ha1b"] == md5(f"101@{company.sip_domain}:{company.sip_domain}:{creds.password}")
    assert await password_rows(pool, creds.password) == []


async def password_rows(pool: asyncpg.Pool, secret: str) -> list[str]:
    """Every table in the schema whose rows contain ``secret`` in any column."""
    tables = await pool.fetch("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    found = []
    for t in tables:
        name = t["tablename"]
        hits = await pool.fetchval(
            f'SELECT count(*) FROM "{name}" r WHERE strpos(r::text, $1) > 0', secret
        )
        if hits:
            found.append(name)
    return found


async def test_chosen_extension_must_be_free_and_well_formed(
    prov: Provisioning, company: Company, pool: asyncpg.Pool
) -> None:
    await prov.add_employee(company.id, "Anna", ext="200")
    with pytest.raises(ValidationError, match="extension 200 is already taken"):
        await prov.add_employee(company.id, "Boris", ext="200")
    with pytest.raises(ValidationError, match="2–5 digits"):
        await prov.add_employee(company.id, "Boris", ext="012")
    with pytest.raises(ValidationError, match="e-mail"):
        await prov.add_employee(company.id, "Boris", email="boris")
    assert await count(pool, "employees", company.id) == 1
    assert await count(pool, "sip_devices", company.id) == 1


async def test_failure_midway_leaves_nothing(
    prov: Provisioning, company: Company, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(employees_repo, "insert_device", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        await prov.add_employee(company.id, "Anna")
    for table in ("employees", "extensions", "sip_devices"):
        assert await count(pool, table, company.id) == 0


async def test_unknown_company(prov: Provisioning) -> None:
    with pytest.raises(NotFound, match="company 987654 not found"):
        await prov.add_employee(987654, "Anna")
    with pytest.raises(NotFound):
        await prov.list_employees(987654)


async def test_reset_password_replaces_the_hashes(
    prov: Provisioning, company: Company, pool: asyncpg.Pool
) -> None:
    old = (await prov.add_employee(company.id, "Anna")).credentials
    new = await prov.reset_password(company.id, "101")
    assert new.password != old.password
    assert (new.login, new.domain, new.registrar) == (old.login, old.domain, old.registrar)
    ha1 = await pool.fetchval(
        "SELECT ha1 FROM sip_devices WHERE company_id = $1 AND username = '101'", company.id
    )
    assert ha1 == md5(f"101:{company.sip_domain}:{new.password}")
    assert await password_rows(pool, new.password) == []
    with pytest.raises(NotFound, match="extension 555"):
        await prov.reset_password(company.id, "555")


async def test_registration_state_comes_from_live_locations(
    prov: Provisioning, company: Company, pool: asyncpg.Pool
) -> None:
    other = await prov.create_company("Other")
    for name in ("Anna", "Boris", "Vera"):
        await prov.add_employee(company.id, name)
    now = datetime.now(UTC).replace(tzinfo=None)
    locations = [
        ("101", company.sip_domain, now + timedelta(hours=1)),  # live
        ("102", company.sip_domain, now - timedelta(minutes=1)),  # expired
        ("103", other.sip_domain, now + timedelta(hours=1)),  # another company's 103
    ]
    await pool.executemany(
        """INSERT INTO location (ruid, username, domain, contact, expires)
           VALUES (md5(random()::text), $1, $2, 'sip:x@192.0.2.1:5060', $3)""",
        locations,
    )
    listed = await prov.list_employees(company.id)
    assert [(e.ext, e.registered) for e in listed] == [
        ("101", True),
        ("102", False),
        ("103", False),
    ]


# Trunks


async def test_trunks(prov: Provisioning, company: Company, pool: asyncpg.Pool) -> None:
    reg = await prov.add_trunk(
        company.id, "Main", "SIP.Carrier.example", username="acme", password="s3cret"
    )
    ip = await prov.add_trunk(company.id, "Backup", "203.0.113.10", port=5080)
    assert (reg.auth_mode, reg.host, reg.username, reg.ip_addresses) == (
        "register",
        "sip.carrier.example",
        "acme",
        (),
    )
    assert (ip.auth_mode, ip.port, ip.ip_addresses, ip.username) == (
        "ip",
        5080,
        ("203.0.113.10",),
        None,
    )
    assert [t.id for t in await prov.list_trunks(company.id)] == [reg.id, ip.id]
    with pytest.raises(ValidationError, match="a trunk named 'Main' already exists"):
        await prov.add_trunk(company.id, "Main", "203.0.113.11")
    with pytest.raises(ValidationError, match="--ip ADDR"):
        await prov.add_trunk(company.id, "Third", "sip.other.example")
    assert await count(pool, "trunks", company.id) == 2


# Numbers


async def _setup_company(prov: Provisioning, name: str) -> tuple[Company, int]:
    c = await prov.create_company(name)
    await prov.add_employee(c.id, "Anna")
    trunk = await prov.add_trunk(c.id, "Main", "203.0.113.20")
    return c, trunk.id


async def test_numbers_are_normalised_and_listed(prov: Provisioning) -> None:
    a, trunk_id = await _setup_company(prov, "A")
    n = await prov.add_number(a.id, "+7 (495) 100-00-01", trunk_id, "101")
    assert (n.company_id, n.number, n.trunk_id, n.target_ext) == (
        a.id,
        "74951000001",
        trunk_id,
        "101",
    )
    other = await prov.add_number(a.id, "84951000002", trunk_id, 101)
    assert other.number == "74951000002"
    assert [x.number for x in await prov.list_numbers(a.id)] == ["74951000001", "74951000002"]
    with pytest.raises(ValidationError, match="already added to this company"):
        await prov.add_number(a.id, "74951000001", trunk_id, "101")


async def test_a_number_belongs_to_one_company(prov: Provisioning, pool: asyncpg.Pool) -> None:
    a, a_trunk = await _setup_company(prov, "A")
    b, b_trunk = await _setup_company(prov, "B")
    await prov.add_number(a.id, "+74951000003", a_trunk, "101")
    with pytest.raises(ValidationError, match="belongs to another company"):
        await prov.add_number(b.id, "74951000003", b_trunk, "101")
    assert await count(pool, "numbers", b.id) == 0


async def test_company_cannot_use_another_companys_trunk_or_extension(
    prov: Provisioning, pool: asyncpg.Pool
) -> None:
    a, a_trunk = await _setup_company(prov, "A")
    await prov.add_employee(a.id, "Boris", ext="150")
    b, b_trunk = await _setup_company(prov, "B")
    with pytest.raises(NotFound, match=f"trunk {a_trunk} not found in company {b.id}"):
        await prov.add_number(b.id, "74951000004", a_trunk, "101")
    with pytest.raises(NotFound, match=f"extension 150 not found in company {b.id}"):
        await prov.add_number(b.id, "74951000004", b_trunk, "150")
    assert await count(pool, "numbers", b.id) == 0
    # The database refuses it too, whatever code writes the row.
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await pool.execute(
            "INSERT INTO numbers (company_id, number, trunk_id, target_ext) "
            "VALUES ($1, '74951000005', $2, '150')",
            b.id,
            b_trunk,
        )


async def test_other_company_sees_nothing(prov: Provisioning) -> None:
    a, a_trunk = await _setup_company(prov, "A")
    await prov.add_number(a.id, "74951000006", a_trunk, "101")
    b = await prov.create_company("B")
    assert await prov.list_employees(b.id) == []
    assert await prov.list_trunks(b.id) == []
    assert await prov.list_numbers(b.id) == []


# Calls (written by the engine; read here)


async def test_calls_newest_first_scoped_and_limited(
    prov: Provisioning, pool: asyncpg.Pool
) -> None:
    a = await prov.create_company("A")
    b = await prov.create_company("B")
    t0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)

    def call(company_id: int, hour: int, talk: int | None, result: str) -> tuple[Any, ...]:
        start = t0 + timedelta(hours=hour)
        answered = None if talk is None else start + timedelta(seconds=5)
        end = answered + timedelta(seconds=talk) if answered and talk else start
        return (company_id, f"{company_id}-{hour}", start, answered, end, result)

    rows = [
        call(a.id, 0, 60, "answered"),
        call(a.id, 1, None, "missed"),
        call(a.id, 2, None, "busy"),
        call(b.id, 3, None, "failed"),
    ]
    await pool.executemany(
        """INSERT INTO calls (company_id, sip_call_id, direction, caller, callee, started_at,
                              answered_at, ended_at, result, hangup_cause)
           VALUES ($1, $2, 'internal', '101', '102', $3, $4, $5, $6, 'normal')""",
        rows,
    )
    calls = await prov.list_calls(a.id)
    assert [c.result for c in calls] == ["busy", "missed", "answered"]
    assert [c.talk_seconds for c in calls] == [0, 0, 60]
    assert [c.result for c in await prov.list_calls(a.id, limit=1)] == ["busy"]
    assert [c.result for c in await prov.list_calls(b.id)] == ["failed"]
    with pytest.raises(ValidationError, match="limit"):
        await prov.list_calls(a.id, limit=0)


async def test_services_run_inside_a_callers_transaction(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        company = await Provisioning(conn, settings).create_company("Rolled back")
        await tx.rollback()
    assert await pool.fetchval("SELECT count(*) FROM companies WHERE id = $1", company.id) == 0
