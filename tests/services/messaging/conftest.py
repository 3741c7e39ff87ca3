"""An account that may message: a number held and activated, a registered sender name,
and a recipient who opted in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from dialtone.services.messaging import consents
from dialtone.services.messaging.rules import MessagingRules
from dialtone.services.numbering import numbers
from dialtone.store.messaging_models import SenderName
from tests.services.conftest import T0

NUMBER = "+33123456789"
RECIPIENT = "+33612345678"
RULES = MessagingRules()
NOW = T0 + timedelta(hours=2)  # 11:00 in Paris: daytime (M5)


def opt_in(session: Session, account: str, recipient: str, *, marketing: bool = False) -> None:
    consents.record_consent(
        session,
        account,
        consents.ConsentIn(
            recipient=recipient,
            source="https://acme.example/signup",
            wording="I agree to receive text messages from Acme.",
            given_at=T0,
            marketing=marketing,
        ),
        now=T0,
    )


@pytest.fixture
def sender(session: Session, account: str) -> str:
    """The account's number, with a recipient who opted in and a sender name."""
    numbers.add_number(session, account, NUMBER, now=T0)
    session.add(SenderName(id="SN1", account_id=account, name="ACME", registered_at=T0))
    opt_in(session, account, RECIPIENT)
    session.flush()
    return NUMBER
