"""Host names of carriers resolved on the asyncio side, never on the SIP threads.

sippy resolves a request's next hop with a blocking `getaddrinfo` on its event-loop
thread (and again on its sender thread): one trunk whose DNS never answers, which any
signed-up company can add, froze SIP for everybody (issue 18.5). Call logic hands the
adapter names; the adapter swaps them for addresses found here first, on a small pool
of its own threads (a hung lookup can hold one, never the engine), bounded in time and
cached, so a dead name costs one timeout per `NEGATIVE_TTL`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from concurrent.futures import ThreadPoolExecutor

from pbx.logging import get_logger

log = get_logger(__name__)

TIMEOUT = 3.0  # seconds a lookup may take before the call or registration fails
TTL = 60.0
NEGATIVE_TTL = 30.0
WORKERS = 4


def is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class Resolver:
    def __init__(self, timeout: float = TIMEOUT) -> None:
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="pbx-dns")
        self._cache: dict[str, tuple[float, str | None]] = {}

    async def address(self, host: str) -> str | None:
        """An IPv4 address for `host` (itself if it is one), or None if the name does
        not resolve within the timeout."""
        if is_address(host):
            return host
        now = time.monotonic()
        hit = self._cache.get(host)
        if hit is not None and hit[0] > now:
            return hit[1]
        loop = asyncio.get_running_loop()
        lookup = loop.run_in_executor(
            self._pool, socket.getaddrinfo, host, None, socket.AF_INET, socket.SOCK_DGRAM
        )
        found: str | None = None
        try:
            infos = await asyncio.wait_for(lookup, self.timeout)
            found = str(infos[0][4][0]) if infos else None
        except (OSError, TimeoutError, UnicodeError) as exc:
            log.warning("dns_lookup_failed", host=host, error=repr(exc))
        self._cache[host] = (now + (TTL if found else NEGATIVE_TTL), found)
        return found

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
