"""Pure input validation for provisioning: each failure says what to fix."""

from __future__ import annotations

import ipaddress
import re
import zoneinfo
from collections.abc import Iterable

import phonenumbers

from pbx.errors import ValidationError
from storage.trunks import NewTrunk

AUTH_MODES = ("register", "ip")
_EXT = re.compile(r"^[1-9][0-9]{1,4}$")
_DIGITS = re.compile(r"^[0-9]{3,15}$")
# Separators people type inside phone numbers.
_NUMBER_NOISE = re.compile(r"[\s\-().]")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TOKEN = re.compile(r"^[^\s:@]+$")


def clean_name(value: str | None, what: str, max_len: int = 100) -> str:
    name = " ".join((value or "").split())
    if not name:
        raise ValidationError(f"{what} is empty: give a name", key="name_empty")
    if len(name) > max_len:
        raise ValidationError(
            f"{what} is too long ({len(name)} characters, at most {max_len})",
            key="name_too_long",
            max=max_len,
        )
    return name


def validate_timezone(tz: str) -> str:
    tz = tz.strip()
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"unknown time zone {tz!r}: use an IANA name such as Europe/Moscow or Asia/Yekaterinburg",
            key="bad_timezone",
            tz=tz,
        ) from None
    return tz


def validate_ext(ext: str | int) -> str:
    ext = str(ext).strip()
    if not _EXT.match(ext):
        raise ValidationError(
            f"extension {ext!r} is invalid: use 2–5 digits not starting with 0, e.g. 101",
            key="bad_ext",
            ext=str(ext),
        )
    return ext


def normalize_number(raw: str, what: str = "number") -> str:
    """A phone number as E.164 digits without '+', or a short digit string (3–15 digits).

    '+7 916 123-45-67', '8 916 123 45 67' and '79161234567' all become '79161234567'.
    """
    text = _NUMBER_NOISE.sub("", raw or "")
    if not text:
        raise ValidationError(
            f"{what} is empty: give digits, e.g. +74951234567", key="bad_number", number=""
        )
    if text.startswith("+"):
        return _e164(text, raw, what)
    if not text.isdigit():
        raise ValidationError(
            f"{what} {raw!r} is invalid: use digits, optionally starting with '+', e.g. +74951234567",
            key="bad_number",
            number=raw,
        )
    if len(text) == 11 and text[0] in "78":
        # A Russian number dialled nationally (8…) or without the '+' (7…).
        return _e164("+7" + text[1:], raw, what)
    if not _DIGITS.match(text):
        raise ValidationError(
            f"{what} {raw!r} has {len(text)} digits: a number has 3 to 15 digits "
            "(international numbers with a leading '+')",
            key="bad_number",
            number=raw,
        )
    return text


def _e164(text: str, raw: str, what: str) -> str:
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_possible_number(parsed):
        raise ValidationError(
            f"{what} {raw!r} is not a possible phone number: check the country code and "
            "the number of digits, e.g. +74951234567",
            key="bad_number",
            number=raw,
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164).lstrip("+")


def validate_email(email: str | None) -> str | None:
    if email is None or not email.strip():
        return None
    email = email.strip()
    if not _EMAIL.match(email) or len(email) > 254:
        raise ValidationError(
            f"e-mail {email!r} is invalid: use the form name@example.com",
            key="bad_email",
            email=email,
        )
    return email


def validate_ip(addr: str, what: str = "IP address") -> str:
    try:
        return str(ipaddress.ip_address(addr.strip()))
    except ValueError:
        raise ValidationError(
            f"{what} {addr!r} is invalid: give an IPv4 or IPv6 address, e.g. 203.0.113.10"
        ) from None


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def validate_host(host: str | None, what: str = "host") -> str:
    value = (host or "").strip().lower().rstrip(".")
    if not value:
        raise ValidationError(f"{what} is empty: give the carrier's host name or IP address")
    if is_ip(value):
        return str(ipaddress.ip_address(value))
    if ":" in value and value.rsplit(":", 1)[1].isdigit():
        raise ValidationError(f"{what} {host!r} includes a port: give the port separately (--port)")
    labels = value.split(".")
    if len(value) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValidationError(
            f"{what} {host!r} is not a host name or IP address, e.g. sip.carrier.example"
        )
    if len(labels) < 2:
        raise ValidationError(
            f"{what} {host!r} is not a full host name: give the carrier's name with its "
            "domain (e.g. sip.carrier.example) or its IP address",
            key="bad_host",
            host=str(host),
        )
    if labels[-1].isdigit():
        raise ValidationError(f"{what} {host!r} looks like a malformed IP address")
    return value


def check_carrier_addresses(
    host: str, ips: Iterable[str], ours: Iterable[str], allow_loopback: bool = False
) -> None:
    """A carrier is somewhere else on the network: not this machine's loopback, not the
    PBX's own SIP edge or engine (a trunk there would let local processes, or the edge
    itself, call as the company), not an unspecified, multicast or link-local address."""
    own = {str(ipaddress.ip_address(a)) for a in ours if is_ip(a)}
    for addr in [host, *ips]:
        if not is_ip(addr):
            continue
        ip = ipaddress.ip_address(addr)
        bad = (
            str(ip) in own
            or ip.is_unspecified
            or ip.is_multicast
            or ip.is_link_local
            or (ip.is_loopback and not allow_loopback)
        )
        if bad:
            raise ValidationError(
                f"{addr} cannot be a carrier's address (this machine, the PBX itself or a "
                "special address): give the address your carrier sends calls from",
                key="bad_carrier_address",
                address=str(addr),
            )


def _credential(value: str | None, what: str) -> str | None:
    if value is None or value == "":
        return None
    if not _TOKEN.match(value):
        raise ValidationError(f"trunk {what} must not contain spaces, ':' or '@'")
    return value


def validate_trunk(
    name: str,
    host: str,
    port: int = 5060,
    username: str | None = None,
    password: str | None = None,
    ip_addresses: Iterable[str] = (),
    from_domain: str | None = None,
    auth_mode: str | None = None,
    expires: int = 300,
) -> NewTrunk:
    """Check a trunk's settings; the mode is 'register' when credentials are given, else 'ip'."""
    clean = clean_name(name, "trunk name", 64)
    host_ = validate_host(host)
    if not 1 <= port <= 65535:
        raise ValidationError(f"port {port} is invalid: use 1–65535 (SIP usually 5060)")
    user = _credential(username, "username")
    secret = _credential(password, "password")
    mode = auth_mode or ("register" if user or secret else "ip")
    if mode not in AUTH_MODES:
        raise ValidationError(f"auth mode {mode!r} is invalid: use 'register' or 'ip'")
    ips = tuple(dict.fromkeys(validate_ip(a) for a in ip_addresses))
    if mode == "register":
        if not user or not secret:
            raise ValidationError(
                "a registering trunk needs both a username and a password from the carrier "
                "(or give --ip ADDR for an IP-authenticated trunk)"
            )
    else:
        if bool(user) != bool(secret):
            raise ValidationError("give both the username and the password, or neither")
        if not ips:
            if not is_ip(host_):
                raise ValidationError(
                    f"an IP-authenticated trunk needs the carrier's source IP addresses: "
                    f"{host_!r} is a host name, so give at least one --ip ADDR"
                )
            ips = (host_,)
    if not 60 <= expires <= 86400:
        raise ValidationError(f"expires {expires} is invalid: use 60–86400 seconds (usually 300)")
    domain = validate_host(from_domain, "from-domain") if from_domain else None
    return NewTrunk(
        name=clean,
        auth_mode=mode,
        host=host_,
        port=port,
        username=user,
        password=secret,
        from_domain=domain,
        ip_addresses=ips,
        expires=expires,
    )
