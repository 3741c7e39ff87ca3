"""The calls TwiML runs (issue 16): the engine behind the Twilio-compatible Calls resource
(``api/twilio/placer.TwilioCallPlacer``: place, redirect, end, list live calls), the
TwiML application of a call to a number with a ``VoiceUrl``, and the call status
callbacks of both (``StatusCallback`` with its ``StatusCallbackEvent`` filter).

What a call does is the interpreter's (``dialtone.twiml``); the call is the core's; this
module only builds the application with the call's Twilio parameters, finds the call a
request names, and owes the callbacks its progress calls for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.orm import Session, sessionmaker

from dialtone.call import actions as act
from dialtone.call import events as ev
from dialtone.call.application import Application
from dialtone.call.call import Call
from dialtone.call.spec import CallSpec
from dialtone.core.errors import Conflict, DialtoneError, NotFound
from dialtone.services.ids import new_id
from dialtone.services.telephony import call_status
from dialtone.services.telephony.calls import LiveCall
from dialtone.services.telephony.routing import VoiceUrls
from dialtone.store.db import transaction
from dialtone.twiml import params as twiml_params
from dialtone.twiml.interpreter import FromTwiml, FromUrl, StartFrom, TwimlApplication

from .call_driver import CallDriver, live_view

log = logging.getLogger("dialtone.twiml")

Method = Literal["GET", "POST"]
# How long ending a call over the API waits for its record before answering.
RECORD_WAIT = 5.0
# Places a call for an application (EntryPoints.application_call).
PlaceCall = Callable[..., Awaitable[str]]


@dataclass(slots=True)
class StatusWatch:
    """One call's status callback: where, how, which events; its count so far."""

    url: str
    method: str
    events: frozenset[str]
    facts: call_status.CallFacts
    sequence: int = 0
    told: set[str] = field(default_factory=set)


def _method(value: str) -> Method:
    return "GET" if value.upper() == "GET" else "POST"


class TwilioCalls:
    """Calls run by TwiML, placed over the API or answered for a number."""

    def __init__(
        self,
        *,
        driver: CallDriver,
        place_call: PlaceCall,
        sessions: sessionmaker[Session],
        db: ThreadPoolExecutor,
        recordings_dir: Callable[[str], str],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.driver = driver
        self.place_call = place_call
        self.sessions = sessions
        self.db = db
        self.recordings_dir = recordings_dir
        self.clock = clock
        self.watches: dict[str, StatusWatch] = {}
        driver.progress_listeners.append(self.on_progress)

    # -- applications ---------------------------------------------------------------------

    def application(
        self, spec: CallSpec, first: StartFrom, direction: twiml_params.Direction
    ) -> TwimlApplication:
        """The interpreter for the call ``spec`` describes; its ``<Record>`` files go to
        the account's recordings directory."""
        call = twiml_params.CallParams(
            account_sid=spec.account_id,
            call_sid=spec.record_id,
            from_=spec.from_number,
            to=spec.to_number,
            direction=direction,
        )
        prefix = f"{self.recordings_dir(spec.account_id)}/{spec.record_id}"
        return TwimlApplication(call, first, record_prefix=prefix)

    def inbound(self, spec: CallSpec, urls: VoiceUrls) -> Application:
        """A call to a number with a ``VoiceUrl``: its document, its status callback."""
        first = FromUrl(
            urls.voice_url,
            _method(urls.voice_method),
            urls.voice_fallback_url,
            _method(urls.voice_fallback_method),
        )
        if urls.status_callback:
            self._watch(spec, "inbound", urls.status_callback, urls.status_callback_method, None)
        return self.application(spec, first, "inbound")

    # -- the Calls resource (api/twilio/placer.TwilioCallPlacer) ----------------------------

    async def place(
        self,
        account_id: str,
        to: str,
        from_: str,
        *,
        twiml: str | None,
        url: str | None,
        method: str,
        status_callback: str | None,
        status_callback_method: str,
        status_callback_events: Sequence[str],
        timeout: int,
        record: bool,
    ) -> str:
        """Place a call that runs ``twiml`` (or the document at ``url``) once answered;
        refusals of the decision path (``api_call``: B10, V10/N13, V7, V6, V5, F5, V12,
        B14/B15/B4) raise with their code."""
        if record:
            raise DialtoneError(
                "twilio.unsupported",
                "Record=true is not supported: record with <Record>, or set the account's "
                "recording policy (TERMS V8).",
                status=400,
            )
        first: StartFrom = (
            FromTwiml(twiml) if twiml is not None else FromUrl(url or "", _method(method))
        )
        events = call_status.parse_events(list(status_callback_events) or None)
        record_id = new_id("CA")

        def application(spec: CallSpec) -> Application:
            if status_callback:
                self._watch(spec, "outbound-api", status_callback, status_callback_method, events)
            return self.application(spec, first, "outbound-api")

        return await self.place_call(
            account_id, to, from_, application, timeout=float(timeout), record_id=record_id
        )

    async def update(
        self,
        account_id: str,
        call_sid: str,
        *,
        status: str | None,
        url: str | None,
        twiml: str | None,
        method: str,
    ) -> None:
        """End a live call or redirect it to new TwiML (``call.not_found`` when the
        account has no such call live)."""
        driven = self.driver.calls.get(call_sid)
        if driven is None or driven.call.spec.account_id != account_id or driven.call.ended:
            raise NotFound("call.not_found", f"No call {call_sid} is in progress.")
        call = driven.call
        if status in ("completed", "canceled"):
            if status == "canceled" and call.answered is not None:
                raise Conflict("call.answered", "An answered call cannot be canceled: complete it.")
            self.driver.feed(driven, ev.HangUp(cause=f"api-{status}", status=487))
            # Answered once its record is written, so the caller reads the call ended.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RECORD_WAIT):
                    while not driven.ended:
                        await asyncio.sleep(0.01)
            return
        application = call.application
        if not isinstance(application, TwimlApplication):
            raise Conflict("call.not_twiml", f"Call {call_sid} does not run TwiML.")
        first: StartFrom = (
            FromTwiml(twiml) if twiml is not None else FromUrl(url or "", _method(method))
        )
        commands = application.update(first)
        self.driver.feed(driven, ev.Interrupt(tuple(commands)))

    def live_calls(self, account_id: str) -> Sequence[LiveCall]:
        """The account's calls in progress, whoever runs them."""
        return [
            live_view(driven.call.facts())
            for driven in self.driver.calls.values()
            if driven.call.spec.account_id == account_id and not driven.call.ended
        ]

    # -- status callbacks -------------------------------------------------------------------

    def _watch(
        self,
        spec: CallSpec,
        direction: str,
        url: str,
        method: str,
        events: frozenset[str] | None,
    ) -> None:
        facts = call_status.CallFacts(
            call_sid=spec.record_id,
            account_sid=spec.account_id,
            from_=spec.from_number,
            to=spec.to_number,
            direction=direction,
        )
        self.watches[spec.record_id] = StatusWatch(
            url, _method(method), events or call_status.DEFAULT_EVENTS, facts
        )

    def on_progress(self, call: Call, progress: str, record: act.CallRecord | None) -> None:
        """A step of a watched call: owed to its callback when its filter asks (in the
        order the steps happen: each is written in its own transaction, in order, on
        the one database thread)."""
        watch = self.watches.get(call.record_id)
        if watch is None:
            return
        status = progress
        duration: int | None = None
        if record is not None:
            del self.watches[call.record_id]
            status = record.status if record.status in call_status.FINAL else "completed"
            if record.answered_at is not None and record.ended_at is not None:
                duration = int((record.ended_at - record.answered_at).total_seconds())
            else:
                duration = 0
        if status in watch.told or status not in call_status.STATUSES:
            return
        watch.told.add(status)
        if call_status.event_of(status) not in watch.events:
            return
        sequence = watch.sequence
        watch.sequence += 1
        now = self.clock()

        def owe() -> None:
            with transaction(self.sessions) as session:
                call_status.enqueue_call_status(
                    session,
                    call.spec.account_id,
                    url=watch.url,
                    method=watch.method,
                    facts=watch.facts,
                    status=status,
                    events=watch.events,
                    sequence=sequence,
                    now=now,
                    duration=duration,
                )

        future = asyncio.get_running_loop().run_in_executor(self.db, owe)
        future.add_done_callback(_logged(call.record_id))


def _logged(record_id: str) -> Callable[[asyncio.Future[None]], None]:
    def done(future: asyncio.Future[None]) -> None:
        if not future.cancelled() and future.exception() is not None:
            log.error("call %s: status callback not owed: %s", record_id, future.exception())

    return done
