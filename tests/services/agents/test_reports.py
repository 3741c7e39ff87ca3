"""Agent call reports: idempotent by call id, every text labelled (A4, V9), V8's
withheld transcript, listing by agent and outcome, the CDR's link."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from dialtone.agents.report import CallReport, Line, TurnTiming
from dialtone.agents.turns import AI_LABEL
from dialtone.core.errors import DialtoneError
from dialtone.services.agents import reports
from dialtone.services.agents.reports import TurnLatency, Utterance
from dialtone.services.telephony.voicemails import TRANSCRIPT_LABEL
from dialtone.store.models import CallRecord

from ..conftest import T0

TURNS = (
    Utterance("agent", "Hello, I am an AI assistant.", 0.0, 2.1),
    Utterance("caller", "I'd like an appointment", 2.5, 4.0),
    Utterance("agent", "Booked for 10:00.", 4.6, 5.9),
)


def _save(session: Session, account: str, **overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "account_id": account,
        "agent_id": "AG1",
        "call_id": "CA1",
        "started_at": T0,
        "ended_at": T0 + timedelta(seconds=30),
        "outcome": "booked",
        "summary": "Booked an appointment.",
        "transcript": TURNS,
        "latencies": (TurnLatency(1, 310.0, 120.5, 3.2, 180.04, 640.0),),
        "now": T0,
    }
    fields.update(overrides)
    return reports.save_report(session, **fields)


def test_a_report_is_labelled_throughout(session: Session, account: str) -> None:
    row = _save(session, account)
    shown = reports.described(row)
    assert shown["ai_generated"] is True
    assert shown["label"] == AI_LABEL
    assert shown["summary"] == f"{AI_LABEL} Booked an appointment."
    assert [t["label"] for t in shown["transcript"]] == [AI_LABEL, TRANSCRIPT_LABEL, AI_LABEL]
    assert shown["transcript"][1] == {
        "speaker": "caller",
        "text": "I'd like an appointment",
        "start": 2.5,
        "end": 4.0,
        "label": TRANSCRIPT_LABEL,
    }
    assert shown["latencies"] == [
        {
            "turn": 1,
            "vad_end_ms": 310.0,
            "stt_ms": 120.5,
            "dialog_ms": 3.2,
            "tts_first_ms": 180.0,
            "total_ms": 640.0,
        }
    ]
    assert (
        _save(session, account, call_id="CA2", summary=f"{AI_LABEL} x").summary == f"{AI_LABEL} x"
    )
    assert _save(session, account, call_id="CA3", summary="").summary == AI_LABEL


def test_saving_again_returns_the_stored_report(session: Session, account: str) -> None:
    first = _save(session, account)
    again = _save(session, account, outcome="abandoned", summary="other")
    assert again.id == first.id
    assert (again.outcome, again.summary) == ("booked", f"{AI_LABEL} Booked an appointment.")


def test_a_call_of_another_account_conflicts(
    session: Session, account: str, other_account: str
) -> None:
    _save(session, account)
    with pytest.raises(DialtoneError) as info:
        _save(session, other_account)
    assert (info.value.code, info.value.status) == ("agent_report.conflict", 409)


def test_a_call_not_to_be_transcribed_keeps_no_transcript(session: Session, account: str) -> None:
    row = _save(session, account, transcribed=False)
    assert json.loads(row.transcript) == []
    assert row.transcript_withheld is True
    assert row.outcome == "booked"


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"outcome": "won"}, "outcome is one of"),
        ({"call_id": ""}, "at most 34"),
        ({"call_id": "C" * 35}, "at most 34"),
        ({"ended_at": T0 - timedelta(seconds=1)}, "ends after it starts"),
        ({"started_at": datetime(2026, 1, 1)}, "time zone"),
        ({"summary": "x" * 5001}, "at most 5000"),
        ({"transcript": (Utterance("robot", "x", 0, 1),)}, "caller or agent"),
        ({"transcript": (Utterance("agent", "x", 2, 1),)}, "ends before it starts"),
        ({"transcript": (Utterance("agent", "x", -1, 1),)}, "not negative"),
        ({"transcript": (Utterance("agent", "x", float("nan"), 1),)}, "number of seconds"),
        ({"transcript": (Utterance("agent", "x" * 5001, 0, 1),)}, "at most 5000"),
        ({"latencies": (TurnLatency(1, total_ms=-1.0),)}, "not negative"),
    ],
)
def test_a_report_is_checked(
    session: Session, account: str, overrides: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(DialtoneError, match=fragment) as info:
        _save(session, account, **overrides)
    assert info.value.code == "agent_report.invalid"


def test_reports_are_listed_by_agent_and_outcome_newest_first(
    session: Session, account: str, other_account: str
) -> None:
    for n, (agent, outcome) in enumerate(
        [("AG1", "booked"), ("AG1", "message"), ("AG2", "booked"), ("AG1", "booked")]
    ):
        _save(
            session,
            account,
            call_id=f"CA{n}",
            agent_id=agent,
            outcome=outcome,
            started_at=T0 + timedelta(minutes=n),
            ended_at=T0 + timedelta(minutes=n, seconds=30),
        )
    _save(session, other_account, call_id="CA9")

    def calls(**kw: Any) -> list[str]:
        return [r.call_id for r in reports.list_reports(session, account, **kw)[0]]

    assert calls() == ["CA3", "CA2", "CA1", "CA0"]
    assert calls(agent_id="AG1") == ["CA3", "CA1", "CA0"]
    assert calls(agent_id="AG1", outcome="booked") == ["CA3", "CA0"]
    page, cursor = reports.list_reports(session, account, limit=2)
    assert cursor is not None
    assert [r.call_id for r in page] == ["CA3", "CA2"]
    assert calls(before=cursor) == ["CA1", "CA0"]
    assert reports.reports_for_calls(session, account, ["CA1", "CA9", "CAx"]) == {
        "CA1": reports.report_for_call(session, "CA1").id  # type: ignore[union-attr]
    }
    with pytest.raises(DialtoneError):
        reports.list_reports(session, account, outcome="won")
    with pytest.raises(DialtoneError) as info:
        reports.get_report(session, other_account, page[0].id)
    assert info.value.code == "agent_report.not_found"


def _call_report(account: str, record_id: str = "CA7") -> CallReport:
    return CallReport(
        agent_id="AG1",
        account_id=account,
        record_id=record_id,
        caller="+33600000000",
        number="+33123456789",
        outcome="answered",
        summary="Answered a question about parking.",
        lines=(Line("agent", "Hello, I am an AI.", 0.0), Line("caller", "Parking?", 3.0)),
        timings=(TurnTiming(heard=4.2, decided=4.205, spoken=4.4, speech_ended=4.0),),
        guarded=("identity",),
    )


def test_the_call_applications_report_is_filed_with_its_stages(
    session: Session, account: str
) -> None:
    row = reports.file_report(session, _call_report(account), now=T0)
    shown = reports.described(row)
    assert (shown["call_id"], shown["from"], shown["to"]) == ("CA7", "+33600000000", "+33123456789")
    assert (shown["started_at"], shown["ended_at"]) == (T0 - timedelta(seconds=4.4), T0)
    assert [(t["speaker"], t["start"], t["end"]) for t in shown["transcript"]] == [
        ("agent", 0.0, 0.0),
        ("caller", 3.0, 3.0),
    ]
    [figures] = shown["latencies"]
    assert figures == {
        "turn": 1,
        "stt_ms": 200.0,
        "dialog_ms": 5.0,
        "tts_first_ms": 195.0,
        "total_ms": 400.0,
    }
    assert shown["guarded"] == ["identity"]
    assert shown["summary"].startswith(AI_LABEL)
    assert reports.file_report(session, _call_report(account), now=T0).id == row.id


def test_a_filed_report_takes_the_times_of_the_calls_record(session: Session, account: str) -> None:
    session.add(
        CallRecord(
            id="CA8",
            account_id=account,
            direction="inbound",
            from_number="+33600000000",
            to_number="+33123456789",
            started_at=T0,
            answered_at=T0 + timedelta(seconds=1),
            ended_at=T0 + timedelta(seconds=40),
            duration=Decimal(39),
            billed_seconds=60,
            billing_increment="60/60",
            status="completed",
            hangup_cause="caller-bye",
            sip_call_id="c8",
            sip_local_tag="t8",
        )
    )
    session.flush()
    row = reports.file_report(
        session, _call_report(account, "CA8"), now=T0 + timedelta(hours=1), transcribed=False
    )
    assert (row.started_at, row.ended_at) == (T0 + timedelta(seconds=1), T0 + timedelta(seconds=40))
    assert json.loads(row.transcript) == []
    assert row.transcript_withheld is True
