"""The call handler: the SIP transaction user that answers calls to held numbers.

It answers an INVITE to a number an account holds (100, 180, 200 with SDP), plays the
number's greeting, records the caller, and on BYE commits the CDR *before* answering 200
(a crash never loses an acknowledged call). OPTIONS gets 200; a number nobody holds 404;
a CANCEL before the answer 487; a call longer than the limit ends with our own BYE.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from dialtone.services.ids import new_id
from dialtone.services.numbering import numbers as number_service
from dialtone.services.telephony import calls as call_service
from dialtone.services.telephony import voicemails as voicemail_service
from dialtone.services.telephony.greetings import default_greeting_path
from dialtone.sip.dialog import Dialog
from dialtone.sip.endpoint import (
    AckReceived,
    CancelReceived,
    MessageRejected,
    Output,
    RequestReceived,
    SipEndpoint,
)
from dialtone.sip.errors import SipParseError
from dialtone.sip.message import Request, Response, make_response
from dialtone.sip.sdp import (
    NegotiatedAudio,
    NoAcceptableMedia,
    SessionDescription,
    answer_offer,
)
from dialtone.sip.transaction import (
    InviteServerTransaction,
    ResponseReceived,
    ServerTransaction,
    TransactionTimedOut,
)
from dialtone.store.db import transaction

from .cdr_writer import AfterCommit, CdrWriter
from .media import PortsExhausted, RtpPortPool, RtpSession, open_rtp_session
from .prompts import encoded_prompt
from .sealing import (
    CallFacts,
    discard_recording,
    forget_facts,
    recording_file,
    sync_recording,
)
from .tasks import TaskSet

log = logging.getLogger("dialtone.calls")
T = TypeVar("T")


class Channel(Protocol):
    """The transport a call's signalling travels on (see ``runtime.transports``)."""

    endpoint: SipEndpoint

    def dispatch(self, outputs: list[Output]) -> None: ...


@dataclass(frozen=True, slots=True)
class AnswerTarget:
    """What an answered call plays and where it records: a number's greeting, or a
    user's voicemail box (then the recording becomes a voicemail message)."""

    account_id: str
    to_number: str
    greeting_path: Path
    recordings_dir: Path
    voicemail_user_id: str | None = None
    voicemail: bool = False
    max_seconds: float | None = None
    from_number: str | None = None
    legs: tuple[dict[str, str | None], ...] = ()
    # The user whose device placed the call (counted by V2, the record's
    # ``caller_user_id``); None for a caller from outside.
    user_id: str | None = None
    # "internal" for a device's call to a colleague sent to voicemail (as when answered).
    direction: str = "inbound"
    # The user the call record names when it is not ``user_id`` (who placed the call,
    # counted by V2): the owner of the voicemail box a call was sent to.
    record_user_id: str | None = None
    # When the caller's INVITE arrived, for a call that rang devices before voicemail.
    started_at: datetime | None = None
    # The carrier trunk the call came in through (None: a device's or a public caller's).
    trunk_id: str | None = None


@dataclass(slots=True)
class CallConfig:
    """What the call handler needs from the settings."""

    advertised_host: str
    rtp_host: str
    recordings_dir: Path
    greetings_dir: Path
    codecs: tuple[str, ...] = ("PCMA", "PCMU")
    ring_seconds: float = 0.5
    max_call_seconds: float = 3600.0
    cdr_commit_window: float = 0.015
    # TERMS D5: recordings are sealed with this key as they are written (None: plain WAV).
    recording_key: bytes | None = None


@dataclass(slots=True)
class Call:
    """One call the platform is answering or has answered."""

    invite: Request
    transaction: InviteServerTransaction
    source: tuple[str, int]
    channel: Channel
    account_id: str
    to_number: str
    from_number: str
    local_tag: str
    started_at: datetime
    record_id: str
    greeting_path: Path
    answered_at: datetime | None = None
    dialog: Dialog | None = None
    media: RtpSession | None = None
    recording_path: Path | None = None
    target: AnswerTarget | None = None
    local_sdp: bytes | None = None
    ended: bool = False
    tasks: list[asyncio.TimerHandle] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        """(Call-ID, our tag): how in-dialog requests find the call."""
        return (self.invite.call_id, self.local_tag)


class CallHandler:
    """Reacts to endpoint events; everything that touches the database runs on ``db``."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        config: CallConfig,
        rtp_ports: RtpPortPool,
        db: ThreadPoolExecutor,
        reads: ThreadPoolExecutor | None = None,
        wallclock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_voicemail: Callable[[str, str], None] | None = None,
    ) -> None:
        self.sessions = sessions
        # Told (message id, audio path) after a voicemail is committed: transcription.
        self.on_voicemail = on_voicemail
        self.config = config
        self.rtp_ports = rtp_ports
        self.db = db
        # SQLite in WAL mode reads alongside the writer: lookups need not queue behind CDRs.
        self.reads = reads or db
        self.now = wallclock
        self.cdrs = CdrWriter(sessions, db, window=config.cdr_commit_window)
        self.calls: dict[tuple[str, str], Call] = {}
        self._by_invite: dict[int, Call] = {}
        self.background = TaskSet(log, "call")

    # -- plumbing ---------------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    async def _read(self, fn: Callable[[], T]) -> T:
        return await self.loop.run_in_executor(self.reads, fn)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self.background.spawn(coro)

    def _respond(self, channel: Channel, tx: ServerTransaction, response: Response) -> None:
        try:
            channel.dispatch(channel.endpoint.respond(tx, response, self.loop.time()))
        except ValueError as exc:
            # The transaction was answered already (e.g. CANCEL raced with the 200).
            log.debug("response not sent: %s", exc)

    # -- events -----------------------------------------------------------------------

    def handle(self, event: Output, channel: Channel) -> None:
        """Dispatch one endpoint event that arrived on ``channel``."""
        if isinstance(event, RequestReceived):
            self._on_request(event, channel)
        elif isinstance(event, AckReceived):
            self._on_ack(event)
        elif isinstance(event, CancelReceived):
            self._on_cancel(event, channel)
        elif isinstance(event, TransactionTimedOut):
            self._on_timeout(event)
        elif isinstance(event, MessageRejected):
            log.info(
                "SIP message from %s:%d rejected (%s): %s",
                event.source[0],
                event.source[1],
                event.status or "dropped",
                event.reason,
            )
        elif isinstance(event, ResponseReceived):
            log.debug("response %d to our %s", event.response.cseq.method, event.response.status)

    def active_calls_of(self, user_id: str) -> int:
        """Answered-by-us calls a user placed (TERMS V2 counts them too)."""
        return sum(
            1
            for call in self.calls.values()
            if call.target is not None and call.target.user_id == user_id and not call.ended
        )

    def live_call(self, account_id: str, record_id: str) -> call_service.LiveCall | None:
        """The account's call ``record_id`` while we answer it (a greeting or voicemail),
        for ``GET /v1/calls/{id}``; None once its record is written."""
        for call in list(self.calls.values()):
            if call.record_id != record_id or call.account_id != account_id:
                continue
            target = call.target
            return call_service.LiveCall(
                id=call.record_id,
                account_id=call.account_id,
                direction=_direction(target),
                from_number=call.from_number,
                to_number=call.to_number,
                status="ringing" if call.answered_at is None else "in-progress",
                started_at=call.started_at,
                answered_at=call.answered_at,
                sip_call_id=call.invite.call_id,
                user_id=_record_user(target),
                legs=target.legs if target is not None else (),
                caller_user_id=target.user_id if target is not None else None,
                trunk_id=target.trunk_id if target is not None else None,
            )
        return None

    def owns(self, call_id: str, tag: str | None) -> bool:
        """Whether an in-dialog request with this Call-ID and To tag is one of our calls."""
        return (call_id, tag or "") in self.calls

    def _on_request(self, event: RequestReceived, channel: Channel) -> None:
        request = event.request
        method = request.method
        if method == "INVITE" and request.to.tag is None:
            self._spawn(self._guarded_invite(event, channel, None))
        elif method == "BYE":
            self._spawn(self._on_bye(event, channel))
        else:
            # A re-INVITE to an answering call changes nothing here: it keeps playing and
            # recording on the address it has (the answer repeats our SDP).
            call = self.calls.get((request.call_id, request.to.tag or ""))
            if call is not None and method == "INVITE" and call.local_sdp is not None:
                if call.dialog is not None and not call.dialog.accepts(request):
                    self._respond(channel, event.transaction, make_response(request, 500))
                    return
                ok = make_response(
                    request,
                    200,
                    body=call.local_sdp,
                    content_type="application/sdp",
                    extra_headers=(("Contact", self._contact(channel)),),
                )
                self._respond(channel, event.transaction, ok)
                return
            status = 200 if call is not None and method in ("INFO", "NOTIFY") else 481
            self._respond(channel, event.transaction, make_response(request, status))

    def answer(self, event: RequestReceived, channel: Channel, target: AnswerTarget) -> None:
        """Answer an INVITE with ``target``'s prompt and recording (greeting or voicemail)."""
        self._spawn(self._guarded_invite(event, channel, target))

    async def _guarded_invite(
        self, event: RequestReceived, channel: Channel, target: AnswerTarget | None
    ) -> None:
        """Answer 500 (and release what the call held) when handling the INVITE fails,
        so that a broken database never leaves a caller waiting or a port leaked."""
        try:
            await self._on_invite(event, channel, target)
        except Exception:
            log.exception("INVITE %s failed", event.request.call_id)
            tx = event.transaction
            call = self._by_invite.get(id(tx))
            if call is not None and not call.ended:
                await self._abandon(call)
            if tx.last_status is None or tx.last_status < 200:
                tag = channel.endpoint.new_tag()
                self._respond(channel, tx, make_response(event.request, 500, to_tag=tag))

    async def _abandon(self, call: Call) -> None:
        """Release a call's media and bookkeeping without a CDR (the store is failing)."""
        call.ended = True
        for handle in call.tasks:
            handle.cancel()
        if call.media is not None:
            call.media.close()
            self.rtp_ports.release(call.media.local_port)
        self.calls.pop(call.key, None)
        self._by_invite.pop(id(call.transaction), None)

    async def _target_for(self, request: Request) -> AnswerTarget | None:
        dialed = request.uri.user
        holder = await self._read(lambda: self._lookup(dialed))
        if holder is None:
            return None
        account_id, e164, greeting = holder
        return AnswerTarget(
            account_id=account_id,
            to_number=e164,
            greeting_path=(self.config.greetings_dir / greeting)
            if greeting
            else default_greeting_path(),
            recordings_dir=self.config.recordings_dir / account_id,
        )

    async def _on_invite(
        self, event: RequestReceived, channel: Channel, target: AnswerTarget | None
    ) -> None:
        request = event.request
        tx = event.transaction
        assert isinstance(tx, InviteServerTransaction)
        started = self.now()
        if target is None:
            target = await self._target_for(request)
        if target is None:
            log.info("INVITE to %s: no account holds it -> 404", request.uri.user)
            tag = channel.endpoint.new_tag()
            self._respond(channel, tx, make_response(request, 404, to_tag=tag))
            return
        if tx.last_status is not None and tx.last_status >= 200:
            return  # canceled while the number was looked up
        call = Call(
            invite=request,
            transaction=tx,
            source=event.source,
            channel=channel,
            account_id=target.account_id,
            to_number=target.to_number,
            from_number=target.from_number or _caller(request),
            local_tag=channel.endpoint.new_tag(),
            # A call that rang devices first started when its INVITE arrived.
            started_at=target.started_at or started,
            record_id=new_id("CA"),
            greeting_path=target.greeting_path,
            target=target,
        )
        self.calls[call.key] = call
        self._by_invite[id(tx)] = call
        try:
            offer = SessionDescription.parse(request.body)
            session_id = str(secrets.randbits(31))

            def answer_for(port: int) -> tuple[SessionDescription, NegotiatedAudio]:
                return answer_offer(
                    offer,
                    local_address=self.config.advertised_host,
                    local_port=port,
                    session_id=session_id,
                    preference=self.config.codecs,
                )

            # Negotiate once with a placeholder port to refuse before a socket is opened.
            _, audio = answer_for(9)
        except (SipParseError, NoAcceptableMedia) as exc:
            reason = getattr(exc, "reason", str(exc))
            log.info("INVITE %s: no acceptable media (%s) -> 488", request.call_id, reason)
            await self._fail(call, 488, f"488 {reason}"[:40])
            return
        key = self.config.recording_key
        call.recording_path = recording_file(target.recordings_dir, call.record_id, key)
        try:
            media = await open_rtp_session(
                self.rtp_ports,
                self.config.rtp_host,
                audio,
                call.recording_path,
                key=key,
                facts=_facts(call, target),
            )
        except PortsExhausted:
            log.warning("INVITE %s: RTP ports exhausted -> 503", request.call_id)
            call.recording_path = None
            await self._fail(call, 503, "rtp-ports-exhausted")
            return
        call.media = media
        answer, audio = answer_for(media.local_port)
        media.audio = audio
        call.local_sdp = answer.serialize()
        if not target.voicemail:
            ringing = make_response(request, 180, to_tag=call.local_tag)
            ringing.add_header("Contact", self._contact(channel))
            self._respond(channel, tx, ringing)
            await asyncio.sleep(self.config.ring_seconds)
        if call.ended:
            return  # canceled while ringing
        ok = make_response(
            request,
            200,
            to_tag=call.local_tag,
            body=call.local_sdp,
            content_type="application/sdp",
            extra_headers=(
                ("Contact", self._contact(channel)),
                ("Allow", ", ".join(sorted(channel.endpoint.policy.methods))),
            ),
        )
        call.answered_at = self.now()
        call.dialog = Dialog.from_invite(request, ok, local_seq=secrets.randbelow(2**20) + 1)
        self._respond(channel, tx, ok)
        media.play(encoded_prompt(call.greeting_path, audio.codec))
        log.info(
            "call %s answered (%s): %s -> %s (account %s, %s, RTP %d -> %s:%d)",
            call.record_id,
            "voicemail" if target.voicemail else "greeting",
            call.from_number,
            call.to_number,
            call.account_id,
            audio.codec,
            media.local_port,
            audio.remote_address,
            audio.remote_port,
        )
        limit = target.max_seconds or self.config.max_call_seconds
        call.tasks.append(self.loop.call_later(limit, self._max_duration, call))

    def _lookup(self, dialed: str | None) -> tuple[str, str, str | None] | None:
        with transaction(self.sessions) as session:
            row = number_service.find_holder(session, dialed)
            return None if row is None else (row.account_id, row.number, row.greeting)

    def _contact(self, channel: Channel) -> str:
        ep = channel.endpoint
        suffix = "" if ep.transport == "UDP" else f";transport={ep.transport.lower()}"
        return f"<sip:dialtone@{ep.local_host}:{ep.local_port}{suffix}>"

    def _on_ack(self, event: AckReceived) -> None:
        call = self.calls.get((event.request.call_id, event.request.to.tag or ""))
        if call is not None and call.dialog is not None:
            call.dialog.confirmed = True

    def _on_cancel(self, event: CancelReceived, channel: Channel) -> None:
        call = self._by_invite.get(id(event.invite))
        if call is None or call.answered_at is not None:
            # Not a call we track yet (still looking the number up): refuse it now.
            tag = channel.endpoint.new_tag()
            self._respond(
                channel, event.invite, make_response(event.invite.request, 487, to_tag=tag)
            )
            return
        self._spawn(self._fail(call, 487, "caller-cancel", status="canceled"))

    def _on_timeout(self, event: TransactionTimedOut) -> None:
        tx = event.transaction
        call = self._by_invite.get(id(tx))
        if call is None or call.ended:
            return
        if call.answered_at is not None:
            log.warning("call %s: no ACK for our 200 -> BYE", call.record_id)
            self._spawn(self._hang_up(call, "no-ack", status="failed"))

    async def _on_bye(self, event: RequestReceived, channel: Channel) -> None:
        request = event.request
        call = self.calls.get((request.call_id, request.to.tag or ""))
        if call is None or call.dialog is None:
            self._respond(channel, event.transaction, make_response(request, 481))
            return
        if not call.dialog.accepts(request):
            self._respond(channel, event.transaction, make_response(request, 500))
            return
        try:
            await self._finish(call, "caller-bye", status="completed")
        except Exception:
            # The CDR could not be committed: do not acknowledge the hang-up as done.
            log.exception("call %s: CDR not written; answering BYE 500", call.record_id)
            self._respond(channel, event.transaction, make_response(request, 500))
            return
        self._respond(channel, event.transaction, make_response(request, 200))

    # -- ending calls -------------------------------------------------------------------

    async def _fail(self, call: Call, sip_status: int, cause: str, status: str = "failed") -> None:
        """End a call that was never answered, with ``sip_status`` to the INVITE."""
        if call.ended:
            return
        self._respond(
            call.channel,
            call.transaction,
            make_response(call.invite, sip_status, to_tag=call.local_tag),
        )
        await self._finish(call, cause, status=status)

    def _max_duration(self, call: Call) -> None:
        self._spawn(self._hang_up(call, "max-duration", status="completed"))

    async def _hang_up(self, call: Call, cause: str, *, status: str) -> None:
        """End an answered call from our side: CDR first, then BYE."""
        if call.ended or call.dialog is None:
            return
        await self._finish(call, cause, status=status)
        endpoint = call.channel.endpoint
        bye = call.dialog.create_request("BYE", via=endpoint.via())
        call.channel.dispatch(endpoint.send_request(bye, call.source, self.loop.time()))

    async def _finish(self, call: Call, cause: str, *, status: str) -> None:
        """Stop the media and commit the CDR (before the caller hears anything more)."""
        if call.ended:
            return
        call.ended = True
        ended = self.now()
        for handle in call.tasks:
            handle.cancel()
        recording: str | None = None
        if call.media is not None:
            call.media.close()
            self.rtp_ports.release(call.media.local_port)
            if call.answered_at is not None and call.recording_path is not None:
                recording = str(call.recording_path)
            elif call.recording_path is not None:
                discard_recording(call.recording_path)
        # The recording was sealed as it was written (D5); it reaches the disk first.
        recording = await sync_recording(recording)
        target = call.target
        outcome = call_service.CallOutcome(
            account_id=call.account_id,
            direction=_direction(target),
            from_number=call.from_number,
            to_number=call.to_number,
            started_at=call.started_at,
            answered_at=call.answered_at,
            ended_at=ended,
            status=status,
            hangup_cause=cause,
            sip_call_id=call.invite.call_id,
            sip_local_tag=call.local_tag,
            recording_path=None if target is not None and target.voicemail else recording,
            record_id=call.record_id,
            legs=target.legs if target is not None else (),
            user_id=_record_user(target),
            caller_user_id=target.user_id if target is not None else None,
            trunk_id=target.trunk_id if target is not None else None,
        )
        after: AfterCommit | None = None
        saved: list[str] = []
        if target is not None and target.voicemail and recording is not None:
            after = self._voicemail_saver(call, target, recording, ended, saved)
        try:
            await self.cdrs.write_cdr(outcome, after=after)
            forget_facts(recording)  # the CDR (and message) is committed: the note is done
        finally:
            self.calls.pop(call.key, None)
            self._by_invite.pop(id(call.transaction), None)
        if saved and recording is not None and self.on_voicemail is not None:
            self.on_voicemail(saved[0], recording)
        log.info("call %s ended: %s (%s)", call.record_id, status, cause)

    def _voicemail_saver(
        self,
        call: Call,
        target: AnswerTarget,
        recording: str,
        ended: datetime,
        saved: list[str],
    ) -> AfterCommit:
        """Store the message with the CDR, in the same transaction (nothing half-saved)."""
        started = call.answered_at or ended
        duration = Decimal(str(round((ended - started).total_seconds(), 3)))

        def save(session: Session) -> None:
            row = voicemail_service.create_voicemail(
                session,
                account_id=target.account_id,
                user_id=target.voicemail_user_id,
                number=target.to_number,
                from_number=call.from_number,
                duration=duration,
                path=recording,
                now=ended,
                call_record_id=call.record_id,
            )
            saved.append(row.id)

        return save

    async def shutdown(self) -> None:
        """End every live call (BYE to answered ones, 480 to ringing ones), CDRs committed."""
        for call in list(self.calls.values()):
            if call.answered_at is not None:
                await self._hang_up(call, "shutdown", status="completed")
            else:
                await self._fail(call, 480, "shutdown")
        await self.background.wait(timeout=5)
        await self.cdrs.close()


def _record_user(target: AnswerTarget | None) -> str | None:
    """The user a call record names: the voicemail box's owner, else who placed it."""
    if target is None:
        return None
    return target.record_user_id or target.user_id


def _direction(target: AnswerTarget | None) -> str:
    """The direction a call we answer is recorded with."""
    return "inbound" if target is None else target.direction


def _facts(call: Call, target: AnswerTarget) -> CallFacts:
    """What the call's CDR (and voicemail message) would say, kept beside its recording
    while it lasts (D5: a crash leaves a recording the next start can place)."""
    return CallFacts(
        account_id=call.account_id,
        direction=_direction(target),
        from_number=call.from_number,
        to_number=call.to_number,
        started_at=call.started_at,
        answered_at=call.answered_at,
        sip_call_id=call.invite.call_id,
        sip_local_tag=call.local_tag,
        record_id=call.record_id,
        legs=target.legs,
        user_id=_record_user(target),
        voicemail=(target.voicemail_user_id, target.to_number) if target.voicemail else None,
        caller_user_id=target.user_id,
        trunk_id=target.trunk_id,
    )


def _caller(request: Request) -> str:
    """The caller's number (From user part) as the CDR shows it."""
    uri = request.from_.uri
    user = getattr(uri, "user", None)
    if user:
        e164 = number_service.dialed_to_e164(user) if user.lstrip("+").isdigit() else None
        return e164 or user
    return str(uri)
