"""Routes to calls: what a number's route, a colleague's extension or an outside number
becomes once the setup's checks passed.

A greeting or a voicemail route goes to the answering machine; a user or a ring group is
rung through the bridge with the box a message would go to (``RingThenVoicemail``
decides what no answer becomes); a forward meets V5 and N10 at call time; a device's
outside or emergency call goes out through the account's trunks.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from dialtone.call.application import Application
from dialtone.call.spec import CallSpec
from dialtone.policy import call_setup
from dialtone.policy.checklist import Action, CallIntent
from dialtone.policy.emergency import is_emergency_number
from dialtone.services import call_facts
from dialtone.services.telephony import routing as routing_service
from dialtone.services.telephony import users as user_service
from dialtone.services.telephony.greetings import default_greeting_path
from dialtone.sip.endpoint import RequestReceived

from .answering import AnswerTarget
from .auth import SipUser
from .b2bua import (
    MessageBox,
    Step,
    Trace,
)
from .engine_context import (
    EngineContext,
    from_number,
    sip_user,
)
from .setup_decision import not_rung, setup_outcome
from .steps import Steps
from .transports import SipChannel

log = logging.getLogger("dialtone.engine")


class Router:
    """Starts the call a route or a dialled number leads to: the answering machine, a
    user's devices or a ring group (then voicemail, the call application's decision),
    a forward, the trunks (emergency calls among them)."""

    def __init__(self, ctx: EngineContext, steps: Steps) -> None:
        self.ctx = ctx
        self.steps = steps
        # The application a number's TwiML (VoiceUrl) runs as, made for the call (set
        # by the runtime; None: such numbers follow their route).
        self.voice_application: (
            Callable[[CallSpec, routing_service.VoiceUrls], Application] | None
        ) = None
        # The AI receptionist a number routed to an agent is answered by (set by the
        # runtime): the route in, the application made for the call's spec out (None:
        # the profile is gone, the caller hears 404).
        self.agent_application: (
            Callable[
                [routing_service.Route],
                Awaitable[tuple[Callable[[CallSpec], Application], float] | None],
            ]
            | None
        ) = None

    async def apply_route(
        self,
        event: RequestReceived,
        channel: SipChannel,
        route: routing_service.Route,
        trace: Trace,
        *,
        caller: SipUser | None,
        trunk_id: str | None = None,
    ) -> None:
        kind = route.kind
        voice, make = route.voice, self.voice_application
        if voice is not None and make is not None:
            # The number's TwiML takes the call, whatever its route.
            self.run_application(
                event,
                channel,
                route,
                trace,
                lambda spec: make(spec, voice),
                caller=caller,
                trunk_id=trunk_id,
            )
        elif kind == "agent" and self.agent_application is not None:
            await self.agent(event, channel, route, trace, caller=caller, trunk_id=trunk_id)
        elif kind == "greeting":
            greeting = (
                self.ctx.config.greetings_dir / route.greeting
                if route.greeting
                else default_greeting_path()
            )
            self.ctx.answering.answer(
                event,
                channel,
                AnswerTarget(
                    account_id=route.account_id,
                    to_number=route.number,
                    greeting_path=greeting,
                    recordings_dir=self.ctx.config.recordings_dir / route.account_id,
                    legs=(trace,),
                    user_id=caller.id if caller is not None else None,
                    trunk_id=trunk_id,
                ),
            )
        elif kind == "voicemail":
            box = await self.steps.voicemail_box(
                route.account_id, route.number, route.voicemail_user_id or route.target
            )
            self.voicemail(event, channel, box, trace=trace, caller=caller, trunk_id=trunk_id)
        elif kind == "user" and route.target is not None:
            target = route.target
            callee = await self.ctx.read(
                lambda s: sip_user(user_service.get_user(s, route.account_id, target), s)
            )
            if callee is None:
                self.ctx.reply(event, channel, 404)
                return
            await self.ring_user(
                event,
                channel,
                callee,
                trace,
                caller=caller,
                direction="inbound" if caller is None else "internal",
                route=route,
                trunk_id=trunk_id,
            )
        elif kind == "group" and route.target is not None:
            await self.ring_group(event, channel, route, trace, caller=caller, trunk_id=trunk_id)
        elif kind == "forward" and route.target is not None:
            await self.forward(event, channel, route, trace, trunk_id=trunk_id)
        else:
            self.ctx.reply(event, channel, 404)

    async def agent(
        self,
        event: RequestReceived,
        channel: SipChannel,
        route: routing_service.Route,
        trace: Trace,
        *,
        caller: SipUser | None,
        trunk_id: str | None,
    ) -> None:
        """The number's AI receptionist answers (A1). An emergency number never reaches
        it (A3): such a number's calls go out as emergency calls before routes are
        looked up, and a route to an agent is refused for one; this is the last guard."""
        assert self.agent_application is not None
        if is_emergency_number(route.number):
            log.warning("agent route on emergency number %s ignored (A3)", route.number)
            self.ctx.reply(event, channel, 403)
            return
        made = await self.agent_application(route)
        if made is None:
            self.ctx.reply(event, channel, 404)
            return
        application, max_seconds = made
        self.run_application(
            event,
            channel,
            route,
            trace,
            application,
            caller=caller,
            trunk_id=trunk_id,
            max_seconds=max_seconds,
        )

    def run_application(
        self,
        event: RequestReceived,
        channel: SipChannel,
        route: routing_service.Route,
        trace: Trace,
        application: Callable[[CallSpec], Application],
        *,
        caller: SipUser | None,
        trunk_id: str | None,
        max_seconds: float | None = None,
    ) -> None:
        """The call to the route's number runs ``application`` (made for its spec)."""
        self.ctx.answering.answer(
            event,
            channel,
            AnswerTarget(
                account_id=route.account_id,
                to_number=route.number,
                greeting_path=default_greeting_path(),
                recordings_dir=self.ctx.config.recordings_dir / route.account_id,
                legs=(trace,),
                user_id=caller.id if caller is not None else None,
                trunk_id=trunk_id,
                max_seconds=max_seconds,
                application=application,
            ),
        )

    async def ring_user(
        self,
        event: RequestReceived,
        channel: SipChannel,
        callee: SipUser,
        trace: Trace,
        *,
        caller: SipUser | None,
        direction: str,
        route: routing_service.Route | None = None,
        trunk_id: str | None = None,
    ) -> None:
        """Ring the callee's devices (when they can take the call, V2); the call's
        application sends the caller to voicemail when nobody answers."""
        account_id = callee.account_id
        number = route.number if route is not None else (callee.extension or callee.sip_username)
        vm_user = (route.voicemail_user_id if route is not None else None) or callee.id
        busy = call_setup.user_concurrency(
            await self.ctx.active_everywhere(callee.id), callee.channels
        )
        destinations = (
            []
            if busy.refused or not callee.can_take_calls
            else await self.steps.device_destinations(
                callee, self.steps.caller_address(event.request, caller)
            )
        )
        seconds = float(
            (route.no_answer_seconds if route is not None else None)
            or self.ctx.config.no_answer_seconds
        )
        box = await self.steps.voicemail_box(account_id, number, vm_user)
        if not destinations:
            why, _ = not_rung(busy)
            log.info("call to %s: %s -> voicemail", callee.sip_username, why)
            self.voicemail(event, channel, box, trace=trace, caller=caller, trunk_id=trunk_id)
            return
        await self.ctx.bridge.start(
            event,
            channel,
            account_id=account_id,
            direction=direction,
            from_number=from_number(event.request, caller),
            to_number=number,
            steps=[Step(destinations, seconds)],
            a_trace=trace,
            voicemail=box,
            users={caller.id} if caller is not None else set(),
            # The callee's, for a device's call too: the same as when voicemail takes it.
            user_id=callee.id,
            trunk_id=trunk_id,
            caller_user_id=caller.id if caller is not None else None,
        )

    async def ring_group(
        self,
        event: RequestReceived,
        channel: SipChannel,
        route: routing_service.Route,
        trace: Trace,
        *,
        caller: SipUser | None,
        trunk_id: str | None,
    ) -> None:
        """Ring a group's members; the route's voicemail (when it has one) takes the
        call nobody answers, else the caller hears why (the call's application)."""
        group_id = route.target
        assert group_id is not None
        caller_name = self.steps.caller_address(event.request, caller)
        steps = await self.steps.group_steps(route.account_id, group_id, caller_name)
        box = (
            await self.steps.voicemail_box(route.account_id, route.number, route.voicemail_user_id)
            if route.voicemail_user_id is not None
            else None
        )
        if not steps:
            if box is None:
                self.ctx.reply(event, channel, 480)  # nobody to ring, nowhere to leave a message
            else:
                self.voicemail(event, channel, box, trace=trace, caller=caller, trunk_id=trunk_id)
            return
        await self.ctx.bridge.start(
            event,
            channel,
            account_id=route.account_id,
            direction="inbound" if caller is None else "internal",
            from_number=from_number(event.request, caller),
            to_number=route.number,
            steps=steps,
            a_trace=trace,
            voicemail=box,
            users={caller.id} if caller is not None else set(),
            # Nobody's until a member answers (the bridge names that member then).
            user_id=None,
            trunk_id=trunk_id,
            caller_user_id=caller.id if caller is not None else None,
        )

    def voicemail(
        self,
        event: RequestReceived,
        channel: SipChannel,
        box: MessageBox,
        *,
        trace: Trace,
        caller: SipUser | None = None,
        trunk_id: str | None = None,
    ) -> None:
        """Answer with ``box`` at once (the ``Voicemail`` application). The record is
        like the answered call's would have been: ``internal`` from a device, naming the
        box's owner, the caller by extension."""
        self.ctx.answering.answer(
            event,
            channel,
            AnswerTarget(
                account_id=box.account_id,
                to_number=box.number,
                greeting_path=box.greeting,
                recordings_dir=box.directory,
                voicemail_user_id=box.user_id,
                voicemail=True,
                max_seconds=box.max_seconds,
                from_number=from_number(event.request, caller),
                legs=(trace,),
                # V2 counts the call against the caller; the record names the box's owner.
                user_id=caller.id if caller is not None else None,
                record_user_id=box.user_id,
                direction="inbound" if caller is None else "internal",
                trunk_id=trunk_id,
            ),
        )

    async def outbound(
        self,
        event: RequestReceived,
        channel: SipChannel,
        intent: CallIntent,
        trace: Trace,
        caller: SipUser,
    ) -> None:
        """A device calls an external number its checks let through (TERMS V5, V10,
        N13…): through the account's trunks, presenting the caller ID checked."""
        assert intent.e164 is not None
        assert intent.caller_id is not None
        await self.trunk_call(
            event, channel, trace, caller, from_number=intent.caller_id, to_number=intent.e164
        )

    async def emergency(
        self,
        event: RequestReceived,
        channel: SipChannel,
        intent: CallIntent,
        trace: Trace,
        caller: SipUser,
    ) -> None:
        """An emergency call V7 let through (a location registered, the misrouting
        warning acknowledged, a country the operator serves, never from a mobile
        number). It presents a number the account holds (the one asked for, else the
        user's own, else the account's first: a caller-ID mistake must not stop it) and
        goes to the trunks with the number as dialled."""
        candidate = intent.caller_id
        log.warning(
            "EMERGENCY call %s: user %s (%s) dials %s from %s, location in %s",
            event.request.call_id,
            caller.sip_username,
            caller.id,
            intent.dialed,
            candidate,
            intent.emergency_caller.location_country,
        )
        await self.trunk_call(
            event,
            channel,
            trace,
            caller,
            from_number=candidate or caller.sip_username,
            to_number=intent.dialed,
        )

    async def trunk_call(
        self,
        event: RequestReceived,
        channel: SipChannel,
        trace: Trace,
        caller: SipUser,
        *,
        from_number: str,
        to_number: str,
    ) -> None:
        """Bridge a device's call out through the account's trunks (503 without one)."""
        steps, _ = await self.steps.trunk_steps(caller.account_id, to_number, from_number)
        if not steps:
            log.warning("call %s: no trunk can carry it", event.request.call_id)
            warning = '399 dialtone "trunk.none: no trunk can carry this call"'
            self.ctx.reply(event, channel, 503, (("Warning", warning),))
            return
        await self.ctx.bridge.start(
            event,
            channel,
            account_id=caller.account_id,
            direction="outbound",
            from_number=from_number,
            to_number=to_number,
            steps=steps,
            a_trace=trace,
            users={caller.id},
            user_id=caller.id,
            caller_user_id=caller.id,
        )

    async def forward(
        self,
        event: RequestReceived,
        channel: SipChannel,
        route: routing_service.Route,
        trace: Trace,
        *,
        trunk_id: str | None,
    ) -> None:
        """Forward to an external number (TERMS V4: billed per minute; N10: never to an
        inactive endpoint). The caller ID shown is the forwarded number, which the
        account holds (V10)."""
        target = route.target
        assert target is not None
        # V5 again at call time (the account's permissions or the operator's lists may
        # have changed since the route was set), then N10: a trunk to carry it.
        account = await self.ctx.account_facts(route.account_id)
        steps, _ = await self.steps.trunk_steps(route.account_id, target, route.number)
        intent = call_facts.forward_intent(account, target, trunks_available=bool(steps))
        outcome = setup_outcome(Action.FORWARD, intent)
        if outcome.refusal is not None:
            await self.ctx.refuse(
                event,
                channel,
                outcome.refusal.decision,
                account_id=route.account_id,
                actor=f"number:{route.number}",
                action="call.forward",
                source=trace["source"],
            )
            return
        await self.ctx.bridge.start(
            event,
            channel,
            account_id=route.account_id,
            direction="forward",
            from_number=from_number(event.request, None),
            to_number=target,
            steps=steps,
            a_trace=trace,
            trunk_id=trunk_id,
        )
