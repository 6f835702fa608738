"""Parsing chat-ops arguments (pure functions, so bad input is caught before any I/O)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pbx.services.validation import validate_ext

_EXT = re.compile(r"^[1-9][0-9]{1,4}$")
_PHONE = re.compile(r"^\+?[0-9][0-9()\- ]{8,}$")
_NUMBERISH = re.compile(r"^[-+#*]?[0-9]+$")


class Usage(Exception):
    """The arguments do not fit the command; the bot answers with its usage line."""


@dataclass(frozen=True)
class EmployeeArgs:
    name: str
    ext: str | None
    email: str | None
    mobile: str | None


def employee_add(args: str | None) -> EmployeeArgs:
    """`Ivan Petrov 105 ivan@example.com +79161234567`: the name is every word that is not
    an extension, an e-mail or a phone number; those may come in any order after it."""
    words = (args or "").split()
    name: list[str] = []
    ext = email = mobile = None
    for word in words:
        if "@" in word and email is None:
            email = word
        elif _EXT.match(word) and ext is None:
            ext = word
        elif _PHONE.match(word) and mobile is None:
            mobile = word
        elif _NUMBERISH.match(word):
            validate_ext(word)  # a mistyped extension ("-5", "0105"), never part of a name
            raise Usage(word)  # a second extension
        elif ext is None and email is None and mobile is None:
            name.append(word)
        else:
            raise Usage(word)
    if not name:
        raise Usage("name")
    return EmployeeArgs(" ".join(name), ext, email, mobile)


def one_word(args: str | None, choices: tuple[str, ...] | None = None) -> str:
    words = (args or "").split()
    if len(words) != 1 or (choices is not None and words[0].lower() not in choices):
        raise Usage(args or "")
    return words[0].lower() if choices else words[0]


def word_and_optional(
    args: str | None, choices: tuple[str, ...] | None = None
) -> tuple[str, str | None]:
    words = (args or "").split()
    if not 1 <= len(words) <= 2 or (choices is not None and words[0].lower() not in choices):
        raise Usage(args or "")
    first = words[0].lower() if choices else words[0]
    return first, (words[1] if len(words) == 2 else None)


@dataclass(frozen=True)
class TrunkArgs:
    name: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    ips: tuple[str, ...] = ()


def trunk_add(args: str | None) -> TrunkArgs:
    """`main sip.carrier.ru[:5060] LOGIN PASSWORD` or `office 203.0.113.10 ip [IP …]`."""
    words = (args or "").split()
    if len(words) < 3:
        raise Usage(args or "")
    name, hostport, *rest = words
    host, _, port_text = hostport.partition(":")
    if port_text and not port_text.isdigit():
        raise Usage(hostport)
    port = int(port_text) if port_text else 5060
    if rest[0].lower() == "ip":
        return TrunkArgs(name, host, port, ips=tuple(rest[1:]) or (host,))
    if any(w.lower() == "ip" for w in rest):
        raise Usage(args or "")  # `ip` belongs right after the host: mistyped, not a password
    if len(rest) != 2:
        raise Usage(args or "")
    return TrunkArgs(name, host, port, username=rest[0], password=rest[1])


def number_add(args: str | None) -> tuple[str, int, str]:
    """`+74951234567 TRUNK_ID EXT`"""
    words = (args or "").split()
    if len(words) != 3 or not words[1].isdigit():
        raise Usage(args or "")
    return words[0], int(words[1]), words[2]


def words_and_options(args: str | None, min_words: int = 1) -> tuple[list[str], dict[str, str]]:
    """`sales interval=10 fallback=voicemail:sales` → (["sales"], {"interval": "10", …}).

    Keys are lower-cased; a value may contain ':' or '=' after the first '='.
    """
    words: list[str] = []
    opts: dict[str, str] = {}
    for token in (args or "").split():
        key, sep, value = token.partition("=")
        if sep:
            if not key or not value:
                raise Usage(token)
            opts[key.lower()] = value
        elif opts:
            raise Usage(token)  # options come after the plain words
        else:
            words.append(token)
    if len(words) < min_words:
        raise Usage(args or "")
    return words, opts
