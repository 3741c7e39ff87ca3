"""The AI receptionist's calls, for the runtime: what its tasks do, and the application
a number routed to an agent runs (``agents.conversation.Conversation``).

Each task of ``agents.tasks`` has a handler here: speech synthesised through the prompt
cache (the first sentence awaited, the others made while it plays: the driver's Play
waits for a prompt still being made), the calendar booked, the caller's message kept as
a voicemail entry with its transcript, the follow-up text sent through messaging (its
consent rules, M3), the language model asked, the report filed. Refusals by the terms
go on the audit log as every refusal does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import phonenumbers
from sqlalchemy.orm import Session, sessionmaker

from dialtone.agents import tasks as t
from dialtone.agents.conversation import Conversation
from dialtone.agents.llm_brain import ModelBrain
from dialtone.agents.profile import AgentProfile
from dialtone.agents.rules_brain import RulesBrain
from dialtone.agents.turns import Brain, FollowUpSent, MessageTaken
from dialtone.call.application import Application
from dialtone.call.spec import CallSpec
from dialtone.core.errors import DialtoneError, NotFound
from dialtone.outside.speech_to_text import TranscriptionError
from dialtone.services.accounts import audit
from dialtone.services.agents import profiles, reports
from dialtone.services.messaging import messages
from dialtone.services.messaging.rules import MessagingRules
from dialtone.services.telephony import voicemails as voicemail_service
from dialtone.services.telephony.routing import Route
from dialtone.speech.prompt_cache import PromptCache
from dialtone.speech.transcriber import OfflineTranscriber
from dialtone.store import sealed
from dialtone.store.db import transaction

from .agent_booking import book_appointment, calendar_for
from .agent_model import ModelClients, ask_model
from .app_tasks import AppTasks
from .tasks import TaskSet

log = logging.getLogger("dialtone.agents")

# How a voicemail the agent took is labelled: the caller's words, transcribed by the
# machine (V9), in an entry the AI produced (A4).
MESSAGE_LABEL = "ai-generated"

Writer = Callable[[Session], Any]


class AgentTasks:
    """The handlers of the agent's tasks (registered on the call driver's ``AppTasks``)."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        db: Executor,
        prompts: PromptCache,
        transcriber: OfflineTranscriber | None,
        messaging_rules: Callable[[], MessagingRules],
        recording_key: bytes | None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessions = sessions
        self.db = db
        self.prompts = prompts
        self.transcriber = transcriber
        self.messaging_rules = messaging_rules
        self.recording_key = recording_key
        self.clock = clock
        self.background = TaskSet(log, "agent")
        self.book: Callable[[t.Book], Awaitable[object]] | None = None
        self.consult: Callable[[t.Consult], Awaitable[object]] | None = None
        self.file_report: Callable[[Session, t.FileReport], None] | None = None

    def register(self, tasks: AppTasks) -> None:
        tasks.register(t.Say, self.say)
        tasks.register(t.Book, self._book)
        tasks.register(t.SaveMessage, self.save_message)
        tasks.register(t.TextCaller, self.text_caller)
        tasks.register(t.Consult, self._consult)
        tasks.register(t.FileReport, self._file)

    def pending(self, path: str) -> asyncio.Future[object] | None:
        """The synthesis of ``path`` under way, if any (for the driver's Play)."""
        return self.prompts.pending(path)  # type: ignore[return-value]

    # -- speech ---------------------------------------------------------------------------

    async def say(self, _spec: CallSpec, task: t.Say) -> t.Said:
        """The first sentence synthesised now; the others started, their files named."""
        if not task.sentences:
            return t.Said(())
        loop = asyncio.get_running_loop()
        first = await self.prompts.prompt(task.sentences[0], task.voice, task.language)
        ready_at = loop.time()
        paths = [str(first)]
        for sentence in task.sentences[1:]:
            paths.append(str(self.prompts.file_for(sentence, task.voice, task.language)))
            self.prompts.start(sentence, task.voice, task.language)
        return t.Said(tuple(paths), ready_at)

    # -- the calendar, the model, the report (set by the runtime when configured) -----------

    async def _book(self, _spec: CallSpec, task: t.Book) -> object:
        if self.book is None:
            raise RuntimeError("no booking calendar here")
        return await self.book(task)

    async def _consult(self, _spec: CallSpec, task: t.Consult) -> object:
        if self.consult is None:
            raise RuntimeError("no language model here")
        return await self.consult(task)

    async def _file(self, _spec: CallSpec, task: t.FileReport) -> None:
        if self.file_report is None:
            log.info("agent report for %s not kept: no store", task.report.record_id)
            return
        file_report = self.file_report
        await self._write(lambda session: file_report(session, task))

    # -- a message ----------------------------------------------------------------------

    async def save_message(self, _spec: CallSpec, task: t.SaveMessage) -> MessageTaken:
        """The caller's message as a voicemail entry of the agent's number, its
        transcript made on this machine and labelled (A4, V9)."""
        path = task.path
        if path is None or task.seconds <= 0:
            return MessageTaken(None)
        now = self.clock()

        def create(session: Session) -> str:
            row = voicemail_service.create_voicemail(
                session,
                account_id=task.profile.account_id,
                user_id=None,
                number=task.number,
                from_number=task.caller,
                duration=Decimal(str(round(task.seconds, 3))),
                path=path,
                now=now,
                call_record_id=task.record_id,
            )
            return row.id

        voicemail_id: str = await self._write(create)
        text: str | None = None
        if self.transcriber is not None:
            loop = asyncio.get_running_loop()
            try:
                wav = await loop.run_in_executor(
                    None, sealed.read_recording, Path(path), self.recording_key
                )
                text = await self.transcriber.transcribe(wav)
            except (OSError, TranscriptionError, sealed.SealError) as exc:
                log.warning("agent message %s not transcribed: %s", voicemail_id, exc)

        def store(session: Session) -> None:
            row = voicemail_service.set_transcript(session, voicemail_id, text)
            if text is not None:
                row.transcript_label = MESSAGE_LABEL

        await self._write(store)
        return MessageTaken(text)

    # -- a text -------------------------------------------------------------------------

    async def text_caller(self, _spec: CallSpec, task: t.TextCaller) -> FollowUpSent:
        """The follow-up text through messaging: every SMS rule applies (M3 consent,
        opt-outs, fair use); a refusal is on the audit log and in the answer."""
        now = self.clock()
        outgoing = messages.Outgoing(
            sender=task.from_number,
            to=task.to,
            body=task.text,
            origin="agent",
        )
        rules = self.messaging_rules()

        def send(session: Session) -> str | None:
            try:
                with session.begin_nested():
                    messages.send(session, task.profile.account_id, outgoing, rules=rules, now=now)
            except DialtoneError as refused:
                entry = audit.AuditEntry.of_error(
                    refused,
                    at=now,
                    account_id=task.profile.account_id,
                    actor=f"agent:{task.profile.id}",
                    action="sms.send",
                )
                audit.record(session, [entry])
                return refused.rule or refused.code
            return None

        refused = await self._write(send)
        return FollowUpSent(refused)

    # -- plumbing -----------------------------------------------------------------------

    async def _write(self, work: Writer) -> Any:
        def run() -> Any:
            with transaction(self.sessions) as session:
                return work(session)

        return await asyncio.get_running_loop().run_in_executor(self.db, run)

    async def close(self, timeout: float = 10.0) -> None:
        await self.background.wait(timeout)


# -- assembly ---------------------------------------------------------------------------------


class AgentCalls:
    """Numbers routed to an agent answered by it: the profile read when a call comes,
    the brain chosen (rules, or the language model with the rules behind it), the
    call's application made; the tasks' handlers wired to the calendar, the model and
    the report store."""

    def __init__(
        self,
        *,
        tasks: AgentTasks,
        read: Callable[[Callable[[Session], Any]], Awaitable[Any]],
        key: bytes | None,
        recordings_dir: Callable[[str], Path],
    ) -> None:
        self.tasks = tasks
        self.read = read
        self.key = key
        self.recordings_dir = recordings_dir
        self.models = ModelClients()
        tasks.book = self._book
        tasks.consult = self._consult
        tasks.file_report = self._file_report

    async def application_for(
        self, route: Route
    ) -> tuple[Callable[[CallSpec], Application], float] | None:
        """The agent the route names, ready to answer (None: it is gone)."""
        profile_id = route.target
        if profile_id is None:
            return None

        def load(session: Session) -> AgentProfile | None:
            try:
                return profiles.profile_for(session, route.account_id, profile_id, self.key)
            except (NotFound, sealed.SealError) as exc:
                log.warning("agent %s for %s unusable: %s", profile_id, route.number, exc)
                return None

        profile: AgentProfile | None = await self.read(load)
        if profile is None:
            return None
        brain: Brain = RulesBrain()
        if profile.dialog == "llm" and profile.model is not None:
            brain = ModelBrain(fallback=brain)
        country = country_of(route.number)
        directory = self.recordings_dir(route.account_id)

        def make(spec: CallSpec) -> Application:
            return Conversation(
                profile,
                brain,
                caller=spec.from_number or "",
                number=route.number,
                record_id=spec.record_id,
                opened=datetime.now(UTC),
                message_path=str(directory / f"{spec.record_id}-agent-message.wav"),
                country=country,
            )

        return make, float(profile.max_call_seconds)

    async def _book(self, task: t.Book) -> object:
        profile = task.profile
        calendar = calendar_for(profile.calendar, profile.timezone)
        return await book_appointment(calendar, profile, task.act, datetime.now(UTC))

    async def _consult(self, task: t.Consult) -> object:
        chat = self.models.for_profile(task.profile)
        if chat is None:
            raise RuntimeError("the agent names no language model")
        return await ask_model(chat, task.act, task.profile)

    def _file_report(self, session: Session, task: t.FileReport) -> None:
        reports.file_report(session, task.report, now=datetime.now(UTC))

    async def aclose(self) -> None:
        await self.tasks.close()
        await self.models.aclose()


def country_of(number: str) -> str | None:
    """The ISO 3166 country of an E.164 number (None when unknown)."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(number)) or None
    except phonenumbers.NumberParseException:
        return None
