"""The report of each call an agent answered (issue 17 §6): transcript with timings,
summary, outcome, per-turn latency figures; over the API, and found from the call's CDR.

Every text in it is labelled (TERMS A4, V9): the report itself and the summary with
``agents.turns.AI_LABEL`` (``ai_generated`` true), each of the agent's lines with it too,
and each of the caller's lines ``machine-generated`` (speech-to-text can be wrong, as a
voicemail transcript: V9). A summary that does not start with the label gets it.

V8: a transcript is a transcription of the call, which needs notice (the agent's first
sentence, A2, is where the runtime gives it) and ends when a party objects. The runtime
says whether the call could be transcribed (``transcribed``); when it could not, the
transcript is not stored (``transcript_withheld``), whatever was sent. The report holds no
audio: a message the agent records is a voicemail entry, under the voicemail's rules.

:func:`save_report` is idempotent by call id: the runtime may retry a write it does not
know was committed, and gets the stored report back.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, get_args

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dialtone.agents.report import CallReport
from dialtone.agents.turns import AI_LABEL, Outcome
from dialtone.core.errors import Conflict, DialtoneError, NotFound
from dialtone.services.ids import new_id
from dialtone.services.telephony.voicemails import TRANSCRIPT_LABEL
from dialtone.store.agent_models import AgentReport
from dialtone.store.models import CallRecord

OUTCOMES: tuple[str, ...] = get_args(Outcome)
SPEAKERS = ("caller", "agent")
MAX_TURNS = 2000
MAX_TEXT = 5000
MAX_SUMMARY = 5000
LATENCY_FIELDS = ("vad_end_ms", "stt_ms", "dialog_ms", "tts_first_ms", "total_ms")
MAX_GUARDED = 100


def _invalid(message: str) -> DialtoneError:
    return DialtoneError("agent_report.invalid", message)


@dataclass(frozen=True, slots=True)
class Utterance:
    """One turn of the conversation: who spoke, what (as heard or said), and when
    (seconds from the answer)."""

    speaker: str
    text: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class TurnLatency:
    """One caller turn's voice-to-voice figures, in milliseconds (None: not measured):
    end of speech detected, speech-to-text final, dialog, first synthesised frame, and
    the whole (end of the caller's speech to the agent's first audio)."""

    turn: int
    vad_end_ms: float | None = None
    stt_ms: float | None = None
    dialog_ms: float | None = None
    tts_first_ms: float | None = None
    total_ms: float | None = None


def _aware(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _invalid(f"{what} carries its time zone.")
    return moment


def _seconds(value: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _invalid(f"{what} is a number of seconds.")
    if value < 0:
        raise _invalid(f"{what} is not negative.")
    return float(value)


def labelled(text: str) -> str:
    """``text`` starting with the AI label (A4), added when it is not there."""
    text = text.strip()
    if text.startswith(AI_LABEL):
        return text
    return f"{AI_LABEL} {text}" if text else AI_LABEL


def _transcript(turns: Sequence[Utterance]) -> list[dict[str, Any]]:
    if len(turns) > MAX_TURNS:
        raise _invalid(f"A transcript has at most {MAX_TURNS} turns.")
    out: list[dict[str, Any]] = []
    for n, turn in enumerate(turns):
        if turn.speaker not in SPEAKERS:
            raise _invalid(f"Turn {n}: speaker is caller or agent.")
        if len(turn.text) > MAX_TEXT:
            raise _invalid(f"Turn {n}: a turn has at most {MAX_TEXT} characters.")
        start = _seconds(turn.start, f"Turn {n}: start")
        end = _seconds(turn.end, f"Turn {n}: end")
        if end < start:
            raise _invalid(f"Turn {n} ends before it starts.")
        out.append(
            {
                "speaker": turn.speaker,
                "text": turn.text,
                "start": round(start, 3),
                "end": round(end, 3),
                # V9 / A4: the caller's words as a machine heard them; the agent's as an
                # AI wrote them.
                "label": AI_LABEL if turn.speaker == "agent" else TRANSCRIPT_LABEL,
            }
        )
    return out


def _latencies(figures: Sequence[TurnLatency]) -> list[dict[str, Any]]:
    if len(figures) > MAX_TURNS:
        raise _invalid(f"At most {MAX_TURNS} latency figures.")
    out: list[dict[str, Any]] = []
    for figure in figures:
        row: dict[str, Any] = {"turn": figure.turn}
        for name in LATENCY_FIELDS:
            value = getattr(figure, name)
            if value is not None:
                row[name] = round(_seconds(value, name), 1)
        out.append(row)
    return out


def save_report(
    session: Session,
    *,
    account_id: str,
    agent_id: str,
    call_id: str,
    started_at: datetime,
    ended_at: datetime,
    outcome: str,
    summary: str,
    transcript: Sequence[Utterance],
    now: datetime,
    latencies: Sequence[TurnLatency] = (),
    from_number: str = "",
    to_number: str = "",
    transcribed: bool = True,
    guarded: Sequence[str] = (),
) -> AgentReport:
    """Store the report of the agent call ``call_id`` (the CDR's id), or return the one
    already stored for it (idempotent: the runtime may retry). Labelled as the module
    says (A4, V9); with ``transcribed`` False (no notice, or a party objected: V8) the
    transcript is not kept. ``guarded``: the rules that answered instead of the dialog
    ("emergency", "advice", "identity"), kept as given. 400 ``agent_report.invalid``;
    409 ``agent_report.conflict`` when the call's report belongs to another account."""
    existing = report_for_call(session, call_id)
    if existing is not None:
        if existing.account_id != account_id:
            raise Conflict("agent_report.conflict", f"Call {call_id} has another's report.")
        return existing
    if outcome not in OUTCOMES:
        raise _invalid(f"outcome is one of {', '.join(OUTCOMES)}.")
    if not call_id or len(call_id) > 34 or not agent_id or len(agent_id) > 34:
        raise _invalid("call_id and agent_id are ids of at most 34 characters.")
    if _aware(ended_at, "ended_at") < _aware(started_at, "started_at"):
        raise _invalid("A call ends after it starts.")
    if len(summary) > MAX_SUMMARY:
        raise _invalid(f"A summary has at most {MAX_SUMMARY} characters.")
    turns = _transcript(transcript)
    if len(guarded) > MAX_GUARDED or any(
        not isinstance(g, str) or not 1 <= len(g) <= 40 for g in guarded
    ):
        raise _invalid(f"guarded is at most {MAX_GUARDED} names of 1 to 40 characters.")
    row = AgentReport(
        id=new_id("AR"),
        account_id=account_id,
        agent_id=agent_id,
        call_id=call_id,
        from_number=from_number[:200],
        to_number=to_number[:200],
        started_at=started_at,
        ended_at=ended_at,
        outcome=outcome,
        summary=labelled(summary),
        transcript=json.dumps(turns if transcribed else []),
        transcript_withheld=not transcribed,
        latencies=json.dumps(_latencies(latencies)),
        guarded=json.dumps(list(guarded)),
        ai_generated=True,
        label=AI_LABEL,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # Another write of the same call won the race: its report is the call's.
        stored = report_for_call(session, call_id)
        if stored is None or stored.account_id != account_id:
            raise
        return stored
    return row


def _ms(later: float | None, earlier: float | None) -> float | None:
    if later is None or earlier is None or later < earlier:
        return None
    return (later - earlier) * 1000


def file_report(
    session: Session, report: CallReport, *, now: datetime, transcribed: bool = True
) -> AgentReport:
    """Store the call application's report (``agents.report.CallReport``, the
    ``FileReport`` task's) through :func:`save_report`: idempotent by its ``record_id``
    (the CDR's id). The call's start and end are its record's when it is written
    already (answered, else started; ended), else ``now`` less the last moment the
    report names, and ``now``. A line's ``at`` is its start and its end (the
    application gives one moment per line). Each timing becomes the stages in ms:
    ``stt_ms`` speech end → heard, ``dialog_ms`` heard → decided, ``tts_first_ms``
    decided → first sentence synthesised, ``total_ms`` speech end → synthesised (None
    where a moment is missing); the voice activity detector's own delay is not in it
    (``vad_end_ms`` None)."""
    record = session.get(CallRecord, report.record_id)
    if record is not None and record.account_id == report.account_id:
        started_at = record.answered_at or record.started_at
        ended_at = max(record.ended_at, started_at)
    else:
        moments = [line.at for line in report.lines]
        for timing in report.timings:
            moments.extend(
                m for m in (timing.heard, timing.decided, timing.spoken) if m is not None
            )
        span = max((m for m in moments if m >= 0), default=0.0)
        ended_at = now
        started_at = now - timedelta(seconds=span)
    return save_report(
        session,
        account_id=report.account_id,
        agent_id=report.agent_id,
        call_id=report.record_id,
        started_at=started_at,
        ended_at=ended_at,
        outcome=report.outcome,
        summary=report.summary,
        transcript=[Utterance(line.speaker, line.text, line.at, line.at) for line in report.lines],
        latencies=[
            TurnLatency(
                turn=n,
                stt_ms=_ms(timing.heard, timing.speech_ended),
                dialog_ms=_ms(timing.decided, timing.heard),
                tts_first_ms=_ms(timing.spoken, timing.decided),
                total_ms=_ms(timing.spoken, timing.speech_ended),
            )
            for n, timing in enumerate(report.timings, start=1)
        ],
        from_number=report.caller,
        to_number=report.number,
        transcribed=transcribed,
        guarded=report.guarded,
        now=now,
    )


def report_for_call(session: Session, call_id: str) -> AgentReport | None:
    """The report of the call whose CDR id is ``call_id``, if an agent answered it (the
    caller checks the account)."""
    return session.scalar(select(AgentReport).where(AgentReport.call_id == call_id))


def reports_for_calls(session: Session, account_id: str, call_ids: Sequence[str]) -> dict[str, str]:
    """The ids of the reports of those of ``call_ids`` an agent answered, by call id
    (one query for a page of calls: the CDR's link to its report)."""
    if not call_ids:
        return {}
    rows = session.execute(
        select(AgentReport.call_id, AgentReport.id).where(
            AgentReport.account_id == account_id, AgentReport.call_id.in_(list(call_ids))
        )
    )
    return {call_id: report_id for call_id, report_id in rows}


def get_report(session: Session, account_id: str, report_id: str) -> AgentReport:
    """One of the account's reports (404 ``agent_report.not_found``)."""
    row = session.get(AgentReport, report_id)
    if row is None or row.account_id != account_id:
        raise NotFound("agent_report.not_found", f"The account has no agent report {report_id}.")
    return row


def list_reports(
    session: Session,
    account_id: str,
    *,
    agent_id: str | None = None,
    outcome: str | None = None,
    limit: int = 50,
    before: str | None = None,
) -> tuple[list[AgentReport], str | None]:
    """The account's reports, newest call first, of one agent and one outcome when
    given; ``before`` is the cursor of the previous page (its last report's id). Returns
    the page and the next cursor (None at the end)."""
    if not 1 <= limit <= 500:
        raise DialtoneError("request.invalid", "limit must be between 1 and 500.")
    if outcome is not None and outcome not in OUTCOMES:
        raise _invalid(f"outcome is one of {', '.join(OUTCOMES)}.")
    query = select(AgentReport).where(AgentReport.account_id == account_id)
    if agent_id is not None:
        query = query.where(AgentReport.agent_id == agent_id)
    if outcome is not None:
        query = query.where(AgentReport.outcome == outcome)
    if before is not None:
        anchor = session.get(AgentReport, before)
        if anchor is None or anchor.account_id != account_id:
            raise DialtoneError("request.invalid_cursor", "Unknown page cursor.")
        query = query.where(
            or_(
                AgentReport.started_at < anchor.started_at,
                and_(AgentReport.started_at == anchor.started_at, AgentReport.id < anchor.id),
            )
        )
    rows = list(
        session.scalars(
            query.order_by(AgentReport.started_at.desc(), AgentReport.id.desc()).limit(limit + 1)
        )
    )
    next_cursor = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], next_cursor


def described(row: AgentReport) -> dict[str, Any]:
    """A report as the API and CLI show it."""
    return {
        "id": row.id,
        "account_id": row.account_id,
        "agent_id": row.agent_id,
        "call_id": row.call_id,
        "call_url": f"/v1/calls/{row.call_id}",
        "from": row.from_number,
        "to": row.to_number,
        "started_at": row.started_at,
        "ended_at": row.ended_at,
        "outcome": row.outcome,
        "summary": row.summary,
        "transcript": json.loads(row.transcript),
        "transcript_withheld": row.transcript_withheld,
        "latencies": json.loads(row.latencies),
        "guarded": json.loads(row.guarded),
        "ai_generated": row.ai_generated,
        "label": row.label,
        "created_at": row.created_at,
    }
