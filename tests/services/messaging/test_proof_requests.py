"""TERMS M3: a proof of consent asked for must be produced within 24 hours, or the
account's messaging is suspended until it is."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.policy.checklist import verdict
from dialtone.services.messaging import consents, messages
from dialtone.store.models import Account
from tests.services.messaging.conftest import NOW, NUMBER, RECIPIENT, RULES

HELLO = messages.Outgoing(sender=NUMBER, to=RECIPIENT, body="Your table is ready.")
DAY = timedelta(hours=24)


def test_an_unanswered_request_suspends_messaging_until_it_is_answered(
    session: Session, account: str, sender: str
) -> None:
    request = consents.request_proof(session, account, RECIPIENT, requested_by="carrier X", now=NOW)
    assert request.due_at == NOW + DAY
    # Just under 24 hours: nothing happens.
    assert consents.review_proof_requests(session, NOW + DAY - timedelta(seconds=1)) == []
    assert verdict(messages.check(session, account, HELLO, rules=RULES, now=NOW)).allowed
    # At 24 hours: suspended, once.
    later = NOW + DAY
    assert consents.review_proof_requests(session, later) == [account]
    assert consents.review_proof_requests(session, later) == []
    dry = verdict(messages.check(session, account, HELLO, rules=RULES, now=later))
    assert (dry.code, dry.rule) == ("sms.proof_overdue", "M3")
    with pytest.raises(DialtoneError) as refused:
        messages.send(session, account, HELLO, rules=RULES, now=later)
    assert refused.value.code == "sms.proof_overdue"
    # Answering, even late, produces the proof and lifts the suspension.
    document = consents.answer_proof_request(session, account, request.id, now=later)
    assert document["recipient"] == RECIPIENT
    assert document["consents"][0]["source"] == "https://acme.example/signup"  # type: ignore[index]
    assert session.get(Account, account).messaging_suspended_at is None  # type: ignore[union-attr]
    assert verdict(messages.check(session, account, HELLO, rules=RULES, now=later)).allowed


def test_a_recipient_without_an_opt_in_has_no_proof(
    session: Session, account: str, sender: str
) -> None:
    request = consents.request_proof(
        session, account, "+33612345670", requested_by="regulator", now=NOW
    )
    with pytest.raises(DialtoneError) as refused:
        consents.answer_proof_request(session, account, request.id, now=NOW)
    assert (refused.value.code, refused.value.rule) == ("consent.no_proof", "M3")
    assert request.answered_at is None


def test_another_accounts_request_is_not_found(
    session: Session, account: str, other_account: str, sender: str
) -> None:
    request = consents.request_proof(session, account, RECIPIENT, requested_by="x", now=NOW)
    with pytest.raises(DialtoneError) as missing:
        consents.answer_proof_request(session, other_account, request.id, now=NOW)
    assert missing.value.code == "consent.request_not_found"
