"""A batch of messages checked through one ``Facts`` (the SMPP server's group commit,
``messages.accept``) refuses and stores exactly what the same messages sent one at a
time (``messages.send``) refuse and store: the facts read once
are kept true as the batch stores messages (M7's last minute, M11's quota)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.services.billing import subscriptions
from dialtone.services.compliance import dnc
from dialtone.services.messaging import consents, messages
from dialtone.services.messaging.rules import MessagingRules
from dialtone.store.messaging_models import Message
from dialtone.store.models import Account, AuditEvent
from tests.services.conftest import T0
from tests.services.messaging.conftest import NOW, NUMBER, RECIPIENT, RULES, opt_in

HELLO = messages.Outgoing(sender=NUMBER, to=RECIPIENT, body="Your table is ready.")


def _outcomes(
    session: Session,
    account: str,
    batch: Sequence[messages.Outgoing],
    rules: MessagingRules,
    *,
    shared: bool,
) -> list[str | None]:
    """Each message's refusal code (None: stored), in a savepoint rolled back after."""
    savepoint = session.begin_nested()
    together = messages.Batch.of(session, rules)
    together.known.prefetch(account, [m.to for m in batch])
    codes: list[str | None] = []
    for outgoing in batch:
        try:
            if shared:
                messages.accept(session, account, outgoing, batch=together, now=NOW)
            else:
                messages.send(session, account, outgoing, rules=rules, now=NOW)
        except DialtoneError as error:
            codes.append(error.code)
        else:
            codes.append(None)
    messages.insert_accepted(session, together)
    assert len(session.scalars(select(Message.id)).all()) == codes.count(None)
    savepoint.rollback()
    return codes


def _both(
    session: Session, account: str, batch: Sequence[messages.Outgoing], rules: MessagingRules
) -> list[str | None]:
    together = _outcomes(session, account, batch, rules, shared=True)
    alone = _outcomes(session, account, batch, rules, shared=False)
    assert together == alone
    return together


def test_mixed_recipients_get_the_same_answers_in_a_batch(
    session: Session, account: str, sender: str
) -> None:
    opt_in(session, account, "+33612345601")
    opt_in(session, account, "+33612345602")
    opt_in(session, account, "+33612345603")
    consents.opt_out(
        session, account, "+33612345601", sender=NUMBER, keyword="STOP", source="keyword", now=T0
    )
    dnc.import_csv(session, account, "+33612345602\n", now=T0, region="FR")
    [consent] = consents.consents_of(session, account, "+33612345603")
    consents.withdraw_consent(session, account, consent.id, now=T0)
    batch = [
        HELLO,
        replace(HELLO, to="+33612345601"),  # opted out of this sender
        replace(HELLO, to="+33612345601", sender="ACME"),  # another sender: not concerned
        replace(HELLO, to="+33612345602"),  # on the account's list
        replace(HELLO, to="+33612345603"),  # consent withdrawn
        replace(HELLO, to="+33612345604"),  # never opted in
        replace(HELLO, sender="BANK"),  # no such sender name
        HELLO,
    ]
    assert _both(session, account, batch, RULES) == [
        None,
        "sms.opted_out",
        None,
        "sms.do_not_disturb",
        "sms.consent_missing",
        "sms.consent_missing",
        "sms.sender_not_owned",
        None,
    ]


@pytest.mark.parametrize(("recipients", "last"), [(100, None), (101, "sms.bulk")])
def test_m7_the_batch_counts_its_own_recipients(
    session: Session, account: str, sender: str, recipients: int, last: str | None
) -> None:
    batch = []
    for i in range(recipients):
        to = f"+336100{i:05d}"
        opt_in(session, account, to)
        batch.append(replace(HELLO, to=to))
    codes = _both(session, account, batch, RULES)
    assert codes == [None] * (recipients - 1) + [last]


@pytest.mark.parametrize(("messages_sent", "refused"), [(3, 0), (4, 1), (5, 2)])
def test_m11_the_batch_counts_its_own_parts_against_the_quota(
    session: Session, account: str, sender: str, messages_sent: int, refused: int
) -> None:
    subscriptions.subscribe(
        session, account, plan_code="trial", currency="EUR", country="FR", now=T0
    )
    rules = replace(RULES, free_plan_quota=3)
    codes = _both(session, account, [HELLO] * messages_sent, rules)
    assert codes == [None] * (messages_sent - refused) + ["quota.exhausted"] * refused


def test_m11_notices_once_each_within_one_batch(
    session: Session, account: str, sender: str
) -> None:
    subscriptions.subscribe(
        session, account, plan_code="trial", currency="EUR", country="FR", now=T0
    )
    rules = replace(RULES, free_plan_quota=5)
    batch = messages.Batch.of(session, rules)
    for _ in range(5):
        messages.accept(session, account, HELLO, batch=batch, now=NOW)
    messages.insert_accepted(session, batch)
    notices = session.scalars(
        select(AuditEvent.message).where(AuditEvent.action == "sms.quota_notice")
    ).all()
    assert [n.rsplit("(", 1)[1] for n in notices] == ["80%)", "100%)"]
    assert len(session.scalars(select(Message.id)).all()) == 5


def test_an_account_suspended_mid_batch_is_read_once_per_batch(
    session: Session, account: str, sender: str
) -> None:
    # The batch is one transaction: facts read at its start stand for all of it, as a
    # single transaction's reads would.
    batch = messages.Batch.of(session, RULES)
    messages.accept(session, account, HELLO, batch=batch, now=NOW)
    row = session.get(Account, account)
    assert row is not None
    row.messaging_suspended_at = NOW
    messages.accept(session, account, HELLO, batch=batch, now=NOW)
    assert len(batch.rows) == 2
    with pytest.raises(DialtoneError) as refused:
        messages.send(session, account, HELLO, rules=RULES, now=NOW)
    assert refused.value.code == "sms.proof_overdue"


def test_an_idempotency_key_repeated_within_a_batch_answers_the_first(
    session: Session, account: str, sender: str
) -> None:
    keyed = replace(HELLO, idempotency_key="order-7")
    batch = messages.Batch.of(session, RULES)
    first = messages.accept(session, account, keyed, batch=batch, now=NOW)
    again = messages.accept(session, account, keyed, batch=batch, now=NOW)
    assert (first.created, again.created, again.id) == (True, False, first.id)
    with pytest.raises(DialtoneError) as refused:
        messages.accept(session, account, replace(keyed, body="Other"), batch=batch, now=NOW)
    assert refused.value.code == "idempotency.mismatch"
    messages.insert_accepted(session, batch)
    # In a later batch the key is found in the store.
    later = messages.Batch.of(session, RULES)
    assert messages.accept(session, account, keyed, batch=later, now=NOW).id == first.id
    assert later.rows == []
