"""The email service (TERMS M9): composed, checked and stored ``queued``; one-click
unsubscribe tokens; the suppression list honoured at once; the retry schedule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.services.accounts import account_data, accounts
from dialtone.services.messaging import email
from dialtone.store.email_models import EmailMessage
from tests.services.conftest import T0

KEY = bytes(range(32))
RULES = email.EmailRules(
    default_from="news@acme.example", unsubscribe_base_url="https://dialtone.example/"
)
ADDRESS = "Acme SAS\n1 rue de la Paix\n75002 Paris"


def _send(
    session: Session, account: str, *, rules: email.EmailRules = RULES, **fields: object
) -> tuple[EmailMessage, bool]:
    values: dict[str, object] = {
        "to": "ann@example.com",
        "subject": "Your receipt",
        "text": "Thank you for your order.",
    }
    outgoing = email.Outgoing(**(values | fields))  # type: ignore[arg-type]
    return email.send(session, account, outgoing, rules=rules, platform_key=KEY, now=T0)


def test_transactional_email_is_stored_queued_as_written(session: Session, account: str) -> None:
    row, created = _send(session, account)
    assert created
    assert row.id.startswith("EM")
    assert (row.status, row.kind, row.sender, row.recipient) == (
        "queued",
        "transactional",
        "news@acme.example",
        "ann@example.com",
    )
    assert row.text_body == "Thank you for your order."
    assert row.list_unsubscribe is None
    assert row.message_id_header == f"<{row.id}@acme.example>"
    assert (row.attempts, row.next_attempt_at, row.created_at) == (0, T0, T0)


def test_marketing_needs_the_accounts_postal_address(session: Session, account: str) -> None:
    with pytest.raises(DialtoneError) as refused:
        _send(session, account, kind="marketing")
    assert (refused.value.code, refused.value.rule, refused.value.status) == (
        "email.postal_address_missing",
        "M9",
        403,
    )
    assert session.scalars(select(EmailMessage)).all() == []


def test_marketing_gets_the_address_and_the_one_click_unsubscribe(
    session: Session, account: str
) -> None:
    accounts.set_postal_address(session, account, "  Acme SAS \r\n1 rue de la Paix\n\n75002 Paris ")
    row, _ = _send(
        session,
        account,
        kind="marketing",
        to="Ann@Example.com",
        text="Winter offer.\n",
        html="<html><body><p>Winter offer.</p></BODY></html>",
    )
    token = email.unsubscribe_token(KEY, account, "ann@example.com")
    url = f"https://dialtone.example/v1/email/unsubscribe/{token}"
    assert row.list_unsubscribe == f"<{url}>"
    assert row.text_body == f"Winter offer.\n\n-- \n{ADDRESS}\nUnsubscribe: {url}\n"
    assert row.html_body is not None
    assert row.html_body.startswith("<html><body><p>Winter offer.</p><hr>")
    assert row.html_body.endswith("</BODY></html>")  # the footer goes inside the body
    assert "Acme SAS<br>1 rue de la Paix<br>75002 Paris" in row.html_body
    assert f'<a href="{url}">Unsubscribe</a>' in row.html_body


def test_no_unsubscribe_address_configured_refuses_marketing(
    session: Session, account: str
) -> None:
    accounts.set_postal_address(session, account, ADDRESS)
    rules = email.EmailRules(default_from="news@acme.example", unsubscribe_base_url="")
    with pytest.raises(DialtoneError) as refused:
        _send(session, account, kind="marketing", rules=rules)
    assert (refused.value.code, refused.value.rule) == ("email.unsubscribe_missing", "M9")
    assert _send(session, account, rules=rules)[1]  # transactional needs none


def test_email_is_refused_while_no_relay_is_configured(session: Session, account: str) -> None:
    with pytest.raises(DialtoneError) as refused:
        _send(session, account, rules=email.EmailRules(enabled=False, default_from="a@b.example"))
    assert (refused.value.code, refused.value.status) == ("email.disabled", 503)


@pytest.mark.parametrize(
    "fields",
    [
        {"to": "not-an-address"},
        {"to": "ann@localhost"},  # no dot in the domain
        {"to": "ann lee@example.com"},
        {"to": "ann@example.com\r\nBcc: all@example.com"},
        {"to": "ann@example.com,bob@example.com"},
        {"to": "<ann@example.com>"},
        {"to": "a" * 243 + "@example.com"},  # 255 characters
        {"sender": "news@acme"},
        {"subject": ""},
        {"subject": "Hello\r\nBcc: all@example.com"},
        {"subject": "x" * 999},
        {"text": "  \n"},
        {"text": "x" * (email.MAX_BODY + 1)},
        {"html": "x" * (email.MAX_BODY + 1)},
        {"kind": "newsletter"},
    ],
)
def test_invalid_emails_are_refused(
    session: Session, account: str, fields: dict[str, object]
) -> None:
    with pytest.raises(DialtoneError) as refused:
        _send(session, account, **fields)
    assert refused.value.code == "email.invalid"


@pytest.mark.parametrize(
    "fields",
    [
        {"to": "a" * 242 + "@example.com"},  # 254 characters
        {"subject": "x" * 998},
        {"text": "x" * email.MAX_BODY},
        {"to": "ann.lee+news@mail.example.co.uk"},
    ],
)
def test_the_limits_themselves_are_accepted(
    session: Session, account: str, fields: dict[str, object]
) -> None:
    assert _send(session, account, **fields)[1]


def test_no_sender_and_no_default_is_refused(session: Session, account: str) -> None:
    with pytest.raises(DialtoneError) as refused:
        _send(session, account, rules=email.EmailRules())
    assert refused.value.code == "email.invalid"
    assert _send(session, account, rules=email.EmailRules(), sender="ops@acme.example")[1]


def test_an_idempotency_key_returns_the_email_it_created(session: Session, account: str) -> None:
    first, created = _send(session, account, idempotency_key="k1")
    again, created_again = _send(session, account, idempotency_key="k1")
    assert (created, created_again, again.id) == (True, False, first.id)
    with pytest.raises(DialtoneError) as refused:
        _send(session, account, idempotency_key="k1", subject="Another")
    assert refused.value.code == "idempotency.mismatch"
    assert len(session.scalars(select(EmailMessage)).all()) == 1


def test_tokens_round_trip_and_refuse_any_change() -> None:
    token = email.unsubscribe_token(KEY, "AC1", "Ann@Example.com")
    assert email.read_token(KEY, token) == ("AC1", "ann@example.com")
    payload, _, mac = token.partition(".")
    other = email.unsubscribe_token(KEY, "AC1", "bob@example.com").partition(".")[0]
    for forged in (
        f"{other}.{mac}",  # another address under this MAC
        f"{payload}.{mac[:-1]}",
        payload,
        "",
        "...",
        "!!!.???",
    ):
        with pytest.raises(DialtoneError) as refused:
            email.read_token(KEY, forged)
        assert refused.value.code == "email.unsubscribe_invalid"
    with pytest.raises(DialtoneError):
        email.read_token(bytes(32), token)  # another platform's key


def test_an_unsubscribe_is_honoured_at_once_even_for_queued_mail(
    session: Session, account: str
) -> None:
    accounts.set_postal_address(session, account, ADDRESS)
    offer, _ = _send(session, account, kind="marketing")
    receipt, _ = _send(session, account, to="ANN@example.com")
    token = email.unsubscribe_token(KEY, account, "ann@example.com")
    entry = email.unsubscribe(session, KEY, token, now=T0 + timedelta(minutes=1))
    assert (entry.address, entry.reason) == ("ann@example.com", "unsubscribe")
    session.refresh(offer)
    session.refresh(receipt)
    assert (offer.status, offer.error_code) == ("suppressed", "email.suppressed")
    assert receipt.status == "queued"  # transactional mail still goes (M9 exempts it)
    with pytest.raises(DialtoneError) as refused:
        _send(session, account, kind="marketing", subject="Last days")
    assert (refused.value.code, refused.value.rule) == ("email.suppressed", "M9")
    assert _send(session, account, subject="Your invoice")[1]


def test_an_unsubscribe_stays_with_its_account(
    session: Session, account: str, other_account: str
) -> None:
    for owner in (account, other_account):
        accounts.set_postal_address(session, owner, ADDRESS)
    email.unsubscribe(
        session, KEY, email.unsubscribe_token(KEY, account, "ann@example.com"), now=T0
    )
    assert _send(session, other_account, kind="marketing")[1]
    with pytest.raises(DialtoneError):
        email.unsubscribe(
            session, KEY, email.unsubscribe_token(KEY, "ACgone", "a@b.example"), now=T0
        )


def test_bounced_and_manual_addresses_get_no_mail_at_all(session: Session, account: str) -> None:
    email.suppress(session, account, "Gone@Example.com", "bounce", now=T0)
    email.suppress(session, account, "bob@example.com", "manual", now=T0)
    for to in ("gone@example.com", "bob@example.com"):
        with pytest.raises(DialtoneError) as refused:
            _send(session, account, to=to)
        assert refused.value.code == "email.suppressed"


def test_only_the_recipient_lifts_an_unsubscribe(session: Session, account: str) -> None:
    email.suppress(session, account, "ann@example.com", "manual", now=T0)
    upgraded = email.suppress(session, account, "ann@example.com", "unsubscribe", now=T0)
    assert upgraded.reason == "unsubscribe"
    assert email.suppress(session, account, "ann@example.com", "manual", now=T0).reason == (
        "unsubscribe"
    )
    with pytest.raises(DialtoneError) as refused:
        email.remove_suppression(session, account, "ann@example.com")
    assert (refused.value.code, refused.value.rule, refused.value.status) == (
        "suppression.unsubscribed",
        "M9",
        409,
    )
    email.suppress(session, account, "bob@example.com", "manual", now=T0)
    email.remove_suppression(session, account, "BOB@example.com")
    assert [s.address for s in email.list_suppressions(session, account)] == ["ann@example.com"]
    with pytest.raises(DialtoneError) as missing:
        email.remove_suppression(session, account, "bob@example.com")
    assert missing.value.code == "suppression.not_found"


def test_other_accounts_emails_are_not_found(
    session: Session, account: str, other_account: str
) -> None:
    row, _ = _send(session, account)
    assert email.get_email(session, account, row.id) is row
    with pytest.raises(DialtoneError) as refused:
        email.get_email(session, other_account, row.id)
    assert refused.value.code == "email.not_found"
    assert email.list_emails(session, other_account) == []
    assert email.list_emails(session, account, to="ANN@example.com") == [row]
    assert email.list_emails(session, account, kind="marketing") == []


def test_taken_email_is_left_alone_until_its_outcome(session: Session, account: str) -> None:
    row, _ = _send(session, account)
    [due] = email.take_due(session, T0)
    assert (due.id, due.recipient, due.message_id) == (row.id, row.recipient, row.message_id_header)
    assert email.take_due(session, T0 + timedelta(minutes=4)) == []
    message = email.mime(due)
    assert (message["From"], message["To"], message["Message-ID"]) == (
        "news@acme.example",
        "ann@example.com",
        row.message_id_header,
    )
    assert message["List-Unsubscribe"] is None
    # Suppressed while in flight, then taken by the relay: it did go out.
    email.suppress(session, account, "ann@example.com", "manual", now=T0)
    email.record_sent(session, row.id, now=T0 + timedelta(seconds=1))
    assert (row.status, row.attempts, row.error_code) == ("sent", 1, None)


@pytest.mark.parametrize(
    ("age", "attempts", "status", "wait"),
    [
        (timedelta(0), 1, "queued", timedelta(seconds=30)),
        (timedelta(0), 3, "queued", timedelta(minutes=2)),
        (timedelta(0), 8, "queued", timedelta(hours=1)),  # capped
        (timedelta(hours=24) - timedelta(seconds=1), 5, "queued", timedelta(minutes=8)),
        (timedelta(hours=24), 5, "failed", None),  # a day after it was stored
    ],
)
def test_the_retry_schedule(
    session: Session,
    account: str,
    *,
    age: timedelta,
    attempts: int,
    status: str,
    wait: timedelta | None,
) -> None:
    row, _ = _send(session, account)
    row.attempts = attempts - 1
    now = T0 + age
    email.record_failure(session, row.id, error="451 later", permanent=False, now=now)
    assert (row.status, row.attempts, row.error) == (status, attempts, "451 later")
    assert row.next_attempt_at == (now + wait if wait is not None else None)
    assert row.error_code == (None if wait is not None else "email.smtp_unavailable")


def test_a_permanent_failure_bounces_only_when_the_recipient_was_refused(
    session: Session, account: str
) -> None:
    spam, _ = _send(session, account)
    email.record_failure(session, spam.id, error="554 spam", permanent=True, now=T0)
    assert (spam.status, spam.error_code) == ("failed", "email.smtp_refused")
    assert email.list_suppressions(session, account) == []
    gone, _ = _send(session, account, to="gone@example.com")
    later, _ = _send(session, account, to="gone@example.com", subject="Another")
    email.record_failure(
        session, gone.id, error="550 no such user", permanent=True, bounced=True, now=T0
    )
    [entry] = email.list_suppressions(session, account)
    assert (entry.address, entry.reason) == ("gone@example.com", "bounce")
    session.refresh(later)
    assert later.status == "suppressed"  # queued mail to a bounced address stops too


def test_the_accounts_export_has_its_emails_and_suppressions(
    session: Session, account: str
) -> None:
    row, _ = _send(session, account)
    email.suppress(session, account, "bob@example.com", "manual", now=T0)
    data = account_data.export(session, account, now=T0)
    assert [e["id"] for e in data["emails"]] == [row.id]
    assert [s["address"] for s in data["email_suppressions"]] == ["bob@example.com"]
