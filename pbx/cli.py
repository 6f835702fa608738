"""The `pbx` command line: services, migrations and provisioning.

Every command prints a readable table, or JSON with --json. A mistake by the user
(bad argument, unknown company, taken number) prints ``error: <what to fix>`` on
stderr and exits 1, without a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, NoReturn

import asyncpg
import pydantic
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from pbx.config import Settings
from pbx.errors import PbxError
from pbx.infra import ensure_services, stop_services
from pbx.logging import get_logger
from pbx.services.provisioning import NewEmployee, Provisioning
from storage.db import migrate, migration_files
from storage.presence import RedisTrunkStates

log = get_logger(__name__)

Row = dict[str, Any]
Output = Row | list[Row]
Handler = Callable[[Settings, argparse.Namespace], int]
DbCommand = Callable[[Provisioning, argparse.Namespace], Awaitable[Output]]

# What each kind of result shows (the carrier's trunk password is never printed).
COMPANY_FIELDS = ("id", "name", "sip_domain", "timezone", "created_at")
EMPLOYEE_FIELDS = ("id", "name", "ext", "email", "mobile", "enabled", "registered")
CREDENTIAL_FIELDS = ("ext", "login", "password", "domain", "registrar")
TRUNK_FIELDS = (
    "id",
    "name",
    "auth_mode",
    "host",
    "port",
    "username",
    "from_domain",
    "ip_addresses",
    "expires",
    "enabled",
)
NUMBER_FIELDS = ("id", "number", "trunk_id", "target_ext", "created_at")
CALL_FIELDS = (
    "id",
    "started_at",
    "direction",
    "caller",
    "callee",
    "result",
    "talk_seconds",
    "sip_code",
    "hangup_cause",
)


def _row(obj: object, fields: Sequence[str]) -> Row:
    return {name: getattr(obj, name) for name in fields}


def _rows(items: Sequence[object], fields: Sequence[str]) -> list[Row]:
    return [_row(item, fields) for item in items]


# Output


def _json_default(value: object) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return str(value)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def _table(rows: list[Row]) -> str:
    if not rows:
        return "(none)"
    headers = list(rows[0])
    cells = [[_cell(row[h]) for h in headers] for row in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    lines = [headers, *cells]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def _pairs(row: Row) -> str:
    width = max(len(k) for k in row)
    return "\n".join(f"{k.ljust(width)}  {_cell(v)}" for k, v in row.items())


def emit(result: Output, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, default=_json_default, ensure_ascii=False, indent=2))
    elif isinstance(result, list):
        print(_table(result))
    else:
        print(_pairs(result))


# Database access


async def _schema_current(conn: asyncpg.Connection) -> bool:
    if not await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL"):
        return False
    done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
    return all(version in done for version, _ in migration_files())


async def _connect(settings: Settings) -> asyncpg.Connection:
    if not settings.database_url:
        await asyncio.to_thread(ensure_services, settings)
    try:
        return await asyncpg.connect(settings.dsn, timeout=10)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        where = "DATABASE_URL" if settings.database_url else "the private PostgreSQL"
        raise PbxError(f"cannot connect to {where}: {exc}") from None


def db_command(command: DbCommand) -> Handler:
    """One connection per command; migrations are applied first if any is missing."""

    async def run(settings: Settings, args: argparse.Namespace) -> Output:
        conn = await _connect(settings)
        try:
            if not await _schema_current(conn):
                await migrate(conn)
            return await command(Provisioning(conn, settings), args)
        finally:
            await conn.close()

    def handler(settings: Settings, args: argparse.Namespace) -> int:
        emit(asyncio.run(run(settings, args)), args.json)
        return 0

    return handler


# Provisioning commands


async def company_create(p: Provisioning, a: argparse.Namespace) -> Output:
    return _row(await p.create_company(a.name, a.tz), COMPANY_FIELDS)


async def company_list(p: Provisioning, a: argparse.Namespace) -> Output:
    return _rows(await p.list_companies(), COMPANY_FIELDS)


async def company_plan(p: Provisioning, a: argparse.Namespace) -> Output:
    return await p.set_billing(a.company, plan=a.plan)


async def company_block(p: Provisioning, a: argparse.Namespace) -> Output:
    return await p.set_billing(a.company, blocked=a.reason)


def _new_employee(new: NewEmployee) -> Row:
    return {
        **_row(new.employee, ("id", "company_id", "name", "email", "mobile")),
        **_row(new.credentials, CREDENTIAL_FIELDS),
    }


async def employee_add(p: Provisioning, a: argparse.Namespace) -> Output:
    return _new_employee(await p.add_employee(a.company, a.name, a.ext, a.email, a.mobile))


async def employee_list(p: Provisioning, a: argparse.Namespace) -> Output:
    return _rows(await p.list_employees(a.company), EMPLOYEE_FIELDS)


async def employee_reset_password(p: Provisioning, a: argparse.Namespace) -> Output:
    return _row(await p.reset_password(a.company, a.ext), CREDENTIAL_FIELDS)


async def trunk_add(p: Provisioning, a: argparse.Namespace) -> Output:
    password = sys.stdin.readline().strip() if a.password == "-" else a.password
    trunk = await p.add_trunk(
        a.company,
        a.name,
        a.host,
        port=a.port,
        username=a.username,
        password=password,
        ip_addresses=a.ip or (),
        from_domain=a.from_domain,
        auth_mode=a.mode,
        expires=a.expires,
    )
    if trunk.auth_mode == "register":
        await _reload_trunks(p.settings)
    return _row(trunk, TRUNK_FIELDS)


async def _reload_trunks(settings: Settings) -> None:
    """Tell running engine nodes to register the new trunk now (the Redis channel the bot
    uses too); if none runs, they will at start."""
    redis = aioredis.from_url(settings.redis_dsn, socket_timeout=3)
    try:
        await RedisTrunkStates(redis).trunks_changed()
    except (RedisError, OSError) as exc:
        log.warning("trunk_announce_failed", error=repr(exc))
    finally:
        await redis.aclose()


async def trunk_list(p: Provisioning, a: argparse.Namespace) -> Output:
    return _rows(await p.list_trunks(a.company), TRUNK_FIELDS)


async def number_add(p: Provisioning, a: argparse.Namespace) -> Output:
    return _row(await p.add_number(a.company, a.number, a.trunk, a.to), NUMBER_FIELDS)


async def number_list(p: Provisioning, a: argparse.Namespace) -> Output:
    return _rows(await p.list_numbers(a.company), NUMBER_FIELDS)


async def calls_list(p: Provisioning, a: argparse.Namespace) -> Output:
    return _rows(await p.list_calls(a.company, a.limit), CALL_FIELDS)


# Service commands


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    async def run() -> list[str]:
        conn = await _connect(settings)
        try:
            return await migrate(conn)
        finally:
            await conn.close()

    applied = asyncio.run(run())
    if args.json:
        emit({"applied": applied}, True)
    else:
        print("\n".join(f"applied {name}" for name in applied) or "schema is up to date")
    return 0


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from pbx.app import run

    run(settings)
    return 0


def healthy(report: Row) -> bool:
    if report.get("healthy") is False:
        return False
    return all(part.get("ok") is not False for part in report.values() if isinstance(part, dict))


def cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    from pbx.app import status_report

    report = status_report(settings)
    if args.json:
        emit(report, True)
    else:
        for name, part in report.items():
            if isinstance(part, dict):
                state = "ok" if part.get("ok", True) is not False else "FAIL"
                details = ", ".join(f"{k}={_cell(v)}" for k, v in part.items() if k != "ok")
                print(f"{name}: {state}" + (f" ({details})" if details else ""))
            else:
                print(f"{name}: {_cell(part)}")
    return 0 if healthy(report) else 1


def cmd_services(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "start":
        ensure_services(settings)
    else:
        stop_services(settings)
    state = "running" if args.action == "start" else "stopped"
    report = {
        "postgres": "external (DATABASE_URL)"
        if settings.database_url
        else f"{state} on 127.0.0.1:{settings.private_pg_port}",
        "redis": "external (REDIS_URL)"
        if settings.redis_url
        else f"{state} on 127.0.0.1:{settings.private_redis_port}",
    }
    emit(report, args.json)
    return 0


# Arguments


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"error: {message} (see `{self.prog} --help`)", file=sys.stderr)
        sys.exit(1)


def build_parser() -> argparse.ArgumentParser:
    # --json is accepted before or after the command; a leaf only sets it when given.
    common = _Parser(add_help=False)
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="machine-readable JSON output",
    )
    company_arg = _Parser(add_help=False)
    company_arg.add_argument("--company", type=int, required=True, metavar="ID")

    root = _Parser(prog="pbx", description="Cloud PBX: services, migrations, provisioning.")
    root.add_argument(
        "--json", action="store_true", default=False, help="machine-readable JSON output"
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def leaf(group: Any, name: str, handler: Handler, help_: str, company: bool = False) -> Any:
        parents = [common, company_arg] if company else [common]
        p = group.add_parser(name, parents=parents, help=help_, description=help_)
        p.set_defaults(handler=handler)
        return p

    def area(name: str, help_: str) -> Any:
        p = commands.add_parser(name, help=help_, description=help_)
        return p.add_subparsers(dest="action", required=True, metavar="ACTION")

    leaf(commands, "migrate", cmd_migrate, "apply database migrations")
    leaf(commands, "run", cmd_run, "run the service (edge, engine, HTTP API)")
    leaf(commands, "status", cmd_status, "health of the running service (exit 1 if unhealthy)")
    services = leaf(commands, "services", cmd_services, "start/stop private PostgreSQL and Redis")
    services.add_argument("action", choices=("start", "stop"))

    group = area("company", "companies (tenants)")
    p = leaf(group, "create", db_command(company_create), "create a company")
    p.add_argument("name")
    p.add_argument("--tz", default="Europe/Moscow", help="IANA time zone (default Europe/Moscow)")
    leaf(group, "list", db_command(company_list), "list companies")
    p = leaf(group, "plan", db_command(company_plan), "put a company on a plan", True)
    p.add_argument("plan", help="a plan id of PBX_CATALOGUE, or 'none' (outside billing)")
    p = leaf(group, "block", db_command(company_block), "block or unblock a company", True)
    p.add_argument(
        "reason",
        choices=("customer", "operator", "nonpayment", "none"),
        help="why (customer/operator: not charged those days; nonpayment: charged); none unblocks",
    )

    group = area("employee", "employees and their SIP phones")
    p = leaf(group, "add", db_command(employee_add), "add an employee with a SIP login", True)
    p.add_argument("--name", required=True)
    p.add_argument("--ext", help="extension, 2–5 digits (default: lowest free from 101)")
    p.add_argument("--email")
    p.add_argument("--mobile")
    leaf(group, "list", db_command(employee_list), "list employees", True)
    p = leaf(
        group,
        "reset-password",
        db_command(employee_reset_password),
        "give an extension's SIP login a new password",
        True,
    )
    p.add_argument("--ext", required=True)

    group = area("trunk", "carrier SIP trunks")
    p = leaf(group, "add", db_command(trunk_add), "add a trunk", True)
    p.add_argument("--name", required=True)
    p.add_argument("--host", required=True, help="carrier host name or IP address")
    p.add_argument("--port", type=int, default=5060)
    p.add_argument("--username", help="registration login (register mode)")
    p.add_argument("--password", help="registration password; '-' reads it from stdin")
    p.add_argument(
        "--ip",
        nargs="+",
        action="extend",
        metavar="ADDR",
        help="carrier source IP addresses (IP-authenticated mode)",
    )
    p.add_argument("--from-domain", help="domain for the From header, if the carrier wants one")
    p.add_argument(
        "--mode",
        choices=("register", "ip"),
        help="default: register when a username is given, else ip",
    )
    p.add_argument("--expires", type=int, default=300, help="registration interval, seconds")
    leaf(group, "list", db_command(trunk_list), "list trunks", True)

    group = area("number", "phone numbers (DIDs)")
    p = leaf(group, "add", db_command(number_add), "route a number to an extension", True)
    p.add_argument("number", help="e.g. +74951234567 or 84951234567")
    p.add_argument("--trunk", type=int, required=True, metavar="TRUNK_ID")
    p.add_argument("--to", required=True, metavar="EXT")
    leaf(group, "list", db_command(number_list), "list numbers", True)

    p = leaf(commands, "calls", db_command(calls_list), "recent calls, newest first", True)
    p.add_argument("--limit", type=int, default=20)
    return root


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
        code = args.handler(settings, args)
    except PbxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 1
    except pydantic.ValidationError as exc:
        print(f"error: bad configuration: {exc}", file=sys.stderr)
        code = 1
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        print(f"error: database: {exc}", file=sys.stderr)
        code = 1
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main()
