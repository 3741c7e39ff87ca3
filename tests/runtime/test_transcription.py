"""Voicemail transcription: stored labelled (TERMS V9), failures cost only the transcript,
and a start-up sweep catches up on messages left while the service was down."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from dialtone.outside.speech_to_text import FakeTranscriber, TranscriptionError
from dialtone.runtime.transcription import SWEEP_WINDOW, VoicemailTranscription
from dialtone.services.accounts import accounts
from dialtone.services.telephony import voicemails
from dialtone.store.db import transaction
from tests.database import migrated_database

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


class DownTranscriber:
    async def transcribe(self, wav: bytes, *, language: str | None = None) -> str:
        raise TranscriptionError("service down")


def _setup(tmp: Path) -> tuple[sessionmaker[Session], str]:
    _, sessions = migrated_database(tmp / "db.sqlite")
    with transaction(sessions) as session:
        account_id = accounts.create_account(session, "A", now=NOW).account.id
    return sessions, account_id


def _message(sessions: sessionmaker[Session], account: str, path: Path, when: datetime) -> str:
    path.write_bytes(b"RIFF" + bytes(4000))
    with transaction(sessions) as session:
        return voicemails.create_voicemail(
            session,
            account_id=account,
            user_id=None,
            number="+33123456789",
            from_number="+14155550100",
            duration=Decimal("2.5"),
            path=str(path),
            now=when,
        ).id


def _transcript(sessions: sessionmaker[Session], account: str, vm: str) -> tuple[object, object]:
    with transaction(sessions) as session:
        row = voicemails.get_voicemail(session, account, vm)
        return row.transcript, row.transcript_label


def test_transcript_is_stored_labelled(tmp_path: Path) -> None:
    sessions, account = _setup(tmp_path)
    vm = _message(sessions, account, tmp_path / "m.wav", NOW)
    fake = FakeTranscriber("Call me back.")

    async def scenario() -> bool:
        job = VoicemailTranscription(fake, sessions=sessions, db=ThreadPoolExecutor(1))
        return await job.transcribe(vm, str(tmp_path / "m.wav"))

    assert asyncio.run(scenario()) is True
    assert _transcript(sessions, account, vm) == ("Call me back.", "machine-generated")
    assert fake.calls == [4004]


def test_failure_keeps_the_message_without_transcript(tmp_path: Path) -> None:
    sessions, account = _setup(tmp_path)
    vm = _message(sessions, account, tmp_path / "m.wav", NOW)
    missing = _message(sessions, account, tmp_path / "gone.wav", NOW)
    (tmp_path / "gone.wav").unlink()

    async def scenario() -> list[bool]:
        pool = ThreadPoolExecutor(1)
        down = VoicemailTranscription(DownTranscriber(), sessions=sessions, db=pool)
        up = VoicemailTranscription(FakeTranscriber(), sessions=sessions, db=pool)
        return [
            await down.transcribe(vm, str(tmp_path / "m.wav")),
            await up.transcribe(missing, str(tmp_path / "gone.wav")),
        ]

    assert asyncio.run(scenario()) == [False, False]
    assert _transcript(sessions, account, vm) == (None, None)
    assert _transcript(sessions, account, missing) == (None, None)


def test_sweep_catches_up_on_recent_messages_only(tmp_path: Path) -> None:
    sessions, account = _setup(tmp_path)
    edge = NOW - SWEEP_WINDOW
    inside = _message(sessions, account, tmp_path / "a.wav", edge)
    outside = _message(sessions, account, tmp_path / "b.wav", edge - timedelta(seconds=1))
    fake = FakeTranscriber("late")

    async def scenario() -> tuple[int, int]:
        job = VoicemailTranscription(fake, sessions=sessions, db=ThreadPoolExecutor(1))
        return await job.sweep(NOW), await job.sweep(NOW)

    assert asyncio.run(scenario()) == (1, 0)  # the second sweep finds nothing left
    assert _transcript(sessions, account, inside)[0] == "late"
    assert _transcript(sessions, account, outside) == (None, None)
