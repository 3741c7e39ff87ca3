"""TERMS D5: recordings are sealed as they are written, and what a crash leaves (files cut
short, plain or empty WAVs, calls without a CDR) is put right at the next start."""

from __future__ import annotations

import io
import json
import os
import struct
import wave
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dialtone.runtime.sealing import (
    RECORDING_CHUNK,
    AudioFile,
    CallFacts,
    claim,
    facts_path,
    forget_facts,
    owner_path,
    recording_file,
    recover,
)
from dialtone.services.accounts import accounts
from dialtone.services.telephony import calls as call_service
from dialtone.store import sealed
from dialtone.store.db import transaction
from dialtone.store.models import CallRecord, Voicemail
from tests.database import migrated_database

KEY = bytes(range(32))
NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
# Recognisable "audio": a plain byte of it on disk would show.
PCM = b"\x11\x22PCM!" * 3000


def _setup(tmp: Path) -> tuple[sessionmaker[Session], str]:
    _, sessions = migrated_database(tmp / "db.sqlite")
    with transaction(sessions) as session:
        account_id = accounts.create_account(session, "A", now=NOW).account.id
    return sessions, account_id


def _facts(account: str, record_id: str, **extra: object) -> CallFacts:
    return CallFacts(
        account_id=account,
        direction="inbound",
        from_number="+14155550100",
        to_number="+33123456789",
        started_at=NOW,
        answered_at=NOW + timedelta(seconds=1),
        sip_call_id=f"sip-{record_id}",
        sip_local_tag="tag",
        record_id=record_id,
        legs=({"kind": "public", "id": None, "source": "udp:127.0.0.1:5062", "user_agent": None},),
        **extra,  # type: ignore[arg-type]
    )


def _no_plain_audio(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            assert not raw.startswith(b"RIFF"), path
            assert b"PCM!" not in raw, path


def test_a_recording_is_sealed_as_it_is_written_and_reads_as_a_wav(tmp_path: Path) -> None:
    path = recording_file(tmp_path / "AC1", "CA1", KEY)
    assert path.name == "CA1.wav.sealed"
    audio = AudioFile(path, channels=2, key=KEY, facts=_facts("AC1", "CA1"))
    for start in range(0, len(PCM), 640):
        audio.write(PCM[start : start + 640])
        _no_plain_audio(tmp_path)  # at every moment of the call, not only at its end
    assert facts_path(path).name == "CA1.call.sealed"
    audio.close()
    _no_plain_audio(tmp_path)
    with wave.open(io.BytesIO(b"".join(sealed.recording_chunks(path, KEY)))) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (2, 8000, 2)
        assert wav.readframes(wav.getnframes()) == PCM


def test_sealing_off_writes_a_plain_wav_with_its_sizes(tmp_path: Path) -> None:
    path = recording_file(tmp_path, "CA1", None)
    assert path.name == "CA1.wav"
    audio = AudioFile(path, channels=1, key=None)
    audio.write(PCM)
    audio.close()
    with wave.open(str(path)) as wav:
        assert wav.readframes(wav.getnframes()) == PCM


def test_a_discarded_recording_leaves_nothing(tmp_path: Path) -> None:
    path = recording_file(tmp_path, "CA1", KEY)
    audio = AudioFile(path, channels=2, key=KEY, facts=_facts("AC1", "CA1"))
    audio.write(PCM)
    audio.discard()
    assert list(tmp_path.iterdir()) == []


def _crashed(folder: Path, record_id: str, data: bytes, facts: CallFacts | None) -> Path:
    """A recording whose process died mid-call: never closed (nothing more written)."""
    path = recording_file(folder, record_id, KEY)
    audio = AudioFile(path, channels=1, key=KEY, facts=facts)
    audio.write(data)
    assert audio._sealed is not None
    out = audio._sealed._out
    assert out is not None
    out.close()  # as the kernel does when the process dies: what was written stays
    return path


def _plain_wav(path: Path, frames: bytes) -> Path:
    header = b"RIFF" + struct.pack("<I", 0) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16) + b"data" + bytes(4)
    path.write_bytes(header + frames)
    return path


def test_recovery_after_a_crash(tmp_path: Path) -> None:
    sessions, account = _setup(tmp_path)
    recordings, voicemail = tmp_path / "recordings", tmp_path / "voicemail"
    folder, box = recordings / account, voicemail / account
    # A call cut mid-recording: 3 whole chunks on disk, half a chunk lost in memory.
    cut = _crashed(folder, "CAcut", PCM * 3, _facts(account, "CAcut"))
    kept = (RECORDING_CHUNK * ((len(PCM) * 3 + 44) // RECORDING_CHUNK)) - 44
    # A call killed before its first chunk was full: nothing of it is audio on disk.
    empty = _crashed(folder, "CAempty", PCM[:1000], _facts(account, "CAempty"))
    # A voicemail message cut short: it becomes a message, its CDR has no recording.
    message = _crashed(box, "CAvm", PCM * 2, _facts(account, "CAvm", voicemail=(None, "+3312")))
    # What the old recorder left: an empty 44-byte WAV, a plain one with its CDR, a seal
    # interrupted before its rename.
    header_only = _plain_wav(folder / "CAheader.wav", b"")
    legacy = _plain_wav(folder / "CAlegacy.wav", PCM)
    with transaction(sessions) as session:
        call_service.record_call(
            session,
            call_service.CallOutcome(
                account_id=account,
                direction="inbound",
                from_number="+1",
                to_number="+2",
                started_at=NOW,
                answered_at=NOW,
                ended_at=NOW + timedelta(seconds=3),
                status="completed",
                hangup_cause="caller-bye",
                sip_call_id="legacy",
                sip_local_tag="t",
                recording_path=str(legacy),
                record_id="CAlegacy",
            ),
        )
        call_service.record_call(
            session,
            call_service.CallOutcome(
                account_id=account,
                direction="inbound",
                from_number="+1",
                to_number="+2",
                started_at=NOW,
                answered_at=NOW,
                ended_at=NOW,
                status="completed",
                hangup_cause="caller-bye",
                sip_call_id="header",
                sip_local_tag="t",
                recording_path=str(header_only),
                record_id="CAheader",
            ),
        )
    leftover = folder / "CAlegacy.wav.sealed.tmp"
    leftover.write_bytes(b"DTSEAL1\npartial")
    last_audio = (NOW + timedelta(seconds=20)).timestamp()  # when the cut call's audio stopped
    os.utime(cut, (last_audio, last_audio))

    done = recover((recordings, voicemail), KEY, sessions)

    assert sorted(done.cdrs) == ["CAcut", "CAempty", "CAvm"]
    assert sorted(Path(p).name for p in done.repaired) == ["CAcut.wav.sealed", "CAvm.wav.sealed"]
    assert done.sealed == [str(folder / "CAlegacy.wav.sealed")]
    assert {Path(p).name for p in done.removed} >= {
        "CAempty.wav.sealed",
        "CAheader.wav",
        "CAlegacy.wav.sealed.tmp",
    }
    assert done.unreadable == []
    _no_plain_audio(tmp_path / "recordings")
    _no_plain_audio(tmp_path / "voicemail")
    assert not empty.exists()
    assert not header_only.exists()
    assert not legacy.exists()
    assert sorted(p.name for p in folder.iterdir()) == ["CAcut.wav.sealed", "CAlegacy.wav.sealed"]
    assert sorted(p.name for p in box.iterdir()) == ["CAvm.wav.sealed"]
    # The complete chunks of the cut call are kept, readable as a whole WAV.
    with wave.open(io.BytesIO(b"".join(sealed.recording_chunks(cut, KEY)))) as wav:
        frames = wav.readframes(wav.getnframes())
    assert frames == (PCM * 3)[:kept]
    with transaction(sessions) as session:
        rows = {r.id: r for r in session.scalars(select(CallRecord))}
        messages = list(session.scalars(select(Voicemail)))
        cdr = rows["CAcut"]
        assert (cdr.status, cdr.hangup_cause) == ("interrupted", "interrupted")
        assert (cdr.from_number, cdr.to_number, cdr.sip_call_id) == (
            "+14155550100",
            "+33123456789",
            "sip-CAcut",
        )
        assert cdr.recording_path == str(cut)
        # It ended when its last audio reached the disk, not when it was recovered.
        assert cdr.ended_at == NOW + timedelta(seconds=20)
        # Billed like a call the network cut: up to its last audio on disk.
        assert cdr.duration > 0
        assert cdr.billed_seconds > 0
        assert rows["CAempty"].recording_path is None
        assert rows["CAvm"].recording_path is None
        assert rows["CAlegacy"].recording_path == str(folder / "CAlegacy.wav.sealed")
        assert rows["CAlegacy"].status == "completed"
        assert rows["CAheader"].recording_path is None  # its file held no audio
        [vm] = messages
        assert (vm.path, vm.call_record_id, vm.number) == (str(message), "CAvm", "+3312")
        assert vm.duration > 0
    # Idempotent: a second start finds nothing to do.
    assert not recover((recordings, voicemail), KEY, sessions)


def test_a_finished_call_s_note_goes_and_nothing_else_changes(tmp_path: Path) -> None:
    # Killed after the CDR was committed but before the note was removed.
    sessions, account = _setup(tmp_path)
    path = recording_file(tmp_path / "rec" / account, "CAdone", KEY)
    audio = AudioFile(path, channels=2, key=KEY, facts=_facts(account, "CAdone"))
    audio.write(PCM)
    audio.close()
    with transaction(sessions) as session:
        call_service.record_call(
            session,
            call_service.CallOutcome(
                account_id=account,
                direction="inbound",
                from_number="+1",
                to_number="+2",
                started_at=NOW,
                answered_at=NOW,
                ended_at=NOW,
                status="completed",
                hangup_cause="caller-bye",
                sip_call_id="sip-CAdone",
                sip_local_tag="tag",
                recording_path=str(path),
                record_id="CAdone",
            ),
        )
    before = path.read_bytes()
    done = recover((tmp_path / "rec",), KEY, sessions)
    assert done.cdrs == []
    assert done.repaired == []
    assert path.read_bytes() == before
    assert not facts_path(path).exists()


def test_an_altered_recording_is_left_as_evidence(tmp_path: Path) -> None:
    sessions, account = _setup(tmp_path)
    path = _crashed(tmp_path / "rec" / account, "CAbad", PCM * 3, _facts(account, "CAbad"))
    raw = bytearray(path.read_bytes())
    raw[100] ^= 1
    path.write_bytes(bytes(raw))
    done = recover((tmp_path / "rec",), KEY, sessions)
    assert done.unreadable == [str(path)]
    assert path.read_bytes() == bytes(raw)


def test_with_sealing_off_a_cut_call_gets_its_record_and_keeps_its_plain_wav(
    tmp_path: Path,
) -> None:
    # The operator turned sealing off (seal_recordings = false): nothing to seal, but a
    # call the crash cut still gets its record, and its WAV reads with derived sizes.
    sessions, account = _setup(tmp_path)
    path = recording_file(tmp_path / "rec" / account, "CAoff", None)
    audio = AudioFile(path, channels=1, key=None, facts=_facts(account, "CAoff"))
    audio.write(PCM)
    assert audio._plain is not None
    audio._plain.flush()  # what a killed process had handed to the kernel
    assert facts_path(path).name == "CAoff.call.json"
    done = recover((tmp_path / "rec",), None, sessions)
    assert done.cdrs == ["CAoff"]
    assert not facts_path(path).exists()
    with wave.open(io.BytesIO(b"".join(sealed.recording_chunks(path, None)))) as wav:
        assert wav.readframes(wav.getnframes()) == PCM
    assert not recover((tmp_path / "rec",), None, sessions)


def test_an_interrupted_call_between_colleagues_names_both_users(tmp_path: Path) -> None:
    """TERMS D1: the record a crash leaves of alice's call to bob's voicemail names bob
    (the box) and alice (who placed it), as the finished call's would; a note written
    before the placing user was kept still gives its call a record."""
    sessions, account = _setup(tmp_path)
    box = tmp_path / "voicemail" / account
    _crashed(
        box,
        "CAvm",
        PCM * 2,
        replace(
            _facts(account, "CAvm", user_id="USbob", caller_user_id="USalice"),
            direction="internal",
            voicemail=(None, "202"),  # the number's box: no user row needed here
        ),
    )
    old = _crashed(box, "CAold", PCM * 2, None)
    older = (
        _facts(account, "CAold", user_id="USbob")
        .to_json()
        .replace(b', "caller_user_id": null', b"")
    )
    assert b"caller_user_id" not in older
    sealed.write(older, facts_path(old), KEY)

    done = recover((tmp_path / "voicemail",), KEY, sessions)

    assert sorted(done.cdrs) == ["CAold", "CAvm"]
    with transaction(sessions) as session:
        rows = {r.id: r for r in session.scalars(select(CallRecord))}
    assert (rows["CAvm"].direction, rows["CAvm"].user_id, rows["CAvm"].caller_user_id) == (
        "internal",
        "USbob",
        "USalice",
    )
    assert (rows["CAold"].user_id, rows["CAold"].caller_user_id) == ("USbob", None)


def test_a_note_rewritten_mid_call_gives_the_interrupted_record_the_later_facts(
    tmp_path: Path,
) -> None:
    """D5: a transfer (a leg more) or a ring group's member answering (the call's user)
    after the recording started rewrites its note; a crash then leaves a record with
    those facts, not the ones the recording started with."""
    sessions, account = _setup(tmp_path)
    folder = tmp_path / "recordings" / account
    path = recording_file(folder, "CAxfer", KEY)
    audio = AudioFile(path, channels=2, key=KEY, facts=_facts(account, "CAxfer"))
    first = _facts(account, "CAxfer")
    bob = {"kind": "device", "id": "USbob", "source": "udp:127.0.0.1:5070", "user_agent": None}
    audio.note(replace(first, legs=(*first.legs, bob), user_id="USbob"))
    audio.write(PCM * 3)
    assert audio._sealed is not None
    assert audio._sealed._out is not None
    audio._sealed._out.close()  # the process dies mid-call
    assert not list(folder.glob("*.tmp"))  # the note was replaced whole

    done = recover((tmp_path / "recordings",), KEY, sessions)

    assert done.cdrs == ["CAxfer"]
    with transaction(sessions) as session:
        record = session.get(CallRecord, "CAxfer")
        assert record is not None
        assert record.user_id == "USbob"
        assert [leg["id"] for leg in json.loads(record.legs)] == [None, "USbob"]


def test_a_start_recovers_its_own_and_dead_workers_calls_never_a_live_worker_s(
    tmp_path: Path,
) -> None:
    """Issue 19: two workers share the recordings dir. w1 restarts while w2 is alive and
    w3 is dead: w1's and w3's cut calls get their CDR, and so does an unmarked one (an
    older version's); w2's call in progress (and its temporary file) is left alone."""
    sessions, account = _setup(tmp_path)
    folder = tmp_path / "recordings" / account
    paths = {}
    for record_id, owner in [("CAw1", "w1"), ("CAw2", "w2"), ("CAw3", "w3"), ("CAold", None)]:
        path = recording_file(folder, record_id, KEY)
        claim(path, owner)
        paths[record_id] = _crashed(folder, record_id, PCM * 3, _facts(account, record_id))
    assert owner_path(paths["CAw2"]).read_text() == "w2"
    assert not owner_path(paths["CAold"]).exists()
    live_tmp = folder / "CAw2.call.json.tmp"
    live_tmp.write_bytes(b"{}")
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.name.startswith("CAw2")}

    done = recover(
        (tmp_path / "recordings",), KEY, sessions, owners=lambda o: o is None or o != "w2"
    )

    assert sorted(done.cdrs) == ["CAold", "CAw1", "CAw3"]
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.name.startswith("CAw2")} == (
        before
    )
    assert not owner_path(paths["CAw1"]).exists()
    assert not facts_path(paths["CAw3"]).exists()
    # w2 dies in turn: a later adoption (or its own restart) gives its call its CDR.
    done = recover((tmp_path / "recordings",), KEY, sessions, owners=lambda o: o == "w2")
    assert done.cdrs == ["CAw2"]
    assert not live_tmp.exists()
    assert sorted(p.name for p in folder.iterdir()) == [
        "CAold.wav.sealed",
        "CAw1.wav.sealed",
        "CAw2.wav.sealed",
        "CAw3.wav.sealed",
    ]
    with transaction(sessions) as session:
        statuses = {r.id: r.status for r in session.scalars(select(CallRecord))}
    assert statuses == dict.fromkeys(["CAold", "CAw1", "CAw2", "CAw3"], "interrupted")


def test_a_finished_call_leaves_no_owner_mark(tmp_path: Path) -> None:
    path = recording_file(tmp_path, "CA1", KEY)
    claim(path, "w1")
    claim(recording_file(tmp_path, "CA2", KEY), None)  # no worker named: no mark
    audio = AudioFile(path, channels=1, key=KEY, facts=_facts("AC1", "CA1"))
    audio.write(PCM)
    audio.close()
    forget_facts(path)  # the CDR was committed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["CA1.wav.sealed"]
