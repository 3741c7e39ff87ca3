"""The audit log: entries from decisions and errors, newest first, filtered, paged, and
append-only in the database itself."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.policy.destinations import destination
from dialtone.services.accounts import audit
from dialtone.services.accounts.audit import AuditEntry

from ..conftest import T0


def _premium(account: str, n: int) -> AuditEntry:
    return AuditEntry.of_decision(
        destination("+33891234567"),
        at=T0 + timedelta(seconds=n),
        account_id=account,
        actor="user:US1",
        action="call.outbound",
        sip_call_id=f"c{n}",
    )


def test_an_entry_keeps_the_decision_and_the_inputs(session: Session, account: str) -> None:
    [row] = audit.record(session, [_premium(account, 0)])
    assert (row.rule, row.code, row.outcome, row.actor, row.action) == (
        "V5",
        "destination.premium_rate",
        "refused",
        "user:US1",
        "call.outbound",
    )
    assert audit.details_of(row) == {"number": "+33891234567", "sip_call_id": "c0"}
    assert row.at == T0


def test_an_entry_from_an_api_error() -> None:
    error = DialtoneError("caller_id.not_held", "no", rule="V10", details={"caller_id": "+1"})
    entry = AuditEntry.of_error(error, at=T0, account_id="AC1", actor="api_key:KE1", action="x")
    assert (entry.rule, entry.code, dict(entry.details)) == (
        "V10",
        "caller_id.not_held",
        {"caller_id": "+1"},
    )


def test_an_allowed_decision_is_not_audited() -> None:
    with pytest.raises(AssertionError):
        AuditEntry.of_decision(
            destination("+33612345678"), at=T0, account_id=None, actor="a", action="b"
        )


def test_unknown_outcome_is_refused(session: Session, account: str) -> None:
    entry = _premium(account, 0)
    bad = AuditEntry(**{**{f: getattr(entry, f) for f in entry.__slots__}, "outcome": "maybe"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="outcome"):
        audit.record(session, [bad])


def test_listing_is_newest_first_per_account_filtered_and_paged(
    session: Session, account: str, other_account: str
) -> None:
    audit.record(session, [_premium(account, n) for n in range(5)])
    audit.record(session, [_premium(other_account, 9)])
    other = AuditEntry.of_error(
        DialtoneError("concurrency.user_limit", "busy", rule="V2"),
        at=T0 + timedelta(seconds=7),
        account_id=account,
        actor="api_key:KE1",
        action="POST /v1/calls",
    )
    audit.record(session, [other])
    page, cursor = audit.list_events(session, account, limit=4)
    assert [r.code for r in page] == ["concurrency.user_limit"] + ["destination.premium_rate"] * 3
    assert [r.at for r in page] == sorted((r.at for r in page), reverse=True)
    rest, end = audit.list_events(session, account, limit=4, before=cursor)
    assert (len(rest), end) == (2, None)
    assert {r.account_id for r in page + rest} == {account}
    only_v2, _ = audit.list_events(session, account, rule="V2")
    assert [r.code for r in only_v2] == ["concurrency.user_limit"]
    by_code, _ = audit.list_events(session, None, code="destination.premium_rate")
    assert len(by_code) == 6  # the operator's view spans accounts
    with pytest.raises(DialtoneError, match="cursor"):
        audit.list_events(session, other_account, before=cursor)
    with pytest.raises(DialtoneError, match="limit"):
        audit.list_events(session, account, limit=0)


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_events SET code = 'x'", "DELETE FROM audit_events"],
)
def test_the_log_is_append_only(session: Session, account: str, statement: str) -> None:
    audit.record(session, [_premium(account, 0)])
    with pytest.raises(DatabaseError, match="append-only"):
        session.execute(text(statement))
