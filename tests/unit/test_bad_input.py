"""Bot and service input that used to be stored wrong (issue 18.7): a one-word carrier
host, a carrier on this machine or on the PBX itself, a mistyped `ip`, a minus sign
taken into an employee's name."""

from __future__ import annotations

import pytest

from bot import chatops
from bot.chatops import Usage
from pbx.errors import ValidationError
from pbx.services.validation import check_carrier_addresses, validate_host

OURS = ("127.0.0.1", "198.51.100.5")  # the edge and the engine


@pytest.mark.parametrize("host", ["bad", "carrier", "localhost"])
def test_a_carrier_host_needs_its_domain(host: str) -> None:
    with pytest.raises(ValidationError) as err:
        validate_host(host)
    assert err.value.key == "bad_host"


def test_a_full_host_name_and_an_address_are_fine() -> None:
    assert validate_host("SIP.Carrier.Example.") == "sip.carrier.example"
    assert validate_host("203.0.113.7") == "203.0.113.7"


@pytest.mark.parametrize(
    ("host", "ips", "allow_loopback"),
    [
        ("127.0.0.1", (), False),  # this machine
        ("127.0.0.2", (), False),
        ("203.0.113.9", ("127.0.0.1",), True),  # the edge itself, even in tests
        ("198.51.100.5", (), True),  # the engine
        ("0.0.0.0", (), True),
        ("224.0.0.1", (), True),
        ("169.254.1.1", (), True),
        ("::1", (), False),
    ],
)
def test_a_carrier_is_not_this_machine_nor_the_pbx(
    host: str, ips: tuple[str, ...], allow_loopback: bool
) -> None:
    with pytest.raises(ValidationError) as err:
        check_carrier_addresses(host, ips, OURS, allow_loopback)
    assert err.value.key == "bad_carrier_address"


def test_loopback_carriers_only_where_allowed_and_real_ones_always() -> None:
    check_carrier_addresses("127.0.0.2", ("127.0.0.3",), OURS, allow_loopback=True)
    check_carrier_addresses("sip.carrier.example", ("203.0.113.10",), OURS)


def test_a_mistyped_ip_keyword_is_not_taken_for_a_password() -> None:
    with pytest.raises(Usage):
        chatops.trunk_add("t1 bad host ip")
    assert chatops.trunk_add("t1 203.0.113.10 ip").ips == ("203.0.113.10",)
    assert chatops.trunk_add("t1 sip.carrier.example:5080 login secret").port == 5080


@pytest.mark.parametrize("typed", ["Neg Ative -5", "Ivan Petrov 0105", "Ivan #105"])
def test_a_mistyped_extension_is_refused_not_put_into_the_name(typed: str) -> None:
    with pytest.raises(ValidationError) as err:
        chatops.employee_add(typed)
    assert err.value.key == "bad_ext"
