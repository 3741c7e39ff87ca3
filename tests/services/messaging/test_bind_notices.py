"""What customers' SMPP binds are owed: a receipt marked with the final state its
registered_delivery asked for, on each path a message reaches one (a carrier's receipt,
a failure, the validity's end), an inbound message marked when the account has a live
SMPP login; what a bind is owed, the oldest first, page by page; answers cleared."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from dialtone.services.accounts import accounts
from dialtone.services.messaging import bind_notices, delivery, inbound, logins, messages
from dialtone.services.messaging.delivery import PartOutcome, Submitted
from dialtone.services.numbering import numbers
from dialtone.store.db import transaction
from dialtone.store.messaging_models import Message
from tests.database import migrated_database, query_plan
from tests.services.conftest import T0
from tests.services.messaging.conftest import NOW, NUMBER, RECIPIENT, RULES, opt_in

LATER = NOW + timedelta(minutes=1)
HELLO = messages.Outgoing(sender=NUMBER, to=RECIPIENT, body="Your table is ready.")


@pytest.fixture
def login(session: Session, account: str, sender: str) -> str:
    row, _ = logins.create_login(session, account, "acme", now=T0)
    return row.id


def _sent(
    session: Session, account: str, login: str | None, registered: int | None, body: str = "hi"
) -> Message:
    """A message submitted by ``login`` (None: by the API), accepted by the carrier."""
    outgoing = replace(HELLO, body=body, origin="smpp" if login else "api", smpp_login_id=login)
    row, _ = messages.send(session, account, outgoing, rules=RULES, now=NOW)
    row.smpp_registered_delivery = registered
    delivery.take_due(session, NOW)
    delivery.record_part(session, row.id, Submitted(1, 1, f"C-{row.id}"), carrier_id="SC1", now=NOW)
    return row


def _stored_mark(session: Session, message_id: str) -> datetime | None:
    """The mark as the row holds it."""
    return session.scalar(select(Message.bind_notice_due_at).where(Message.id == message_id))


@pytest.mark.parametrize(
    ("registered", "outcome", "owed"),
    [
        (1, "delivered", True),  # any final state
        (1, "undelivered", True),
        (1, "expired", True),
        (2, "delivered", False),  # failures only
        (2, "undelivered", True),
        (2, "expired", True),
        (0, "delivered", False),  # none asked
        (0, "undelivered", False),
        (0x11, "delivered", True),  # other bits (SME acks, intermediate) do not matter
        (1, "sent", False),  # an intermediate receipt (ENROUTE): not final
    ],
)
def test_a_carriers_receipt_marks_the_receipt_the_bind_asked_for(  # noqa: PLR0917 - the table's columns
    session: Session, account: str, login: str, registered: int, outcome: PartOutcome, owed: bool
) -> None:
    row = _sent(session, account, login, registered)
    told = delivery.record_receipt(session, "SC1", f"C-{row.id}", outcome, error=None, now=LATER)
    assert told is not None
    # The copy the receipt path returns (read past the ORM) and the row agree.
    assert told.bind_notice_due_at == _stored_mark(session, row.id) == (LATER if owed else None)


def test_a_message_not_submitted_by_smpp_owes_no_bind(
    session: Session, account: str, sender: str
) -> None:
    row = _sent(session, account, None, None)
    delivery.record_receipt(session, "SC1", f"C-{row.id}", "delivered", error=None, now=LATER)
    assert _stored_mark(session, row.id) is None


def test_a_failure_and_the_validitys_end_mark_the_receipt(
    session: Session, account: str, login: str
) -> None:
    failed = _sent(session, account, login, 1)
    failed.status = "sending"  # as a retry would find it
    delivery.record_failure(
        session, failed.id, code="sms.carrier_refused", reason="no", now=LATER, retry_in=None
    )
    lapsing = _sent(session, account, login, 2)
    [expired] = delivery.expire_overdue(session, lapsing.expires_at)
    session.flush()
    assert (failed.status, expired.status) == ("failed", "expired")
    assert _stored_mark(session, failed.id) == LATER
    assert _stored_mark(session, lapsing.id) == lapsing.expires_at


def test_a_final_message_is_not_marked_again_by_a_late_receipt(
    session: Session, account: str, login: str
) -> None:
    row = _sent(session, account, login, 1)
    delivery.record_receipt(session, "SC1", f"C-{row.id}", "delivered", error=None, now=LATER)
    bind_notices.settle(session, [row.id])  # the bind answered
    again = delivery.record_receipt(
        session, "SC1", f"C-{row.id}", "delivered", error=None, now=LATER + timedelta(hours=1)
    )
    assert again is not None
    assert again.bind_notice_due_at is None
    assert _stored_mark(session, row.id) is None


def _receive(session: Session, body: str, now: datetime = NOW) -> Message:
    received = inbound.receive(
        session,
        sender=RECIPIENT,
        recipient=NUMBER,
        body=body,
        carrier_id="SC1",
        rules=RULES,
        now=now,
    )
    assert received is not None
    return received.message


@pytest.mark.parametrize(
    ("has_login", "revoked", "owed"),
    [(True, False, True), (True, True, False), (False, False, False)],
)
def test_an_inbound_message_is_owed_to_the_accounts_binds_when_it_has_a_live_login(  # noqa: PLR0917 - the table's columns
    session: Session, account: str, sender: str, has_login: bool, revoked: bool, owed: bool
) -> None:
    if has_login:
        row, _ = logins.create_login(session, account, "acme", now=T0)
        if revoked:
            logins.revoke_login(session, account, row.id, now=T0)
    message = _receive(session, "See you at 8")
    assert _stored_mark(session, message.id) == (NOW if owed else None)


def test_a_bind_is_owed_its_logins_receipts_and_its_accounts_messages_oldest_first(
    session: Session, account: str, other_account: str, login: str
) -> None:
    other_login, _ = logins.create_login(session, account, "acme2", now=T0)
    mine = _sent(session, account, login, 1)
    theirs = _sent(session, account, other_login.id, 1)
    for row, at in ((mine, NOW + timedelta(seconds=3)), (theirs, NOW + timedelta(seconds=1))):
        delivery.record_receipt(session, "SC1", f"C-{row.id}", "delivered", error=None, now=at)
    received = _receive(session, "See you at 8", NOW + timedelta(seconds=2))
    quiet = _sent(session, account, login, 0)  # asked for none
    delivery.record_receipt(session, "SC1", f"C-{quiet.id}", "delivered", error=None, now=LATER)
    session.flush()

    def owed(login_id: str, account_id: str = account) -> list[str]:
        return [m.id for m in bind_notices.owed(session, login_id=login_id, account_id=account_id)]

    assert owed(login) == [received.id, mine.id]
    assert owed(other_login.id) == [theirs.id, received.id]
    assert owed(login, other_account) == []
    bind_notices.settle(session, [received.id, mine.id])
    assert owed(login) == []
    assert owed(other_login.id) == [theirs.id]


def test_what_is_owed_comes_a_page_at_a_time(session: Session, account: str, login: str) -> None:
    rows = [_sent(session, account, login, 1, body=f"m{i}") for i in range(5)]
    # Two share a moment: the id orders them.
    moments = [NOW, NOW + timedelta(seconds=1), NOW + timedelta(seconds=1), LATER, LATER]
    for row, at in zip(rows, moments, strict=True):
        delivery.record_receipt(session, "SC1", f"C-{row.id}", "delivered", error=None, now=at)
    expected = [r.id for r in sorted(rows, key=lambda r: (moments[rows.index(r)], r.id))]
    got: list[str] = []
    after = None
    while True:
        page = bind_notices.owed(session, login_id=login, account_id=account, after=after, limit=2)
        got += [m.id for m in page]
        if len(page) < 2:
            break
        last = page[-1]
        assert last.bind_notice_due_at is not None
        after = (last.bind_notice_due_at, last.id)
    assert got == expected


def test_the_bind_query_reads_the_partial_index(session: Session, account: str, login: str) -> None:
    """Only the rows owed now are in the index: a bind's look costs what it finds."""
    seen: list[tuple[str, Any]] = []

    def capture(*args: Any) -> None:
        seen.append((args[2], args[3]))  # the statement and its parameters

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", capture)
    try:
        bind_notices.owed(session, login_id=login, account_id=account, after=(NOW, "SM0"))
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    [(statement, parameters)] = [(s, p) for s, p in seen if "bind_notice_due_at" in s]
    assert "ix_messages_bind_notice_due" in query_plan(session, statement, parameters, driver=True)


def test_a_batchs_receipts_are_marked_in_its_transaction_and_not_after_a_rollback(
    tmp_path: Path,
) -> None:
    _, factory = migrated_database(tmp_path / "commit.db")
    with transaction(factory) as session:
        account = accounts.create_account(session, "Acme", now=T0).account.id
        numbers.add_number(session, account, NUMBER, now=T0)
        opt_in(session, account, RECIPIENT)
        login = logins.create_login(session, account, "acme", now=T0)[0].id
        ids = [_sent(session, account, login, 1, body=f"m{i}").id for i in range(3)]
    receipts = [delivery.ReceiptIn("SC1", f"C-{i}", "delivered", None, LATER) for i in ids]

    def failing_batch() -> None:
        with transaction(factory) as session:
            delivery.record_receipts(session, receipts[:1])
            raise RuntimeError("the batch failed")

    with pytest.raises(RuntimeError):
        failing_batch()
    with factory() as session:
        assert bind_notices.owed(session, login_id=login, account_id=account) == []
    with transaction(factory) as session:
        told = delivery.record_receipts(session, receipts)
    assert [m.bind_notice_due_at if m else None for m in told] == [LATER] * 3
    with factory() as session:
        owed = bind_notices.owed(session, login_id=login, account_id=account)
        assert sorted(m.id for m in owed) == sorted(ids)
