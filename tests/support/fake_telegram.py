"""A fake Telegram Bot API server for tests.

Only Telegram's cloud is faked: the bot under test is real and talks real HTTP to this
server exactly as it would to a self-hosted Bot API server::

    tg = FakeTelegram()
    await tg.start()
    bot = Bot(tg.token, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url)))
    # or simply: bot = tg.make_bot()

The wire protocol follows https://core.telegram.org/bots/api: ``/bot<token>/<method>`` by
GET or POST (query string, JSON, urlencoded or multipart bodies, with ``attach://<name>``
references to file parts), answers ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": N, "description": "...", "parameters": {...}}`` with the HTTP
status equal to ``error_code``; downloads are served from ``/file/bot<token>/<file_path>``.

The server keeps a realistic model of what users see: message ids per chat, the current
state of each message (edits, deleted messages, inline keyboards), uploaded files, pending
updates (confirmed by ``getUpdates`` offsets or by webhook delivery) and answered callback
queries. It rejects what Telegram rejects (unknown chats, unparsable HTML/Markdown, edits
that change nothing, over-long texts, bad callback data, invalid webhook secrets, ...),
so tests catch those bugs before production does.

One bot model per server: any token is accepted (all are recorded in ``tokens_seen``);
the bot user returned by ``getMe`` has the id encoded in the token used.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import mimetypes
import re
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from html import unescape as html_unescape
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.client.telegram import TelegramAPIServer

__all__ = [
    "ApiError",
    "BotMessage",
    "Call",
    "CallRecord",
    "FakeTelegram",
    "StoredFile",
    "TgUser",
    "TooFast",
    "Upload",
    "WebhookDelivery",
    "buttons",
    "parse_formatted",
]

_T = TypeVar("_T")

DEFAULT_TOKEN = "123456789:AAFakeTelegramTokenForTests0123456789"
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_UPLOAD = 50 * 1024 * 1024
MAX_DOWNLOAD = 20 * 1024 * 1024

# Update types delivered when allowed_updates is empty (Telegram's default).
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# Parameters whose form value is always a string, even if it looks like a number or JSON.
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "secret_token",
        "ip_address",
        "action",
        "file_id",
        "title",
        "performer",
        "language_code",
        "business_connection_id",
        "message_effect_id",
        "description",
        "short_description",
        "name",
        "emoji",
        "query",
        "file_name",
        "first_name",
        "last_name",
        "username",
        "question",
        "address",
        "phone_number",
        "vcard",
        "game_short_name",
        "payload",
        "currency",
        "provider_token",
        "start_parameter",
        "sticker",
        "custom_emoji_id",
    }
)
_MEDIA_FIELDS = {
    "sendDocument": "document",
    "sendPhoto": "photo",
    "sendVoice": "voice",
    "sendAudio": "audio",
}
_FILE_DIRS = {"document": "documents", "photo": "photos", "voice": "voice", "audio": "music"}
_FILE_ID_PREFIX = {
    "document": "BQACAgIAAxkBAA",
    "photo": "AgACAgIAAxkBAA",
    "voice": "AwACAgIAAxkBAA",
}
_MESSAGE_METHODS = frozenset(
    {
        "sendMessage",
        "sendDocument",
        "sendPhoto",
        "sendVoice",
        "sendAudio",
        "editMessageText",
        "editMessageReplyMarkup",
        "editMessageCaption",
    }
)
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_INT_RE = re.compile(r"-?\d+")
_FLOAT_RE = re.compile(r"-?\d+\.\d*(?:[eE][-+]?\d+)?")


# --------------------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------------------


# What garble_next answers: neither JSON nor an error aiogram can classify.
GARBLED_BODY = '<html><body>{"ok":true,"result":{"message_id":'


@dataclass(frozen=True)
class TgUser:
    """A human Telegram user driven by the test."""

    id: int
    first_name: str
    username: str | None = None
    language_code: str = "en"
    last_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            out["last_name"] = self.last_name
        if self.username:
            out["username"] = self.username
        if self.language_code:
            out["language_code"] = self.language_code
        return out

    def private_chat(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            out["last_name"] = self.last_name
        if self.username:
            out["username"] = self.username
        return out


class Call(NamedTuple):
    """One Bot API call as received: ``method, params = call``."""

    method: str
    params: dict[str, Any]


@dataclass
class CallRecord:
    """A call with its outcome (``tg.call_log`` is parallel to ``tg.calls``)."""

    method: str
    params: dict[str, Any]
    token: str
    at: float  # loop.time() when the request arrived
    status: int  # HTTP status answered
    response: dict[str, Any]  # the JSON answered
    via: str = "http"  # "http" or "webhook-reply" (a method returned in a webhook response)

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))


@dataclass(eq=False)
class Upload:
    """A file part received in a multipart request."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes

    def __repr__(self) -> str:
        return f"Upload(field={self.field!r}, filename={self.filename!r}, {len(self.data)} bytes)"


@dataclass(eq=False)
class StoredFile:
    """A file known to the fake cloud (uploaded by the bot or sent by a test user)."""

    file_id: str
    file_unique_id: str
    kind: str  # document / photo / voice / audio
    data: bytes
    filename: str | None
    mime_type: str | None
    file_path: str
    source_url: str | None = None  # set when the bot passed an HTTP URL instead of bytes

    @property
    def size(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return (
            f"StoredFile({self.kind}, file_id={self.file_id!r}, filename={self.filename!r}, "
            f"{len(self.data)} bytes)"
        )


@dataclass
class BotMessage:
    """A message the bot sent or edited, as recorded by the fake.

    ``message`` is the Telegram Message object answered to the bot (a snapshot at that
    moment); ``params`` the decoded request parameters.
    """

    method: str
    chat_id: int
    message_id: int
    params: dict[str, Any]
    message: dict[str, Any]
    file: StoredFile | None = None
    at: float = 0.0

    @property
    def text(self) -> str | None:
        """Plain text (formatting removed, as Telegram shows it) or the caption."""
        value = self.message.get("text", self.message.get("caption"))
        return value if isinstance(value, str) else None

    @property
    def raw_text(self) -> str | None:
        """Text or caption exactly as the bot sent it (with HTML/Markdown markup)."""
        value = self.params.get("text", self.params.get("caption"))
        return value if isinstance(value, str) else None

    @property
    def parse_mode(self) -> str | None:
        value = self.params.get("parse_mode")
        return value if isinstance(value, str) else None

    @property
    def entities(self) -> list[dict[str, Any]]:
        value = self.message.get("entities", self.message.get("caption_entities", []))
        return list(value)

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        """The markup requested by the bot (inline, reply keyboard, remove, force reply)."""
        value = self.params.get("reply_markup")
        if isinstance(value, dict):
            return value
        markup = self.message.get("reply_markup")
        return markup if isinstance(markup, dict) else None

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        return buttons(self)


@dataclass
class TooFast:
    """Two messages to one chat closer than ``FakeTelegram.rate_interval_ms``."""

    chat_id: int
    method: str
    interval_ms: float
    at: float


@dataclass
class WebhookDelivery:
    """One POST of an update to the bot's webhook."""

    update_id: int
    url: str
    status: int | None  # None when the connection failed
    error: str | None
    at: float
    reply_method: str | None = None  # method returned in the response body, if any


class ApiError(Exception):
    """A Bot API error answer."""

    def __init__(
        self, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            out["parameters"] = self.parameters
        return out


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _default_description(code: int, retry_after: int) -> str:
    return {
        400: "Bad Request: simulated failure",
        401: "Unauthorized",
        403: "Forbidden: bot was blocked by the user",
        404: "Not Found",
        409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
        429: f"Too Many Requests: retry after {retry_after}",
        500: "Internal Server Error",
        502: "Bad Gateway",
    }.get(code, f"Error {code}")


# --------------------------------------------------------------------------------------
# Keyboards
# --------------------------------------------------------------------------------------


def buttons(message: BotMessage | Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """Buttons of a recorded bot message, row by row: ``(text, callback_data or url)``.

    Accepts a :class:`BotMessage` or a Telegram Message dict. Inline keyboards give the
    callback data (or the URL / web app URL / login URL of URL buttons, else None);
    reply keyboards give ``(text, None)``.
    """
    if isinstance(message, BotMessage):
        markup: Any = message.message.get("reply_markup") or message.params.get("reply_markup")
    else:
        markup = message.get("reply_markup")
    if not isinstance(markup, dict):
        return []
    out: list[tuple[str, str | None]] = []
    for row in markup.get("inline_keyboard") or []:
        for button in row:
            out.append((str(button.get("text", "")), _button_value(button)))
    for row in markup.get("keyboard") or []:
        for button in row:
            text = button if isinstance(button, str) else button.get("text", "")
            out.append((str(text), None))
    return out


def _button_value(button: Mapping[str, Any]) -> str | None:
    if "callback_data" in button:
        return str(button["callback_data"])
    if "url" in button:
        return str(button["url"])
    for key in ("web_app", "login_url"):
        nested = button.get(key)
        if isinstance(nested, dict) and "url" in nested:
            return str(nested["url"])
    return None


def _validate_inline_keyboard(markup: dict[str, Any]) -> dict[str, Any] | None:
    """Validate like Telegram; return the markup to echo in the Message (or None)."""
    rows = markup.get("inline_keyboard")
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    actions = (
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    )
    for row in rows:
        for button in row:
            if not isinstance(button, dict):
                raise _bad(
                    "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
                )
            if not button.get("text"):
                raise _bad("text buttons are unallowed in the inline keyboard")
            if not any(k in button for k in actions):
                raise _bad("text buttons are unallowed in the inline keyboard")
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                    raise _bad("BUTTON_DATA_INVALID")
            if "url" in button:
                url = str(button["url"])
                if not re.match(r"(https?|tg)://\S+$", url):
                    raise _bad(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
    if not any(rows):
        return None
    return {"inline_keyboard": [list(row) for row in rows if row]}


# --------------------------------------------------------------------------------------
# Formatting (parse_mode) — plain text plus entities, with Telegram's error messages
# --------------------------------------------------------------------------------------


class _ParseError(Exception):
    pass


def _u16(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


def _boff(src: str, index: int) -> int:
    return len(src[:index].encode())


_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*)?)\s*>")
_ATTR_RE = re.compile(r"""([a-zA-Z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_HTML_ENTITY_RE = re.compile(r"&(lt|gt|amp|quot|#\d{1,7}|#[xX][0-9a-fA-F]{1,6});")
_HTML_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}


@dataclass
class _Open:
    name: str
    entity: dict[str, Any]
    start: int
    byte_offset: int


def _parse_html(src: str) -> tuple[str, list[dict[str, Any]]]:
    out: list[str] = []
    pos = 0  # UTF-16 length of out
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    i = 0
    while i < len(src):
        ch = src[i]
        if ch == "<":
            off = _boff(src, i)
            m = _TAG_RE.match(src, i)
            if m is None:
                name = re.match(r"</?([^\s<>]*)", src[i:])
                tag = name.group(1) if name else ""
                raise _ParseError(f'Unsupported start tag "{tag}" at byte offset {off}')
            closing, name_, attrs_src = m.group(1) == "/", m.group(2).lower(), m.group(3)
            i = m.end()
            if closing:
                if not stack:
                    raise _ParseError(f"Unexpected end tag at byte offset {off}")
                top = stack.pop()
                if top.name != name_:
                    raise _ParseError(
                        f'Unmatched end tag at byte offset {off}, expected "</{top.name}>", '
                        f'found "</{name_}>"'
                    )
                length = pos - top.start
                ent = top.entity
                if (
                    name_ == "code"
                    and stack
                    and stack[-1].name == "pre"
                    and "language" in ent
                    and stack[-1].start == top.start
                ):
                    stack[-1].entity["language"] = ent["language"]
                    continue
                if ent["type"] == "code":
                    ent.pop("language", None)
                if length > 0:
                    entities.append({**ent, "offset": top.start, "length": length})
                continue
            attrs = {
                a.group(1).lower(): html_unescape(a.group(2) or a.group(3) or a.group(4) or "")
                for a in _ATTR_RE.finditer(attrs_src)
            }
            entity: dict[str, Any]
            if name_ in _HTML_SIMPLE:
                entity = {"type": _HTML_SIMPLE[name_]}
                if name_ == "code" and attrs.get("class", "").startswith("language-"):
                    entity["language"] = attrs["class"][len("language-") :]
            elif name_ == "span" and attrs.get("class") == "tg-spoiler":
                entity = {"type": "spoiler"}
            elif name_ == "a":
                href = attrs.get("href", "")
                user = re.fullmatch(r"tg://user\?id=(\d+)", href)
                if user:
                    entity = {"type": "text_mention", "user": {"id": int(user.group(1))}}
                else:
                    entity = {"type": "text_link", "url": href}
            elif name_ == "blockquote":
                entity = {
                    "type": "expandable_blockquote" if "expandable" in attrs else "blockquote"
                }
            elif name_ == "tg-emoji" and "emoji-id" in attrs:
                entity = {"type": "custom_emoji", "custom_emoji_id": attrs["emoji-id"]}
            else:
                raise _ParseError(f'Unsupported start tag "{name_}" at byte offset {off}')
            stack.append(_Open(name_, entity, pos, off))
            continue
        if ch == "&":
            m = _HTML_ENTITY_RE.match(src, i)
            if m:
                ch = html_unescape(m.group(0))
                i = m.end()
            else:
                i += 1
        elif ch == ">":
            i += 1
        else:
            i += 1
        out.append(ch)
        pos += _u16(ch)
    if stack:
        raise _ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    return "".join(out), entities


_MD2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MD2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def _parse_markdown_v2(src: str) -> tuple[str, list[dict[str, Any]]]:
    out: list[str] = []
    pos = 0
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    quote_start: int | None = None
    i = 0
    n = len(src)

    def emit(text: str) -> None:
        nonlocal pos
        out.append(text)
        pos += _u16(text)

    def read_until(end: str, start: int, what: str, allow_escape: str) -> tuple[str, int]:
        j = start
        buf: list[str] = []
        while j < n:
            if src[j] == "\\" and j + 1 < n and src[j + 1] in allow_escape:
                buf.append(src[j + 1])
                j += 2
                continue
            if src.startswith(end, j):
                return "".join(buf), j + len(end)
            buf.append(src[j])
            j += 1
        raise _ParseError(f"Can't find end of {what} entity at byte offset {_boff(src, start)}")

    while i < n:
        ch = src[i]
        at_line_start = i == 0 or src[i - 1] == "\n"
        if ch == "\n" and quote_start is not None:
            emit(ch)
            i += 1
            if not src.startswith(">", i):
                entities.append(
                    {"type": "blockquote", "offset": quote_start, "length": pos - quote_start - 1}
                )
                quote_start = None
            continue
        if ch == "\\":
            if i + 1 < n and 0 < ord(src[i + 1]) < 127:
                emit(src[i + 1])
                i += 2
                continue
            raise _ParseError(
                "Character '\\' is reserved and must be escaped with the preceding '\\'"
            )
        if ch == ">" and at_line_start:
            if quote_start is None:
                quote_start = pos
            i += 1
            continue
        if ch == "`":
            if src.startswith("```", i):
                body, end = read_until("```", i + 3, "PreCode", "`\\")
                language = ""
                if "\n" in body:
                    first, rest = body.split("\n", 1)
                    if first and re.fullmatch(r"[\w+#-]+", first):
                        language, body = first, rest
                start = pos
                emit(body)
                if body:
                    ent: dict[str, Any] = {"type": "pre", "offset": start, "length": pos - start}
                    if language:
                        ent["language"] = language
                    entities.append(ent)
                i = end
                continue
            body, end = read_until("`", i + 1, "Code", "`\\")
            start = pos
            emit(body)
            if body:
                entities.append({"type": "code", "offset": start, "length": pos - start})
            i = end
            continue
        kind: str | None = None
        width = 1
        if src.startswith("__", i):
            kind, width = "underline", 2
        elif ch == "_":
            kind = "italic"
        elif ch == "*":
            kind = "bold"
        elif ch == "~":
            kind = "strikethrough"
        elif src.startswith("||", i):
            kind, width = "spoiler", 2
        if kind is not None:
            if stack and stack[-1].entity["type"] == kind:
                top = stack.pop()
                if pos > top.start:
                    entities.append({**top.entity, "offset": top.start, "length": pos - top.start})
            elif any(o.entity["type"] == kind for o in stack):
                raise _ParseError(
                    f"Can't find end of {_MD2_NAMES[stack[-1].entity['type']]} entity at byte "
                    f"offset {stack[-1].byte_offset}"
                )
            else:
                stack.append(_Open(kind, {"type": kind}, pos, _boff(src, i)))
            i += width
            continue
        if ch == "[" or src.startswith("![", i):
            kind = "custom_emoji" if ch == "!" else "text_link"
            width = 2 if ch == "!" else 1
            stack.append(_Open(kind, {"type": kind}, pos, _boff(src, i)))
            i += width
            continue
        if ch == "]" and stack and stack[-1].name in ("text_link", "custom_emoji"):
            top = stack.pop()
            if not src.startswith("(", i + 1):
                raise _ParseError(
                    f"Can't find end of {_MD2_NAMES[top.name]} entity at byte offset "
                    f"{top.byte_offset}"
                )
            url, end = read_until(")", i + 2, _MD2_NAMES[top.name], ")\\")
            if top.name == "custom_emoji":
                m = re.fullmatch(r"tg://emoji\?id=(\d+)", url)
                if not m:
                    raise _ParseError("Custom emoji entity must contain a tg://emoji URL")
                entity = {"type": "custom_emoji", "custom_emoji_id": m.group(1)}
            else:
                user = re.fullmatch(r"tg://user\?id=(\d+)", url)
                entity = (
                    {"type": "text_mention", "user": {"id": int(user.group(1))}}
                    if user
                    else {"type": "text_link", "url": url}
                )
            if pos > top.start:
                entities.append({**entity, "offset": top.start, "length": pos - top.start})
            i = end
            continue
        if ch in _MD2_RESERVED:
            raise _ParseError(
                f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
            )
        emit(ch)
        i += 1
    if stack:
        raise _ParseError(
            f"Can't find end of {_MD2_NAMES[stack[-1].entity['type']]} entity at byte offset "
            f"{stack[-1].byte_offset}"
        )
    if quote_start is not None and pos > quote_start:
        entities.append({"type": "blockquote", "offset": quote_start, "length": pos - quote_start})
    return "".join(out), entities


def _parse_markdown(src: str) -> tuple[str, list[dict[str, Any]]]:
    out: list[str] = []
    pos = 0
    entities: list[dict[str, Any]] = []
    i = 0
    n = len(src)

    def emit(text: str) -> None:
        nonlocal pos
        out.append(text)
        pos += _u16(text)

    def find_end(end: str, start: int, opened_at: int) -> int:
        j = src.find(end, start)
        if j < 0:
            raise _ParseError(
                f"Can't find end of the entity starting at byte offset {_boff(src, opened_at)}"
            )
        return j

    while i < n:
        ch = src[i]
        if ch == "\\" and i + 1 < n and src[i + 1] in "_*`[":
            emit(src[i + 1])
            i += 2
            continue
        if src.startswith("```", i):
            j = find_end("```", i + 3, i)
            body = src[i + 3 : j]
            language = ""
            if "\n" in body:
                first, rest = body.split("\n", 1)
                if first and re.fullmatch(r"[\w+#-]+", first):
                    language, body = first, rest
            start = pos
            emit(body)
            if body:
                ent: dict[str, Any] = {"type": "pre", "offset": start, "length": pos - start}
                if language:
                    ent["language"] = language
                entities.append(ent)
            i = j + 3
            continue
        if ch in "*_`":
            j = find_end(ch, i + 1, i)
            start = pos
            emit(src[i + 1 : j])
            kind = {"*": "bold", "_": "italic", "`": "code"}[ch]
            if j > i + 1:
                entities.append({"type": kind, "offset": start, "length": pos - start})
            i = j + 1
            continue
        if ch == "[":
            j = find_end("]", i + 1, i)
            if not src.startswith("(", j + 1):
                raise _ParseError(
                    f"Can't find end of the entity starting at byte offset {_boff(src, i)}"
                )
            k = find_end(")", j + 2, i)
            start = pos
            emit(src[i + 1 : j])
            if j > i + 1:
                entities.append(
                    {
                        "type": "text_link",
                        "offset": start,
                        "length": pos - start,
                        "url": src[j + 2 : k],
                    }
                )
            i = k + 1
            continue
        emit(ch)
        i += 1
    return "".join(out), entities


def parse_formatted(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities the way Telegram derives them from ``text``/``parse_mode``.

    Raises :class:`ApiError` (400 "can't parse entities: ...") like Telegram does, and trims
    surrounding whitespace as Telegram does.
    """
    mode = (parse_mode or "").lower()
    try:
        if mode == "html":
            plain, entities = _parse_html(text)
        elif mode == "markdownv2":
            plain, entities = _parse_markdown_v2(text)
        elif mode == "markdown":
            plain, entities = _parse_markdown(text)
        elif mode == "":
            plain, entities = text, []
        else:
            raise _bad(f"unsupported parse_mode {parse_mode}")
    except _ParseError as e:
        raise _bad(f"can't parse entities: {e}") from None
    stripped = plain.strip()
    if stripped != plain and stripped:
        lead = _u16(plain[: len(plain) - len(plain.lstrip())])
        size = _u16(stripped)
        trimmed: list[dict[str, Any]] = []
        for ent in entities:
            start = max(ent["offset"] - lead, 0)
            end = min(ent["offset"] + ent["length"] - lead, size)
            if end > start:
                trimmed.append({**ent, "offset": start, "length": end - start})
        entities = trimmed
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return stripped, entities


def _bot_command_entities(text: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in re.finditer(r"(?:(?<=\s)|^)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?", text):
        out.append(
            {"type": "bot_command", "offset": _u16(text[: m.start()]), "length": _u16(m.group(0))}
        )
    return out


# --------------------------------------------------------------------------------------
# Request decoding
# --------------------------------------------------------------------------------------


def _decode_value(key: str, value: str) -> Any:
    """A form value as Telegram interprets it (aiogram JSON-encodes non-string values)."""
    if key in _STRING_PARAMS or value.startswith("attach://"):
        return value
    if value in ("true", "false"):
        return value == "true"
    if _INT_RE.fullmatch(value):
        return int(value)
    if _FLOAT_RE.fullmatch(value):
        return float(value)
    if value[:1] in ("{", "[", '"'):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _decode_params(raw: Mapping[str, Any], uploads: dict[str, Upload]) -> dict[str, Any]:
    """Type form values, resolve ``attach://`` references and direct file parts."""
    params: dict[str, Any] = {}
    for key, value in raw.items():
        params[key] = _decode_value(key, value) if isinstance(value, str) else value
    for key, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            name = value[len("attach://") :]
            if name not in uploads:
                raise _bad(f"file attach://{name} not found in the request")  # Telegram-like
            params[key] = uploads.pop(name)
    for key, upload in uploads.items():  # a file posted directly under the parameter name
        params.setdefault(key, upload)
    return params


def _guess_mime(filename: str | None, data: bytes, fallback: str | None) -> str:
    if data.startswith(b"OggS"):
        return "audio/ogg"
    if data.startswith(b"%PDF"):
        return "application/pdf"
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if filename:
        guessed, _ = mimetypes.guess_type(filename)
        if guessed:
            return guessed
    if fallback and fallback != "application/octet-stream":
        return fallback
    if data.startswith((b"ID3", b"\xff\xfb", b"\xff\xf3")):
        return "audio/mpeg"
    if data.startswith(b"RIFF") and data[8:12] == b"WAVE":
        return "audio/x-wav"
    return "application/octet-stream"


def _png_size(data: bytes) -> tuple[int, int] | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return None


@dataclass
class _Ctx:
    method: str
    token: str
    at: float
    via: str


# --------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------


class FakeTelegram:
    """Fake Telegram Bot API cloud: an aiohttp server plus a test-side API.

    Recording: ``calls`` (``Call(method, params)``), ``call_log`` (with outcome),
    ``files`` (file_id → :class:`StoredFile`), ``too_fast``, ``webhook_deliveries``,
    ``callback_queries`` / ``callback_answers``, ``commands``, ``downloads``.
    Waiting: :meth:`wait_for_call`, :meth:`next_message`, :meth:`wait_for_poller`,
    :meth:`wait_for_delivery` — all event-driven with a timeout (TimeoutError with a
    description of what *was* seen). ``wait_for_call`` and ``next_message`` consume
    independently: a sendMessage taken by one is still there for the other.

    ``stop()`` then ``start()`` again keeps the port and all state: the bot sees an outage.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        token: str = DEFAULT_TOKEN,
        bot_username: str = "fake_pbx_bot",
        bot_first_name: str = "PBX",
        rate_interval_ms: float | None = 1000.0,
        rate_enforce: bool = False,
        strict_chats: bool = True,
        require_https_webhook: bool = False,
        webhook_retry_delay: float = 0.5,
        webhook_max_attempts: int = 3,
    ) -> None:
        self.host = host
        self.port = port
        self.token = token
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        # Per-chat rate check: two sends to one chat closer than this are recorded in
        # ``too_fast`` (and answered with 429 when ``rate_enforce``). None disables it.
        self.rate_interval_ms = rate_interval_ms
        self.rate_enforce = rate_enforce
        # Sending to a chat that never talked to the bot gives 400 "chat not found".
        self.strict_chats = strict_chats
        self.require_https_webhook = require_https_webhook
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_max_attempts = webhook_max_attempts

        self.tokens_seen: list[str] = []
        self.calls: list[Call] = []
        self.call_log: list[CallRecord] = []
        self.files: dict[str, StoredFile] = {}
        self.too_fast: list[TooFast] = []
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.callback_queries: dict[str, dict[str, Any]] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.downloads: list[str] = []
        self.chat_actions: list[tuple[int, str]] = []
        self.dropped_updates: list[dict[str, Any]] = []  # excluded by allowed_updates

        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self._webhook_token: str | None = None
        self._webhook_max_connections = 40
        self._webhook_last_error: tuple[int, str] | None = None
        self._allowed_updates: list[str] = []

        self._events: list[BotMessage] = []
        self._consumed_calls: set[int] = set()
        self._consumed_events: set[int] = set()
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._next_message_id: dict[int, int] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._users: dict[int, TgUser] = {}
        self._blocked: set[int] = set()
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_counter = itertools.count()
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(100_000_001)
        self._delivery_attempts: dict[int, int] = {}
        self._poll_generation = 0
        self._pollers = 0
        self._last_send: dict[int, float] = {}
        self._failures: dict[str, deque[ApiError]] = {}
        self._garbled: dict[str, deque[int]] = {}
        self._cond = asyncio.Condition()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._webhook_task: asyncio.Task[None] | None = None

        self._handlers: dict[str, Callable[[_Ctx, dict[str, Any]], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "logOut": self._true,
            "close": self._true,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "editMessageCaption": self._edit_message_caption,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendDocument": self._send_media,
            "sendPhoto": self._send_media,
            "sendVoice": self._send_media,
            "sendAudio": self._send_media,
            "getFile": self._get_file,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getChat": self._get_chat,
            "sendChatAction": self._send_chat_action,
        }
        self._canonical = {name.lower(): name for name in self._handlers}

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_UPLOAD + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])  # kept: a restart reuses the port
        self._closing = False
        self._client = aiohttp.ClientSession()
        self._webhook_task = asyncio.create_task(self._webhook_loop(), name="fake-tg-webhook")

    async def stop(self) -> None:
        self._closing = True
        await self._notify()  # long polls answer at once, the webhook loop ends
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_server(self) -> TelegramAPIServer:
        """aiogram's ``TelegramAPIServer`` for this server."""
        from aiogram.client.telegram import TelegramAPIServer

        return TelegramAPIServer.from_base(self.base_url)

    def make_bot(self, token: str | None = None, **kwargs: Any) -> Bot:
        """An aiogram ``Bot`` talking to this server (caller closes ``bot.session``)."""
        from aiogram import Bot
        from aiogram.client.session.aiohttp import AiohttpSession

        return Bot(token or self.token, session=AiohttpSession(api=self.api_server), **kwargs)

    def bot_user(self, token: str | None = None) -> dict[str, Any]:
        """The bot's User object (its id is the numeric part of the token)."""
        tok = token or self.token
        head = tok.split(":", 1)[0]
        bot_id = int(head) if head.isdigit() else 1
        return {
            "id": bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # ---------------------------------------------------------------- test-side: users

    def add_user(self, user: TgUser) -> None:
        """Register a user as having started the bot (so the bot may message them)."""
        self._users[user.id] = user
        self._chats[user.id] = user.private_chat()
        self._blocked.discard(user.id)

    def block(self, user: TgUser) -> None:
        """The user blocks the bot: sends to them fail with 403 like Telegram's."""
        self._blocked.add(user.id)

    def unblock(self, user: TgUser) -> None:
        self._blocked.discard(user.id)

    async def push_update(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update (``update_id`` assigned); delivered by getUpdates or webhook."""
        update = {"update_id": next(self._update_ids), **payload}
        if self._allowed(update):
            self._updates.append(update)
        else:  # the bot's allowed_updates excludes this type: Telegram never delivers it
            self.dropped_updates.append(update)
        await self._notify()
        return update

    async def send_text(
        self, user: TgUser, text: str, *, reply_to: BotMessage | int | None = None
    ) -> dict[str, Any]:
        """A private text message from ``user``; returns the Update pushed."""
        message = self._user_message(user, reply_to)
        message["text"] = text
        entities = _bot_command_entities(text)
        if entities:
            message["entities"] = entities
        return await self.push_update({"message": message})

    async def send_voice(
        self, user: TgUser, data: bytes, duration: int, *, mime_type: str = "audio/ogg"
    ) -> dict[str, Any]:
        """A voice message from ``user`` (its file can be fetched with getFile)."""
        stored = self._store_file("voice", data, None, mime_type)
        message = self._user_message(user, None)
        message["voice"] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": mime_type,
            "file_size": stored.size,
        }
        return await self.push_update({"message": message})

    async def send_document(
        self,
        user: TgUser,
        data: bytes,
        filename: str,
        mime_type: str | None = None,
        *,
        caption: str | None = None,
    ) -> dict[str, Any]:
        """A document from ``user`` (its file can be fetched with getFile)."""
        mime = mime_type or _guess_mime(filename, data, None)
        stored = self._store_file("document", data, filename, mime)
        message = self._user_message(user, None)
        message["document"] = {
            "file_name": filename,
            "mime_type": mime,
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
        }
        if caption is not None:
            message["caption"] = caption
        return await self.push_update({"message": message})

    async def press(
        self,
        user: TgUser,
        message: BotMessage | Mapping[str, Any],
        data: str,
        *,
        check: bool = True,
    ) -> dict[str, Any]:
        """``user`` presses the inline button with callback ``data`` on a bot message.

        The callback query carries the message's *current* state. With ``check`` (the
        default) the button must exist on the current keyboard — as for a real user.
        Returns the Update; its ``["callback_query"]["id"]`` is what the bot must answer.
        """
        chat_id, message_id = self._message_key(message)
        current = self._messages.get((chat_id, message_id))
        if current is None:
            raise LookupError(f"message {message_id} in chat {chat_id} does not exist (deleted?)")
        if check:
            chat_type = current.get("chat", {}).get("type")
            if chat_type == "private" and chat_id != user.id:
                raise LookupError(f"user {user.id} cannot see message in private chat {chat_id}")
            available = [value for _, value in buttons(current)]
            if data not in available:
                raise LookupError(
                    f"no inline button with callback_data {data!r} on message {message_id}; "
                    f"buttons now: {buttons(current)}"
                )
        query_id = str(secrets.randbelow(10**18) + 10**18)
        query = {
            "id": query_id,
            "from": user.to_json(),
            "message": copy.deepcopy(current),
            "chat_instance": str((chat_id * 2654435761 + 7046029254386353131) % 10**19),
            "data": data,
        }
        self.callback_queries[query_id] = query
        return await self.push_update({"callback_query": query})

    async def press_button(
        self, user: TgUser, message: BotMessage | Mapping[str, Any], text: str
    ) -> dict[str, Any]:
        """Press the inline callback button whose label is ``text``."""
        chat_id, message_id = self._message_key(message)
        current = self._messages.get((chat_id, message_id)) or {}
        for label, value in buttons(current):
            if label == text and value is not None:
                return await self.press(user, message, value)
        raise LookupError(f"no button {text!r}; buttons now: {buttons(current)}")

    # ---------------------------------------------------------------- test-side: inspection

    def fail_next(
        self,
        method: str,
        error_code: int = 429,
        retry_after: int = 1,
        *,
        description: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail like Telegram does.

        429 answers carry ``parameters.retry_after`` (aiogram raises TelegramRetryAfter).
        """
        name = self._canonical.get(method.lower(), method)
        params = {"retry_after": retry_after} if error_code == 429 else None
        desc = description or _default_description(error_code, retry_after)
        queue = self._failures.setdefault(name, deque())
        for _ in range(times):
            queue.append(ApiError(error_code, desc, params))

    def garble_next(self, method: str, status: int = 200, *, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with ``status`` and a body that is
        not JSON (a reply cut short, a proxy's error page). With a 2xx the call still takes
        effect (the message is sent); with any other status it does not."""
        name = self._canonical.get(method.lower(), method)
        self._garbled.setdefault(name, deque()).extend([status] * times)

    def messages_to(self, chat_id: int) -> list[BotMessage]:
        """Every send/edit the bot made in ``chat_id`` (successful ones), in order."""
        return [e for e in self._events if e.chat_id == chat_id]

    def current_message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """The message as the user sees it now (None if deleted / never existed)."""
        msg = self._messages.get((chat_id, message_id))
        return copy.deepcopy(msg) if msg is not None else None

    def chat_history(self, chat_id: int) -> list[dict[str, Any]]:
        """All messages currently in the chat (both sides), oldest first."""
        keys = sorted(k for k in self._messages if k[0] == chat_id)
        return [copy.deepcopy(self._messages[k]) for k in keys]

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == method]

    def unanswered_callbacks(self) -> list[str]:
        return [q for q in self.callback_queries if q not in self.callback_answers]

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        return list(self._updates)

    def webhook_info(self) -> dict[str, Any]:
        return self._webhook_info()

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 5.0,
    ) -> Call:
        """The first not yet consumed call of ``method`` (whose params match ``predicate``).

        Failed calls (e.g. from :meth:`fail_next`) count too; see ``call_log`` for outcomes.
        """
        name = self._canonical.get(method.lower(), method)

        def find() -> Call | None:
            for index, call in enumerate(self.calls):
                if index in self._consumed_calls or call.method != name:
                    continue
                if predicate is None or predicate(call.params):
                    self._consumed_calls.add(index)
                    return call
            return None

        def describe() -> str:
            seen = [c.method for c in self.calls if c.method != "getUpdates"]
            return f"no {name} call within {timeout}s; calls seen: {seen}"

        return await self._wait(find, timeout, describe)

    async def next_message(
        self,
        chat_id: int,
        timeout: float = 5.0,
        *,
        methods: Iterable[str] | None = None,
    ) -> BotMessage:
        """The next not yet consumed send/edit the bot made in ``chat_id``."""
        wanted = frozenset(methods) if methods is not None else _MESSAGE_METHODS

        def find() -> BotMessage | None:
            for index, event in enumerate(self._events):
                if index in self._consumed_events:
                    continue
                if event.chat_id == chat_id and event.method in wanted:
                    self._consumed_events.add(index)
                    return event
            return None

        def describe() -> str:
            seen = [(e.method, e.text) for e in self._events if e.chat_id == chat_id]
            errors = [
                (r.method, r.response.get("description"))
                for r in self.call_log
                if not r.ok and r.method != "getUpdates"
            ]
            dropped = [next(k for k in u if k != "update_id") for u in self.dropped_updates]
            return (
                f"no new message to chat {chat_id} within {timeout}s; "
                f"messages to it: {seen}; failed calls: {errors}; "
                f"updates dropped by allowed_updates {self._allowed_updates}: {dropped}; "
                f"pending updates: {len(self._updates)}"
            )

        return await self._wait(find, timeout, describe)

    async def wait_for_poller(self, timeout: float = 5.0) -> None:
        """Wait until a getUpdates long poll is parked on the server."""
        await self._wait(
            lambda: True if self._pollers > 0 else None,
            timeout,
            lambda: f"no getUpdates long poll within {timeout}s",
        )

    async def wait_for_delivery(
        self, update_id: int | None = None, timeout: float = 5.0
    ) -> WebhookDelivery:
        """The first webhook delivery (of ``update_id`` if given)."""

        def find() -> WebhookDelivery | None:
            for d in self.webhook_deliveries:
                if update_id is None or d.update_id == update_id:
                    return d
            return None

        return await self._wait(
            find,
            timeout,
            lambda: (
                f"no webhook delivery of {update_id} within {timeout}s "
                f"(webhook {self.webhook_url!r}, deliveries {self.webhook_deliveries})"
            ),
        )

    async def post_to_webhook(
        self, update: dict[str, Any], *, secret_token: str | None = None
    ) -> tuple[int, str]:
        """POST an update to the bot's webhook directly (e.g. a forged one with a wrong
        secret); nothing is recorded or retried. Returns (HTTP status, body)."""
        if self.webhook_url is None or self._client is None:
            raise RuntimeError("no webhook set (or server not started)")
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret_token} if secret_token else {}
        async with self._client.post(
            self.webhook_url, json=update, headers=headers, timeout=aiohttp.ClientTimeout(10)
        ) as resp:
            return resp.status, await resp.text()

    def clear(self) -> None:
        """Forget recorded calls/messages (the chat state and files stay)."""
        self.calls.clear()
        self.call_log.clear()
        self._events.clear()
        self._consumed_calls.clear()
        self._consumed_events.clear()
        self.too_fast.clear()
        self.webhook_deliveries.clear()

    # ---------------------------------------------------------------- internals: sync

    async def _notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    async def _wait(
        self, find: Callable[[], _T | None], timeout: float, describe: Callable[[], str]
    ) -> _T:
        found: list[_T] = []

        def check() -> bool:
            value = find()
            if value is not None:
                found.append(value)
                return True
            return False

        try:
            async with asyncio.timeout(timeout), self._cond:
                await self._cond.wait_for(check)
        except TimeoutError:
            raise TimeoutError(describe()) from None
        return found[0]

    # ---------------------------------------------------------------- internals: HTTP

    async def _handle_api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        try:
            params = await self._read_params(request)
        except ApiError as e:
            return web.json_response(e.payload(), status=e.code)
        garbled = self._garbled.get(self._canonical.get(method.lower(), method))
        if garbled:
            status = garbled.popleft()
            if 200 <= status < 300:
                await self._execute(token, method, params, via="http")
            else:
                self.calls.append(Call(self._canonical.get(method.lower(), method), params))
            return web.Response(status=status, text=GARBLED_BODY, content_type="text/html")
        status, payload = await self._execute(token, method, params, via="http")
        return web.json_response(payload, status=status)

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        raw: dict[str, Any] = dict(request.query)
        uploads: dict[str, Upload] = {}
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                body = await request.read()
                if body.strip():
                    try:
                        data = json.loads(body)
                    except ValueError:
                        raise _bad("can't parse JSON request body") from None
                    if not isinstance(data, dict):
                        raise _bad("JSON object expected")
                    for key, value in data.items():
                        raw[key] = value
            else:
                try:
                    form = await request.post()
                except web.HTTPRequestEntityTooLarge:
                    raise ApiError(413, "Request Entity Too Large") from None
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        uploads[key] = Upload(
                            key, value.filename, value.content_type, value.file.read()
                        )
                    elif isinstance(value, bytes | bytearray):
                        uploads[key] = Upload(key, None, None, bytes(value))
                    else:
                        raw[key] = value
        return _decode_params(raw, uploads)

    async def _handle_file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        self._note_token(request.match_info["token"])
        self.downloads.append(path)
        stored = self._files_by_path.get(path)
        if stored is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(body=stored.data, content_type="application/octet-stream")

    def _note_token(self, token: str) -> None:
        if token not in self.tokens_seen:
            self.tokens_seen.append(token)

    async def _execute(
        self, token: str, method: str, params: dict[str, Any], *, via: str
    ) -> tuple[int, dict[str, Any]]:
        self._note_token(token)
        loop = asyncio.get_running_loop()
        name = self._canonical.get(method.lower(), method)
        ctx = _Ctx(method=name, token=token, at=loop.time(), via=via)
        status = 200
        try:
            queue = self._failures.get(name)
            if queue:
                raise queue.popleft()
            handler = self._handlers.get(name)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            result = await handler(ctx, params)
            payload: dict[str, Any] = {"ok": True, "result": result}
            if name == "setWebhook":
                payload["description"] = (
                    "Webhook was set" if self.webhook_url else "Webhook was deleted"
                )
            elif name == "deleteWebhook":
                payload["description"] = "Webhook was deleted"
        except ApiError as e:
            status, payload = e.code, e.payload()
        self.calls.append(Call(name, params))
        self.call_log.append(CallRecord(name, params, token, ctx.at, status, payload, via))
        await self._notify()
        return status, payload

    # ---------------------------------------------------------------- internals: state

    def _chat_id(self, params: Mapping[str, Any], key: str = "chat_id") -> int:
        value = params.get(key)
        if value is None or value == "":
            raise _bad("chat_id is empty")
        if isinstance(value, bool):
            raise _bad("chat not found")
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            if _INT_RE.fullmatch(value):
                return int(value)
            if value.startswith("@"):
                for chat_id, chat in self._chats.items():
                    if chat.get("type") != "private" and chat.get("username") == value[1:]:
                        return chat_id
        raise _bad("chat not found")

    def _chat_for_send(self, chat_id: int) -> dict[str, Any]:
        chat = self._chats.get(chat_id)
        if chat is None:
            if self.strict_chats:
                raise _bad("chat not found")
            chat = {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
            self._chats[chat_id] = chat
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _alloc_message_id(self, chat_id: int) -> int:
        mid = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = mid + 1
        return mid

    def _user_message(self, user: TgUser, reply_to: BotMessage | int | None) -> dict[str, Any]:
        self.add_user(user)
        message: dict[str, Any] = {
            "message_id": self._alloc_message_id(user.id),
            "from": user.to_json(),
            "chat": user.private_chat(),
            "date": int(time.time()),
        }
        if reply_to is not None:
            mid = reply_to.message_id if isinstance(reply_to, BotMessage) else reply_to
            original = self._messages.get((user.id, mid))
            if original is not None:
                message["reply_to_message"] = _without_reply(original)
        self._messages[(user.id, message["message_id"])] = message
        return copy.deepcopy(message)

    def _message_key(self, message: BotMessage | Mapping[str, Any]) -> tuple[int, int]:
        if isinstance(message, BotMessage):
            return message.chat_id, message.message_id
        return int(message["chat"]["id"]), int(message["message_id"])

    def _store_file(
        self,
        kind: str,
        data: bytes,
        filename: str | None,
        mime_type: str | None,
        source_url: str | None = None,
    ) -> StoredFile:
        number = next(self._file_counter)
        ext = ""
        if filename and "." in filename:
            ext = "." + filename.rsplit(".", 1)[1]
        elif kind == "voice":
            ext = ".oga"
        elif kind == "photo":
            ext = ".jpg"
        elif kind == "audio":
            ext = ".mp3"
        elif mime_type:
            ext = mimetypes.guess_extension(mime_type) or ""
        stored = StoredFile(
            file_id=_FILE_ID_PREFIX.get(kind, "CQACAgIAAxkBAA") + secrets.token_urlsafe(40),
            file_unique_id="AgAD" + secrets.token_urlsafe(9),
            kind=kind,
            data=data,
            filename=filename,
            mime_type=mime_type,
            file_path=f"{_FILE_DIRS.get(kind, 'documents')}/file_{number}{ext}",
            source_url=source_url,
        )
        self.files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _check_rate(self, chat_id: int, method: str, at: float) -> None:
        if self.rate_interval_ms is None:
            return
        last = self._last_send.get(chat_id)
        if last is not None:
            interval = (at - last) * 1000.0
            if interval < self.rate_interval_ms:
                self.too_fast.append(TooFast(chat_id, method, interval, at))
                if self.rate_enforce:
                    wait = max(1, int((self.rate_interval_ms - interval) / 1000.0 + 0.999))
                    raise ApiError(
                        429, f"Too Many Requests: retry after {wait}", {"retry_after": wait}
                    )
        self._last_send[chat_id] = at

    def _record_event(
        self,
        ctx: _Ctx,
        method: str,
        params: dict[str, Any],
        message: dict[str, Any],
        file: StoredFile | None = None,
    ) -> None:
        self._events.append(
            BotMessage(
                method=method,
                chat_id=int(message["chat"]["id"]),
                message_id=int(message["message_id"]),
                params=params,
                message=copy.deepcopy(message),
                file=file,
                at=ctx.at,
            )
        )

    def _apply_markup(self, message: dict[str, Any], params: Mapping[str, Any]) -> None:
        markup = params.get("reply_markup")
        if markup is None:
            return
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            inline = _validate_inline_keyboard(markup)
            if inline is not None:
                message["reply_markup"] = inline
        elif "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not any(rows):
                raise _bad("keyboard must be non-empty")
        # reply keyboards / remove / force_reply are not part of the returned Message

    def _apply_reply(
        self, chat_id: int, message: dict[str, Any], params: Mapping[str, Any]
    ) -> None:
        reply = params.get("reply_parameters")
        mid: int | None = None
        allow_missing = bool(params.get("allow_sending_without_reply"))
        if isinstance(reply, dict):
            mid = reply.get("message_id")
            allow_missing = allow_missing or bool(reply.get("allow_sending_without_reply"))
        elif params.get("reply_to_message_id") is not None:
            mid = int(params["reply_to_message_id"])
        if mid is None:
            return
        original = self._messages.get((chat_id, int(mid)))
        if original is None:
            if not allow_missing:
                raise _bad("message to be replied not found")
            return
        message["reply_to_message"] = _without_reply(original)

    def _text_content(self, params: Mapping[str, Any], key: str, limit: int) -> dict[str, Any]:
        raw = params.get(key)
        if raw is None or raw == "":
            if key == "text":
                raise _bad("message text is empty")
            return {}
        text = str(raw)
        entities_param = params.get("entities" if key == "text" else "caption_entities")
        if isinstance(entities_param, list) and entities_param:
            plain, entities = text, [dict(e) for e in entities_param]
        else:
            plain, entities = parse_formatted(text, params.get("parse_mode"))
        if not plain:
            if key == "text":
                raise _bad("message text is empty")
            return {}
        if len(plain) > limit:
            raise _bad("message is too long" if key == "text" else "message caption is too long")
        out: dict[str, Any] = {key: plain}
        if entities:
            out["entities" if key == "text" else "caption_entities"] = entities
        return out

    def _editable(self, ctx: _Ctx, params: Mapping[str, Any]) -> dict[str, Any]:
        if params.get("inline_message_id"):
            raise _bad("inline messages are not supported by the fake")
        chat_id = self._chat_id(params)
        message_id = params.get("message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        message = self._messages.get((chat_id, int(message_id)))
        if message is None:
            raise _bad("message to edit not found")
        if message["from"]["id"] != self.bot_user(ctx.token)["id"]:
            raise _bad("message can't be edited")
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return message

    # ---------------------------------------------------------------- methods

    async def _true(self, ctx: _Ctx, params: dict[str, Any]) -> bool:
        return True

    async def _get_me(self, ctx: _Ctx, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user(ctx.token),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _allowed(self, update: Mapping[str, Any]) -> bool:
        kind = next((k for k in update if k != "update_id"), "")
        if self._allowed_updates:
            return kind in self._allowed_updates
        return kind not in _DEFAULT_EXCLUDED_UPDATES

    def _set_allowed_updates(self, params: Mapping[str, Any]) -> None:
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(a) for a in allowed]
        # updates of types the bot does not want are confirmed away
        self._updates = [u for u in self._updates if self._allowed(u)]

    async def _get_updates(self, ctx: _Ctx, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = max(1, min(int(params.get("limit") or 100), 100))
        timeout = max(0.0, float(params.get("timeout") or 0))
        self._set_allowed_updates(params)
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:  # the last -offset updates; all earlier ones are forgotten
            self._updates = self._updates[offset:]
        self._poll_generation += 1
        generation = self._poll_generation

        def ready() -> list[dict[str, Any]] | None:
            if self._closing or self.webhook_url:
                return []
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            updates = list(self._updates)
            return updates[:limit] if updates else None

        first = ready()
        if first is not None or timeout == 0:
            return first or []
        await self._notify()  # wake any older poll so it ends with 409
        result: list[list[dict[str, Any]]] = []
        error: list[ApiError] = []

        def check() -> bool:
            try:
                value = ready()
            except ApiError as e:
                error.append(e)
                return True
            if value is not None:
                result.append(value)
                return True
            return False

        async with self._cond:
            self._pollers += 1
            self._cond.notify_all()
            try:
                async with asyncio.timeout(timeout):
                    await self._cond.wait_for(check)
            except TimeoutError:
                pass
            finally:
                self._pollers -= 1
        if error:
            raise error[0]
        return result[0] if result else []

    def _webhook_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_url:
            info["max_connections"] = self._webhook_max_connections
            info["ip_address"] = "127.0.0.1"
            if self._allowed_updates:
                info["allowed_updates"] = list(self._allowed_updates)
        if self._webhook_last_error is not None:
            info["last_error_date"], info["last_error_message"] = self._webhook_last_error
        return info

    async def _set_webhook(self, ctx: _Ctx, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return await self._delete_webhook(ctx, params)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _bad("bad webhook: Failed to resolve host: Name or service not known")
        if parts.scheme != "https" and self.require_https_webhook:
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None:
            secret = str(secret)
            if not _SECRET_RE.fullmatch(secret):
                raise _bad("bad webhook: secret token contains unallowed characters")
        max_connections = int(params.get("max_connections") or 40)
        if not 1 <= max_connections <= 100:
            raise _bad("bad webhook: max_connections must be between 1 and 100")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._set_allowed_updates(params)
        self.webhook_url = url
        self.webhook_secret = secret or None
        self._webhook_token = ctx.token
        self._webhook_max_connections = max_connections
        self._webhook_last_error = None
        return True

    async def _delete_webhook(self, ctx: _Ctx, params: dict[str, Any]) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook_url = None
        self.webhook_secret = None
        self._webhook_token = None
        self._webhook_last_error = None
        return True

    async def _get_webhook_info(self, ctx: _Ctx, params: dict[str, Any]) -> dict[str, Any]:
        return self._webhook_info()

    async def _send_message(self, ctx: _Ctx, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        content = self._text_content(params, "text", MAX_TEXT)
        chat = self._chat_for_send(chat_id)
        message: dict[str, Any] = {
            "message_id": 0,
            "from": self.bot_user(ctx.token),
            "chat": dict(chat),
            "date": int(time.time()),
        }
        self._apply_reply(chat_id, message, params)
        message.update(content)
        if isinstance(params.get("link_preview_options"), dict):
            message["link_preview_options"] = params["link_preview_options"]
        self._apply_markup(message, params)
        self._check_rate(chat_id, "sendMessage", ctx.at)
        message["message_id"] = self._alloc_message_id(chat_id)
        message = _reorder(message)
        self._messages[(chat_id, message["message_id"])] = message
        self._record_event(ctx, "sendMessage", params, message)
        return copy.deepcopy(message)

    def _resolve_media(self, method: str, params: dict[str, Any]) -> StoredFile:
        key = _MEDIA_FIELDS[method]
        kind = key
        value = params.get(key)
        if value is None or value == "":
            raise _bad(f"there is no {key} in the request")
        if isinstance(value, Upload):
            if not value.data:
                raise _bad("file must be non-empty")
            if len(value.data) > MAX_UPLOAD:
                raise ApiError(413, "Request Entity Too Large")
            filename = value.filename if value.filename and value.filename != key else None
            if kind == "document" and filename is None:
                filename = value.filename or "file"
            mime: str | None = _guess_mime(filename, value.data, value.content_type)
            if kind == "photo":
                mime = None
            return self._store_file(kind, value.data, filename, mime)
        if isinstance(value, str):
            existing = self.files.get(value)
            if existing is not None:
                return existing
            if re.match(r"https?://", value):
                name = urlsplit(value).path.rsplit("/", 1)[-1] or None
                return self._store_file(kind, b"", name, _guess_mime(name, b"", None), value)
        raise _bad("wrong file identifier/HTTP URL specified")

    async def _send_media(self, ctx: _Ctx, params: dict[str, Any]) -> dict[str, Any]:
        method = ctx.method
        chat_id = self._chat_id(params)
        caption = self._text_content(params, "caption", MAX_CAPTION)
        chat = self._chat_for_send(chat_id)
        stored = self._resolve_media(method, params)
        message: dict[str, Any] = {
            "message_id": 0,
            "from": self.bot_user(ctx.token),
            "chat": dict(chat),
            "date": int(time.time()),
        }
        self._apply_reply(chat_id, message, params)
        base = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if stored.kind == "document":
            message["document"] = {
                **({"file_name": stored.filename} if stored.filename else {}),
                **({"mime_type": stored.mime_type} if stored.mime_type else {}),
                **base,
                "file_size": stored.size,
            }
        elif stored.kind == "photo":
            width, height = _png_size(stored.data) or (800, 600)
            message["photo"] = [
                {**base, "file_size": stored.size, "width": width, "height": height}
            ]
        elif stored.kind == "voice":
            message["voice"] = {
                "duration": int(params.get("duration") or 0),
                "mime_type": stored.mime_type or "audio/ogg",
                **base,
                "file_size": stored.size,
            }
        else:
            audio: dict[str, Any] = {"duration": int(params.get("duration") or 0)}
            for key in ("performer", "title"):
                if params.get(key):
                    audio[key] = str(params[key])
            if stored.filename:
                audio["file_name"] = stored.filename
            audio.update(
                {"mime_type": stored.mime_type or "audio/mpeg", **base, "file_size": stored.size}
            )
            message["audio"] = audio
        message.update(caption)
        self._apply_markup(message, params)
        self._check_rate(chat_id, method, ctx.at)
        message["message_id"] = self._alloc_message_id(chat_id)
        message = _reorder(message)
        self._messages[(chat_id, message["message_id"])] = message
        self._record_event(ctx, method, params, message, stored)
        return copy.deepcopy(message)

    async def _edit_message_text(self, ctx: _Ctx, params: dict[str, Any]) -> dict[str, Any]:
        message = self._editable(ctx, params)
        if "text" not in message:
            raise _bad("there is no text in the message to edit")
        content = self._text_content(params, "text", MAX_TEXT)
        updated = {k: v for k, v in message.items() if k not in ("entities", "reply_markup")}
        updated.update(content)
        if isinstance(params.get("link_preview_options"), dict):
            updated["link_preview_options"] = params["link_preview_options"]
        self._apply_markup(updated, params)
        return self._commit_edit(ctx, "editMessageText", params, message, updated)

    async def _edit_message_caption(self, ctx: _Ctx, params: dict[str, Any]) -> dict[str, Any]:
        message = self._editable(ctx, params)
        if "text" in message:
            raise _bad("there is no caption in the message to edit")
        content = self._text_content(params, "caption", MAX_CAPTION)
        drop = ("caption", "caption_entities", "reply_markup")
        updated = {k: v for k, v in message.items() if k not in drop}
        updated.update(content)
        self._apply_markup(updated, params)
        return self._commit_edit(ctx, "editMessageCaption", params, message, updated)

    async def _edit_message_reply_markup(self, ctx: _Ctx, params: dict[str, Any]) -> dict[str, Any]:
        message = self._editable(ctx, params)
        updated = {k: v for k, v in message.items() if k != "reply_markup"}
        self._apply_markup(updated, params)
        return self._commit_edit(ctx, "editMessageReplyMarkup", params, message, updated)

    def _commit_edit(
        self,
        ctx: _Ctx,
        method: str,
        params: dict[str, Any],
        old: dict[str, Any],
        new: dict[str, Any],
    ) -> dict[str, Any]:
        compare = ("text", "entities", "caption", "caption_entities", "reply_markup")
        if all(old.get(k) == new.get(k) for k in compare):
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        new.pop("edit_date", None)
        new["edit_date"] = int(time.time())
        new = _reorder(new)
        chat_id = int(new["chat"]["id"])
        self._messages[(chat_id, int(new["message_id"]))] = new
        self._record_event(ctx, method, params, new)
        return copy.deepcopy(new)

    async def _delete_message(self, ctx: _Ctx, params: dict[str, Any]) -> bool:
        chat_id = self._chat_id(params)
        message_id = params.get("message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        if self._messages.pop((chat_id, int(message_id)), None) is None:
            raise _bad("message to delete not found")
        return True

    async def _answer_callback_query(self, ctx: _Ctx, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self.callback_queries or query_id in self.callback_answers:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self.callback_answers[query_id] = params
        return True

    async def _get_file(self, ctx: _Ctx, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id") or "")
        if not file_id:
            raise _bad("file_id is empty")
        stored = self.files.get(file_id)
        if stored is None:
            raise _bad("invalid file_id")
        if stored.size > MAX_DOWNLOAD:
            raise _bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }

    @staticmethod
    def _scope_key(params: Mapping[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _set_my_commands(self, ctx: _Ctx, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("too many commands")
        for command in commands:
            if not isinstance(command, dict):
                raise _bad("can't parse BotCommand JSON object")
            if not _COMMAND_RE.fullmatch(str(command.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad("command description is empty")
        self.commands[self._scope_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def _get_my_commands(self, ctx: _Ctx, params: dict[str, Any]) -> list[dict[str, Any]]:
        return list(self.commands.get(self._scope_key(params), []))

    async def _delete_my_commands(self, ctx: _Ctx, params: dict[str, Any]) -> bool:
        self.commands.pop(self._scope_key(params), None)
        return True

    async def _get_chat(self, ctx: _Ctx, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        chat = self._chats.get(chat_id)
        if chat is None:
            raise _bad("chat not found")
        return {
            **chat,
            "accent_color_id": chat_id % 7,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    async def _send_chat_action(self, ctx: _Ctx, params: dict[str, Any]) -> bool:
        chat_id = self._chat_id(params)
        action = params.get("action")
        if not action:
            raise _bad("action is empty")
        if action not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self._chat_for_send(chat_id)
        self.chat_actions.append((chat_id, str(action)))
        return True

    # ---------------------------------------------------------------- webhook delivery

    async def _webhook_loop(self) -> None:
        while True:
            async with self._cond:
                await self._cond.wait_for(
                    lambda: self._closing or (bool(self.webhook_url) and bool(self._updates))
                )
                if self._closing:
                    return
                update = self._updates[0]
                url = self.webhook_url or ""
                secret = self.webhook_secret
                token = self._webhook_token or self.token
            delivery = await self._deliver(url, secret, token, update)
            ok = delivery.status is not None and 200 <= delivery.status < 300
            if ok:
                self._webhook_last_error = None
            else:
                reason = (
                    f"Wrong response from the webhook: {delivery.status}"
                    if delivery.status is not None
                    else f"Connection failed: {delivery.error}"
                )
                self._webhook_last_error = (int(time.time()), reason)
            attempts = self._delivery_attempts.get(update["update_id"], 0) + 1
            self._delivery_attempts[update["update_id"]] = attempts
            if (ok or attempts >= self.webhook_max_attempts) and update in self._updates:
                self._updates.remove(update)
            await self._notify()
            if not ok:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.webhook_retry_delay), self._cond:
                        await self._cond.wait_for(lambda: self._closing)

    async def _deliver(
        self, url: str, secret: str | None, token: str, update: dict[str, Any]
    ) -> WebhookDelivery:
        assert self._client is not None
        loop = asyncio.get_running_loop()
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        delivery = WebhookDelivery(update["update_id"], url, None, None, loop.time())
        reply: tuple[str, dict[str, Any]] | None = None
        try:
            async with self._client.post(
                url, json=update, headers=headers, timeout=aiohttp.ClientTimeout(total=60)
            ) as resp:
                delivery.status = resp.status
                if 200 <= resp.status < 300:
                    reply = await self._read_webhook_reply(resp)
        except (aiohttp.ClientError, TimeoutError) as e:
            delivery.error = f"{type(e).__name__}: {e}"
        except ApiError as e:
            delivery.error = e.description
        self.webhook_deliveries.append(delivery)
        if reply is not None:
            delivery.reply_method = reply[0]
            await self._execute(token, reply[0], reply[1], via="webhook-reply")
        return delivery

    @staticmethod
    async def _read_webhook_reply(
        resp: aiohttp.ClientResponse,
    ) -> tuple[str, dict[str, Any]] | None:
        """A method call returned in the webhook response body (Telegram executes it)."""
        raw: dict[str, Any] = {}
        uploads: dict[str, Upload] = {}
        if resp.content_type == "multipart/form-data":
            reader = aiohttp.MultipartReader.from_response(resp)
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                    continue
                if part.filename:
                    uploads[part.name] = Upload(
                        part.name,
                        part.filename,
                        part.headers.get("Content-Type"),
                        bytes(await part.read(decode=True)),
                    )
                else:
                    raw[part.name] = await part.text()
        elif resp.content_type == "application/json":
            body = await resp.read()
            if not body.strip():
                return None
            data = json.loads(body)
            if not isinstance(data, dict):
                return None
            raw = dict(data)
        else:
            return None
        method = raw.pop("method", None)
        if not isinstance(method, str) or not method:
            return None
        return method, _decode_params(raw, uploads)


def _without_reply(message: Mapping[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in message.items() if k != "reply_to_message"}


_KEY_ORDER = ("message_id", "from", "chat", "date", "edit_date", "reply_to_message")


def _reorder(message: dict[str, Any]) -> dict[str, Any]:
    """Key order as Telegram answers (cosmetic; keeps recorded JSON readable)."""
    head = {k: message[k] for k in _KEY_ORDER if k in message}
    return {**head, **{k: v for k, v in message.items() if k not in head}}
