"""Kamailio as the SIP edge, started by its supervisor, against a fake engine node:
digest auth per company, identity headers, routing from the engine by location (fork,
404), in-dialog relaying both ways, engine failover, anti-flood, scanner and brute-force
bans, supervision.

Peers: a pjsua2 test phone (the registered device), SIPp (registrations with digest),
raw UDP sockets written here (the fake engine, extra contacts, floods, forged requests).
Source addresses 127.0.0.x keep the untrusted peers apart for pike and the bans.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from pbx.config import Settings
from pbx.edge import config as edge_config
from pbx.edge.config import MAX_CONTACTS, OFFICE_FACTOR, render, sync_trusted_engines
from pbx.edge.supervisor import KamailioSupervisor, sip_ping
from pbx.errors import PbxError
from pbx.services import Provisioning, SipCredentials
from tests.conftest import ROOT
from tests.support.phone import Phone
from tests.support.sipp import Sipp

EDGE_SECRET = f"edge-test-{secrets.token_hex(12)}"
ENGINE_AUTH = f"X-PBX-Auth: {EDGE_SECRET}\r\n"

EDGE = ("127.0.0.1", 26060)
ENGINE = ("127.0.0.1", 26070)
DEAD_ENGINE = ("127.0.0.1", 26071)  # listed for the dispatcher, never answers
SIPP = Path(__file__).with_name("sipp")
SDP = (
    "v=0\r\no=engine 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 26090 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


# --- raw SIP -------------------------------------------------------------------------


def header(msg: str, name: str) -> str | None:
    values = headers(msg, name)
    return values[0] if values else None


def headers(msg: str, name: str) -> list[str]:
    head = msg.split("\r\n\r\n", 1)[0].split("\r\n")[1:]
    pairs = (line.partition(":") for line in head)
    return [v.strip() for k, _, v in pairs if k.strip().lower() == name.lower()]


def status(msg: str) -> int | None:
    first = msg.split("\r\n", 1)[0]
    return int(first.split(" ")[1]) if first.startswith("SIP/2.0 ") else None


def method(msg: str) -> str:
    return msg.split(" ", 1)[0]


def uri_of(value: str) -> str:
    """sip:... out of a name-addr header value."""
    return value[value.index("<") + 1 : value.index(">")] if "<" in value else value


def request(
    meth: str,
    ruri: str,
    local: tuple[str, int],
    *,
    from_uri: str | None = None,
    to_uri: str | None = None,
    call_id: str | None = None,
    from_tag: str | None = None,
    to_tag: str | None = None,
    cseq: int = 1,
    ua: str = "tgpbx-test",
    extra: str = "",
    body: str = "",
) -> str:
    host, port = local
    ctype = "Content-Type: application/sdp\r\n" if body else ""
    to_param = f";tag={to_tag}" if to_tag else ""
    return (
        f"{meth} {ruri} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK{secrets.token_hex(8)};rport\r\n"
        f"From: <{from_uri or f'sip:probe@{host}'}>;tag={from_tag or secrets.token_hex(4)}\r\n"
        f"To: <{to_uri or ruri}>{to_param}\r\n"
        f"Call-ID: {call_id or secrets.token_hex(8)}@{host}\r\nCSeq: {cseq} {meth}\r\n"
        f"Max-Forwards: 70\r\nContact: <sip:probe@{host}:{port}>\r\nUser-Agent: {ua}\r\n"
        f"{extra}{ctype}Content-Length: {len(body)}\r\n\r\n{body}"
    )


def response(
    req: str,
    code: int,
    reason: str,
    *,
    contact: str | None = None,
    body: str = "",
    to_tag: str | None = None,
) -> str:
    """A UAS's answer: Vias, From, To (with a tag), Call-ID, CSeq, and Record-Route."""
    lines = [f"SIP/2.0 {code} {reason}"]
    for name in ("Via", "From", "To", "Call-ID", "CSeq", "Record-Route"):
        for value in headers(req, name):
            if name == "To" and ";tag=" not in value:
                value += f";tag={to_tag or secrets.token_hex(4)}"
            lines.append(f"{name}: {value}")
    if contact:
        lines.append(f"Contact: <{contact}>")
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body)}")
    return "\r\n".join(lines) + "\r\n\r\n" + body


def ack_for(invite: str, final: str) -> str:
    """The hop-by-hop ACK of a negative final response to our INVITE."""
    cseq = (header(invite, "CSeq") or "1").split()[0]
    return (
        f"ACK {invite.split(' ')[1]} SIP/2.0\r\nVia: {header(invite, 'Via')}\r\n"
        f"From: {header(invite, 'From')}\r\nTo: {header(final, 'To')}\r\n"
        f"Call-ID: {header(invite, 'Call-ID')}\r\nCSeq: {cseq} ACK\r\n"
        "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )


def digest(challenge: str, meth: str, uri: str, user: str, password: str) -> str:
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge.split(" ", 1)[1]))

    def md5(text: str) -> str:
        return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()

    ha1, ha2 = md5(f"{user}:{params['realm']}:{password}"), md5(f"{meth}:{uri}")
    fields = f'username="{user}", realm="{params["realm"]}", nonce="{params["nonce"]}", uri="{uri}"'
    if "qop" in params:
        cnonce = secrets.token_hex(4)
        resp = md5(f"{ha1}:{params['nonce']}:00000001:{cnonce}:auth:{ha2}")
        fields += f', qop=auth, nc=00000001, cnonce="{cnonce}"'
    else:
        resp = md5(f"{ha1}:{params['nonce']}:{ha2}")
    return f'Digest {fields}, response="{resp}", algorithm=MD5'


def registration(
    peer: Peer, login: str, domain: str, expires: int = 300
) -> Callable[[int, str], str]:
    """A REGISTER of sip:login@domain with the peer's own address as Contact."""
    aor, call_id = f"sip:{login}@{domain}", secrets.token_hex(8)

    def build(cseq: int, auth: str) -> str:
        return request(
            "REGISTER",
            f"sip:{domain}",
            peer.addr,
            from_uri=aor,
            to_uri=aor,
            call_id=call_id,
            from_tag="reg",
            cseq=cseq,
            extra=f"{auth}Expires: {expires}\r\n",
        )

    return build


class Peer(asyncio.DatagramProtocol):
    """A raw SIP endpoint over UDP; every message it receives waits in ``inbox``."""

    def __init__(self) -> None:
        self.inbox: list[str] = []
        self._arrived = asyncio.Event()
        self.transport: asyncio.DatagramTransport | None = None
        self.addr: tuple[str, int] = ("", 0)

    @classmethod
    async def open(cls, host: str, port: int = 0) -> Any:
        loop = asyncio.get_running_loop()
        _, peer = await loop.create_datagram_endpoint(cls, local_addr=(host, port))
        return peer

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.addr = transport.get_extra_info("sockname")[:2]

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.on_message(data.decode(errors="replace"))

    def on_message(self, msg: str) -> None:
        self.inbox.append(msg)
        self._arrived.set()

    def send(self, msg: str, to: tuple[str, int] = EDGE) -> None:
        assert self.transport is not None
        self.transport.sendto(msg.encode(), to)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    async def take(self, match: Callable[[str], bool], timeout: float = 5.0) -> str | None:
        """The oldest message that matches (removed from the inbox); None after timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for i, msg in enumerate(self.inbox):
                if match(msg):
                    return self.inbox.pop(i)
            left = deadline - loop.time()
            if left <= 0:
                return None
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except TimeoutError:
                pass

    async def final(self, timeout: float = 5.0) -> str | None:
        return await self.take(lambda m: (status(m) or 0) >= 200, timeout)

    async def authenticated(
        self, build: Callable[[int, str], str], user: str, password: str, timeout: float = 5.0
    ) -> str | None:
        """Send build(cseq, auth header line), answer one challenge; the final response."""
        req = build(1, "")
        self.send(req)
        final = await self.final(timeout)
        code = status(final) if final else None
        if final is None or code not in (401, 407):
            return final
        name = "WWW-Authenticate" if code == 401 else "Proxy-Authenticate"
        challenge = header(final, name)
        assert challenge is not None, final
        meth, uri = req.split(" ")[:2]
        auth = "Authorization" if code == 401 else "Proxy-Authorization"
        req = build(2, f"{auth}: {digest(challenge, meth, uri, user, password)}\r\n")
        self.send(req)
        final = await self.final(timeout)
        if final is not None and meth == "INVITE" and (status(final) or 0) >= 300:
            self.send(ack_for(req, final))
        return final


class Engine(Peer):
    """The fake engine node: answers OPTIONS (the dispatcher's probes) with 200, INVITE
    with ``invite_code`` (200 with SDP, or an error), BYE with 200, and ACKs negative
    answers to its own INVITEs. Everything else it receives is kept in the inbox."""

    invite_code = 486

    def __init__(self) -> None:
        super().__init__()
        self.sent_invites: dict[str, str] = {}

    def on_message(self, msg: str) -> None:
        meth = method(msg)
        if meth == "OPTIONS":
            self.send(response(msg, 200, "OK"))
            return
        if meth == "INVITE":
            if self.invite_code == 200:
                contact = f"sip:engine@{self.addr[0]}:{self.addr[1]}"
                self.send(response(msg, 200, "OK", contact=contact, body=SDP, to_tag="engine"))
            else:
                self.send(response(msg, self.invite_code, "Busy Here"))
        elif meth == "BYE":
            self.send(response(msg, 200, "OK"))
        elif (status(msg) or 0) >= 300 and (header(msg, "CSeq") or "").endswith("INVITE"):
            self.send(ack_for(self.sent_invites.get(header(msg, "Call-ID") or "", ""), msg))
        super().on_message(msg)

    def invite(self, ruri: str, extra: str = ENGINE_AUTH) -> str:
        """Send an INVITE to the edge (as the engine does: from its own socket, with
        the secret the engines share with the edge)."""
        msg = request("INVITE", ruri, self.addr, from_uri=f"sip:engine@{self.addr[0]}", extra=extra)
        self.sent_invites[header(msg, "Call-ID") or ""] = msg
        self.send(msg)
        return msg

    async def request_(self, meth: str, timeout: float = 10.0) -> str:
        msg = await self.take(lambda m: method(m) == meth, timeout)
        assert msg is not None, f"the engine got no {meth} within {timeout} s: {self.inbox}"
        return msg

    async def final_to(self, invite: str, timeout: float = 10.0) -> int:
        cid = header(invite, "Call-ID")
        msg = await self.take(
            lambda m: (status(m) or 0) >= 200 and header(m, "Call-ID") == cid, timeout
        )
        assert msg is not None, f"no final answer to the engine's INVITE: {self.inbox}"
        return status(msg) or 0


# --- fixtures --------------------------------------------------------------------------


@dataclass
class Edge:
    sup: KamailioSupervisor
    engine: Engine
    dead: Peer
    settings: Settings


@pytest.fixture(scope="module")
async def edge(db_dsn: str, pool: asyncpg.Pool) -> AsyncIterator[Edge]:
    settings = Settings(
        edge_secret=EDGE_SECRET,
        data_dir=ROOT / "var" / "edge-test",
        database_url=db_dsn,
        sip_domain="edge.test",
        edge_port=EDGE[1],
        engine_port=ENGINE[1],
        engine_nodes=f"{DEAD_ENGINE[0]}:{DEAD_ENGINE[1]}",
        pike_reqs_density=20,
        ban_seconds=60,
        auth_fail_limit=3,
        account_fail_limit=4,
    )
    engine: Engine = await Engine.open(*ENGINE)
    dead: Peer = await Peer.open(*DEAD_ENGINE)
    async with pool.acquire() as conn:
        await sync_trusted_engines(conn, settings)
    sup = KamailioSupervisor(settings, db_dsn)
    await sup.start()
    try:
        yield Edge(sup, engine, dead, settings)
    finally:
        await sup.stop()
        engine.close()
        dead.close()


@pytest.fixture(scope="module")
async def prov(pool: asyncpg.Pool) -> Provisioning:
    return Provisioning(pool, Settings(sip_domain="edge.test", edge_port=EDGE[1]))


@dataclass
class Device:
    phone: Phone
    creds: SipCredentials
    company_id: int


@pytest.fixture(scope="module")
async def device(prov: Provisioning, edge: Edge) -> AsyncIterator[Device]:
    """Company A's employee with a registered pjsua2 phone at 127.0.0.1:26101."""
    company = await prov.create_company("Edge Co")
    creds = (await prov.add_employee(company.id, "Dev")).credentials
    phone = Phone(port=26101, name="edge-dev")
    await phone.start()
    await phone.register(
        uri=f"sip:{creds.login}@{creds.domain}",
        registrar=f"sip:127.0.0.1:{EDGE[1]}",
        username=creds.login,
        password=creds.password,
        realm=creds.domain,
        proxy=f"sip:127.0.0.1:{EDGE[1]};lr",
    )
    yield Device(phone, creds, company.id)
    await phone.close()


@pytest.fixture(scope="module")
async def other(prov: Provisioning, edge: Edge) -> SipCredentials:
    """Company B's first employee: the same extension number as A's, another domain."""
    company = await prov.create_company("Other Co")
    return (await prov.add_employee(company.id, "Rival")).credentials


async def sipp_register(
    scenario: str,
    source: str,
    port: int,
    user: str,
    password: str,
    domain: str,
    expires: int,
    transport: str = "u1",
) -> int:
    sipp = Sipp(
        [
            f"{EDGE[0]}:{EDGE[1]}",
            "-t",
            transport,
            "-sf",
            str(SIPP / scenario),
            "-i",
            source,
            "-p",
            str(port),
            "-s",
            user,
            "-au",
            user,
            "-ap",
            password,
            "-auth_uri",
            domain,
            "-key",
            "domain",
            domain,
            "-key",
            "expires",
            str(expires),
            "-m",
            "1",
        ],
        timeout=10,
    )
    await sipp.start()
    result = await sipp.wait()
    assert result.returncode in (0, 1), result.output[-2000:]
    return result.returncode


async def contacts(pool: asyncpg.Pool, creds: SipCredentials) -> list[str]:
    rows = await pool.fetch(
        "SELECT contact FROM location WHERE username = $1 AND domain = $2",
        creds.login,
        creds.domain,
    )
    return [r["contact"] for r in rows]


# --- registration and authentication -------------------------------------------------


async def test_phone_registration_is_written_to_location(
    pool: asyncpg.Pool, device: Device
) -> None:
    assert [c for c in await contacts(pool, device.creds) if ":26101" in c]


async def test_register_and_unregister_with_sipp(
    pool: asyncpg.Pool, edge: Edge, other: SipCredentials
) -> None:
    for transport in ("u1", "t1"):  # UDP, then TCP
        args = ("127.0.0.3", 26201, other.login, other.password, other.domain)
        assert await sipp_register("register.xml", *args, 300, transport) == 0
        assert f"sip:{other.login}@127.0.0.3:26201" in await contacts(pool, other)
        assert await sipp_register("register.xml", *args, 0, transport) == 0
        assert await contacts(pool, other) == []


async def test_wrong_password_is_refused(pool: asyncpg.Pool, device: Device) -> None:
    c = device.creds
    code = await sipp_register(
        "register_refused.xml", "127.0.0.4", 26202, c.login, "wrong-" + c.password, c.domain, 300
    )
    assert code == 0  # challenged again or 403, never 200
    assert not [x for x in await contacts(pool, c) if "127.0.0.4" in x]


async def test_device_cannot_authenticate_in_another_company(
    device: Device, other: SipCredentials
) -> None:
    a = device.creds
    assert a.login == other.login and a.domain != other.domain  # same ext, other company
    code = await sipp_register(
        "register_refused.xml", "127.0.0.5", 26203, a.login, a.password, other.domain, 300
    )
    assert code == 0
    # Nor can it place a call as the other company's extension.
    peer: Peer = await Peer.open("127.0.0.5")
    try:
        final = await peer.authenticated(
            lambda cseq, auth: request(
                "INVITE",
                f"sip:100@{other.domain}",
                peer.addr,
                from_uri=f"sip:{a.login}@{other.domain}",
                call_id="cross",
                from_tag="cross",
                cseq=cseq,
                extra=auth,
            ),
            a.login,
            a.password,
        )
        assert final is not None and status(final) in (403, 407), final
    finally:
        peer.close()


async def test_authenticated_device_cannot_spoof_another_extension(
    edge: Edge, device: Device
) -> None:
    c = device.creds
    peer: Peer = await Peer.open("127.0.0.6")
    try:
        final = await peer.authenticated(
            lambda cseq, auth: request(
                "INVITE",
                f"sip:555@{c.domain}",
                peer.addr,
                from_uri=f"sip:999@{c.domain}",
                call_id="spoof",
                from_tag="spoof",
                cseq=cseq,
                extra=auth,
            ),
            c.login,
            c.password,
        )
        assert final is not None and status(final) == 403, final
    finally:
        peer.close()


# --- routing ----------------------------------------------------------------------------


async def test_device_call_reaches_engine_with_its_identity_only(
    edge: Edge, device: Device
) -> None:
    phone, c = device.phone, device.creds
    phone.mark()
    await phone.call(
        f"sip:555@{c.domain}", headers={"X-PBX-User": "999", "x-pbx-domain": "evil.test"}
    )
    invite = await edge.engine.request_("INVITE")
    assert headers(invite, "X-PBX-User") == [c.login]
    assert headers(invite, "X-PBX-Domain") == [c.domain]
    # Forged identity stripped: no header carries it (a random branch may hold "999").
    assert not re.search(r"^[^:\r\n]+:\s*999\s*$", invite, re.M), invite
    assert "evil.test" not in invite
    assert header(invite, "Record-Route") is not None
    ended = await phone.wait_state("DISCONNECTED")
    assert ended["last_status_code"] == 486


async def test_engine_reaches_registered_device_and_gets_404_for_others(
    edge: Edge, device: Device
) -> None:
    phone, c = device.phone, device.creds
    phone.mark()
    # From the engine's own socket (address and port trusted by permissions): no challenge.
    invite = edge.engine.invite(f"sip:{c.login}@{c.domain}")
    incoming = await phone.wait_incoming()
    assert c.login in incoming["request_uri"]
    await phone.reject(486)
    assert await edge.engine.final_to(invite) == 486
    assert await edge.engine.final_to(edge.engine.invite(f"sip:199@{c.domain}")) == 404


async def test_the_engines_address_without_its_secret_rings_no_phone(
    edge: Edge, device: Device
) -> None:
    """A datagram's source can be forged: from the engine's socket, an INVITE without
    the engines' secret (or with a wrong one) is refused and no phone rings (issue 18.6)."""
    phone, c = device.phone, device.creds
    phone.mark()
    for extra in ("", "X-PBX-Auth: guessed-secret-value\r\n"):
        assert (
            await edge.engine.final_to(edge.engine.invite(f"sip:{c.login}@{c.domain}", extra))
            == 403
        )
    # The same request with the secret rings the phone, after the refused ones.
    invite = edge.engine.invite(f"sip:{c.login}@{c.domain}")
    incoming = await phone.wait_incoming()
    assert incoming["call_id"] == (header(invite, "Call-ID") or "")
    await phone.reject(486)
    assert await edge.engine.final_to(invite) == 486


async def test_a_device_past_the_contact_limit_replaces_the_one_expiring_soonest(
    pool: asyncpg.Pool, prov: Provisioning, device: Device
) -> None:
    """Before: the 11th contact got 503 until an old binding expired (up to an hour)."""
    c = (await prov.add_employee(device.company_id, "Many phones")).credentials
    phones: list[Peer] = [await Peer.open(f"127.0.0.{80 + i}") for i in range(MAX_CONTACTS + 1)]
    try:
        for i, p in enumerate(phones):
            reg = registration(p, c.login, c.domain, expires=60 if i == 0 else 300)
            final = await p.authenticated(reg, c.login, c.password)
            assert final is not None and status(final) == 200, final
        kept = await contacts(pool, c)
        assert len(kept) == MAX_CONTACTS, kept
        assert not [k for k in kept if "@127.0.0.80:" in k]  # the soonest to expire made room
        assert [k for k in kept if f"@127.0.0.{80 + MAX_CONTACTS}:" in k]
        # A known contact refreshing at the limit replaces nobody.
        again = await phones[5].authenticated(
            registration(phones[5], c.login, c.domain), c.login, c.password
        )
        assert again is not None and status(again) == 200
        assert sorted(await contacts(pool, c)) == sorted(kept)
    finally:
        for p in phones:
            p.close()


async def test_engine_call_forks_to_every_contact(
    edge: Edge, prov: Provisioning, device: Device
) -> None:
    c = (await prov.add_employee(device.company_id, "Forky")).credentials
    phones: list[Peer] = [await Peer.open("127.0.0.7"), await Peer.open("127.0.0.8")]
    try:
        for p in phones:
            final = await p.authenticated(registration(p, c.login, c.domain), c.login, c.password)
            assert final is not None and status(final) == 200, final
        invite = edge.engine.invite(f"sip:{c.login}@{c.domain}")
        for p in phones:
            got = await p.take(lambda m: method(m) == "INVITE")
            assert got is not None and got.startswith(f"INVITE sip:probe@{p.addr[0]}:"), got
            assert header(got, "Record-Route") is not None
            p.send(response(got, 486, "Busy Here"))
        assert await edge.engine.final_to(invite) == 486
    finally:
        for p in phones:
            p.close()


async def test_phone_behind_nat_is_reached_at_its_public_address(
    edge: Edge, prov: Provisioning, device: Device, pool: asyncpg.Pool
) -> None:
    """A phone whose Contact is a private address it cannot be reached at: the edge keeps
    the address the REGISTER came from and sends calls there; its INVITEs get an alias."""
    c = (await prov.add_employee(device.company_id, "Nat")).credentials
    private = "sip:nat@192.168.1.50:5062"
    phone: Peer = await Peer.open("127.0.0.15")

    def nated(meth: str, ruri: str, to_uri: str) -> Callable[[int, str], str]:
        def build(cseq: int, auth: str) -> str:
            msg = request(
                meth,
                ruri,
                ("192.168.1.50", 5062),  # Via and Contact as the phone sees itself
                from_uri=f"sip:{c.login}@{c.domain}",
                to_uri=to_uri,
                call_id=f"nat-{meth}",
                from_tag="nat",
                cseq=cseq,
                extra=f"{auth}Expires: 300\r\n",
            )
            return msg.replace("sip:probe@192.168.1.50:5062", private)

        return build

    try:
        aor = f"sip:{c.login}@{c.domain}"
        final = await phone.authenticated(
            nated("REGISTER", f"sip:{c.domain}", aor), c.login, c.password
        )
        assert final is not None and status(final) == 200, final
        row = await pool.fetchrow(
            "SELECT contact, received FROM location WHERE username = $1 AND domain = $2",
            c.login,
            c.domain,
        )
        assert row is not None and row["contact"] == private
        assert row["received"] == f"sip:127.0.0.15:{phone.addr[1]}"
        # A call to it from the engine goes to where the phone really is.
        invite = edge.engine.invite(aor)
        got = await phone.take(lambda m: method(m) == "INVITE")
        assert got is not None and got.startswith(f"INVITE {private} "), got
        phone.send(response(got, 486, "Busy Here"))
        assert await edge.engine.final_to(invite) == 486
        # Its own call reaches the engine with a Contact the engine can reach it at.
        final = await phone.authenticated(
            nated("INVITE", f"sip:555@{c.domain}", f"sip:555@{c.domain}"), c.login, c.password
        )
        assert final is not None and status(final) == 486
        sent = await edge.engine.request_("INVITE")
        assert f";alias=127.0.0.15~{phone.addr[1]}~1" in (header(sent, "Contact") or ""), sent
    finally:
        phone.close()


def engine_bye(invite: str, sippy_style: bool) -> str:
    """The engine's BYE for a dialog it answered (its To tag is "engine").

    RFC 3261: R-URI = the phone's Contact, Route = the Record-Route set. sippy with an
    outbound proxy instead puts the proxy in the R-URI and the Contact in the last Route.
    """
    target = uri_of(header(invite, "Contact") or "")
    routes = [uri_of(rr) for rr in headers(invite, "Record-Route")]
    if sippy_style:
        ruri, routes = routes[0].split(";", 1)[0], [*routes, target]
    else:
        ruri = target
    return (
        f"BYE {ruri} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {ENGINE[0]}:{ENGINE[1]};branch=z9hG4bK{secrets.token_hex(8)}\r\n"
        + "".join(f"Route: <{r}>\r\n" for r in routes)
        + f"From: {header(invite, 'To')};tag=engine\r\nTo: {header(invite, 'From')}\r\n"
        f"Call-ID: {header(invite, 'Call-ID')}\r\nCSeq: 1 BYE\r\n"
        "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )


async def test_in_dialog_requests_are_relayed_both_ways(edge: Edge, device: Device) -> None:
    phone, c, engine = device.phone, device.creds, edge.engine
    engine.invite_code = 200
    try:
        for sippy_style in (False, True):  # the engine hangs up
            phone.mark()
            await phone.call(f"sip:555@{c.domain}")
            invite = await engine.request_("INVITE")
            await phone.wait_state("CONFIRMED")
            await engine.request_("ACK")
            engine.send(engine_bye(invite, sippy_style))
            await phone.wait_state("DISCONNECTED")
            ok = await engine.take(
                lambda m: status(m) == 200 and "BYE" in (header(m, "CSeq") or "")
            )
            assert ok is not None, f"no 200 for the engine's BYE (sippy style: {sippy_style})"
        # The phone hangs up.
        phone.mark()
        await phone.call(f"sip:555@{c.domain}")
        await engine.request_("INVITE")
        await phone.wait_state("CONFIRMED")
        await engine.request_("ACK")
        await phone.hangup()
        await engine.request_("BYE")
        await phone.wait_state("DISCONNECTED")
    finally:
        engine.invite_code = 486


async def test_phone_in_dialog_request_goes_to_engines_only(edge: Edge) -> None:
    peer: Peer = await Peer.open("127.0.0.9")
    try:
        # A forged in-dialog request through the edge to somewhere else: not relayed.
        route = f"Route: <sip:{EDGE[0]}:{EDGE[1]};lr>\r\n"
        for target in ("sip:victim@192.0.2.1:5060", "sip:victim@relay.example.invalid"):
            peer.send(request("BYE", target, peer.addr, to_tag="abc", extra=route))
            final = await peer.final()
            assert final is not None and status(final) == 403, final
    finally:
        peer.close()


async def test_dead_engine_fails_over_and_is_marked_down(edge: Edge, device: Device) -> None:
    phone, c = device.phone, device.creds
    for _ in range(2):  # round robin: one of two calls meets the dead node first
        phone.mark()
        await phone.call(f"sip:555@{c.domain}")
        await edge.engine.request_("INVITE")
        ended = await phone.wait_state("DISCONNECTED")
        assert ended["last_status_code"] == 486
    listing = await edge.sup.rpc("dispatcher.list")
    flags = dict(re.findall(r"URI: sip:([\d.]+:\d+)\s+FLAGS: (\w+)", listing))
    assert flags[f"{ENGINE[0]}:{ENGINE[1]}"].startswith("A"), listing
    assert not flags[f"{DEAD_ENGINE[0]}:{DEAD_ENGINE[1]}"].startswith("A"), listing


async def test_options_to_the_edge_is_a_keepalive(edge: Edge) -> None:
    peer: Peer = await Peer.open("127.0.0.10")
    try:
        peer.send(request("OPTIONS", f"sip:{EDGE[0]}:{EDGE[1]}", peer.addr))
        final = await peer.final()
        assert final is not None and status(final) == 200
    finally:
        peer.close()


# --- protection --------------------------------------------------------------------------


async def test_scanner_gets_no_answer_and_is_banned(edge: Edge) -> None:
    scanner: Peer = await Peer.open("127.0.0.11")
    try:
        scanner.send(request("OPTIONS", "sip:100@edge.test", scanner.addr, ua="Friendly-Scanner"))
        assert await scanner.final(timeout=1.0) is None
        scanner.send(request("OPTIONS", f"sip:{EDGE[0]}", scanner.addr))  # now banned
        assert await scanner.final(timeout=0.5) is None
    finally:
        scanner.close()


async def test_flood_is_banned_but_engine_and_others_are_served(edge: Edge) -> None:
    flooder: Peer = await Peer.open("127.0.0.12")
    bystander: Peer = await Peer.open("127.0.0.13")
    try:
        for _ in range(60):  # three times this edge's pike density
            flooder.send(request("OPTIONS", f"sip:{EDGE[0]}", flooder.addr))
        # The answers sent before the ban, then silence.
        while await flooder.final(timeout=0.5) is not None:
            pass
        flooder.send(request("OPTIONS", f"sip:{EDGE[0]}", flooder.addr))
        assert await flooder.final(timeout=1.0) is None, "the flooder is still answered"
        bystander.send(request("OPTIONS", f"sip:{EDGE[0]}", bystander.addr))
        final = await bystander.final()
        assert final is not None and status(final) == 200
        # The engine is exempt: the same flood from it is answered in full.
        for _ in range(60):
            edge.engine.send(request("OPTIONS", f"sip:{EDGE[0]}", edge.engine.addr))
        for _ in range(60):
            ok = await edge.engine.take(lambda m: status(m) == 200)
            assert ok is not None
    finally:
        flooder.close()
        bystander.close()


async def test_an_office_rebooting_re_registers_without_a_ban(
    edge: Edge, prov: Provisioning, device: Device
) -> None:
    """Many phones behind one address re-register together (two requests each, past the
    address's pike density): counted per device, nobody is banned. A forged scanner
    datagram from that address bans nothing; a flood from all its ports still does."""
    office = "127.0.0.95"
    density = edge.settings.pike_reqs_density
    staff = [
        (await prov.add_employee(device.company_id, f"Office {i}")).credentials
        for i in range(density)
    ]
    phones: list[Peer] = [await Peer.open(office) for _ in staff]
    try:
        first = await phones[0].authenticated(
            registration(phones[0], staff[0].login, staff[0].domain),
            staff[0].login,
            staff[0].password,
        )
        assert first is not None and status(first) == 200
        # The router reboots: every phone registers again at once.
        finals = await asyncio.gather(
            *(p.authenticated(registration(p, c.login, c.domain), c.login, c.password)
              for p, c in zip(phones, staff, strict=True))
        )  # fmt: skip
        assert [status(f) if f else None for f in finals] == [200] * len(phones)
        # One forged scanner datagram with the office's address: no ban.
        phones[1].send(request("OPTIONS", "sip:100@edge.test", phones[1].addr, ua="sipvicious"))
        assert await phones[1].final(timeout=0.5) is None
        phones[1].send(request("OPTIONS", f"sip:{EDGE[0]}", phones[1].addr))
        ok = await phones[1].final()
        assert ok is not None and status(ok) == 200
        # Past OFFICE_FACTOR times the density from the address: banned after all.
        # (more than twice the limit: the burst may straddle two 2 s windows)
        for p in phones:
            for _ in range(OFFICE_FACTOR * 2 + 5):
                p.send(request("OPTIONS", f"sip:{EDGE[0]}", p.addr))
        for p in phones:
            while await p.final(timeout=0.3) is not None:
                pass
        phones[2].send(request("OPTIONS", f"sip:{EDGE[0]}", phones[2].addr))
        assert await phones[2].final(timeout=1.0) is None, "the office flood is not banned"
    finally:
        for p in phones:
            p.close()


async def test_password_guessing_is_banned(edge: Edge, device: Device) -> None:
    c = device.creds
    guesser: Peer = await Peer.open("127.0.0.14")
    try:
        limit = edge.settings.auth_fail_limit
        for _ in range(limit - 1):
            register = registration(guesser, c.login, c.domain)
            final = await guesser.authenticated(register, c.login, "guess")
            assert final is not None and status(final) == 401
        register = registration(guesser, c.login, c.domain)
        assert await guesser.authenticated(register, c.login, "guess", timeout=1.0) is None
        guesser.send(registration(guesser, c.login, c.domain)(1, ""))  # not even a challenge
        assert await guesser.final(timeout=0.5) is None
    finally:
        guesser.close()


async def test_guessing_one_account_from_many_addresses_is_banned(
    edge: Edge, prov: Provisioning
) -> None:
    """Each address stays under the per-address limit (one wrong try each), but the
    account's own count bans every address that fails on it past its limit; the right
    password still works (issue 18.7)."""
    company = await prov.create_company("Guessed Co")
    c = (await prov.add_employee(company.id, "Target")).credentials
    limit = edge.settings.account_fail_limit
    guessers = [await Peer.open(f"127.0.0.{60 + i}") for i in range(limit + 2)]
    try:
        for guesser in guessers[:limit]:
            final = await guesser.authenticated(
                registration(guesser, c.login, c.domain), c.login, "guess"
            )
            assert final is not None and status(final) == 401
        late = guessers[limit]
        # Past the account's limit: this address's first wrong try bans it.
        assert (
            await late.authenticated(
                registration(late, c.login, c.domain), c.login, "guess", timeout=1.0
            )
            is None
        )
        late.send(registration(late, c.login, c.domain)(1, ""))
        assert await late.final(timeout=0.5) is None  # banned: not even a challenge
        owner = guessers[limit + 1]
        final = await owner.authenticated(
            registration(owner, c.login, c.domain), c.login, c.password
        )
        assert final is not None and status(final) == 200
    finally:
        for guesser in guessers:
            guesser.close()


# --- configuration and supervision -------------------------------------------------------


async def test_trusted_engines_are_exactly_the_engine_nodes(edge: Edge, pool: asyncpg.Pool) -> None:
    await pool.execute(
        "INSERT INTO address (grp, ip_addr, mask, port, tag) VALUES (1, '192.0.2.9', 32, 0, 'x'),"
        " (2, '192.0.2.10', 32, 0, 'other group')"
    )
    async with pool.acquire() as conn:
        await sync_trusted_engines(conn, edge.settings)
    engines = await pool.fetch(
        "SELECT ip_addr, mask, port FROM address WHERE grp = 1 ORDER BY port"
    )
    assert [tuple(r) for r in engines] == [
        ("127.0.0.1", 32, ENGINE[1]),
        ("127.0.0.1", 32, DEAD_ENGINE[1]),
    ]
    assert await pool.fetchval("SELECT count(*) FROM address WHERE tag = 'other group'") == 1
    await pool.execute("DELETE FROM address WHERE tag = 'other group'")
    await edge.sup.reload()  # dispatcher list and address table re-read without a restart
    assert f"{ENGINE[1]}" in await edge.sup.rpc("permissions.addressDump")


async def test_render_reports_kamailio_errors(
    edge: Edge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path, engine_port=ENGINE[1], edge_secret=EDGE_SECRET)
    broken = tmp_path / "broken.tmpl"
    broken.write_text('#!KAMAILIO\nmpath="@@MPATH@@"\nloadmodule "no_such_module.so"\n')
    monkeypatch.setattr(edge_config, "TEMPLATE", broken)
    with pytest.raises(PbxError, match="no_such_module"):
        await render(settings, "postgresql://pbx@127.0.0.1/pbx")
    monkeypatch.undo()
    with pytest.raises(PbxError, match="PBX_ENGINE_ADVERTISE"):
        await render(
            Settings(data_dir=tmp_path, engine_host="0.0.0.0", edge_secret=EDGE_SECRET),
            "postgresql://x/y",
        )


async def test_second_edge_on_a_busy_port_is_refused(edge: Edge, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, edge_port=EDGE[1], engine_port=ENGINE[1], edge_secret=EDGE_SECRET
    )
    with pytest.raises(PbxError, match="already in use"):
        await KamailioSupervisor(settings, "postgresql://pbx@127.0.0.1/pbx").start()


async def test_supervisor_restarts_killed_kamailio(edge: Edge, device: Device) -> None:
    sup = edge.sup
    before = sup.status()
    assert before["running"] and before["pid"]
    os.kill(before["pid"], signal.SIGKILL)

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while True:
        st = sup.status()
        if st["restarts"] == before["restarts"] + 1 and st["running"] and await sip_ping(*EDGE):
            break
        assert loop.time() < deadline, st
        await asyncio.sleep(0.1)  # poll interval
    st = sup.status()
    assert st["pid"] != before["pid"] and st["last_exit"] == -signal.SIGKILL
    # Registrations were written through and are loaded back: the phone is still reachable.
    device.phone.mark()
    invite = edge.engine.invite(f"sip:{device.creds.login}@{device.creds.domain}")
    await device.phone.wait_incoming()
    await device.phone.reject(486)
    assert await edge.engine.final_to(invite) == 486


async def test_supervisor_gives_up_after_repeated_exits(
    edge: Edge, db_dsn: str, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path, edge_port=26062, engine_port=ENGINE[1], edge_secret=EDGE_SECRET
    )
    sup = KamailioSupervisor(settings, db_dsn, max_restarts=1, restart_window=60)
    await sup.start()
    try:
        loop = asyncio.get_running_loop()
        for restarts in (1, 2):
            pid = sup.status()["pid"]
            os.kill(pid, signal.SIGKILL)
            deadline = loop.time() + 20
            while True:
                st = sup.status()
                if (restarts == 1 and st["restarts"] == 1 and st["pid"] != pid) or (
                    restarts == 2 and st["failed"]
                ):
                    break
                assert loop.time() < deadline, st
                await asyncio.sleep(0.05)  # poll interval
        st = sup.status()
        assert not st["running"] and st["restarts"] == 1 and "2 times" in st["failed"], st
    finally:
        await sup.stop()
