"""Sending: every SMS rule refuses with its code and rule, the dry run agrees with the
real send, accepted messages are stored once (Idempotency-Key), M11 notices."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.policy.checklist import verdict
from dialtone.services.billing import subscriptions
from dialtone.services.compliance import dnc
from dialtone.services.messaging import consents, messages
from dialtone.services.numbering import numbers
from dialtone.store.messaging_models import Message
from dialtone.store.models import Account, AuditEvent, PhoneNumber
from tests.services.conftest import T0
from tests.services.messaging.conftest import NOW, NUMBER, RECIPIENT, RULES, opt_in

HELLO = messages.Outgoing(sender=NUMBER, to=RECIPIENT, body="Your table is ready.")


def test_an_accepted_message_is_stored_queued_with_its_parts(
    session: Session, account: str, sender: str
) -> None:
    row, created = messages.send(session, account, HELLO, rules=RULES, now=NOW)
    assert created
    assert (row.status, row.direction, row.encoding, row.segments) == (
        "queued",
        "outbound",
        "GSM-7",
        1,
    )
    assert row.expires_at == NOW + timedelta(hours=48)
    assert row.next_attempt_at == NOW
    assert messages.get_message(session, account, row.id) is row


def test_national_numbers_are_read_in_the_accounts_country(
    session: Session, account: str, sender: str
) -> None:
    row, _ = messages.send(
        session,
        account,
        replace(HELLO, sender="01 23 45 67 89", to="06 12 34 56 78"),
        rules=RULES,
        now=NOW,
    )
    assert (row.sender, row.recipient) == (NUMBER, RECIPIENT)


def test_a_repeated_idempotency_key_returns_the_first_message(
    session: Session, account: str, sender: str
) -> None:
    keyed = replace(HELLO, idempotency_key="order-42")
    first, created = messages.send(session, account, keyed, rules=RULES, now=NOW)
    again, created_again = messages.send(session, account, keyed, rules=RULES, now=NOW)
    assert created
    assert not created_again
    assert again.id == first.id
    assert session.scalar(select(Message.id).where(Message.id != first.id)) is None
    with pytest.raises(DialtoneError) as refused:
        messages.send(session, account, replace(keyed, body="Other text"), rules=RULES, now=NOW)
    assert refused.value.code == "idempotency.mismatch"


def _use_trial(session: Session, account: str) -> None:
    subscriptions.subscribe(
        session, account, plan_code="trial", currency="EUR", country="FR", now=T0
    )


def _set(session: Session, account: str, **values: object) -> None:
    row = session.get(Account, account)
    for name, value in values.items():
        setattr(row, name, value)
    session.flush()


# Each case: what to change, then the code and rule expected (None: allowed).
CASES: list[tuple[str, dict[str, object], str | None, str | None]] = [
    ("ordinary", {}, None, None),
    ("sender not held", {"sender": "+33199999999"}, "sms.sender_not_owned", "M6"),
    ("registered sender name", {"sender": "ACME"}, None, None),
    ("unregistered sender name", {"sender": "BANK"}, "sms.sender_not_owned", "M6"),
    ("premium number", {"to": "+33899123456"}, "sms.premium", "M1"),
    ("short code", {"to": "36111"}, None, None),  # read as national: not a short code here
    ("international on a business plan", {"to": "+447400123456"}, "sms.international", "M1"),
    ("10 parts", {"body": "x" * 153 * 10}, None, None),
    ("11 parts", {"body": "x" * (153 * 10 + 1)}, "sms.too_long", "M1"),
    ("no opt-in", {"to": "+33612345679"}, "sms.consent_missing", "M3"),
    ("marketing without a marketing opt-in", {"marketing": True}, "sms.consent_missing", "M3"),
    ("restricted content", {"body": "CBD oil -20% today"}, "sms.content_restricted", "M4"),
]


@pytest.mark.parametrize(("name", "changes", "code", "rule"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_refuses_and_the_dry_run_agrees(
    session: Session,
    account: str,
    sender: str,
    *,
    name: str,
    changes: dict[str, object],
    code: str | None,
    rule: str | None,
) -> None:
    outgoing = replace(HELLO, **changes)  # type: ignore[arg-type]
    if name == "short code":
        # A bare 5-digit string is no number of the account's country: both the dry run
        # and the send refuse it before the checks, with the same error.
        with pytest.raises(DialtoneError) as dry_error:
            messages.check(session, account, outgoing, rules=RULES, now=NOW)
        with pytest.raises(DialtoneError) as send_error:
            messages.send(session, account, outgoing, rules=RULES, now=NOW)
        assert dry_error.value.code == send_error.value.code == "number.invalid"
        return
    dry = verdict(messages.check(session, account, outgoing, rules=RULES, now=NOW))
    assert dry.code == code
    if code is None:
        assert messages.send(session, account, outgoing, rules=RULES, now=NOW)[1]
        return
    with pytest.raises(DialtoneError) as refused:
        messages.send(session, account, outgoing, rules=RULES, now=NOW)
    assert (refused.value.code, refused.value.rule) == (code, rule)
    assert session.scalar(select(Message.id)) is None  # nothing stored, nothing billed


def test_m3_an_opted_out_recipient_gets_nothing_until_they_opt_back_in(
    session: Session, account: str, sender: str
) -> None:
    consents.opt_out(
        session, account, RECIPIENT, sender=NUMBER, keyword="STOP", source="keyword", now=T0
    )
    with pytest.raises(DialtoneError) as refused:
        messages.send(session, account, HELLO, rules=RULES, now=NOW)
    assert (refused.value.code, refused.value.rule) == ("sms.opted_out", "M3")
    # Another of the account's senders is not concerned by a STOP to this one.
    assert verdict(
        messages.check(session, account, replace(HELLO, sender="ACME"), rules=RULES, now=NOW)
    ).allowed
    assert consents.opt_in(session, account, RECIPIENT, sender=NUMBER, now=NOW) == 1
    assert messages.send(session, account, HELLO, rules=RULES, now=NOW)[1]


def test_m3_stopall_covers_every_sender(session: Session, account: str, sender: str) -> None:
    consents.opt_out(
        session, account, RECIPIENT, sender=None, keyword="STOPALL", source="keyword", now=T0
    )
    for who in (NUMBER, "ACME"):
        dry = verdict(
            messages.check(session, account, replace(HELLO, sender=who), rules=RULES, now=NOW)
        )
        assert dry.code == "sms.opted_out"


def test_m3_a_number_on_a_register_is_never_messaged(
    session: Session, account: str, sender: str
) -> None:
    dnc.import_csv(session, account, RECIPIENT + "\n", now=T0, region="FR")
    with pytest.raises(DialtoneError) as refused:
        messages.send(session, account, HELLO, rules=RULES, now=NOW)
    assert (refused.value.code, refused.value.rule) == ("sms.do_not_disturb", "M3")


def test_m3_a_withdrawn_consent_no_longer_counts(
    session: Session, account: str, sender: str
) -> None:
    [consent] = consents.consents_of(session, account, RECIPIENT)
    consents.withdraw_consent(session, account, consent.id, now=NOW - timedelta(minutes=1))
    assert verdict(messages.check(session, account, HELLO, rules=RULES, now=NOW)).code == (
        "sms.consent_missing"
    )
    proof = consents.proof(session, account, RECIPIENT)
    assert proof["consents"][0]["withdrawn_at"] is not None  # type: ignore[index]


def test_m5_age_restricted_topics_only_in_the_recipients_daytime(
    session: Session, account: str, sender: str
) -> None:
    _set(session, account, plan="personal")  # M4 would refuse alcohol on a business plan
    wine = replace(HELLO, body="Wine tasting tonight")
    assert verdict(messages.check(session, account, wine, rules=RULES, now=NOW)).allowed
    night = T0.replace(hour=21, minute=30)  # 22:30 in Paris
    assert verdict(messages.check(session, account, wine, rules=RULES, now=night)).code == (
        "sms.outside_daytime"
    )


@pytest.mark.parametrize(("recipients", "code"), [(100, None), (101, "sms.bulk")])
def test_m7_more_than_100_recipients_within_a_minute_is_bulk(
    session: Session, account: str, sender: str, recipients: int, code: str | None
) -> None:
    for i in range(recipients - 1):
        to = f"+336100{i:05d}"
        opt_in(session, account, to)
        messages.send(session, account, replace(HELLO, to=to), rules=RULES, now=NOW)
    dry = verdict(messages.check(session, account, HELLO, rules=RULES, now=NOW))
    assert dry.code == code
    # A minute later the burst no longer counts.
    later = verdict(
        messages.check(session, account, HELLO, rules=RULES, now=NOW + timedelta(minutes=1))
    )
    assert later.allowed


def test_m7_us_long_codes_need_a_10dlc_campaign(session: Session, account: str) -> None:
    _set(session, account, plan="personal")  # international allowed
    numbers.add_number(session, account, "+12025550123", now=T0)
    opt_in(session, account, "+12025550199")
    us = messages.Outgoing(sender="+12025550123", to="+12025550199", body="Hi")
    assert verdict(messages.check(session, account, us, rules=RULES, now=NOW)).code == (
        "sms.campaign_unregistered"
    )
    row = session.scalar(select(PhoneNumber).where(PhoneNumber.number == "+12025550123"))
    assert row is not None
    row.sms_campaign_id = "CX7Y2Z1"
    assert verdict(messages.check(session, account, us, rules=RULES, now=NOW)).allowed


@pytest.mark.parametrize(("sent", "code"), [(99, None), (100, "quota.exhausted")])
def test_m11_a_free_plan_stops_at_its_quota(
    session: Session, account: str, sender: str, sent: int, code: str | None
) -> None:
    _use_trial(session, account)
    rules = replace(RULES, free_plan_quota=100, bulk_recipients=1000)
    for _ in range(sent):
        messages.send(session, account, HELLO, rules=rules, now=NOW)
    assert verdict(messages.check(session, account, HELLO, rules=rules, now=NOW)).code == code


def test_m11_notices_at_80_and_100_percent_once_each(
    session: Session, account: str, sender: str
) -> None:
    _use_trial(session, account)
    rules = replace(RULES, free_plan_quota=10)
    for _ in range(10):
        messages.send(session, account, HELLO, rules=rules, now=NOW)
    notices = session.scalars(
        select(AuditEvent.message).where(AuditEvent.action == "sms.quota_notice")
    ).all()
    assert [n.rsplit("(", 1)[1] for n in notices] == ["80%)", "100%)"]


def test_business_plans_are_a_setting(session: Session, account: str, sender: str) -> None:
    uk = replace(HELLO, to="+447400123456")
    opt_in(session, account, "+447400123456")
    assert verdict(messages.check(session, account, uk, rules=RULES, now=NOW)).code == (
        "sms.international"
    )
    only_enterprise = replace(RULES, business_plans=("enterprise",))
    assert verdict(messages.check(session, account, uk, rules=only_enterprise, now=NOW)).allowed


def test_listing_filters_and_other_accounts_see_nothing(
    session: Session, account: str, other_account: str, sender: str
) -> None:
    first, _ = messages.send(session, account, HELLO, rules=RULES, now=NOW)
    assert [m.id for m in messages.list_messages(session, account)] == [first.id]
    assert messages.list_messages(session, account, status="sent") == []
    assert messages.list_messages(session, other_account) == []
    with pytest.raises(DialtoneError) as missing:
        messages.get_message(session, other_account, first.id)
    assert missing.value.code == "message.not_found"


@pytest.mark.parametrize(
    ("body", "message"),
    [("", "body"), ("x" * 1601, "1600"), ("ok", None)],
)
def test_the_body_is_checked_first(
    session: Session, account: str, sender: str, body: str, message: str | None
) -> None:
    outgoing = replace(HELLO, body=body)
    if message is None:
        assert messages.send(session, account, outgoing, rules=RULES, now=NOW)[1]
        return
    with pytest.raises(DialtoneError) as refused:
        messages.send(session, account, outgoing, rules=RULES, now=NOW)
    assert refused.value.code == "request.invalid"
    assert message in refused.value.message
