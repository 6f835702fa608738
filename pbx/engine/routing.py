"""Where a new call goes: a pure decision over what the directory says.

Three kinds of caller reach the engine: a device authenticated by the SIP edge
(internal or outbound call), a carrier trunk (inbound call to a company number), and
anyone else (refused).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from pbx.engine.events import CallOffered, Target


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


@dataclass(frozen=True)
class Company:
    id: int
    sip_domain: str
    blocked: bool = False  # the operator blocked the service (issue 6): no calls


@dataclass(frozen=True)
class Member:
    """An employee reachable at an extension."""

    employee_id: int
    ext: str
    name: str
    dnd: bool = False
    forward_mode: str = "off"  # off | always | unregistered
    mobile: str | None = None


@dataclass(frozen=True)
class Trunk:
    id: int
    company_id: int
    host: str
    port: int
    username: str | None
    password: str | None
    from_domain: str | None


@dataclass(frozen=True)
class Did:
    id: int
    company_id: int
    number: str
    trunk_id: int
    target_ext: str | None
    scenario: bool = False  # greeting, schedule or a target other than one extension
    channels: int | None = None  # concurrent calls the plan allows on it (None: any)


class Directory(Protocol):
    """Lookups routing needs; implemented over PostgreSQL in storage/directory.py."""

    async def company_by_domain(self, domain: str) -> Company | None: ...

    async def company(self, company_id: int) -> Company | None: ...

    async def member(self, company_id: int, ext: str) -> Member | None: ...

    async def did(self, number: str) -> Did | None: ...

    async def trunks_from(self, source_ip: str) -> list[Trunk]: ...

    async def outbound_route(self, company_id: int) -> tuple[Trunk, Did] | None: ...


@dataclass(frozen=True)
class Reject:
    code: int
    reason: str
    cause: str
    # Known when the caller could be identified: the call is recorded for that company.
    company_id: int | None = None
    direction: Direction | None = None
    caller: str = ""
    callee: str = ""
    caller_employee_id: int | None = None
    trunk_id: int | None = None
    number_id: int | None = None


@dataclass(frozen=True)
class Dial:
    target: Target
    company_id: int
    direction: Direction
    caller: str
    callee: str
    caller_employee_id: int | None = None
    callee_employee_id: int | None = None
    trunk_id: int | None = None
    number_id: int | None = None
    # Tried when the target is not registered (forward to mobile when unregistered).
    fallback: Target | None = None
    channels: int | None = None  # of the company number used (issue 6)


@dataclass(frozen=True)
class Inbound:
    """A client's call to a company number with a scenario (pbx.engine.scenario)."""

    company: Company
    caller: str
    callee: str
    trunk_id: int
    number_id: int
    caller_name: str | None = None
    direction: Direction = Direction.INBOUND
    caller_employee_id: int | None = None
    channels: int | None = None

    @property
    def company_id(self) -> int:
        return self.company.id


Decision = Reject | Dial | Inbound


def channels_busy(d: Dial | Inbound) -> Reject:
    """Every channel of the company number is taken: the caller hears busy."""
    return Reject(
        486,
        "Busy Here",
        "channels_busy",
        company_id=d.company_id,
        direction=d.direction,
        caller=d.caller,
        callee=d.callee,
        caller_employee_id=d.caller_employee_id,
        trunk_id=d.trunk_id,
        number_id=d.number_id,
    )


_EXTERNAL = re.compile(r"^\+?[0-9]{5,15}$")


def normalize_dialled(user: str) -> str:
    """Digits only: phones send '+7 (495) 123-45-67' or '8495…' in many shapes."""
    return re.sub(r"[^0-9]", "", user)


class Router:
    def __init__(
        self,
        directory: Directory,
        edge_sockets: set[tuple[str, int]],
        edge_proxy: tuple[str, int],
        device_port: int = 5060,
    ) -> None:
        self.directory = directory
        # Only the edge's own socket may assert a caller's identity (X-PBX-* headers).
        self.edge_sockets = edge_sockets
        self.edge_proxy = edge_proxy
        self.device_port = device_port

    def device_target(
        self, company: Company, member: Member, caller_id: str, name: str | None
    ) -> Target:
        return Target(
            user=member.ext,
            host=company.sip_domain,
            port=self.device_port,
            proxy=self.edge_proxy,
            caller_id=caller_id,
            caller_name=name,
        )

    async def route(self, offer: CallOffered) -> Decision:
        user = offer.headers.get("x-pbx-user")
        domain = offer.headers.get("x-pbx-domain")
        if (offer.source_ip, offer.source_port) in self.edge_sockets and user and domain:
            return await self._from_device(offer, user, domain)
        trunks = await self.directory.trunks_from(offer.source_ip)
        if trunks:
            return await self._from_trunk(offer, trunks)
        return Reject(403, "Forbidden", "unknown_source")

    async def _from_device(self, offer: CallOffered, user: str, domain: str) -> Decision:
        company = await self.directory.company_by_domain(domain)
        caller = await self.directory.member(company.id, user) if company else None
        if company is None or caller is None:
            return Reject(403, "Forbidden", "unknown_device")
        dialled = offer.ruri_user
        base = Reject(
            404,
            "Not Found",
            "no_such_extension",
            company_id=company.id,
            direction=Direction.INTERNAL,
            caller=caller.ext,
            callee=dialled,
            caller_employee_id=caller.employee_id,
        )
        if company.blocked:
            return replace(base, code=403, reason="Forbidden", cause="company_blocked")
        # Another company's domain in the request URI: never reachable from here.
        if offer.ruri_host != company.sip_domain and await self.directory.company_by_domain(
            offer.ruri_host
        ):
            return replace(base, code=403, reason="Forbidden", cause="other_company")
        callee = await self.directory.member(company.id, dialled)
        if callee is not None:
            if callee.employee_id == caller.employee_id:
                return replace(base, code=486, reason="Busy Here", cause="self_call")
            reach = await self.reach(company, callee, caller.ext, caller.name)
            if isinstance(reach, str):
                return replace(base, code=486, reason="Busy Here", cause=reach, callee=callee.ext)
            target, fallback = reach
            return Dial(
                target=target,
                fallback=fallback,
                company_id=company.id,
                direction=Direction.INTERNAL,
                caller=caller.ext,
                callee=callee.ext,
                caller_employee_id=caller.employee_id,
                callee_employee_id=callee.employee_id,
            )
        if not _EXTERNAL.match(dialled):
            return base
        number = normalize_dialled(dialled)
        out = await self.external(company.id, number)
        if out is None:
            return replace(
                base,
                code=403,
                reason="No Trunk",
                cause="no_trunk",
                direction=Direction.OUTBOUND,
                callee=number,
            )
        target, trunk, did = out
        return Dial(
            target=target,
            company_id=company.id,
            direction=Direction.OUTBOUND,
            caller=caller.ext,
            callee=number,
            caller_employee_id=caller.employee_id,
            trunk_id=trunk.id,
            number_id=did.id,
            channels=did.channels,
        )

    async def external(self, company_id: int, number: str) -> tuple[Target, Trunk, Did] | None:
        """A call out through the company's trunk, presenting the company number."""
        route = await self.directory.outbound_route(company_id)
        if route is None:
            return None
        trunk, did = route
        target = Target(
            user=number,
            host=trunk.host,
            port=trunk.port,
            proxy=None,
            caller_id=did.number,
            username=trunk.username,
            password=trunk.password,
        )
        return target, trunk, did

    async def reach(
        self, company: Company, member: Member, caller_id: str, name: str | None
    ) -> tuple[Target, Target | None] | str:
        """How to ring an employee now: their phones, their mobile, or a refusal cause.

        Do-not-disturb answers busy; forwarding "always" goes straight to the mobile,
        "unregistered" keeps the mobile as the fallback when no phone is registered.
        """
        if member.dnd:
            return "dnd"
        device = self.device_target(company, member, caller_id, name)
        if member.forward_mode == "off" or not member.mobile:
            return device, None
        out = await self.external(company.id, member.mobile)
        if out is None:
            return device, None  # no trunk to forward through: ring the phones
        mobile = out[0]
        if member.forward_mode == "always":
            return mobile, None
        return device, mobile

    async def _from_trunk(self, offer: CallOffered, trunks: list[Trunk]) -> Decision:
        # IP trunks put the number in the request URI; registration trunks often send to
        # the contact we registered (their login) and carry the number in To.
        did = await self.directory.did(normalize_dialled(offer.ruri_user))
        if did is None and offer.to_user:
            did = await self.directory.did(normalize_dialled(offer.to_user))
        trunk = next((t for t in trunks if did and t.company_id == did.company_id), None)
        if did is None or trunk is None:
            return Reject(404, "Not Found", "unknown_number")
        client = normalize_dialled(offer.from_user) or "anonymous"
        base = Reject(
            480,
            "Temporarily Unavailable",
            "no_target",
            company_id=did.company_id,
            direction=Direction.INBOUND,
            caller=client,
            callee=did.number,
            trunk_id=trunk.id,
            number_id=did.id,
        )
        owner = await self.directory.company(did.company_id)
        if owner is not None and owner.blocked:
            return replace(base, cause="company_blocked")
        if owner is None:
            return base
        if did.scenario:
            return Inbound(
                company=owner,
                caller=client,
                callee=did.number,
                trunk_id=trunk.id,
                number_id=did.id,
                caller_name=offer.from_name,
                channels=did.channels,
            )
        member = (
            await self.directory.member(did.company_id, did.target_ext) if did.target_ext else None
        )
        if member is None:
            return base
        reach = await self.reach(owner, member, client, offer.from_name)
        if isinstance(reach, str):
            return replace(base, code=486, reason="Busy Here", cause=reach)
        target, fallback = reach
        return Dial(
            target=target,
            fallback=fallback,
            company_id=did.company_id,
            direction=Direction.INBOUND,
            caller=client,
            callee=did.number,
            callee_employee_id=member.employee_id,
            trunk_id=trunk.id,
            number_id=did.id,
            channels=did.channels,
        )
