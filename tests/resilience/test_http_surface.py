"""Nothing on the service's HTTP port changes the PBX without credentials (issue 18.7):
100 POSTs to the old `/trunks/reload` sent 100 REGISTERs to a carrier."""

from __future__ import annotations

import aiohttp
import pytest

from pbx.app import Service
from tests.conftest import HTTP_PORT

pytestmark = pytest.mark.e2e


async def test_no_unauthenticated_trunk_reload(pbx: Service) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"http://127.0.0.1:{HTTP_PORT}/trunks/reload") as resp:
            assert resp.status in (404, 405), resp.status
        async with http.get(f"http://127.0.0.1:{HTTP_PORT}/status") as resp:
            assert resp.status == 200  # the service itself is up and serving
