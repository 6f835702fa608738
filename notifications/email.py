"""Alerts by e-mail (aiosmtplib): localised subject and body, voicemail as an attachment."""

from __future__ import annotations

import asyncio
import mimetypes
import os
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path

import aiosmtplib

from notifications.outbox import OutboxItem, RetryLater, Undeliverable
from notifications.render import lang_of, render, t

# What mimetypes may not know (or knows differently on other systems).
_AUDIO_TYPES = {
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
}


def mime_type(path: str) -> str:
    suffix = Path(path).suffix.lower()
    guessed = _AUDIO_TYPES.get(suffix) or mimetypes.guess_type(path)[0]
    return guessed or "application/octet-stream"


class EmailSender:
    def __init__(
        self,
        *,
        host: str,
        port: int = 587,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        start_tls: bool | None = None,  # None: use STARTTLS when the server offers it
        use_tls: bool = False,  # implicit TLS (port 465)
        timeout: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self.password = password
        self.start_tls = start_tls
        self.use_tls = use_tls
        self.timeout = timeout

    def build(self, item: OutboxItem) -> EmailMessage:
        rendered = render(item.kind, item.payload)
        lang = lang_of(item.payload)
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = item.recipient
        msg["Subject"] = rendered.subject
        msg["Date"] = format_datetime(item.created_at)
        # A domain of our own: without one, make_msgid looks up the host name (blocking).
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or "pbx.local"
        msg["Message-ID"] = make_msgid(f"outbox{item.id}", domain=domain)
        msg["Auto-Submitted"] = "auto-generated"  # no vacation replies to the PBX
        body = [rendered.text, ""]
        if item.attachment:
            body.append(t(lang, "voicemail-attached"))
        body.append(t(lang, "email-footer"))
        msg.set_content("\n".join(body))
        if item.attachment:
            if not os.path.isfile(item.attachment):
                raise Undeliverable(f"attachment is gone: {item.attachment}")
            maintype, subtype = mime_type(item.attachment).split("/", 1)
            msg.add_attachment(
                Path(item.attachment).read_bytes(),
                maintype=maintype,
                subtype=subtype,
                filename=Path(item.attachment).name,
            )
        return msg

    async def send(self, item: OutboxItem) -> None:
        msg = await asyncio.to_thread(self.build, item)  # reads the attachment
        try:
            await aiosmtplib.send(
                msg,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                start_tls=self.start_tls,
                use_tls=self.use_tls,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            detail = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            if any(code >= 500 for code in codes):
                raise Undeliverable(f"recipient refused: {detail}") from exc
            raise RetryLater(None, f"recipient deferred: {detail}") from exc
        except aiosmtplib.SMTPDataError as exc:
            if exc.code >= 500:  # the message itself is refused (size, content)
                raise Undeliverable(f"message refused: {exc.code} {exc.message}") from exc
            raise RetryLater(None, f"smtp: {exc.code} {exc.message}") from exc
        except aiosmtplib.SMTPException as exc:
            # Server down, timeouts, 4xx, and configuration trouble the operator can fix
            # (authentication, a refused From): keep the alert and try again later.
            raise RetryLater(None, f"smtp: {exc}") from exc
        except OSError as exc:
            raise RetryLater(None, f"smtp: {exc}") from exc
