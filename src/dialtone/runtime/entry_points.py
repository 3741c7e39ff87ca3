"""The engine's entry points besides an INVITE: click-to-call (``POST /v1/calls``), a live
call's view and a party's objection to its recording (V8), and the targets a call asks
for while it runs (a REFER's Refer-To, an application's ``Bridge`` or ``Transfer``), each
through the one decision path with the transfer action.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from sqlalchemy.orm import Session

from dialtone.call.application import Application
from dialtone.call.spec import CallSpec
from dialtone.core.errors import Conflict, DialtoneError, NotFound
from dialtone.policy import (
    call_setup,
    recording,
)
from dialtone.policy.checklist import Action
from dialtone.services import call_facts
from dialtone.services.accounts.audit import AuditEntry
from dialtone.services.telephony import calls as call_service
from dialtone.services.telephony import users as user_service
from dialtone.sip.errors import SipParseError
from dialtone.sip.headers import NameAddress
from dialtone.sip.uri import SipUri, Uri, parse_uri
from dialtone.store.models import User

from .auth import SipUser
from .b2bua import (
    BridgedCall,
    Leg,
    Step,
    TransferRefused,
)
from .engine_context import (
    EngineContext,
    sip_user,
)
from .media import PortsExhausted
from .setup_decision import setup_outcome
from .steps import Steps

log = logging.getLogger("dialtone.engine")


class EntryPoints:
    """Calls that begin elsewhere than an INVITE, and targets asked for during a call:
    click-to-call, the live view and the V8 objection for the API; a REFER's target and
    an application's ``Bridge``/``Transfer`` target for the bridge."""

    def __init__(self, ctx: EngineContext, steps: Steps) -> None:
        self.ctx = ctx
        self.steps = steps

    # -- click-to-call ----------------------------------------------------------------

    async def click_to_call(
        self, account_id: str, user_id: str, to: str, caller_id: str | None = None
    ) -> str:
        """``POST /v1/calls``: ring the user's registered devices; when one answers, call
        ``to`` (an extension of the account or a number) and bridge them. Returns the
        call's id once the devices ring.

        Refusals raise DialtoneError: ``user.not_found``; the first refusal of the
        click-to-call checks (``policy.checklist.checks``: ``billing.suspended`` B10,
        ``concurrency.user_limit`` V2, ``caller_id.*`` V10/N13, ``emergency.*`` V7,
        ``destination.*`` V5/V6, ``call.destination_invalid``, ``fair_use.*`` F5,
        ``dnc.listed``/``calling_window.closed`` V12, ``billing.*`` B14/B15/B4);
        ``call.user_unreachable`` when the user has no registered device; ``trunk.none``;
        ``call.capacity`` when the RTP ports are exhausted.
        """
        target = to.strip()
        # The caller ID asked for is checked as given (V10), as before.
        setup = call_facts.Setup(Action.CLICK_TO_CALL, account_id, target, user_id, caller_id)
        intent, callee, _, user = await self.ctx.gather_facts(setup, placer=True)
        assert user is not None
        if not user.can_take_calls:
            raise Conflict("call.user_unreachable", "This user cannot take calls.")
        intent = replace(
            intent,
            active_calls=await self.ctx.active_everywhere(user.id),
            channels=user.channels,
            now=self.ctx.now(),
        )
        outcome = setup_outcome(Action.CLICK_TO_CALL, intent)
        if outcome.refusal is not None:
            raise outcome.refusal.decision.as_error()
        caller_id = intent.caller_id
        assert caller_id is not None
        e164 = None if outcome.go == "extension" else intent.e164
        shown = NameAddress(
            SipUri("sip", host=self.ctx.config.advertised_host, user=target),
            display_name="Click-to-call",
        )
        devices = await self.steps.device_destinations(user, shown)
        if not devices:
            raise Conflict("call.user_unreachable", "The user has no registered device.")
        if e164 is not None:
            steps, _ = await self.steps.trunk_steps(account_id, e164, caller_id)
            if not steps:
                raise DialtoneError("trunk.none", "No trunk can carry this call.", status=503)
        caller_name = NameAddress(
            SipUri("sip", host=self.ctx.config.advertised_host, user=caller_id)
        )

        async def destination(call: BridgedCall) -> list[Step]:
            if callee is not None:
                found = await self.steps.device_destinations(callee, caller_name)
                return [Step(found, self.ctx.config.no_answer_seconds)] if found else []
            assert e164 is not None
            steps, _ = await self.steps.trunk_steps(account_id, e164, caller_id)
            return steps

        try:
            call = await self.ctx.bridge.originate(
                account_id=account_id,
                user_id=user.id,
                from_number=caller_id,
                to_number=e164 or target,
                devices=[Step(devices, self.ctx.config.no_answer_seconds)],
                destination=destination,
            )
        except PortsExhausted:
            raise DialtoneError(
                "call.capacity", "No media ports are free; try again later.", status=503
            ) from None
        if callee is not None:
            call.users.add(callee.id)
        log.info("click-to-call %s: %s -> %s", call.record_id, user.sip_username, to)
        return call.record_id

    async def application_call(
        self,
        account_id: str,
        to: str,
        caller_id: str | None,
        application: Callable[[CallSpec], Application],
        *,
        timeout: float | None = None,
        record_id: str | None = None,
    ) -> str:
        """A call the account places with no device of its own (the Twilio-compatible
        ``POST …/Calls.json``): ``to`` (a number, an extension, ``client:<extension>``)
        is checked on the decision path as ``api_call`` (B10, V10/N13, V7, V6, V5, F5,
        V12, B14/B15/B4), rung for ``timeout`` seconds, and handed to ``application``
        once it answers. Returns the call's id once it rings.

        Refusals raise DialtoneError with the first refusal's code (as click-to-call's),
        ``call.user_unreachable`` for an extension with no registered device,
        ``trunk.none``, ``call.capacity``."""
        target = to.strip()
        if target.startswith("client:"):
            # A user, as TwiML's <Client> names them: called at their extension.
            identity = target.removeprefix("client:")
            extension = await self.ctx.read(lambda s: _client_extension(s, account_id, identity))
            if extension is None:
                raise NotFound("user.not_found", f"No user {identity!r} with an extension.")
            target = extension
        setup = call_facts.Setup(Action.API_CALL, account_id, target, None, caller_id)
        intent, callee, _, _ = await self.ctx.gather_facts(setup)
        intent = replace(intent, now=self.ctx.now())
        outcome = setup_outcome(Action.API_CALL, intent)
        if outcome.refusal is not None:
            raise outcome.refusal.decision.as_error()
        shown_number = intent.caller_id
        assert shown_number is not None
        ring = timeout if timeout is not None else self.ctx.config.no_answer_seconds
        shown = NameAddress(SipUri("sip", host=self.ctx.config.advertised_host, user=shown_number))
        if callee is not None:
            if not callee.can_take_calls:
                raise Conflict("call.user_unreachable", "This user cannot take calls.")
            found = await self.steps.device_destinations(callee, shown)
            if not found:
                raise Conflict("call.user_unreachable", "The user has no registered device.")
            steps = [Step(found, ring)]
        else:
            e164 = intent.e164
            assert e164 is not None
            steps, _ = await self.steps.trunk_steps(account_id, e164, shown_number)
            if not steps:
                raise DialtoneError("trunk.none", "No trunk can carry this call.", status=503)
            steps = [replace(step, timeout=ring) for step in steps[:1]] + steps[1:]
        try:
            call = await self.ctx.bridge.originate(
                account_id=account_id,
                user_id=None,
                from_number=shown_number,
                to_number=intent.e164 or target,
                devices=steps,
                application=application,
                record_id=record_id,
            )
        except PortsExhausted:
            raise DialtoneError(
                "call.capacity", "No media ports are free; try again later.", status=503
            ) from None
        if callee is not None:
            call.users.add(callee.id)
        log.info("api call %s: %s -> %s", call.record_id, shown_number, to)
        return call.record_id

    def live_call(self, account_id: str, call_id: str) -> call_service.LiveCall | None:
        """The account's call ``call_id`` while it is in progress (ringing or answered),
        for ``GET /v1/calls/{id}``; None once its record is written (or never was).
        Runs on the event loop (the API calls it from its threads through anyio)."""
        for bridged in list(self.ctx.bridge.calls):
            if bridged.record_id == call_id and bridged.account_id == account_id:
                return self.ctx.bridge.live_view(bridged)
        return self.ctx.answering.live_call(account_id, call_id)

    def live_calls(self, account_id: str | None) -> list[call_service.LiveCall]:
        """Every call in progress of the account (None: of every account), oldest first:
        the web console's live view (issue 18). Runs on the event loop."""
        found = [
            self.ctx.bridge.live_view(bridged)
            for bridged in list(self.ctx.bridge.calls)
            if account_id is None or bridged.account_id == account_id
        ]
        found.extend(self.ctx.answering.live_calls(account_id))
        return sorted(found, key=lambda call: (call.started_at, call.id))

    async def object_to_recording(
        self, account_id: str, call_id: str, *, actor: str, user_id: str | None = None
    ) -> None:
        """``POST /v1/calls/{id}/recording/objection`` (TERMS V8, a party objects): the
        live call's recording stops at once and what was recorded is deleted; the
        objection goes on the audit log. ``user_id`` narrows to that user's calls.

        Raises ``call.not_found`` when the account (or the user) has no such call in
        progress, ``recording.not_recording`` when it is not being recorded."""
        call = self.ctx.bridge.live_call(call_id)
        if (
            call is None
            or call.account_id != account_id
            or (user_id is not None and user_id not in call.users)
        ):
            raise NotFound("call.not_found", f"No call {call_id} is in progress.")
        if not self.ctx.bridge.stop_recording(call):
            raise Conflict("recording.not_recording", f"Call {call_id} is not being recorded.")
        decision = recording.objection((call.from_number, call.to_number))
        await self.ctx.put_on_record(
            AuditEntry.of_decision(
                decision,
                at=self.ctx.now(),
                account_id=account_id,
                actor=actor,
                action="call.recording",
                outcome="enforced",
                call_id=call.record_id,
            )
        )

    # -- transfer ---------------------------------------------------------------------

    async def transfer_steps(self, call: BridgedCall, transferor: Leg, target: Uri) -> list[Step]:
        """Where a REFER's Refer-To leads, seen from the call's account: a colleague's
        devices, or a number checked exactly as a direct call of the account would be
        (B10, V6, V5, F5, V12, B14/B15/B4, V10); a refusal raises ``TransferRefused``
        with its status and code for the transferor's NOTIFY, once on the audit log."""
        dialed = getattr(target, "user", None)
        if dialed is None:
            return []
        transferee = call.b if transferor is call.a else call.a
        return await self.checked_steps(
            call,
            dialed,
            transferor.user_id,
            shown=(transferee, 1 - transferor.side),
            referrer=await self.steps.party_address(call, transferor, transferor.side),
        )

    async def application_steps(
        self, call: BridgedCall, target: str, caller_id: str | None = None
    ) -> list[Step]:
        """Where an application's ``Bridge`` or ``Transfer`` leads: a user's devices
        ("user:<id>", or "client:<extension or id>" as TwiML's ``<Client>`` names them,
        when they can take a call, V2), a ring group's members ("group:<id>"), or a
        number or extension (also a ``sip:`` URI's user part: dialtone does not dial
        arbitrary SIP hosts) checked as a REFER's target is, on the one decision path
        (B10, V6, V5, F5, V12, B14/B15/B4, V10 with ``caller_id`` when the application
        asks for one); a refusal raises ``TransferRefused`` with its status and code,
        once on the audit log."""
        account_id = call.account_id
        kind, _, ident = target.partition(":")
        if kind == "client" and ident:
            user_id = await self.ctx.read(lambda s: _client_user(s, account_id, ident))
            if user_id is None:
                return []
            kind, ident = "user", user_id
        elif kind in ("sip", "sips") and ident:
            try:
                uri = parse_uri(target)
            except SipParseError:
                return []
            target = getattr(uri, "user", None) or ""
            kind = ""
        if kind in ("user", "group") and ident:
            shown = await self.steps.party_address(call, call.a, 0)  # the caller
            if kind == "group":
                try:
                    return await self.steps.group_steps(account_id, ident, shown)
                except NotFound:
                    return []

            def read(session: Session) -> SipUser | None:
                try:
                    return sip_user(user_service.get_user(session, account_id, ident), session)
                except NotFound:
                    return None

            callee = await self.ctx.read(read)
            if callee is None or not callee.can_take_calls:
                return []
            active = await self.ctx.active_everywhere(callee.id)
            if call_setup.user_concurrency(active, callee.channels).refused:
                return []
            found = await self.steps.device_destinations(callee, shown)
            return [Step(found, self.ctx.config.no_answer_seconds)] if found else []
        # The placer is the call's user (the number's holder): their trial minutes count.
        return await self.checked_steps(
            call,
            target,
            call.call.spec.user_id,
            shown=(call.a, 0),
            referrer=None,
            caller_id=caller_id,
        )

    async def checked_steps(
        self,
        call: BridgedCall,
        dialed: str,
        placer_id: str | None,
        *,
        shown: tuple[Leg | None, int],
        referrer: NameAddress | None,
        caller_id: str | None = None,
    ) -> list[Step]:
        """A transfer's target (``dialed``: a number or an extension) seen from the
        call's account, through the policy decision path for the transfer action: a
        colleague's devices or the trunks; ``shown`` is the party the target talks to
        (a leg and its side), ``referrer`` who handed it over (Referred-By)."""
        account_id = call.account_id
        # The transferee is shown the call's number (V10); the placer's trial minutes
        # count (B14). V2 does not apply: no new call of a user begins.
        setup = call_facts.Setup(
            Action.TRANSFER, account_id, dialed, placer_id, caller_id or call.to_number
        )
        intent, callee, _, _ = await self.ctx.gather_facts(setup, channels=1)
        intent = replace(intent, now=self.ctx.now())
        outcome = setup_outcome(Action.TRANSFER, intent)
        if outcome.refusal is not None:
            refusal = outcome.refusal.decision
            log.info(
                "call %s: transfer to %s refused: %s", call.record_id, intent.e164, refusal.code
            )
            await self.ctx.put_on_record(
                AuditEntry.of_decision(
                    refusal,
                    at=self.ctx.now(),
                    account_id=account_id,
                    actor=f"call:{call.record_id}",
                    action=outcome.audit_action,
                )
            )
            raise TransferRefused(outcome.sip_status(), refusal.code or "refused")
        if callee is not None:
            # The target talks to the transferee: it is shown the transferee, and the
            # transferor in Referred-By (RFC 3515 §2.4.2 with RFC 3892, RFC 5589 §6).
            party = await self.steps.party_address(call, *shown)
            found = await self.steps.device_destinations(callee, party)
            if referrer is not None:
                found = [
                    replace(d, extra_headers=(*d.extra_headers, ("Referred-By", str(referrer))))
                    for d in found
                ]
            return [Step(found, self.ctx.config.no_answer_seconds)] if found else []
        caller_id = intent.caller_id
        assert intent.e164 is not None
        assert caller_id is not None
        steps, _ = await self.steps.trunk_steps(account_id, intent.e164, caller_id)
        return steps


def _client(session: Session, account_id: str, identity: str) -> User | None:
    """The user TwiML's ``<Client>identity</Client>`` names: by extension, else by SIP
    username, else by id."""
    user = user_service.find_by_extension(session, account_id, identity)
    if user is None:
        found = user_service.find_sip_user(session, identity)
        user = found if found is not None and found.account_id == account_id else None
    if user is None:
        try:
            user = user_service.get_user(session, account_id, identity)
        except NotFound:
            return None
    return user


def _client_user(session: Session, account_id: str, identity: str) -> str | None:
    user = _client(session, account_id, identity)
    return None if user is None else user.id


def _client_extension(session: Session, account_id: str, identity: str) -> str | None:
    user = _client(session, account_id, identity)
    return None if user is None else user.extension
