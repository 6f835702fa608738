"""Cabinet services on real PostgreSQL: roles enforced in the service, invites, audit."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from pbx.config import Settings
from pbx.errors import NotFound, ValidationError
from pbx.services.cabinet import Actor, Cabinet, Forbidden, Role, TgUser

_ids = itertools.count(9_000_001)


def user(lang: str = "en") -> TgUser:
    n = next(_ids)
    return TgUser(n, f"User{n}", None, lang)


@pytest.fixture
def cabinet(pool: asyncpg.Pool) -> Cabinet:
    return Cabinet(pool, Settings(sip_domain="cab.test"))


async def owner_of(cabinet: Cabinet, name: str = "Cab Co") -> Actor:
    u = await cabinet.remember(user())
    _, actor = await cabinet.onboard(u, name, "Europe/Moscow")
    return actor


async def joined(cabinet: Cabinet, owner: Actor, ext: str, role: Role = Role.EMPLOYEE) -> Actor:
    inv = await cabinet.invite(owner, ext, role)
    return await cabinet.join(await cabinet.remember(user()), inv.token)


async def test_onboarding_makes_an_owner_once(cabinet: Cabinet) -> None:
    u = await cabinet.remember(user("ru-RU"))
    assert u.language == "ru"
    company, actor = await cabinet.onboard(u, "Рога и копыта", "Asia/Yekaterinburg")
    assert actor.role is Role.OWNER and company.timezone == "Asia/Yekaterinburg"
    assert await cabinet.actor(u.tg_id) == actor
    with pytest.raises(ValidationError) as e:
        await cabinet.onboard(u, "Second", "Europe/Moscow")
    assert e.value.key == "already_member"


async def test_bad_onboarding_stores_nothing(cabinet: Cabinet, pool: asyncpg.Pool) -> None:
    u = await cabinet.remember(user())
    before = await pool.fetchval("SELECT count(*) FROM companies")
    with pytest.raises(ValidationError) as e:
        await cabinet.onboard(u, "Fine name", "Mars/Olympus")
    assert e.value.key == "bad_timezone"
    assert await pool.fetchval("SELECT count(*) FROM companies") == before
    assert await cabinet.actor(u.tg_id) is None


async def test_invite_is_single_use_and_expires(cabinet: Cabinet, pool: asyncpg.Pool) -> None:
    owner = await owner_of(cabinet)
    await cabinet.add_employee(owner, "Ivan Petrov", "105")
    inv = await cabinet.invite(owner, "105")
    first = await cabinet.join(await cabinet.remember(user()), inv.token)
    assert first.role is Role.EMPLOYEE and first.employee_id == inv.employee.id
    with pytest.raises(ValidationError) as e:
        await cabinet.join(await cabinet.remember(user()), inv.token)
    assert e.value.key == "invite_invalid"
    await cabinet.add_employee(owner, "Late", "106")
    late = await cabinet.invite(owner, "106")
    await pool.execute(
        "UPDATE invites SET expires_at = $2 WHERE token = $1",
        late.token,
        datetime.now(UTC) - timedelta(seconds=1),
    )
    with pytest.raises(ValidationError):
        await cabinet.join(await cabinet.remember(user()), late.token)


async def test_roles_are_enforced_in_the_service(cabinet: Cabinet, pool: asyncpg.Pool) -> None:
    owner = await owner_of(cabinet)
    await cabinet.add_employee(owner, "Worker", "110")
    await cabinet.add_employee(owner, "Boss", "111")
    employee = await joined(cabinet, owner, "110")
    supervisor = await joined(cabinet, owner, "111", Role.SUPERVISOR)
    count = await pool.fetchval(
        "SELECT count(*) FROM employees WHERE company_id = $1", owner.company_id
    )
    for actor in (employee, supervisor):
        with pytest.raises(Forbidden):
            await cabinet.add_employee(actor, "Sneaky")
        with pytest.raises(Forbidden):
            await cabinet.invite(actor, "110")
        with pytest.raises(Forbidden):
            await cabinet.audit_log(actor)
    with pytest.raises(Forbidden):
        await cabinet.list_employees(employee)
    assert [e.ext for e in await cabinet.list_employees(supervisor)] == ["110", "111"]
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM employees WHERE company_id = $1", owner.company_id
        )
        == count
    )


async def test_companies_do_not_see_each_other(cabinet: Cabinet) -> None:
    a = await owner_of(cabinet, "A Co")
    b = await owner_of(cabinet, "B Co")
    await cabinet.add_employee(a, "Only in A", "120")
    assert [e.name for e in await cabinet.list_employees(a)] == ["Only in A"]
    assert await cabinet.list_employees(b) == []
    with pytest.raises(NotFound):
        await cabinet.invite(b, "120")  # A's extension does not exist for B


async def test_self_service_and_audit_old_to_new(cabinet: Cabinet, pool: asyncpg.Pool) -> None:
    owner = await owner_of(cabinet)
    await cabinet.add_employee(owner, "Self", "130")
    me = await joined(cabinet, owner, "130")
    creds = await cabinet.my_credentials(me)
    assert creds.login == "130" and len(creds.password) >= 12
    with pytest.raises(ValidationError) as e:
        await cabinet.set_forward(me, "always")
    assert e.value.key == "need_mobile"
    assert await cabinet.set_forward(me, "unregistered", "+7 916 123-45-67") == "79161234567"
    await cabinet.set_dnd(me, True)
    row = await pool.fetchrow(
        "SELECT dnd, forward_mode, mobile FROM employees WHERE id = $1", me.employee_id
    )
    assert (row["dnd"], row["forward_mode"], row["mobile"]) == (True, "unregistered", "79161234567")
    log = await cabinet.audit_log(owner, limit=50)
    forward = next(x for x in log if x.action == "employee.forward")
    assert forward.old_value == {"mode": "off", "mobile": None}
    assert forward.new_value == {"mode": "unregistered", "mobile": "79161234567"}
    assert forward.actor_tg_id == me.tg_id
    assert {"employee.dnd", "sip.password_reset", "invite.join", "employee.add"} <= {
        x.action for x in log
    }


async def test_edit_employee_fields_with_audit(cabinet: Cabinet) -> None:
    owner = await owner_of(cabinet)
    await cabinet.add_employee(owner, "Old Name", "140")
    e = await cabinet.edit_employee(owner, "140", "name", "New Name")
    assert e.name == "New Name"
    assert (
        await cabinet.edit_employee(owner, "140", "mobile", "+7 916 000-11-22")
    ).mobile == "79160001122"
    with pytest.raises(ValidationError) as bad:
        await cabinet.edit_employee(owner, "140", "email", "not-an-email")
    assert bad.value.key == "bad_email"
    with pytest.raises(ValidationError):
        await cabinet.edit_employee(owner, "140", "salary", "1")
    entry = next(x for x in await cabinet.audit_log(owner) if x.action == "employee.edit")
    assert entry.old_value == {"mobile": None} and entry.new_value == {"mobile": "79160001122"}
