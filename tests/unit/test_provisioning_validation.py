"""Pure validation of provisioning input: extensions, numbers, trunks, names, hashes."""

from __future__ import annotations

import hashlib

import pytest

from pbx.errors import ValidationError
from pbx.services.provisioning import digest_hashes, new_password
from pbx.services.validation import (
    clean_name,
    normalize_number,
    validate_email,
    validate_ext,
    validate_host,
    validate_timezone,
    validate_trunk,
)


@pytest.mark.parametrize("ext", ["10", "101", "999", "1234", "99999", 205])
def test_valid_extensions(ext: str | int) -> None:
    assert validate_ext(ext) == str(ext)


@pytest.mark.parametrize("ext", ["", "1", "0101", "012", "100000", "10a", "+101", "1 01"])
def test_invalid_extensions_say_what_to_use(ext: str) -> None:
    with pytest.raises(ValidationError, match="2–5 digits not starting with 0"):
        validate_ext(ext)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+7 916 123-45-67", "79161234567"),
        ("+7 (495) 123-45-67", "74951234567"),
        ("8 916 123 45 67", "79161234567"),
        ("89161234567", "79161234567"),
        ("79161234567", "79161234567"),
        ("+44 20 7123 4567", "442071234567"),
        ("+1 202 555 0143", "12025550143"),
        ("112", "112"),
        ("4951234567", "4951234567"),
        ("123456789012345", "123456789012345"),
    ],
)
def test_number_normalisation(raw: str, expected: str) -> None:
    assert normalize_number(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty"),
        ("12", "3 to 15 digits"),
        ("1234567890123456", "3 to 15 digits"),
        ("+7 916 123", "not a possible phone number"),
        ("+", "not a possible phone number"),
        ("abc", "use digits"),
        ("7916*123", "use digits"),
    ],
)
def test_bad_numbers_are_refused(raw: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        normalize_number(raw)


def test_timezones() -> None:
    assert validate_timezone("Asia/Yekaterinburg") == "Asia/Yekaterinburg"
    for bad in ("Mars/Olympus", "", "../etc/passwd"):
        with pytest.raises(ValidationError, match="IANA name"):
            validate_timezone(bad)


def test_names_are_trimmed_and_required() -> None:
    assert clean_name("  Ivan   Petrov ", "employee name") == "Ivan Petrov"
    with pytest.raises(ValidationError, match="employee name is empty"):
        clean_name("   ", "employee name")
    with pytest.raises(ValidationError, match="too long"):
        clean_name("x" * 101, "employee name")


def test_email() -> None:
    assert validate_email(" a@b.ru ") == "a@b.ru"
    assert validate_email(None) is None
    with pytest.raises(ValidationError, match=r"name@example\.com"):
        validate_email("not-an-email")


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("SIP.Carrier.example.", "sip.carrier.example"),
        ("203.0.113.5", "203.0.113.5"),
        ("2001:db8::1", "2001:db8::1"),
    ],
)
def test_valid_hosts(host: str, expected: str) -> None:
    assert validate_host(host) == expected


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("", "empty"),
        ("sip.example:5060", "includes a port"),
        ("bad_host.example", "not a host name"),
        ("-x.example", "not a host name"),
        ("300.1.1.1", "malformed IP"),
        ("sip example", "not a host name"),
    ],
)
def test_invalid_hosts(host: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        validate_host(host)


def test_register_trunk() -> None:
    t = validate_trunk(" Main ", "sip.carrier.example", username="u1", password="s3cret")
    assert (t.name, t.auth_mode, t.host, t.port, t.username, t.password, t.expires) == (
        "Main",
        "register",
        "sip.carrier.example",
        5060,
        "u1",
        "s3cret",
        300,
    )
    assert t.ip_addresses == ()
    assert "s3cret" not in repr(t)


def test_register_trunk_needs_both_credentials() -> None:
    with pytest.raises(ValidationError, match="username and a password"):
        validate_trunk("t", "sip.example", username="u1")
    with pytest.raises(ValidationError, match="username and a password"):
        validate_trunk("t", "sip.example", auth_mode="register")


def test_ip_trunk_defaults_to_host_ip_and_dedupes() -> None:
    t = validate_trunk("t", "203.0.113.7")
    assert (t.auth_mode, t.ip_addresses) == ("ip", ("203.0.113.7",))
    t = validate_trunk("t", "sip.example", ip_addresses=["198.51.100.1", "198.51.100.1 ", "::1"])
    assert t.ip_addresses == ("198.51.100.1", "::1")


def test_ip_trunk_needs_addresses_for_a_host_name() -> None:
    with pytest.raises(ValidationError, match="give at least one --ip ADDR"):
        validate_trunk("t", "sip.example")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ip_addresses": ["198.51.100.300"]}, "IPv4 or IPv6"),
        ({"port": 0}, "1–65535"),
        ({"port": 70000}, "1–65535"),
        ({"auth_mode": "token"}, "'register' or 'ip'"),
        ({"expires": 5}, "60–86400"),
        ({"from_domain": "bad domain"}, "from-domain"),
        ({"username": "a b", "password": "p"}, "must not contain spaces"),
        ({"auth_mode": "ip", "username": "u"}, "both the username and the password"),
        ({"name": " "}, "trunk name is empty"),
    ],
)
def test_bad_trunk_arguments(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"name": "t", "host": "203.0.113.9", **kwargs}
    with pytest.raises(ValidationError, match=message):
        validate_trunk(**args)  # type: ignore[arg-type]


def test_digest_hashes_match_rfc_2617_ha1() -> None:
    ha1, ha1b = digest_hashes("101", "c1.pbx.local", "pw")
    assert ha1 == hashlib.md5(b"101:c1.pbx.local:pw").hexdigest()
    assert ha1b == hashlib.md5(b"101@c1.pbx.local:c1.pbx.local:pw").hexdigest()


def test_passwords_are_random_and_url_safe() -> None:
    passwords = {new_password() for _ in range(50)}
    assert len(passwords) == 50
    for p in passwords:
        assert len(p) == 16
        assert all(c.isalnum() or c in "-_" for c in p)
