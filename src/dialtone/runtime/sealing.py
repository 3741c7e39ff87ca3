"""Recordings sealed as they are written, and what a crash leaves recovered at start
(TERMS D5: recordings encrypted at rest; no plain audio survives a restart).

A recorder writes through an :class:`AudioFile`: a 16-bit PCM WAV at 8 kHz whose bytes
go through :class:`dialtone.store.sealed.SealedWriter` (sealing on, the default), so the
disk only ever holds whole sealed chunks. Beside it, a small sealed note (``<id>.call``)
holds the call's facts (numbers, times, Call-ID) while the call lasts; it is removed once
the call's CDR is committed. A process killed mid-call leaves the recording cut short of
its last chunk and the note: :func:`recover` (run at start, before calls are taken)
seals again the complete chunks as a whole file, writes the CDR the call never got with
status ``interrupted`` (and the voicemail message, for a voicemail) from the note, seals
plain WAVs an older version or a failed seal left, and removes empty ones.

Several workers may share the recordings dirs (issue 19): each recording under way has
an owner mark beside it (``<id>.owner``: the worker id, written before the audio, gone
with the note), and :func:`recover` is told whose leftovers it may touch — at start, a
worker's own and those of workers that are not alive (no unexpired heartbeat), never a
live worker's calls in progress. Files without a mark (finished recordings, or left by a
version before workers) are recovered by any start, as before.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import struct
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dialtone.services.telephony import calls as call_service
from dialtone.services.telephony import voicemails as voicemail_service
from dialtone.store import sealed
from dialtone.store.db import transaction
from dialtone.store.models import Account, CallRecord, Voicemail

log = logging.getLogger("dialtone.recordings")

SAMPLE_RATE = 8000
# A recording's chunks are 16 KiB: at most half a second of stereo (a bridged call) or
# one second of mono (the answering machine) is held in memory, and lost to a crash.
RECORDING_CHUNK = 16 * 1024
WAV_HEADER_BYTES = sealed.WAV_HEADER_BYTES
# The header's RIFF and data sizes while a file is written: unknown (the WAV streaming
# convention); a reader derives them from the file's length (sealed.recording_chunks).
_UNKNOWN_SIZE = 0xFFFFFFFF
FACTS = ".call"
OWNER = ".owner"
_NAME = re.compile(
    r"^(?P<id>[A-Za-z0-9_-]+)\.(?P<kind>wav|wav\.sealed|call\.sealed|call\.json|owner)$"
)


def recording_file(directory: Path, record_id: str, key: bytes | None) -> Path:
    """Where a call's recording is written: ``<id>.wav.sealed`` when sealing is on,
    ``<id>.wav`` when the operator turned it off."""
    name = f"{record_id}.wav"
    return directory / (name + sealed.SUFFIX if key is not None else name)


def wav_header(channels: int) -> bytes:
    """A canonical 44-byte header of 16-bit PCM at 8 kHz, its sizes left unknown."""
    block = 2 * channels
    return (
        b"RIFF"
        + struct.pack("<I", _UNKNOWN_SIZE)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, channels, SAMPLE_RATE, SAMPLE_RATE * block, block, 16)
        + b"data"
        + struct.pack("<I", _UNKNOWN_SIZE)
    )


@dataclass(slots=True)
class CallFacts:
    """What a recorded call's CDR needs, kept beside the recording while the call lasts
    so a crash does not leave a recording nobody can place."""

    account_id: str
    direction: str
    from_number: str
    to_number: str
    started_at: datetime
    answered_at: datetime | None
    sip_call_id: str
    sip_local_tag: str
    record_id: str
    legs: tuple[dict[str, str | None], ...] = ()
    user_id: str | None = None
    trunk_id: str | None = None
    # A voicemail box's message: (box owner or None for the number's box, the number).
    voicemail: tuple[str | None, str] | None = None
    # The user whose device placed the call (absent from notes written before it was).
    caller_user_id: str | None = None

    def to_json(self) -> bytes:
        """The note's content."""
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["answered_at"] = self.answered_at.isoformat() if self.answered_at else None
        return json.dumps(data).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> CallFacts:
        """The facts of a note written by :meth:`to_json`."""
        data: dict[str, Any] = json.loads(raw)
        data["started_at"] = datetime.fromisoformat(data["started_at"])
        if data.get("answered_at"):
            data["answered_at"] = datetime.fromisoformat(data["answered_at"])
        data["legs"] = tuple(data.get("legs") or ())
        if data.get("voicemail") is not None:
            user, number = data["voicemail"]
            data["voicemail"] = (user, number)
        return cls(**data)


def facts_path(recording: Path) -> Path:
    """The note beside ``recording`` (sealed when the recording is)."""
    record_id = recording.name.split(".", 1)[0]
    suffix = sealed.SUFFIX if recording.name.endswith(sealed.SUFFIX) else ".json"
    return recording.with_name(record_id + FACTS + suffix)


def write_facts(recording: Path, facts: CallFacts, key: bytes | None) -> None:
    """Keep ``facts`` beside ``recording`` (sealed with ``key``: they name the parties).
    Not flushed to the disk: it is there for a process crash, and it goes at the end of
    the call (an fsync per recorded call on the event loop would cost more)."""
    target = facts_path(recording)
    if key is not None:
        sealed.write(facts.to_json(), target, key, durable=False)
    else:
        # Through a temporary file, as a sealed note is: a note rewritten while the call
        # goes on is never left half written (the next start removes a ``.tmp``).
        temporary = target.with_name(target.name + ".tmp")
        temporary.write_bytes(facts.to_json())
        temporary.replace(target)


def owner_path(recording: Path) -> Path:
    """The owner mark beside ``recording``: which worker is writing it (issue 19)."""
    return recording.with_name(recording.name.split(".", 1)[0] + OWNER)


def claim(recording: Path, worker_id: str | None) -> None:
    """Mark ``recording`` as being written by ``worker_id`` before its first byte, so
    another worker's start leaves it alone while this worker is alive. Not flushed: it
    matters only while this process runs, and its crash leaves it for its own restart
    (or an adoption). No mark without a worker id (one process, as before)."""
    if worker_id:
        recording.parent.mkdir(parents=True, exist_ok=True)
        owner_path(recording).write_text(worker_id, encoding="ascii")


def forget_facts(recording: str | Path | None) -> None:
    """The call's CDR is committed: its note (and its owner mark) are no longer needed."""
    if recording is not None:
        facts_path(Path(recording)).unlink(missing_ok=True)
        owner_path(Path(recording)).unlink(missing_ok=True)


class AudioFile:
    """A recording being written (TERMS D5): a WAV of 16-bit PCM at 8 kHz, sealed as it
    is written when ``key`` is given. Its header's sizes are left unknown and derived
    when it is read, so nothing written is ever rewritten; a plain file (sealing off)
    has them patched at :meth:`close` as well."""

    def __init__(
        self, path: Path, *, channels: int, key: bytes | None, facts: CallFacts | None = None
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._key = key
        if facts is not None:
            write_facts(path, facts, key)
        self._sealed: sealed.SealedWriter | None = None
        self._plain: BinaryIO | None = None
        if key is not None:
            self._sealed = sealed.SealedWriter(path, key, chunk_size=RECORDING_CHUNK)
        else:
            self._plain = path.open("wb")
        self.size = 0
        self.write(wav_header(channels))

    def note(self, facts: CallFacts) -> None:
        """Rewrite the call's note: what its CDR would say has changed since the
        recording started (a transfer's leg, the trunk, the user who answered)."""
        write_facts(self.path, facts, self._key)

    def write(self, data: bytes) -> None:
        """Append ``data`` (PCM frames)."""
        self.size += len(data)
        if self._sealed is not None:
            self._sealed.write(data)
        elif self._plain is not None:
            self._plain.write(data)

    def close(self) -> None:
        """Finish the file (the last sealed chunk; a plain header's sizes). Not flushed
        to the disk here: :func:`sync_recording` does it off the event loop before the
        CDR that points at it is committed."""
        if self._sealed is not None:
            self._sealed.close(durable=False)
        elif self._plain is not None:
            plain, self._plain = self._plain, None
            with plain:
                plain.seek(4)
                plain.write(struct.pack("<I", min(self.size - 8, _UNKNOWN_SIZE)))
                plain.seek(40)
                plain.write(struct.pack("<I", min(self.size - WAV_HEADER_BYTES, _UNKNOWN_SIZE)))

    def discard(self) -> None:
        """Close and delete the file and its note (TERMS V8: a party objected; or the
        call was never answered)."""
        if self._sealed is not None:
            self._sealed.discard()
        elif self._plain is not None:
            plain, self._plain = self._plain, None
            plain.close()
        self.path.unlink(missing_ok=True)
        forget_facts(self.path)


def discard_recording(path: Path | None) -> None:
    """Delete a closed recording and its note (a call that was never answered)."""
    if path is not None:
        path.unlink(missing_ok=True)
        forget_facts(path)


def _sync(path: Path) -> None:
    if path.is_file():
        sealed.sync(path)


async def sync_recording(path: str | None) -> str | None:
    """Flush a finished recording to the disk, off the event loop, before the record
    that points at it is committed; returns ``path``. A failure is logged: the CDR is
    money and is written anyway (a file cut short is recovered at the next start)."""
    if path is not None:
        try:
            await asyncio.get_running_loop().run_in_executor(None, _sync, Path(path))
        except OSError:
            log.exception("recording %s not flushed to the disk", path)
    return path


# -- recovery at start ---------------------------------------------------------------


@dataclass(slots=True)
class Recovered:
    """What :func:`recover` did, for the start-up log."""

    repaired: list[str] = field(default_factory=list)  # cut short: complete chunks kept
    sealed: list[str] = field(default_factory=list)  # plain WAVs sealed
    removed: list[str] = field(default_factory=list)  # empty recordings and leftovers
    cdrs: list[str] = field(default_factory=list)  # interrupted calls given their CDR
    unreadable: list[str] = field(default_factory=list)  # altered, or the wrong key

    def __bool__(self) -> bool:
        return any((self.repaired, self.sealed, self.removed, self.cdrs, self.unreadable))


Owners = Callable[[str | None], bool]


def everyone(owner: str | None) -> bool:
    """Recover every leftover (one worker: the only one there is)."""
    del owner
    return True


def recover(
    directories: tuple[Path, ...],
    key: bytes | None,
    sessions: sessionmaker[Session],
    *,
    owners: Owners = everyone,
) -> Recovered:
    """Put right what a crash left under the recordings and voicemail ``directories``
    (one folder per account), before any call is taken: seal plain audio, make files cut
    short whole with their complete chunks, remove empty ones and leftover temporary
    files, and give each recorded call that has no CDR one marked ``interrupted``
    (TERMS D5; V15: a call is on record). Idempotent: a second run finds nothing.

    Only the recordings whose owner mark ``owners`` accepts are touched (None: no mark):
    with several workers sharing the dirs, a worker's own and dead workers' (issue 19)."""
    done = Recovered()
    for base in directories:
        if not base.is_dir():
            continue
        for folder in sorted(p for p in base.iterdir() if p.is_dir()):
            _recover_folder(folder, key, sessions, done, owners)
    return done


def _owner(mark: Path | None) -> str | None:
    if mark is None:
        return None
    try:
        return mark.read_text(encoding="ascii").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def _recover_folder(
    folder: Path,
    key: bytes | None,
    sessions: sessionmaker[Session],
    done: Recovered,
    owners: Owners,
) -> None:
    calls: dict[str, dict[str, Path]] = {}
    temporary: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        if path.name.endswith(".tmp") and path.is_file():
            temporary.setdefault(path.name.split(".", 1)[0], []).append(path)
            continue
        match = _NAME.match(path.name)
        if match is not None and path.is_file():
            calls.setdefault(match["id"], {})[match["kind"]] = path
    for record_id in [r for r in calls if not owners(_owner(calls[r].get("owner")))]:
        # Another worker's call in progress: neither its files nor its temporaries.
        del calls[record_id]
        temporary.pop(record_id, None)
    for paths in temporary.values():
        for path in paths:
            # A seal or a repair the crash interrupted; its source is still there.
            path.unlink(missing_ok=True)
            done.removed.append(str(path))
    with transaction(sessions) as session:
        known = set(
            session.scalars(select(CallRecord.id).where(CallRecord.account_id == folder.name))
        )
    for record_id, files in calls.items():
        finished = {"wav.sealed"} if key is not None else {"wav"}
        if record_id in known and set(files) == finished:
            # The usual case, kept cheap at start: a recording whose CDR was committed
            # (after the file was flushed) and whose note is gone.
            continue
        try:
            _recover_call(folder, record_id, files, key=key, sessions=sessions, done=done)
        except Exception:
            # One bad file must not stop the start or the others: logged, left as it is.
            log.exception("recording %s of %s not recovered", record_id, folder)
            done.unreadable.append(str(folder / record_id))


def _recover_call(
    folder: Path,
    record_id: str,
    files: dict[str, Path],
    *,
    key: bytes | None,
    sessions: sessionmaker[Session],
    done: Recovered,
) -> None:
    plain, sealed_file = files.get("wav"), files.get("wav.sealed")
    note = files.get("call.sealed") or files.get("call.json")
    audio: Path | None = None
    renamed_from: Path | None = None  # a plain file now sealed under another name
    emptied: Path | None = None  # a file removed for holding no audio
    # When the call's last audio (or its note) reached the disk, before a repair or a
    # seal here rewrites the file: the interrupted call ended then, as far as is known.
    first = sealed_file or plain or note
    ended = datetime.fromtimestamp(first.stat().st_mtime, UTC) if first is not None else None
    if plain is not None and sealed_file is not None:
        # Killed between a seal's rename and the plain file's removal: the sealed copy
        # is whole (it was flushed before the rename).
        plain.unlink()
        done.removed.append(str(plain))
        renamed_from, plain = plain, None
    if sealed_file is not None:
        if key is None:
            log.warning("recording %s is sealed and sealing is off: left as it is", sealed_file)
            audio = sealed_file
        else:
            try:
                complete = sealed.is_complete(sealed_file, key)
                size = (
                    sealed.plain_size(sealed_file)
                    if complete
                    else sealed.repair(sealed_file, key, chunk_size=RECORDING_CHUNK)
                )
            except sealed.SealError as exc:
                log.error("recording %s cannot be opened (%s): left as it is", sealed_file, exc)
                done.unreadable.append(str(sealed_file))
                return
            if size <= WAV_HEADER_BYTES:
                sealed_file.unlink()  # a header and no audio
                done.removed.append(str(sealed_file))
                emptied = sealed_file
            else:
                audio = sealed_file
                if not complete:
                    done.repaired.append(str(sealed_file))
    elif plain is not None:
        if plain.stat().st_size <= WAV_HEADER_BYTES:
            plain.unlink()  # a header and no audio
            done.removed.append(str(plain))
            emptied = plain
        elif key is not None:
            audio = sealed.seal(plain, key)
            done.sealed.append(str(audio))
            renamed_from = plain
        else:
            audio = plain
    facts = _read_facts(note, key) if note is not None else None
    with transaction(sessions) as session:
        if renamed_from is not None and audio is not None:
            _repoint(session, renamed_from, audio)
        if emptied is not None:
            _repoint(session, emptied, None)
        missing = session.get(CallRecord, record_id) is None
        if (
            missing
            and ended is not None
            and _interrupted_cdr(
                session, folder.name, record_id, facts=facts, audio=audio, key=key, ended=ended
            )
        ):
            done.cdrs.append(record_id)
    if note is not None:
        note.unlink(missing_ok=True)
    mark = files.get("owner")
    if mark is not None:
        mark.unlink(missing_ok=True)


def _read_facts(note: Path, key: bytes | None) -> CallFacts | None:
    try:
        raw = sealed.read(note, key) if key is not None else note.read_bytes()
        return CallFacts.from_json(raw)
    except (sealed.SealError, ValueError, TypeError, KeyError):
        log.warning("call note %s unreadable: the call's CDR is written without it", note)
        return None


def _repoint(session: Session, old: Path, new: Path | None) -> None:
    """Records that name ``old`` name ``new`` now: the sealed copy of a plain file, or
    no recording for a CDR whose file held no audio (a message keeps its path)."""
    for record in session.scalars(select(CallRecord).where(CallRecord.recording_path == str(old))):
        record.recording_path = str(new) if new is not None else None
    if new is not None:
        for message in session.scalars(select(Voicemail).where(Voicemail.path == str(old))):
            message.path = str(new)


def _seconds(audio: Path, key: bytes | None) -> float:
    """The recorded length, from the header's byte rate and the file's length."""
    head = next(sealed.recording_chunks(audio, key), b"")
    if len(head) < WAV_HEADER_BYTES:
        return 0.0
    byte_rate: int = struct.unpack("<I", head[28:32])[0]
    return max(0, sealed.plain_size(audio) - WAV_HEADER_BYTES) / max(1, byte_rate)


def _interrupted_cdr(
    session: Session,
    account_id: str,
    record_id: str,
    *,
    facts: CallFacts | None,
    audio: Path | None,
    key: bytes | None,
    ended: datetime,
) -> bool:
    """The CDR of a call the crash cut: status and hangup cause ``interrupted``; it ends
    when its last audio (or its note) reached the disk, a lower bound, and is billed to
    then like a call the network cut. Without a note (a file of an older version) the
    numbers are unknown."""
    seconds = _seconds(audio, key) if audio is not None else 0.0
    if facts is None:
        if audio is None or session.get(Account, account_id) is None:
            return False
        facts = CallFacts(
            account_id=account_id,
            direction="inbound",
            from_number="",
            to_number="",
            started_at=ended - timedelta(seconds=seconds),
            answered_at=ended - timedelta(seconds=seconds),
            sip_call_id=f"interrupted-{record_id}",
            sip_local_tag="",
            record_id=record_id,
        )
    answered = facts.answered_at
    if answered is None and audio is not None:
        answered = ended - timedelta(seconds=seconds)  # the audio came after the answer
    if answered is not None:
        answered = max(answered, facts.started_at)
    ended = max(ended, answered or facts.started_at)
    voicemail = facts.voicemail
    call_service.record_call(
        session,
        call_service.CallOutcome(
            account_id=facts.account_id,
            direction=facts.direction,
            from_number=facts.from_number,
            to_number=facts.to_number,
            started_at=facts.started_at,
            answered_at=answered,
            ended_at=ended,
            status="interrupted",
            hangup_cause="interrupted",
            sip_call_id=facts.sip_call_id,
            sip_local_tag=facts.sip_local_tag,
            recording_path=str(audio) if audio is not None and voicemail is None else None,
            record_id=record_id,
            legs=facts.legs,
            user_id=facts.user_id,
            trunk_id=facts.trunk_id,
            caller_user_id=facts.caller_user_id,
        ),
    )
    if voicemail is not None and audio is not None:
        box, number = voicemail
        voicemail_service.create_voicemail(
            session,
            account_id=facts.account_id,
            user_id=box,
            number=number,
            from_number=facts.from_number,
            duration=Decimal(str(round(seconds, 3))),
            path=str(audio),
            now=ended,
            call_record_id=record_id,
        )
    return True
