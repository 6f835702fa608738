"""What sippy 2.5 gets wrong on input we do not control, mended at the narrowest point.

Every malformed message must get a 4xx and none may leave the engine silent: the edge
takes a silent engine out of rotation after 2 s, so one bad INVITE from any phone or
carrier would stop calls for every company (issue 18).
- `SipURL` refuses `;transport=UDP` in upper case (RFC 3261: case-insensitive) and then
  never sends the BYE.
- The UDP reader takes at most 8192 bytes of a datagram: a longer INVITE (a big SDP) is
  cut and then fails to parse.
- A request that fails to parse should be answered 400, but sippy's own error reply
  raises a TypeError (`SipParseError.getResponse()` without the request), so nothing
  is sent; one that is not UTF-8 raises before any of that.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import Any

import sippy.SipTransactionManager as stm
import sippy.Udp_server as udp
from sippy.Exceptions.SipParseError import SipParseError
from sippy.SipRequest import SipRequest
from sippy.SipResponse import SipResponse
from sippy.SipURL import SipURL

from pbx.logging import get_logger
from pbx.sip.guard import SourceGuard

log = get_logger(__name__)

MAX_DATAGRAM = 65535
# The headers a response copies from its request (RFC 3261 8.2.6.2), long and compact.
_COPIED = {"via": "Via", "v": "Via", "from": "From", "f": "From", "to": "To", "t": "To"}
_COPIED |= {"call-id": "Call-ID", "i": "Call-ID", "cseq": "CSeq"}
_HEADER = re.compile(r"^([A-Za-z-]+)[ \t]*:[ \t]*(.*)$")


def bad_request(text: str, reason: str = "Bad Request", code: int = 400) -> Any | None:
    """A 400 (or `code`) for a request sippy cannot parse (or we refuse unparsed), built
    from its raw header lines. The peer
    matches it by the Via branch, so a From, To or CSeq that does not parse is replaced
    by a neutral one; None when the Via or Call-ID is missing or broken (nobody to
    answer)."""
    if text.startswith("SIP/2.0 "):
        return None  # a response: never answered
    head = text.split("\r\n\r\n", 1)[0].split("\n")
    method = head[0].split(" ", 1)[0] if head and head[0] else "INVITE"
    lines: dict[str, list[str]] = {}
    for raw in head[1:]:
        m = _HEADER.match(raw.rstrip("\r"))
        if m is not None and m.group(1).lower() in _COPIED:
            name = _COPIED[m.group(1).lower()]
            lines.setdefault(name, []).append(f"{name}: {m.group(2)}")
    if "Via" not in lines or "Call-ID" not in lines:
        return None
    neutral = {
        "From": ["From: <sip:invalid@invalid.invalid>;tag=invalid"],
        "To": ["To: <sip:invalid@invalid.invalid>"],
        "CSeq": [f"CSeq: 0 {re.sub(r'[^A-Z]', '', method) or 'INVITE'}"],
    }
    safe_reason = re.sub(r"[^\x20-\x7e]", "?", reason)[:80]
    # First as the request had them (neutral ones only where missing), then neutral.
    for use in ({**neutral, **lines}, {**lines, **neutral}):
        copied = [ln for n in ("Via", "From", "To", "Call-ID", "CSeq") for ln in use[n]]
        try:
            resp = SipResponse(
                "\r\n".join([f"SIP/2.0 {code} {safe_reason}", *copied, "Content-Length: 0", "", ""])
            )
            for header in resp.headers:
                header.getBody()  # sippy parses lazily: fail here, not when sending
        except Exception:
            continue
        return resp
    return None


def _parse_request(data: str, *args: Any, **kwargs: Any) -> Any:
    """sippy's request parser, with a 400 ready on the exception when it fails."""
    try:
        req = SipRequest(data, *args, **kwargs)
        req.getTIds()  # parses Via, From, To, Call-ID and CSeq, as sippy does next
        return req
    except Exception as exc:
        log.debug("sip_request_unparsable", error=repr(exc)[:200])
        raise SipParseError(str(exc), sip_response=bad_request(data)) from exc


def _get_response(self: SipParseError, req: Any = None) -> Any:
    if self.sip_response is not None or req is None:
        return self.sip_response
    return super(SipParseError, self).getResponse(req)


# The source guard of each engine SIP socket, by its local port (set by the adapter
# before the socket is made; sippy builds the receivers itself).
GUARDS: dict[int, SourceGuard] = {}


class _WholeDatagrams:
    """The receiver's view of its socket: read up to the largest UDP datagram, and only
    what the socket's guard admits (the rest is dropped before sippy sees it)."""

    def __init__(self, skt: Any, guard: SourceGuard | None) -> None:
        self._skt = skt
        self._guard = guard

    def recvfrom(self, _size: int) -> Any:
        while True:
            data, address = self._skt.recvfrom(MAX_DATAGRAM)
            if self._guard is None or address is None or self._guard.admits(address[0]):
                return data, address

    def __getattr__(self, name: str) -> Any:
        return getattr(self._skt, name)


def _local_port(userv: Any) -> int | None:
    laddress = getattr(userv.uopts, "laddress", None)
    return int(laddress[1]) if laddress else None


class _ServerView:
    def __init__(self, userv: Any) -> None:
        self._userv = userv
        self.skt = _WholeDatagrams(userv.skt, GUARDS.get(_local_port(userv) or -1))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._userv, name)


class _WholeDatagramReceiver(udp.AsyncReceiver):  # type: ignore[misc]
    def __init__(self, userv: Any) -> None:
        super().__init__(_ServerView(userv))


@dataclass(frozen=True)
class EdgeTrust:
    """Who the SIP edge is: its sockets, and the secret it adds to what it relays
    (`X-PBX-Auth`), since a datagram's source address alone can be forged."""

    sockets: frozenset[tuple[str, int]]
    secret: str

    HEADER = "X-PBX-Auth"
    # Sent by the edge's own transaction layer without our header, and harmless.
    EXEMPT = ("OPTIONS", "ACK", "CANCEL")

    def refuses(self, text: str, source: tuple[str, int]) -> bool:
        """A request from the edge's address without the secret."""
        if (str(source[0]), int(source[1])) not in self.sockets or text.startswith("SIP/2.0 "):
            return False
        if text.split(" ", 1)[0] in self.EXEMPT:
            return False
        head = text.split("\r\n\r\n", 1)[0]
        found = _AUTH.search(head)
        return found is None or not hmac.compare_digest(found.group(1), self.secret)


_AUTH = re.compile(r"^X-PBX-Auth[ \t]*:[ \t]*(\S+)[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)


class TransactionManagerFixes:
    """Mixed into the engine's transaction manager: a request that is not UTF-8 gets
    400 instead of an exception out of sippy's reader; one from the edge's address
    without the edge's secret gets 403 before anything reads it."""

    edge: EdgeTrust | None = None

    def handleIncoming(self, data_in: Any, ra: Any, server: Any, rtime: Any) -> None:
        if isinstance(data_in, bytes):
            try:
                data_in = data_in.decode()
            except UnicodeDecodeError:
                resp = bad_request(data_in.decode(errors="replace"), "Bad Request (not UTF-8)")
                if resp is not None:
                    self.transmitMsg(server, resp, ra.address, None)  # type: ignore[attr-defined]
                return
        if self.edge is not None and self.edge.refuses(data_in, ra.address):
            log.warning("sip_forged_edge_request", source=f"{ra.address[0]}:{ra.address[1]}")
            resp = bad_request(data_in, "Forbidden", code=403)
            if resp is not None:
                self.transmitMsg(server, resp, ra.address, None)  # type: ignore[attr-defined]
            return
        try:
            super().handleIncoming(data_in, ra, server, rtime)  # type: ignore[misc]
        except Exception as exc:  # a header parsed late, deep in sippy: still a 400
            log.warning("sip_request_failed", error=repr(exc)[:200])
            resp = bad_request(data_in)
            if resp is not None:
                self.transmitMsg(server, resp, ra.address, None)  # type: ignore[attr-defined]


def apply() -> None:
    """Install the fixes once per process (before the SIP sockets are made)."""
    if getattr(SipURL, "_pbx_patched", False):
        return
    original = SipURL.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if isinstance(self.transport, str):
            self.transport = self.transport.lower()

    SipURL.__init__ = init  # type: ignore[method-assign]
    SipURL._pbx_patched = True  # type: ignore[attr-defined]
    stm.SipRequest = _parse_request  # type: ignore[attr-defined]
    SipParseError.getResponse = _get_response  # type: ignore[method-assign]
    udp.AsyncReceiver = _WholeDatagramReceiver  # type: ignore[misc]
    send_to = udp.Udp_server.send_to

    def learning_send_to(self: Any, data: Any, address: Any, *args: Any, **kwargs: Any) -> Any:
        guard = GUARDS.get(_local_port(self) or -1)
        if guard is not None and isinstance(address, tuple):
            guard.learn(str(address[0]))  # its answer must get back in
        return send_to(self, data, address, *args, **kwargs)

    udp.Udp_server.send_to = learning_send_to  # type: ignore[method-assign]
