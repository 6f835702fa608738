"""A registration trunk: the engine registers to a carrier and answers its digest challenge."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbx.app import Service
from pbx.services import Provisioning
from tests.e2e.conftest import eventually
from tests.support.sipp import Sipp

pytestmark = pytest.mark.e2e
REGISTRAR = Path(__file__).parent / "sipp" / "registrar.xml"


async def test_engine_registers_to_carrier_with_digest(pbx: Service, prov: Provisioning) -> None:
    company = await prov.create_company("Trunked")
    registrar = await Sipp(
        ["-sf", str(REGISTRAR), "-i", "127.0.0.4", "-p", "25290", "-m", "1"], timeout=20
    ).start()
    try:
        trunk = await prov.add_trunk(
            company.id,
            "carrier",
            "127.0.0.4",
            port=25290,
            username="acct77",
            password="s3cret-pass",
            from_domain="carrier.example",
        )
        await pbx.register_trunks()

        async def registered() -> bool:
            state = pbx.trunks.get(trunk.id)
            return state is not None and state.ok

        await eventually(registered)
        result = await registrar.wait()
        assert result.successful == 1 and result.failed == 0, result.output[-2000:]
        status = await pbx.status()
        assert status["trunks"][str(trunk.id)]["registered"] is True
    finally:
        await registrar.stop()
