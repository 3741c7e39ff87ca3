"""CDRs: exact duration, billing by the account's increment, idempotent writes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dialtone.services.accounts import accounts
from dialtone.services.telephony import calls
from dialtone.store.db import transaction
from dialtone.store.models import CallRecord
from tests.database import migrated_database

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _outcome(
    account_id: str, seconds: float, status: str = "completed", tag: str = "a"
) -> calls.CallOutcome:
    answered = T0 + timedelta(seconds=2) if status == "completed" else None
    return calls.CallOutcome(
        account_id=account_id,
        direction="inbound",
        from_number="+14155550100",
        to_number="+33123456789",
        started_at=T0,
        answered_at=answered,
        ended_at=T0 + timedelta(seconds=2 + seconds),
        status=status,
        hangup_cause="caller-bye",
        sip_call_id="c1@host",
        sip_local_tag=tag,
    )


@pytest.mark.parametrize(
    ("increment", "seconds", "billed"),
    [("60/60", 66, 120), ("30/6", 66, 66), ("1/1", 66.2, 67), ("60/60", 59, 60)],
)
def test_record_bills_with_the_accounts_increment(
    tmp_path: Path, increment: str, seconds: float, billed: int
) -> None:
    _, factory = migrated_database(tmp_path / "db.sqlite")
    with transaction(factory) as session:
        account = accounts.create_account(session, "A", now=T0, billing_increment=increment).account
        record = calls.record_call(session, _outcome(account.id, seconds))
        assert record.billed_seconds == billed
        assert record.billing_increment == increment
        assert record.duration == Decimal(str(seconds)).quantize(Decimal("0.001"))


def test_same_call_twice_is_one_record(tmp_path: Path) -> None:
    _, factory = migrated_database(tmp_path / "db.sqlite")
    with transaction(factory) as session:
        account = accounts.create_account(session, "A", now=T0).account
    with transaction(factory) as session:
        first = calls.record_call(session, _outcome(account.id, 10))
    with transaction(factory) as session:
        second = calls.record_call(session, _outcome(account.id, 10))
        other_leg = calls.record_call(session, _outcome(account.id, 10, tag="b"))
        count = session.scalar(select(func.count()).select_from(CallRecord))
    assert first.id == second.id
    assert other_leg.id != first.id
    assert count == 2


def test_unanswered_calls_bill_nothing(tmp_path: Path) -> None:
    _, factory = migrated_database(tmp_path / "db.sqlite")
    with transaction(factory) as session:
        account = accounts.create_account(session, "A", now=T0).account
        record = calls.record_call(session, _outcome(account.id, 30, status="canceled"))
    assert record.duration == 0
    assert record.billed_seconds == 0


def test_exact_duration_is_millisecond_exact() -> None:
    assert calls.exact_duration(T0, T0 + timedelta(seconds=66, microseconds=123456)) == Decimal(
        "66.123"
    )
    assert calls.exact_duration(None, T0) == 0
    assert calls.exact_duration(T0, T0 - timedelta(seconds=1)) == 0


def test_v11_legs_user_and_trunk_are_kept(tmp_path: Path) -> None:
    _, factory = migrated_database(tmp_path / "db.sqlite")
    legs: tuple[dict[str, str | None], ...] = (
        {"kind": "trunk", "id": "TR1", "source": "udp:192.0.2.1:5060", "user_agent": None},
        {"kind": "number", "id": "+33123456789", "source": None, "user_agent": None},
        {"kind": "user", "id": "US1", "source": "tls:[2001:db8::1]:5061", "user_agent": "Snom"},
    )
    with transaction(factory) as session:
        account = accounts.create_account(session, "A", now=T0).account
        outcome = dataclasses.replace(
            _outcome(account.id, 10), legs=legs, user_id="US1", trunk_id="TR1"
        )
        record_id = calls.record_call(session, outcome).id
    with transaction(factory) as session:
        record = calls.get_call(session, account.id, record_id)
        assert calls.legs_of(record) == list(legs)
        assert (record.user_id, record.trunk_id) == ("US1", "TR1")


def test_no_legs_is_an_empty_list(tmp_path: Path) -> None:
    _, factory = migrated_database(tmp_path / "db.sqlite")
    with transaction(factory) as session:
        account = accounts.create_account(session, "A", now=T0).account
        record = calls.record_call(session, _outcome(account.id, 10))
        assert record.legs == "[]"
        assert calls.legs_of(record) == []


def test_an_odd_leg_never_costs_the_cdr(caplog: pytest.LogCaptureFixture) -> None:
    assert calls.legs_json([{"kind": "satellite", "id": "x"}]) == '[{"kind":"satellite","id":"x"}]'
    assert "unknown kind" in caplog.text


def _columns(record: CallRecord) -> dict[str, object]:
    return {
        c.name: getattr(record, c.key)
        for c in CallRecord.__table__.columns
        if c.name not in ("id",)
    }


@pytest.mark.parametrize(
    ("increment", "seconds", "status"),
    [("60/60", 66, "completed"), ("30/6", 59.5, "completed"), ("1/1", 0, "no-answer")],
)
def test_batch_write_stores_what_the_single_write_stores(
    tmp_path: Path, increment: str, seconds: float, status: str
) -> None:
    _, factory = migrated_database(tmp_path / "db.sqlite")
    with transaction(factory) as session:
        account = accounts.create_account(session, "A", now=T0, billing_increment=increment).account
        single = _outcome(account.id, seconds, status, tag="single")
        batched = _outcome(account.id, seconds, status, tag="batched")
        calls.record_call(session, single)
        calls.record_calls(session, [batched])
    with transaction(factory) as session:
        rows = {r.sip_local_tag: _columns(r) for r in session.scalars(select(CallRecord))}
    assert rows["batched"] | {"sip_local_tag": "single"} == rows["single"]


def test_batch_write_refuses_duplicates_and_unknown_accounts(tmp_path: Path) -> None:
    from sqlalchemy.exc import IntegrityError

    from dialtone.core.errors import NotFound

    _, factory = migrated_database(tmp_path / "db.sqlite")
    with transaction(factory) as session:
        account_id = accounts.create_account(session, "A", now=T0).account.id
        calls.record_call(session, _outcome(account_id, 10))
    with pytest.raises(IntegrityError), transaction(factory) as session:
        calls.record_calls(session, [_outcome(account_id, 10)])
    with pytest.raises(NotFound), transaction(factory) as session:
        calls.record_calls(session, [_outcome("ACnobody", 10, tag="x")])
    with transaction(factory) as session:
        assert session.scalar(select(func.count()).select_from(CallRecord)) == 1


@pytest.mark.parametrize(
    ("user_id", "listed"),
    [
        ("USbob", ["answered", "voicemail", "outside"]),  # took all three
        ("USalice", ["answered", "voicemail"]),  # placed two (D1: her own too)
        ("UScarol", []),  # neither
        (None, ["answered", "voicemail", "outside"]),  # not narrowed
    ],
)
def test_d1_a_users_calls_are_those_taken_and_those_placed(
    tmp_path: Path, user_id: str | None, listed: list[str]
) -> None:
    """Alice's calls to bob (answered: the single write; sent to voicemail: the group
    commit's batch) and a call to bob from outside, listed for each user."""
    _, factory = migrated_database(tmp_path / "db.sqlite")
    with transaction(factory) as session:
        account = accounts.create_account(session, "A", now=T0).account

        def made(tag: str, minute: int, caller: str | None) -> calls.CallOutcome:
            return dataclasses.replace(
                _outcome(account.id, 10, tag=tag),
                direction="inbound" if caller is None else "internal",
                started_at=T0 + timedelta(minutes=minute),
                ended_at=T0 + timedelta(minutes=minute, seconds=12),
                answered_at=T0 + timedelta(minutes=minute, seconds=2),
                user_id="USbob",
                caller_user_id=caller,
            )

        calls.record_call(session, made("answered", 2, "USalice"))
        calls.record_calls(session, [made("voicemail", 1, "USalice"), made("outside", 0, None)])
    with transaction(factory) as session:
        rows, _ = calls.list_calls(session, account.id, user_id=user_id)
        assert [r.sip_local_tag for r in rows] == listed
        by_tag = {r.sip_local_tag: r for r in rows}
        for tag in set(listed) & {"answered", "voicemail"}:
            assert calls.parties(by_tag[tag]) == ("USbob", "USalice")
        if "outside" in listed:
            assert calls.parties(by_tag["outside"]) == ("USbob",)
