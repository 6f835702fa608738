"""Inbound scenarios configured through the real bot over the fake Bot API: chat-ops
with good and bad arguments (answers in the user's language), the menu's buttons."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import CARRIER_IP
from tests.e2e.test_bot import BotEnv, env, onboard  # noqa: F401  (the fixture)
from tests.support.fake_telegram import TgUser

pytestmark = pytest.mark.e2e


async def test_scenario_chat_ops_and_menu_buttons(env: BotEnv) -> None:  # noqa: F811
    owner = TgUser(700071, "Scenarist")
    await onboard(env, owner, "Scenario Co")
    trunk = re.search(r"#(\d+)", await env.say(owner, f"/trunk_add line {CARRIER_IP}:25295 ip"))
    assert trunk
    script = [
        ("/employee_add Anna 171", "extension 171"),
        ("/employee_add Boris 172", "extension 172"),
        (f"/number_add +74953330000 {trunk.group(1)} 171", "74953330000 now ring 171"),
        ("/group_add sales cumulative", "Group sales: cumulative (earlier phones keep ringing)"),
        ("/group_add sales", "There is a group sales already"),
        ("/group_add Sales!", "cannot be a name"),
        ("/group_add x loudest", "There is no algorithm “loudest”"),
        ("/group_members sales 171,172 999", "no employee with extension 999"),
        ("/group_members sales 171,172", "171 Anna + 172 Boris"),
        ("/group_set sales interval=3", "interval must be a whole number from 5 to 120"),
        ("/group_set sales colour=red", "There is no option “colour”"),
        (
            "/group_set sales interval=10 fallback=voicemail:sales",
            "If nobody answers: voicemail:sales",
        ),
        ("/menu_set main 1=group:sales 2=ext:172 9=pizza:now", "“pizza:now” is not a target"),
        ("/menu_set main 1=group:sales 2=ext:172", "1 → group:sales"),
        ("/hours office mon-fri 09:00-18:00", "Schedule office"),
        ("/hours office mon-fri 18:00-09:00", "the end is not after the start"),
        ("/holiday office 2026-13-01", "is not a date"),
        ("/closed_now office", "Closed now."),
        ("/queue_set support ring=10", "A new queue needs its agents"),
        ("/queue_set support group=sales max_wait=120", "Queue support: agents of group sales"),
        (
            "/scenario +74953330000 open=menu:main closed=queue:support schedule=office",
            "Out of hours: queue:support",
        ),
        ("/scenario +74953330000 open=menu:nope", "menu:nope does not exist"),
        ("/group_del sales", "Still used by"),
        ("/alerts owner=off sms=maybe", "Say on or off"),
        ("/alerts owner=off", "Also to the owner: no"),
        ("/voicemail", "No voicemail."),
    ]
    for command, expected in script:
        answer = await env.say(owner, command)
        assert expected in answer, (command, answer)

    menu = await env.say_message(owner, "/menu")
    buttons = dict(menu.buttons)
    assert buttons["👥 Ring groups"] == "menu:groups"
    await env.tg.press(owner, menu, "menu:scenarios")
    card = await env.tg.next_message(owner.id)
    assert "74953330000" in (card.text or "") and "menu:main" in (card.text or "")

    # The same mistake, in Russian, for a Russian-speaking owner.
    await env.say(owner, "/language ru")
    answer = await env.say(owner, "/group_add x loudest")
    assert "Алгоритма «loudest» нет" in answer, answer
