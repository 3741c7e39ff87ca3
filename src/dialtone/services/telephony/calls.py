"""Call detail records: one per call, rated with the account's increment (TERMS B2).

Each record also keeps the traceback chain (TERMS V11): the legs the call came through
(a trunk and its source address, a user and their device), so the platform can name the
upstream carrier or the customer and user who placed any call.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Select, Table, and_, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError, NotFound
from dialtone.rating.increments import Increment
from dialtone.services.ids import new_id
from dialtone.store.files import remove_after_commit
from dialtone.store.models import Account, CallRecord

# "interrupted": the process stopped mid-call (a crash); the record was written at the
# next start from what the call left on disk (its recording and its note).
STATUSES = ("completed", "no-answer", "busy", "failed", "canceled", "interrupted")
# An interrupted call is billed like one the network cut: for as long as it is known
# to have lasted (up to its last audio on disk).
BILLED = ("completed", "interrupted")
# "public": a caller from outside reaching one of our numbers directly (no trunk).
LEG_KINDS = ("trunk", "public", "user", "device", "number")

log = logging.getLogger(__name__)
MS = Decimal("0.001")


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """What the call engine knows when a call ends; the CDR is built from it."""

    account_id: str
    direction: str
    from_number: str
    to_number: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    status: str
    hangup_cause: str
    sip_call_id: str
    sip_local_tag: str
    recording_path: str | None = None
    record_id: str | None = None
    # V11 traceback: e.g. ({"kind": "trunk", "id": "TR…", "source": "udp:192.0.2.1:5060",
    # "user_agent": None}, {"kind": "user", "id": "US…", ...}); first leg first.
    legs: tuple[dict[str, str | None], ...] = ()
    user_id: str | None = None
    trunk_id: str | None = None
    # The user whose device placed the call (or who clicked to call), None from outside:
    # a call between colleagues is both users' own record (TERMS D1).
    caller_user_id: str | None = None


LIVE_STATUSES = ("ringing", "in-progress")


@dataclass(frozen=True, slots=True)
class LiveCall:
    """A call in progress as the call engine knows it, before its CDR exists: what
    ``GET /v1/calls/{id}`` shows of it. Lives here, below both the runtime (which builds
    it) and the API (which shows it), so neither imports the other."""

    id: str
    account_id: str
    direction: str
    from_number: str
    to_number: str
    status: str  # one of LIVE_STATUSES
    started_at: datetime
    answered_at: datetime | None
    sip_call_id: str
    user_id: str | None = None
    trunk_id: str | None = None
    legs: tuple[dict[str, str | None], ...] = ()
    caller_user_id: str | None = None


def exact_duration(answered_at: datetime | None, ended_at: datetime) -> Decimal:
    """Seconds from answer to end, exact to the millisecond; 0 when never answered."""
    if answered_at is None or ended_at <= answered_at:
        return Decimal(0)
    delta = ended_at - answered_at
    micros = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    return (Decimal(micros) / Decimal(1_000_000)).quantize(MS)


def legs_json(legs: Sequence[Mapping[str, str | None]]) -> str:
    """The legs as stored: a JSON list of objects with string (or null) values.

    Never raises: a CDR is money and must be written even when the traceback data is
    odd, so an unknown leg kind is kept as given and logged.
    """
    for leg in legs:
        if leg.get("kind") not in LEG_KINDS:
            log.warning("CDR leg of unknown kind %r kept as given", leg.get("kind"))
    return json.dumps([dict(leg) for leg in legs], separators=(",", ":"), default=str)


def legs_of(record: CallRecord) -> list[dict[str, str | None]]:
    """The record's traceback legs (TERMS V11) as a list of dicts."""
    try:
        value = json.loads(record.legs or "[]")
    except ValueError:
        return []
    return [leg for leg in value if isinstance(leg, dict)] if isinstance(value, list) else []


def record_call(session: Session, outcome: CallOutcome) -> CallRecord:
    """Write the CDR for a finished call, once.

    Idempotent by (SIP Call-ID, local tag): recording the same call again returns the
    existing record, so a retry after a crash never duplicates a call.
    """
    if outcome.status not in STATUSES:
        raise ValueError(f"unknown call status {outcome.status!r}")
    existing = _find(session, outcome.sip_call_id, outcome.sip_local_tag)
    if existing is not None:
        return existing
    account = session.get(Account, outcome.account_id)
    if account is None:
        raise NotFound("account.not_found", f"No account {outcome.account_id}.")
    record = CallRecord(**_row(outcome, Increment.parse(account.billing_increment)))
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        found = _find(session, outcome.sip_call_id, outcome.sip_local_tag)
        if found is None:
            raise
        return found
    return record


def record_calls(session: Session, outcomes: Sequence[CallOutcome]) -> None:
    """Write many CDRs in one statement (the group commit's fast path).

    No per-record look-up or savepoint: a record already written (a retry) or an unknown
    account fails the whole statement, and the caller retries each record alone with
    :func:`record_call`, which is idempotent.
    """
    for outcome in outcomes:
        if outcome.status not in STATUSES:
            raise ValueError(f"unknown call status {outcome.status!r}")
    accounts = {o.account_id for o in outcomes}
    increments = {
        row.id: Increment.parse(row.billing_increment)
        for row in session.execute(
            select(Account.id, Account.billing_increment).where(Account.id.in_(accounts))
        )
    }
    missing = accounts - increments.keys()
    if missing:
        raise NotFound("account.not_found", f"No account {sorted(missing)[0]}.")
    # The table, not the mapped class: a Core INSERT skips the ORM's bulk-persistence
    # layer, about a fifth of the database thread's time per call at a few hundred calls/s.
    rows = [_row(o, increments[o.account_id]) for o in outcomes]
    session.execute(insert(cast(Table, CallRecord.__table__)), rows)


def _row(outcome: CallOutcome, increment: Increment) -> dict[str, object]:
    """A CDR's column values."""
    duration = exact_duration(outcome.answered_at, outcome.ended_at)
    return dict(
        id=outcome.record_id or new_id("CA"),
        account_id=outcome.account_id,
        direction=outcome.direction,
        from_number=outcome.from_number[:200],
        to_number=outcome.to_number[:200],
        started_at=outcome.started_at,
        answered_at=outcome.answered_at,
        ended_at=outcome.ended_at,
        duration=duration,
        billed_seconds=increment.billed_seconds(duration) if outcome.status in BILLED else 0,
        billing_increment=str(increment),
        status=outcome.status,
        hangup_cause=outcome.hangup_cause,
        sip_call_id=outcome.sip_call_id[:255],
        sip_local_tag=outcome.sip_local_tag[:64],
        recording_path=outcome.recording_path,
        legs=legs_json(outcome.legs),
        user_id=outcome.user_id,
        trunk_id=outcome.trunk_id,
        caller_user_id=outcome.caller_user_id,
    )


def _find(session: Session, call_id: str, local_tag: str) -> CallRecord | None:
    return session.scalar(
        select(CallRecord).where(
            CallRecord.sip_call_id == call_id[:255], CallRecord.sip_local_tag == local_tag[:64]
        )
    )


@dataclass(frozen=True, slots=True)
class CallFilter:
    """What a listing of calls is narrowed to (every field optional)."""

    direction: str | None = None  # "inbound" | "outbound" | "internal"
    status: str | None = None  # a CDR status: "completed", "no-answer", "busy"…
    number: str | None = None  # part of the caller's or the callee's number
    since: datetime | None = None  # started at or after
    until: datetime | None = None  # started before

    def apply(self, query: Select[Any]) -> Select[Any]:
        """``query`` narrowed to the calls that pass."""
        if self.direction:
            query = query.where(CallRecord.direction == self.direction)
        if self.status:
            query = query.where(CallRecord.status == self.status)
        if self.number:
            pattern = "%" + self.number.replace("%", "").replace("_", "") + "%"
            query = query.where(
                or_(CallRecord.from_number.like(pattern), CallRecord.to_number.like(pattern))
            )
        if self.since is not None:
            query = query.where(CallRecord.started_at >= self.since)
        if self.until is not None:
            query = query.where(CallRecord.started_at < self.until)
        return query


def list_calls(
    session: Session,
    account_id: str,
    *,
    limit: int = 50,
    before: str | None = None,
    user_id: str | None = None,
    where: CallFilter | None = None,
) -> tuple[list[CallRecord], str | None]:
    """The account's calls (when ``user_id`` is given, only those that user took or
    placed: both parties' own, TERMS D1), newest first, ``limit`` at a time, narrowed by
    ``where``.

    ``before`` is the cursor returned with the previous page (the id of its last call).
    Returns the page and the cursor of the next one (None at the end).
    """
    if not 1 <= limit <= 500:
        raise DialtoneError("request.invalid", "limit must be between 1 and 500.")
    query = select(CallRecord).where(CallRecord.account_id == account_id)
    if user_id is not None:
        query = query.where(
            or_(CallRecord.user_id == user_id, CallRecord.caller_user_id == user_id)
        )
    if where is not None:
        query = where.apply(query)
    if before is not None:
        anchor = session.get(CallRecord, before)
        if anchor is None or anchor.account_id != account_id:
            raise DialtoneError("request.invalid_cursor", "Unknown page cursor.")
        query = query.where(
            or_(
                CallRecord.started_at < anchor.started_at,
                and_(CallRecord.started_at == anchor.started_at, CallRecord.id < anchor.id),
            )
        )
    rows = list(
        session.scalars(
            query.order_by(CallRecord.started_at.desc(), CallRecord.id.desc()).limit(limit + 1)
        )
    )
    next_cursor = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], next_cursor


def delete_recording(session: Session, record: CallRecord) -> None:
    """Delete a call's recording: the record forgets it, and the file goes once that is
    committed (a file left behind costs disk space; a record pointing at nothing would
    be broken). Deleting twice is a no-op."""
    path = record.recording_path
    record.recording_path = None
    session.flush()
    if path:
        remove_after_commit(session, path)


def parties(record: CallRecord | LiveCall) -> tuple[str, ...]:
    """The users a call is the own record of (TERMS D1): who took it (or whose voicemail
    did) and who placed it; none for a call no user took or placed."""
    return tuple(dict.fromkeys(u for u in (record.user_id, record.caller_user_id) if u))


def get_call(session: Session, account_id: str, call_id: str) -> CallRecord:
    """One of the account's calls; 404 when not there or another account's."""
    record = session.get(CallRecord, call_id)
    if record is None or record.account_id != account_id:
        raise NotFound("call.not_found", f"The account has no call {call_id}.")
    return record
