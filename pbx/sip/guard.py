"""Who may talk to the engine's SIP port, decided on the receiver thread before sippy
parses anything.

Carriers must reach the engine, so its port is public in practice, and ~1 000 INVITE/s
from one address saturated it for every company (issue 18.2). Only three kinds of
source have any business there: the SIP edge (Kamailio, which bans floods itself), the
carriers of the companies' trunks (their listed IPs and hosts), and whoever the engine
itself has sent to lately (a registrar, a carrier's Contact). Everything else is
dropped unread; a carrier over its rate is dropped too, and retransmits.

A source that is not known yet may be a trunk added a moment ago on another node: it is
handed (at most `LOOKUPS_PER_SECOND` of them, each address once per `LOOKUP_AGAIN`) to
call logic, which looks it up in the database and trusts it if it is a carrier; that
carrier's retransmission then gets in.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pbx.logging import get_logger

log = get_logger(__name__)

LEARNED_TTL = 600.0  # seconds an address the engine sent to stays trusted
LOOKUPS_PER_SECOND = 20  # unknown sources handed to call logic, all addresses together
LOOKUP_AGAIN = 10.0  # seconds before one unknown address is looked up again
LOG_EVERY = 60.0  # seconds between two warnings about dropped datagrams


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class GuardCounts:
    untrusted: int = 0  # datagrams dropped: the source is not edge, carrier or peer
    over_rate: int = 0  # datagrams dropped: a carrier above its rate


@dataclass
class SourceGuard:
    """The engine's admission check. Thread-safe: the receiver threads call `admits`,
    the sender threads `learn`, call logic `trust_carriers`."""

    edge_hosts: frozenset[str]
    rate: float = 200.0  # datagrams per second per carrier address (burst: twice that)
    on_unknown: Callable[[str], None] | None = None  # called on a receiver thread
    counts: GuardCounts = field(default_factory=GuardCounts)
    _carriers: frozenset[str] = frozenset()
    _learned: dict[str, float] = field(default_factory=dict)
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _asked: dict[str, float] = field(default_factory=dict)
    _lookups: _Bucket = field(default_factory=lambda: _Bucket(LOOKUPS_PER_SECOND, 0.0))
    _logged: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def trust_carriers(self, hosts: Iterable[str]) -> None:
        """The addresses of every enabled trunk (replaces the previous set)."""
        self._carriers = frozenset(h.strip("[]") for h in hosts if h)

    def learn(self, host: str) -> None:
        """The engine is sending to `host`: its answers and requests are expected."""
        host = host.strip("[]")
        if host not in self.edge_hosts:
            self._learned[host] = time.monotonic() + LEARNED_TTL

    def admits(self, host: str) -> bool:
        host = host.strip("[]")
        if host in self.edge_hosts:
            return True  # the edge has its own flood bans (pike)
        now = time.monotonic()
        if host in self._carriers or self._learned.get(host, 0.0) > now:
            return self._within_rate(host, now)
        self._unknown(host, now)
        return False

    def _within_rate(self, host: str, now: float) -> bool:
        with self._lock:
            bucket = self._buckets.get(host)
            if bucket is None:
                if len(self._buckets) > 10_000:  # bounded: forget idle carriers
                    self._buckets.clear()
                bucket = self._buckets[host] = _Bucket(2 * self.rate, now)
            bucket.tokens = min(2 * self.rate, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return True
            self.counts.over_rate += 1
        self._warn(now, "sip_source_over_rate", host)
        return False

    def _unknown(self, host: str, now: float) -> None:
        with self._lock:
            self.counts.untrusted += 1
            ask = self.on_unknown is not None and self._asked.get(host, 0.0) <= now
            if ask:
                lk = self._lookups
                lk.tokens = min(LOOKUPS_PER_SECOND, lk.tokens + (now - lk.at) * LOOKUPS_PER_SECOND)
                lk.at = now
                ask = lk.tokens >= 1.0
                if ask:
                    lk.tokens -= 1.0
                    if len(self._asked) > 10_000:
                        self._asked.clear()
                    self._asked[host] = now + LOOKUP_AGAIN
        if ask and self.on_unknown is not None:
            self.on_unknown(host)
        self._warn(now, "sip_source_untrusted", host)

    def _warn(self, now: float, event: str, host: str) -> None:
        if now - self._logged < LOG_EVERY:
            return
        self._logged = now
        c = self.counts
        log.warning(event, source=host, untrusted=c.untrusted, over_rate=c.over_rate)

    def forget_expired(self) -> None:
        """Drop learned peers past their time (called now and then, not per datagram)."""
        now = time.monotonic()
        for host, until in list(self._learned.items()):
            if until <= now:
                self._learned.pop(host, None)
