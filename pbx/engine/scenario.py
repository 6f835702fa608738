"""A company number's scenario, step by step: greeting, schedule, menus, groups,
voicemail, forwarding, messages (seed 002's inbound call handling).

Each step is a target (pbx.engine.targets). The runner keeps the step's own state in
`call.flow` and reacts to the caller's digits, recordings and timers; ringing itself
is the call manager's (pbx.engine.calls). A step that cannot be taken (a group with
nobody free, a deleted menu) moves on to the fallback, never leaves the caller in
silence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pbx.engine.events import RecordingDone
from pbx.engine.plans import MenuPlan, NumberPlan, Prompt, Voicemail
from pbx.engine.queue import QueueState
from pbx.engine.ringing import Reach, Ring, RingOutcome, single
from pbx.engine.ringplan import Algorithm, end_of, plan
from pbx.engine.ringplan import Member as PlanMember
from pbx.engine.routing import Inbound
from pbx.engine.states import CallState, Result
from pbx.engine.targets import HANGUP, Kind, Target
from pbx.logging import get_logger

if TYPE_CHECKING:
    from pbx.engine.calls import Call, CallManager

log = get_logger(__name__)

# A company's own music on hold is its audio named "moh"; a box's greeting "vm-<box>".
COMPANY_MOH = "moh"
MAX_STEPS = 20  # a scenario that loops (menu → menu …) ends instead of spinning
INTER_DIGIT = 2.5  # seconds to wait for the next digit of an extension
BEEP = 0.5  # the voicemail beep's length
VOICEMAIL_MAX = 120.0  # seconds of message
SAVE_GRACE = 10.0  # after the caller hangs up, wait this long for the recording


@dataclass
class MenuState:
    menu: MenuPlan
    prompt: Prompt
    tries: int = 0
    digits: str = ""
    extensions: set[str] = field(default_factory=set)


@dataclass
class VoicemailState:
    box: str
    recipients: tuple[int, ...]
    path: str = ""
    recording: bool = False


class ScenarioRunner:
    def __init__(self, manager: CallManager) -> None:
        self.m = manager

    # --- entry -------------------------------------------------------------------
    async def start(self, call: Call, inbound: Inbound) -> None:
        sc = self.m.scenarios
        number_plan = await sc.number_plan(inbound.company_id, inbound.number_id) if sc else None
        if number_plan is None:
            await self._refuse(call, 480, "no_scenario")
            return
        call.lang = number_plan.lang
        call.plan = number_plan
        first = self._first_target(number_plan)
        prompts = []
        if number_plan.notice:
            prompts.append(await self.prompt(call, None, "recorded"))
        if number_plan.greeting is not None:
            prompts.append(await self.prompt(call, number_plan.greeting, "greeting"))
        if prompts:
            await self.early(call)  # heard before anyone answers: nothing billed yet
            call.state = CallState.PLAYING
            call.target = "greeting"
            await self.play_sequence(call, prompts, loop_moh=False)
            delay = sum(p.duration for p in prompts)
            self.m.set_timer(call, delay, lambda: self.goto(call, first))
            return
        await self.goto(call, first)

    def _first_target(self, number_plan: NumberPlan) -> Target:
        sched = number_plan.schedule
        if sched is None or sched.is_open(self.m.clock.now()):
            return number_plan.open_target
        return number_plan.closed_target

    # --- steps -------------------------------------------------------------------
    async def goto(self, call: Call, target: Target, depth: int = 0) -> None:
        if call.state is CallState.ENDED:
            return
        if depth > MAX_STEPS:
            target = HANGUP
        call.target = str(target)
        call.flow = None
        kind = target.kind
        if kind is Kind.HANGUP:
            await self.hang_up(call, "scenario_hangup")
        elif kind is Kind.EXT:
            await self._ring_ext(call, target.arg, depth)
        elif kind is Kind.GROUP:
            await self._ring_group(call, target.arg, depth)
        elif kind is Kind.FORWARD:
            await self._forward(call, target.arg, depth)
        elif kind is Kind.MENU:
            await self._menu(call, target.arg, depth)
        elif kind is Kind.QUEUE:
            await self.m.queues.enter(call, target.arg, depth)
        elif kind is Kind.VOICEMAIL:
            await self._voicemail(call, target.arg, depth)
        elif kind is Kind.MESSAGE:
            prompt = await self.prompt(call, target.arg, "unavailable")
            await self.early(call)  # a message then hang-up is not an answered call
            call.state = CallState.PLAYING
            await self.m.command(self.m.signalling.play(call.offer.call_id, prompt.base))
            self.m.set_timer(call, prompt.duration, lambda: self.hang_up(call, "message_played"))
        if call.state is not CallState.ENDED:
            self.m.live.publish(call)  # in a menu, a queue, a voicemail box …

    async def _ring(self, call: Call, ring: Ring, fallback: Target, depth: int) -> None:
        async def over(c: Call, outcome: RingOutcome, last_code: int | None) -> None:
            await self.goto(c, fallback, depth + 1)

        melody = call.plan.ringback if call.plan else None
        music: Prompt | None = None
        if call.caller_answered:
            # The caller is already connected to us (menu, queue): music instead of ringing.
            music = await self.prompt(call, melody or COMPANY_MOH, "moh")
        elif call.caller_early or melody is not None:
            # The caller hears us, not the phones' 180: the melody, or a ringing tone.
            await self.early(call)
            music = await self.prompt(call, melody, "ringback")
        if music is not None:
            await self.m.command(self.m.signalling.play(call.offer.call_id, music.base, loop=True))
        await self.m.start_ring(call, ring, over)

    async def _ring_ext(self, call: Call, ext: str, depth: int) -> None:
        inbound = self.inbound(call)
        member = await self.m.router.directory.member(inbound.company_id, ext)
        fallback = self.number_fallback(call)
        if member is None:
            await self.goto(call, fallback, depth + 1)
            return
        call.concerned.add(member.employee_id)
        reach = await self.m.router.reach(
            inbound.company, member, inbound.caller, inbound.caller_name
        )
        if isinstance(reach, str):  # do-not-disturb
            await self.goto(call, fallback, depth + 1)
            return
        target, mobile = reach
        ring = single(member.employee_id, target, mobile, self.m.no_answer_timeout)
        await self._ring(call, ring, fallback, depth)

    async def _ring_group(self, call: Call, name: str, depth: int) -> None:
        inbound = self.inbound(call)
        sc = self.m.scenarios
        group = await sc.group(inbound.company_id, name) if sc else None
        if group is None or sc is None:
            await self.goto(call, self.number_fallback(call), depth + 1)
            return
        call.concerned.update(m.employee_id for m in group.members)
        states = await sc.member_states(inbound.company_id, group.members)
        reach: dict[int, Reach] = {}
        members: list[PlanMember] = []
        for gm in group.members:
            member = await self.m.router.directory.member(inbound.company_id, gm.ext)
            state = states.get(gm.employee_id)
            if member is None or state is None:
                continue
            how = await self.m.router.reach(
                inbound.company, member, inbound.caller, inbound.caller_name
            )
            if isinstance(how, str):
                continue
            target, mobile = how
            # A mobile forward makes an unregistered member reachable after all.
            reachable = state.registered or mobile is not None or target.proxy is None
            reach[gm.employee_id] = Reach(gm.employee_id, target, mobile)
            members.append(
                PlanMember(
                    gm.employee_id,
                    gm.position,
                    registered=reachable,
                    on_call=state.on_call,
                    dnd=member.dnd,
                    last_call_end=state.last_call_end,
                )
            )
        steps = plan(group.spec, members)
        fallback = group.fallback
        if not steps:
            await self.goto(call, fallback, depth + 1)
            return
        one_at_a_time = group.spec.algorithm in (
            Algorithm.SEQUENTIAL,
            Algorithm.LEAST_IDLE,
            Algorithm.RANDOM,
        )
        ring = Ring(
            reach=reach,
            steps=steps,
            timeout=end_of(group.spec, steps),
            tail=group.spec.interval if one_at_a_time else None,
        )
        await self._ring(call, ring, fallback, depth)

    async def _forward(self, call: Call, number: str, depth: int) -> None:
        inbound = self.inbound(call)
        out = await self.m.router.external(inbound.company_id, number)
        if out is None:
            await self.goto(call, self.number_fallback(call), depth + 1)
            return
        target = out[0]
        ring = single(0, target, None, self.m.no_answer_timeout)
        await self._ring(call, ring, self.number_fallback(call), depth)

    # --- menus -------------------------------------------------------------------
    async def _menu(self, call: Call, name: str, depth: int) -> None:
        inbound = self.inbound(call)
        sc = self.m.scenarios
        menu = await sc.menu(inbound.company_id, name) if sc else None
        if menu is None or sc is None:
            await self.goto(call, self.number_fallback(call), depth + 1)
            return
        prompt = await self.prompt(call, menu.prompt, "greeting")
        state = MenuState(menu, prompt)
        if menu.dial_by_ext:
            state.extensions = await sc.extensions(inbound.company_id)
        await self.answer(call)
        call.state = CallState.MENU
        call.flow = (state, depth)
        await self._play_menu(call, state, depth)

    async def _play_menu(self, call: Call, state: MenuState, depth: int) -> None:
        state.digits = ""
        await self.m.command(self.m.signalling.play(call.offer.call_id, state.prompt.base))
        wait = state.prompt.duration + state.menu.timeout
        self.m.set_timer(call, wait, lambda: self._menu_miss(call, state, depth, timeout=True))

    async def _menu_miss(self, call: Call, state: MenuState, depth: int, timeout: bool) -> None:
        if not self._in_menu(call, state):
            return
        state.tries += 1
        if state.tries > state.menu.repeats:
            menu = state.menu
            await self.goto(call, menu.on_timeout if timeout else menu.on_invalid, depth + 1)
            return
        if timeout:
            await self._play_menu(call, state, depth)
            return
        invalid = await self.prompt(call, None, "invalid")
        state.digits = ""
        await self.m.command(self.m.signalling.play(call.offer.call_id, invalid.base))
        self.m.set_timer(call, invalid.duration, lambda: self._replay(call, state, depth))

    async def _replay(self, call: Call, state: MenuState, depth: int) -> None:
        if self._in_menu(call, state):
            await self._play_menu(call, state, depth)

    def _in_menu(self, call: Call, state: MenuState) -> bool:
        return isinstance(call.flow, tuple) and call.flow[0] is state

    async def digit(self, call: Call, digit: str) -> None:
        flow = call.flow
        if isinstance(flow, QueueState):
            await self.m.queues.digit(call, flow, digit)
            return
        if isinstance(flow, VoicemailState):
            if digit == "#" and flow.recording:
                await self.m.command(self.m.signalling.stop_recording(call.offer.call_id))
            return
        if not isinstance(flow, tuple):
            return  # digits outside a menu mean nothing
        state, depth = flow
        if not state.digits:
            await self.m.command(self.m.signalling.stop_play(call.offer.call_id))
        state.digits += digit
        typed = state.digits
        options = state.menu.options
        longer = [x for x in state.extensions if x.startswith(typed) and x != typed]
        if typed in options and not longer:
            await self.goto(call, options[typed], depth + 1)
        elif longer:
            self.m.set_timer(call, INTER_DIGIT, lambda: self._resolve(call, state, depth))
        elif typed in state.extensions:
            await self.goto(call, Target(Kind.EXT, typed), depth + 1)
        else:
            await self._menu_miss(call, state, depth, timeout=False)

    async def _resolve(self, call: Call, state: MenuState, depth: int) -> None:
        """The caller stopped typing: an option, an extension, or a wrong entry."""
        if not self._in_menu(call, state):
            return
        typed = state.digits
        if typed in state.menu.options:
            await self.goto(call, state.menu.options[typed], depth + 1)
        elif typed in state.extensions:
            await self.goto(call, Target(Kind.EXT, typed), depth + 1)
        else:
            await self._menu_miss(call, state, depth, timeout=False)

    # --- voicemail ------------------------------------------------------------------
    async def _voicemail(self, call: Call, box: str, depth: int) -> None:
        inbound = self.inbound(call)
        recipients: tuple[int, ...] = ()
        if box.isdigit():
            member = await self.m.router.directory.member(inbound.company_id, box)
            recipients = (member.employee_id,) if member else ()
        elif box != "common" and self.m.scenarios is not None:
            group = await self.m.scenarios.group(inbound.company_id, box)
            recipients = tuple(m.employee_id for m in group.members) if group else ()
        call.concerned = set(recipients)
        greeting = await self.prompt(call, f"vm-{box}", "voicemail")
        await self.early(call)  # answered only when the recording starts (the beep)
        call.state = CallState.VOICEMAIL
        state = VoicemailState(box, recipients)
        call.flow = state
        await self.m.command(self.m.signalling.play(call.offer.call_id, greeting.base))
        self.m.set_timer(call, greeting.duration, lambda: self._beep(call, state))

    async def _beep(self, call: Call, state: VoicemailState) -> None:
        if call.flow is not state:
            return
        await self.answer(call)
        beep = await self.prompt(call, None, "beep")
        await self.m.command(self.m.signalling.play(call.offer.call_id, beep.base))
        self.m.set_timer(call, beep.duration, lambda: self._record(call, state))

    async def _record(self, call: Call, state: VoicemailState) -> None:
        if call.flow is not state or self.m.scenarios is None:
            return
        state.path = self.m.scenarios.recording_path(
            self.inbound(call).company_id, call.offer.call_id
        )
        state.recording = True
        await self.m.command(self.m.signalling.start_recording(call.offer.call_id, state.path))
        self.m.set_timer(call, VOICEMAIL_MAX, lambda: self._stop_recording(call, state))

    async def _stop_recording(self, call: Call, state: VoicemailState) -> None:
        if call.flow is state and state.recording:
            await self.m.command(self.m.signalling.stop_recording(call.offer.call_id))

    async def recorded(self, call: Call, done: RecordingDone) -> None:
        state = call.flow
        if not isinstance(state, VoicemailState) or not state.recording:
            return
        state.recording = False
        inbound = self.inbound(call)
        if done.duration >= 1.0 and self.m.scenarios is not None:
            try:
                kept = await self.m.scenarios.voicemail(
                    Voicemail(
                        company_id=inbound.company_id,
                        box=state.box,
                        sip_call_id=call.offer.call_id,
                        caller=inbound.caller,
                        number=inbound.callee,
                        path=done.path,
                        duration=done.duration,
                        recipients=state.recipients,
                    )
                )
                if kept:
                    call.result = Result.VOICEMAIL
            except Exception as exc:  # the call record still says what happened
                log.error("voicemail_store_failed", call_id=call.offer.call_id, error=repr(exc))
        if call.caller_gone:
            await self.m.finish(call, Result.MISSED, "caller_hangup", 200)
            return
        goodbye = await self.prompt(call, None, "goodbye")
        await self.m.command(self.m.signalling.play(call.offer.call_id, goodbye.base))
        self.m.set_timer(call, goodbye.duration, lambda: self.hang_up(call, "voicemail_done"))

    async def caller_gone(self, call: Call) -> bool:
        """True when the call must stay open a little longer (a message is being saved)."""
        state = call.flow
        if isinstance(state, QueueState):
            await self.m.queues.caller_gone(call, state)
            return False
        if isinstance(state, VoicemailState) and state.recording:
            self.m.set_timer(call, SAVE_GRACE, lambda: self._gave_up_saving(call))
            return True
        return False

    async def _gave_up_saving(self, call: Call) -> None:
        log.error("voicemail_not_saved", call_id=call.offer.call_id)
        await self.m.finish(call, Result.MISSED, "caller_hangup", 200)

    # --- helpers ----------------------------------------------------------------------
    def inbound(self, call: Call) -> Inbound:
        assert isinstance(call.decision, Inbound)
        return call.decision

    def number_fallback(self, call: Call) -> Target:
        target = call.plan.fallback if call.plan else HANGUP
        # A fallback that points back at what just failed would loop: hang up instead.
        return HANGUP if str(target) == call.target else target

    async def play_sequence(self, call: Call, prompts: list[Prompt], loop_moh: bool) -> None:
        """Play prompts one after another, then music on hold if asked."""
        if not prompts:
            if loop_moh:
                moh = await self.prompt(call, COMPANY_MOH, "moh")
                await self.m.command(
                    self.m.signalling.play(call.offer.call_id, moh.base, loop=True)
                )
            return
        first, rest = prompts[0], prompts[1:]
        await self.m.command(self.m.signalling.play(call.offer.call_id, first.base))
        flow = call.flow

        async def next_() -> None:
            if call.flow is flow:
                await self.play_sequence(call, rest, loop_moh)

        self.m.set_timer(call, first.duration, next_, slot="play")

    async def early(self, call: Call) -> None:
        """Let the caller hear us before anyone answers (183 with SDP, early media)."""
        if not call.caller_answered and not call.caller_early:
            call.caller_early = True
            await self.m.command(self.m.signalling.progress(call.offer.call_id))

    async def answer(self, call: Call) -> None:
        if not call.caller_answered:
            call.caller_answered = True
            await self.m.command(self.m.signalling.answer(call.offer.call_id))

    async def prompt(self, call: Call, name: str | None, system: str) -> Prompt:
        sc = self.m.scenarios
        assert sc is not None
        return await sc.prompt(self.inbound(call).company_id, name, system, call.lang)

    async def _refuse(self, call: Call, code: int, cause: str) -> None:
        await self.m.command(self.m.signalling.reject(call.offer.call_id, code, "Unavailable"))
        await self.m.finish(call, Result.FAILED, cause, code)

    async def hang_up(self, call: Call, cause: str) -> None:
        if call.caller_answered:
            await self.m.command(self.m.signalling.hangup(call.offer.call_id))
            await self.m.finish(call, Result.MISSED, cause, 200)
        else:
            await self.m.command(
                self.m.signalling.reject(call.offer.call_id, 480, "Temporarily Unavailable")
            )
            await self.m.finish(call, Result.MISSED, cause, 480)
