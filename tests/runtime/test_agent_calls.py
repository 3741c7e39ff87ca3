"""The AI receptionist's task handlers (runtime/agent_calls.py): speech made first
sentence first, the caller's message kept as a labelled voicemail entry, the follow-up
text through messaging's rules (a refusal on the audit log), the report filed once."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from dialtone.agents import tasks as t
from dialtone.agents.profile import AgentProfile
from dialtone.agents.report import CallReport, Line
from dialtone.agents.turns import FollowUpSent, MessageTaken
from dialtone.call.spec import CallSpec
from dialtone.runtime.agent_calls import MESSAGE_LABEL, AgentTasks, country_of
from dialtone.runtime.app_tasks import AppTasks
from dialtone.services.accounts import accounts
from dialtone.services.messaging import consents
from dialtone.services.messaging.rules import MessagingRules
from dialtone.services.numbering import numbers
from dialtone.services.telephony import voicemails
from dialtone.speech.prompt_cache import PromptCache
from dialtone.speech.recognizer import FakeRecognizer, Recognition
from dialtone.speech.synthesizer import FakeSynthesizer
from dialtone.speech.transcriber import OfflineTranscriber
from dialtone.speech.wav import pcm8k_to_wav
from dialtone.store.db import transaction
from dialtone.store.messaging_models import Message
from dialtone.store.models import AuditEvent
from tests.database import migrated_database

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # 11:00 in Paris: daytime (M5)
NUMBER = "+33123456789"
CALLER = "+33612345678"


class Setup:
    def __init__(self, tmp: Path) -> None:
        _, self.sessions = migrated_database(tmp / "db.sqlite")
        with transaction(self.sessions) as session:
            self.account = accounts.create_account(session, "Acme", now=NOW).account.id
            numbers.add_number(session, self.account, NUMBER, now=NOW)
        self.profile = AgentProfile(id="AG1", account_id=self.account, name="Robin")
        self.synthesizer = FakeSynthesizer()
        self.recognizer = FakeRecognizer([Recognition("Call me back about the invoice.", 0.9)])
        self.db = ThreadPoolExecutor(1)
        self.handlers = AgentTasks(
            sessions=self.sessions,
            db=self.db,
            prompts=PromptCache(tmp / "prompts", self.synthesizer),
            transcriber=OfflineTranscriber(self.recognizer),
            messaging_rules=MessagingRules,
            recording_key=None,
            clock=lambda: NOW,
        )
        self.tasks = AppTasks()
        self.handlers.register(self.tasks)
        self.spec = CallSpec(
            record_id="CA1",
            account_id=self.account,
            direction="inbound",
            from_number=CALLER,
            to_number=NUMBER,
            started_at=NOW,
        )

    def run(self, task: object) -> tuple[object, str | None]:
        return asyncio.run(self.tasks.run(self.spec, task))


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path)


def test_the_first_sentence_is_ready_the_others_are_made_while_it_plays(setup: Setup) -> None:
    async def say() -> tuple[t.Said, list[bool]]:
        task = t.Say(("One moment.", "Let me look.", "Nearly there."), "heart", "en-US")
        said, error = await setup.tasks.run(setup.spec, task)
        assert error is None
        assert isinstance(said, t.Said)
        first, *rest = said.paths
        assert Path(first).is_file()
        pending = [setup.handlers.pending(p) is not None for p in rest]
        for path in rest:
            waiting = setup.handlers.pending(path)
            if waiting is not None:
                await waiting
        return said, pending

    said, pending = asyncio.run(say())
    assert all(Path(p).is_file() for p in said.paths)
    assert said.ready_at is not None
    assert pending == [True, True]  # not on disk when the answer came
    assert [setup.handlers.pending(p) for p in said.paths] == [None, None, None]


def test_a_message_is_a_voicemail_entry_with_a_labelled_transcript(
    setup: Setup, tmp_path: Path
) -> None:
    recording = tmp_path / "CA1-agent-message.wav"
    recording.write_bytes(pcm8k_to_wav(b"\x10\x00" * 16000))
    task = t.SaveMessage(setup.profile, str(recording), 2.0, CALLER, NUMBER, "CA1")
    taken, error = setup.run(task)
    assert error is None
    assert taken == MessageTaken("Call me back about the invoice.")
    with transaction(setup.sessions) as session:
        (entry,) = voicemails.list_voicemails(session, setup.account)
        assert (entry.number, entry.from_number, entry.call_record_id) == (NUMBER, CALLER, "CA1")
        assert entry.transcript == "Call me back about the invoice."
        assert entry.transcript_label == MESSAGE_LABEL == "ai-generated"  # A4, V9


@pytest.mark.parametrize(("path", "seconds"), [(None, 0.0), ("/nowhere.wav", 0.0)])
def test_nothing_recorded_is_no_message(setup: Setup, path: str | None, seconds: float) -> None:
    taken, _ = setup.run(t.SaveMessage(setup.profile, path, seconds, CALLER, NUMBER, "CA1"))
    assert taken == MessageTaken(None)
    with transaction(setup.sessions) as session:
        assert voicemails.list_voicemails(session, setup.account) == []


def test_the_follow_up_text_meets_the_consent_rule(setup: Setup) -> None:
    """M3: without the caller's consent the text is refused, on the audit log as the
    agent's; with it, the message is stored to be sent."""
    task = t.TextCaller(setup.profile, CALLER, NUMBER, "See you tomorrow at 10.")
    refused, _ = setup.run(task)
    assert refused == FollowUpSent(refused="M3")
    with transaction(setup.sessions) as session:
        (event,) = session.scalars(select(AuditEvent)).all()
        assert (event.actor, event.action, event.rule) == ("agent:AG1", "sms.send", "M3")
        consents.record_consent(
            session,
            setup.account,
            consents.ConsentIn(
                recipient=CALLER,
                source="phone call",
                wording="I agree to receive text messages from Acme.",
                given_at=NOW - timedelta(days=1),
            ),
            now=NOW,
        )
    sent, _ = setup.run(task)
    assert sent == FollowUpSent(None)
    with transaction(setup.sessions) as session:
        (message,) = session.scalars(select(Message)).all()
        assert (message.recipient, message.body, message.origin) == (
            CALLER,
            "See you tomorrow at 10.",
            "agent",
        )


def test_the_report_is_filed_through_the_store(setup: Setup) -> None:
    filed: list[str] = []
    setup.handlers.file_report = lambda session, task: filed.append(task.report.record_id)
    report = CallReport(
        "AG1", setup.account, "CA1", CALLER, NUMBER, "answered", "[AI-generated] x",
        (Line("agent", "Hello", 0.0),), (),
    )  # fmt: skip
    assert setup.run(t.FileReport(report)) == (None, None)
    assert filed == ["CA1"]


def test_without_a_calendar_or_model_the_task_fails_with_a_reason(setup: Setup) -> None:
    setup.handlers.book = None
    _, error = setup.run(t.Consult(setup.profile, act=None))  # type: ignore[arg-type]
    assert error is not None
    assert "no language model" in error


@pytest.mark.parametrize(
    ("number", "country"),
    [("+33123456789", "FR"), ("+14155550100", "US"), ("+442071838750", "GB"), ("carol", None)],
)
def test_the_country_of_the_agents_number(number: str, country: str | None) -> None:
    assert country_of(number) == country
