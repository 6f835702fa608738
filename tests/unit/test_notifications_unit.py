"""Pure parts of the notifications: texts per kind and language, backoff, request building."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from notifications.email import EmailSender, mime_type
from notifications.outbox import Channel, OutboxItem, Status, Undeliverable
from notifications.render import (
    KINDS,
    Rendered,
    RenderError,
    format_duration,
    register,
    render,
)
from notifications.sms import SmsSender
from notifications.worker import backoff
from pbx.errors import PbxError

BASE = {
    "call_id": 7,
    "caller": "+74951234567",
    "number": "",
    "at": "2026-06-30T21:30:00+00:00",
    "target": "ext 101",
    "company_tz": "Asia/Yekaterinburg",
}


def make_item(channel: Channel, recipient: str, kind: str, payload: dict[str, Any]) -> OutboxItem:
    now = datetime(2026, 7, 1, tzinfo=UTC)
    return OutboxItem(
        id=1,
        company_id=1,
        channel=channel,
        recipient=recipient,
        kind=kind,
        payload=payload,
        attachment=None,
        dedup_key="k",
        status=Status.PENDING,
        attempts=1,
        next_attempt_at=now,
        created_at=now,
    )


def test_missed_call_in_english_uses_company_zone_and_skips_empty_number() -> None:
    out = render("missed_call", {**BASE, "lang": "en"})
    # 21:30 UTC is 02:30 next day in Yekaterinburg, a zone named by its offset.
    assert out.text.splitlines() == [
        "📞 Missed call from +74951234567",
        "To: ext 101",
        "Time: 2026-07-01 02:30 UTC+05",
    ]
    assert out.subject == "Missed call from +74951234567"
    assert out.sms == "Missed call from +74951234567 at 02:30"
    assert [(b.text, b.callback_data) for b in out.buttons] == [("Call back", "cb:call:7")]


def test_voicemail_in_russian() -> None:
    out = render("voicemail", {**BASE, "lang": "ru", "duration": 3725, "box": "Офис"})
    assert out.subject == "Голосовое сообщение от +74951234567 (1:02:05)"
    assert "Длительность: 1:02:05" in out.text and "Голосовой ящик: Офис" in out.text
    assert "Время: 01.07.2026 02:30 UTC+05" in out.text
    assert out.buttons[0].text == "Перезвонить"


def test_anonymous_caller_has_no_call_back_button_and_unknown_language_is_english() -> None:
    out = render("missed_call", {**BASE, "caller": "", "lang": "de"})
    assert out.text.startswith("📞 Missed call from unknown number")
    assert out.buttons == ()


def test_bad_payloads_are_render_errors() -> None:
    with pytest.raises(RenderError, match="unknown notification kind"):
        render("fax", BASE)
    with pytest.raises(RenderError, match="no time zone"):
        render("missed_call", {**BASE, "at": "2026-07-01T10:00:00"})
    with pytest.raises(RenderError, match="bad missed_call payload"):
        render("missed_call", {k: v for k, v in BASE.items() if k != "at"})


def test_new_kinds_register_themselves() -> None:
    @register("test_kind")
    def _render(payload: Any) -> Rendered:
        return Rendered(subject="s", text=str(payload["x"]), sms="m")

    try:
        assert render("test_kind", {"x": 5}).text == "5"
    finally:
        KINDS.pop("test_kind")


def test_format_duration() -> None:
    assert [format_duration(s) for s in (0, 9, 75, 3600)] == ["0:00", "0:09", "1:15", "1:00:00"]


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff(n, base=5, cap=60) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]


def test_sms_request_encodes_every_placeholder() -> None:
    sender = SmsSender("https://sms.example/send?to={to}&t={text}&s={sender}", sender="A&B")
    url, body = sender.request_for(make_item(Channel.SMS, "+79991234567", "missed_call", BASE))
    assert body is None
    assert url == (
        "https://sms.example/send?to=%2B79991234567"
        "&t=Missed%20call%20from%20%2B74951234567%20at%2002%3A30&s=A%26B"
    )
    with pytest.raises(Undeliverable, match=r"E\.164"):
        sender.request_for(make_item(Channel.SMS, "89991234567", "missed_call", BASE))


@pytest.mark.parametrize(
    ("url", "kwargs", "problem"),
    [
        ("ftp://x/{to}{text}", {}, "http"),
        ("https://x/?to={to}", {}, "{text}"),
        ("https://x/?to={to}&t={text}", {"method": "PUT"}, "GET or POST"),
    ],
)
def test_sms_gateway_misconfiguration_is_explained(
    url: str, kwargs: dict[str, Any], problem: str
) -> None:
    with pytest.raises(PbxError, match=re.escape(problem)):
        SmsSender(url, **kwargs)


def test_email_without_attachment_and_audio_mime_types() -> None:
    sender = EmailSender(host="mail", sender="PBX <pbx@corp.example>")
    msg = sender.build(
        make_item(Channel.EMAIL, "a@corp.example", "missed_call", {**BASE, "lang": "ru"})
    )
    assert msg["Subject"] == "Пропущенный звонок от +74951234567"
    assert str(msg["Message-ID"]).endswith("@corp.example>")
    assert not msg.is_multipart()
    assert "Это письмо отправлено автоматически" in msg.get_content()
    assert [mime_type(p) for p in ("a.ogg", "a.OPUS", "a.wav", "a.mp3", "a.bin")] == [
        "audio/ogg",
        "audio/ogg",
        "audio/wav",
        "audio/mpeg",
        "application/octet-stream",
    ]
