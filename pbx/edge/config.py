"""Render kamailio.cfg and the dispatcher list from settings; keep trusted engines in sync.

The template uses ``@@NAME@@`` tokens: Kamailio's own ``$`` variables pass through
untouched, and an unknown token is an error rather than a silent blank.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
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
_UNIX_PATH_MAX = 107  # sun_path is 108 bytes with its NUL
MAX_CONTACTS = 10  # devices per extension (an 11th replaces the soonest to expire)
OFFICE_FACTOR = 10  # an address with registrations may send this many times pike's density


def edge_dir(settings: Settings) -> Path:
    """Kamailio's own directory under run_dir: config, dispatcher list, log, pid, socket."""
    return (settings.run_dir / "kamailio").resolve()


def ctl_socket(settings: Settings) -> Path:
    """The management socket (``kamcmd -s unix:<this>``)."""
    return edge_dir(settings) / "ctl.sock"


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


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def _check(settings: Settings) -> None:
    if _is_wildcard(settings.edge_host) and not settings.edge_advertise:
        raise PbxError(
            f"edge_host {settings.edge_host} needs PBX_EDGE_ADVERTISE: Kamailio must put a "
            "reachable address in Record-Route"
        )
    for host, port in settings.engine_addresses():
        if _is_wildcard(host):
            raise PbxError(
                f"engine address {host}:{port} cannot be dialled by the edge: set "
                "PBX_ENGINE_ADVERTISE (or PBX_ENGINE_HOST) to the engine's IP address"
            )
    if len(str(ctl_socket(settings))) > _UNIX_PATH_MAX:
        raise PbxError(
            f"Kamailio's control socket path {ctl_socket(settings)} is too long for a "
            "Unix socket: use a shorter PBX_DATA_DIR"
        )


def _secret(settings: Settings) -> str:
    secret = settings.edge_secret or ""
    if not re.fullmatch(r"[0-9A-Za-z_-]{16,}", secret):
        raise PbxError("PBX_EDGE_SECRET must be 16 or more letters, digits, - or _")
    return secret


def render_text(settings: Settings, db_url: str) -> str:
    host, port = settings.edge_host, settings.edge_port
    advertise = f" advertise {settings.edge_advertise}:{port}" if settings.edge_advertise else ""
    listen = "\n".join(f"listen={proto}:{host}:{port}{advertise}" for proto in ("udp", "tcp"))
    # The advertised address is ours too (Route headers, requests sent to ourselves).
    aliases = f"alias={settings.edge_advertise}:{port}" if settings.edge_advertise else ""
    values = {
        "DB_URL": kamailio_db_url(db_url),
        "DEBUG": "2",
        "CHILDREN": str(settings.edge_children),
        "LISTEN": listen,
        "ALIASES": aliases,
        "EDGE_PORT": str(port),
        "MPATH": f"{_modules_dir()}/",
        "DISPATCHER_LIST": str(edge_dir(settings) / "dispatcher.list"),
        "CTL_SOCKET": str(ctl_socket(settings)),
        "PIKE_DENSITY": str(settings.pike_reqs_density),
        "BAN_SECONDS": str(settings.ban_seconds),
        "AUTH_FAILS": str(settings.auth_fail_limit),
        "ACCOUNT_FAILS": str(settings.account_fail_limit),
        "MAX_CONTACTS": str(MAX_CONTACTS),
        "OFFICE_FACTOR": str(OFFICE_FACTOR),
        "EDGE_SECRET": _secret(settings),
    }

    def sub(m: re.Match[str]) -> str:
        if m.group(1) not in values:
            raise PbxError(f"kamailio template uses unknown token {m.group(0)}")
        return values[m.group(1)]

    return _TOKEN.sub(sub, TEMPLATE.read_text())


def dispatcher_list(settings: Settings) -> str:
    lines = ["# setid destination flags priority (generated from the engine settings)"]
    lines += [f"1 sip:{h}:{p} 0 0" for h, p in settings.engine_addresses()]
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_dispatcher_list(settings: Settings) -> Path:
    """(Re)write the engine list; a running Kamailio picks it up on dispatcher.reload."""
    out = edge_dir(settings)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "dispatcher.list"
    _write(path, dispatcher_list(settings))
    return path


async def kamailio_check(kamailio_bin: str, cfg: Path) -> str | None:
    """``kamailio -c``: None if cfg is valid, else Kamailio's own complaint."""
    try:
        proc = await asyncio.create_subprocess_exec(
            kamailio_bin,
            "-c",
            "-f",
            str(cfg),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
    except FileNotFoundError as exc:
        raise PbxError(
            f"Kamailio not found at {kamailio_bin}: install the kamailio package or set "
            "PBX_KAMAILIO_BIN"
        ) from exc
    output, _ = await proc.communicate()
    if proc.returncode == 0:
        return None
    text = output.decode(errors="replace").splitlines()
    errors = [ln.strip() for ln in text if "ERROR" in ln or "CRITICAL" in ln] or text
    return " | ".join(errors[-6:])


async def render(settings: Settings, db_url: str) -> Path:
    """Write the config and the dispatcher list, have Kamailio check them, return the cfg.

    The config is checked under a temporary name and only then moved into place, so a
    bad render never replaces a good config (the rejected one is kept as kamailio.cfg.bad).
    """
    _check(settings)
    out = edge_dir(settings)
    out.mkdir(parents=True, exist_ok=True)
    write_dispatcher_list(settings)
    cfg = out / "kamailio.cfg"
    candidate = out / "kamailio.cfg.new"
    candidate.write_text(render_text(settings, db_url))
    problem = await kamailio_check(settings.kamailio_bin, candidate)
    if problem is not None:
        bad = out / "kamailio.cfg.bad"
        os.replace(candidate, bad)
        raise PbxError(f"Kamailio rejects the generated config ({bad}): {problem}")
    os.replace(candidate, cfg)
    return cfg


def _engine_ip(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        try:
            return socket.gethostbyname(host)
        except OSError as exc:
            raise PbxError(f"engine host {host!r} does not resolve: {exc}") from exc


async def sync_trusted_engines(conn: asyncpg.Connection, settings: Settings) -> None:
    """Make permissions' address group 1 exactly the engine nodes.

    Kamailio reads the table at start (``KamailioSupervisor.reload`` re-reads it). The entry
    carries the engine's SIP port as well: on a single machine the phones and the engine
    share an address, and only the engine's socket is to be trusted.
    """
    nodes = sorted({(_engine_ip(h), p) for h, p in settings.engine_addresses()})
    rows = [(ip, ipaddress.ip_address(ip).max_prefixlen, port) for ip, port in nodes]
    async with conn.transaction():
        await conn.execute("DELETE FROM address WHERE grp = 1")
        await conn.executemany(
            "INSERT INTO address (grp, ip_addr, mask, port, tag) VALUES (1, $1, $2, $3, 'engine')",
            rows,
        )
