"""Render kamailio.cfg and the dispatcher list from settings; keep trusted engines in sync."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from pbx.config import Settings
from pbx.errors import PbxError

TEMPLATE = Path(__file__).with_name("kamailio.cfg.tmpl")
MODULES = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules")
_TOKEN = re.compile(r"@@([A-Z_]+)@@")


def edge_dir(settings: Settings) -> Path:
    return settings.run_dir / "kamailio"


def kamailio_db_url(dsn: str) -> str:
    """Kamailio's db_postgres wants postgres://user:password@host:port/db (a password
    must be present even with trust authentication)."""
    parts = urlsplit(dsn)
    user = parts.username or "postgres"
    password = parts.password or "x"
    host = parts.hostname or "127.0.0.1"
    netloc = f"{user}:{password}@{host}:{parts.port or 5432}"
    return urlunsplit(("postgres", netloc, parts.path, "", ""))


def _modules_dir() -> Path:
    if MODULES.is_dir():
        return MODULES
    found = sorted(Path("/usr/lib").glob("*/kamailio/modules"))
    if not found:
        raise PbxError("Kamailio modules not found: run scripts/setup.sh (apt package kamailio)")
    return found[0]


def render_text(settings: Settings, db_url: str) -> str:
    host, port = settings.edge_host, settings.edge_port
    advertise = f" advertise {settings.edge_advertise}:{port}" if settings.edge_advertise else ""
    listen = "\n".join(f"listen={proto}:{host}:{port}{advertise}" for proto in ("udp", "tcp"))
    values = {
        "DB_URL": kamailio_db_url(db_url),
        "DEBUG": "2",
        "CHILDREN": str(settings.edge_children),
        "LISTEN": listen,
        "MPATH": f"{_modules_dir()}/",
        "DISPATCHER_LIST": str(edge_dir(settings).resolve() / "dispatcher.list"),
        "PIKE_DENSITY": str(settings.pike_reqs_density),
        "BAN_SECONDS": str(settings.ban_seconds),
    }

    def sub(m: re.Match[str]) -> str:
        if m.group(1) not in values:
            raise PbxError(f"kamailio template uses unknown token {m.group(0)}")
        return values[m.group(1)]

    return _TOKEN.sub(sub, TEMPLATE.read_text())


def dispatcher_list(settings: Settings) -> str:
    lines = ["# setid destination flags priority"]
    lines += [f"1 sip:{h}:{p} 0 0" for h, p in settings.engine_addresses()]
    return "\n".join(lines) + "\n"


async def render(settings: Settings, db_url: str) -> Path:
    """Write the config and the dispatcher list, and have Kamailio check them."""
    out = edge_dir(settings)
    out.mkdir(parents=True, exist_ok=True)
    (out / "dispatcher.list").write_text(dispatcher_list(settings))
    cfg = out / "kamailio.cfg"
    cfg.write_text(render_text(settings, db_url))
    proc = await asyncio.create_subprocess_exec(
        settings.kamailio_bin,
        "-c",
        "-f",
        str(cfg),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await proc.communicate()
    if proc.returncode != 0:
        errors = [ln for ln in output.decode(errors="replace").splitlines() if "ERROR" in ln]
        raise PbxError(f"generated {cfg} is invalid: " + " | ".join(errors[-5:]))
    return cfg


def _engine_ip(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return socket.gethostbyname(host)


async def sync_trusted_engines(conn: asyncpg.Connection, settings: Settings) -> None:
    """Make permissions' address group 1 exactly the engine nodes (read at Kamailio start).

    The entry carries the engine's SIP port as well: on a single machine the phones and
    the engine may share an address, and only the engine's socket is to be trusted.
    """
    nodes = sorted({(_engine_ip(h), p) for h, p in settings.engine_addresses()})
    async with conn.transaction():
        await conn.execute("DELETE FROM address WHERE grp = 1")
        await conn.executemany(
            "INSERT INTO address (grp, ip_addr, mask, port, tag) VALUES (1, $1, 32, $2, 'engine')",
            nodes,
        )
