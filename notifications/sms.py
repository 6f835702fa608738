"""Alerts by SMS through a generic HTTP gateway configured by a URL template.

``{to}``, ``{text}`` and ``{sender}`` in the URL (and in the optional form body of a POST)
are replaced by the URL-encoded values, e.g.
``https://sms.example/send?login=me&to={to}&msg={text}&from={sender}``.
The gateway's answer decides: 2xx sent; 429, 5xx and network errors retried; any other
status refused for good.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import aiohttp
from yarl import URL

from notifications.outbox import OutboxItem, RetryLater, Undeliverable
from notifications.render import render
from pbx.errors import PbxError

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
SMS_LIMIT = 160  # one segment is enough for "missed call from X at HH:MM"


class SmsSender:
    def __init__(
        self,
        url_template: str,
        *,
        method: str = "GET",
        sender: str = "PBX",
        body_template: str | None = None,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 15.0,
    ) -> None:
        method = method.upper()
        if method not in ("GET", "POST"):
            raise PbxError(f"PBX_SMS_GATEWAY_METHOD must be GET or POST, not {method!r}")
        if not re.match(r"https?://", url_template):
            raise PbxError(f"PBX_SMS_GATEWAY_URL must be an http(s) URL, not {url_template!r}")
        templates = url_template + (body_template or "")
        for needed in ("{to}", "{text}"):
            if needed not in templates:
                raise PbxError(f"the SMS gateway template has no {needed} placeholder")
        self.url_template = url_template
        self.body_template = body_template
        self.method = method
        self.sender = sender
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._own_session = session is None

    def request_for(self, item: OutboxItem) -> tuple[str, bytes | None]:
        """The URL and the (form) body for an item."""
        if not E164.match(item.recipient):
            raise Undeliverable(f"not a phone number in E.164 (+79991234567): {item.recipient!r}")
        text = render(item.kind, item.payload).sms[:SMS_LIMIT]
        values = {"{to}": item.recipient, "{text}": text, "{sender}": self.sender}

        def expand(template: str) -> str:
            for key, value in values.items():
                template = template.replace(key, quote(value, safe=""))
            return template

        body = expand(self.body_template).encode() if self.body_template else None
        return expand(self.url_template), body

    async def send(self, item: OutboxItem) -> None:
        url, body = self.request_for(item)
        if self._session is None:
            self._session = aiohttp.ClientSession()
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else None
        try:
            # encoded=True: the template is already URL-encoded; aiohttp must not redo it.
            async with self._session.request(
                self.method,
                URL(url, encoded=True),
                data=body,
                headers=headers,
                timeout=self.timeout,
            ) as resp:
                status = resp.status
                detail = (await resp.text(errors="replace"))[:200]
                retry_after = resp.headers.get("Retry-After", "")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryLater(None, f"sms gateway unreachable: {exc!r}") from exc
        if 200 <= status < 300:
            return
        if status == 429 or status >= 500:
            seconds = float(retry_after) if retry_after.isdigit() else None
            raise RetryLater(seconds, f"sms gateway {status}: {detail}")
        raise Undeliverable(f"sms gateway refused ({status}): {detail}")

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None
