"""TERMS M9 as decisions: suppression, role addresses, sensitive data, and a marketing
email's postal address and one-click unsubscribe (RFC 8058), at their boundaries."""

from __future__ import annotations

import pytest

from dialtone.policy.checklist import first_refusal
from dialtone.policy.email import (
    ONE_CLICK,
    EmailIntent,
    Kind,
    SuppressionReason,
    email_checks,
    is_role_address,
    marketing_requirements,
    role_address,
    sensitive_data,
    suppression,
)
from dialtone.policy.messaging import Keywords

ADDRESS = "Acme SAS\n1 rue de la Paix\n75002 Paris"
URL = "https://dialtone.example/v1/email/unsubscribe/abc.def"
FOOTER = f"\n\n-- \n{ADDRESS}\nUnsubscribe: {URL}\n"


@pytest.mark.parametrize(
    ("address", "role"),
    [
        ("info@example.com", True),
        ("INFO@Example.com", True),
        ("info+news@example.com", True),  # a tag does not hide the role
        ("webmaster@example.com", True),
        ("postmaster@example.com", True),
        ("abuse@example.com", True),
        ("noreply@example.com", True),
        ("no-reply@example.com", True),
        ("admin@example.com", True),
        ("sales@example.com", True),
        ("support@example.com", True),
        ("information@example.com", False),  # whole local part only
        ("john.info@example.com", False),
        ("ann@info.example.com", False),  # the domain does not count
        ("ann@example.com", False),
    ],
)
def test_role_addresses(address: str, role: bool) -> None:
    assert is_role_address(address) is role
    decision = role_address(address, kind="marketing")
    assert decision.refused is role
    if role:
        assert (decision.code, decision.rule) == ("email.role_address", "M9")
    assert role_address(address, kind="transactional").allowed  # a receipt may go there


@pytest.mark.parametrize(
    ("reason", "kind", "refused"),
    [
        (None, "marketing", False),
        (None, "transactional", False),
        ("unsubscribe", "marketing", True),
        ("unsubscribe", "transactional", False),  # M9 exempts transactional mail
        ("bounce", "marketing", True),
        ("bounce", "transactional", True),
        ("manual", "marketing", True),
        ("manual", "transactional", True),
    ],
)
def test_suppression(reason: SuppressionReason | None, kind: Kind, refused: bool) -> None:
    decision = suppression("ann@example.com", reason, kind=kind)
    assert decision.refused is refused
    if refused:
        assert (decision.code, decision.rule) == ("email.suppressed", "M9")
        assert decision.details == {"to": "ann@example.com", "reason": reason}


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Please reply with your social security number.", "government_id"),
        ("Reply with your Social  Security\nNumber", "government_id"),
        ("Your SSN, please", "government_id"),
        ("Confirm your passport number", "government_id"),
        ("Enter your card number and CVV", "card_or_bank"),
        ("Send us your IBAN", "card_or_bank"),
        ("Tell us about your medical history", "health"),
        ("Your sexual orientation (optional)", "special_category"),
        ("Social security reform: our view", None),  # not asking for a number
        ("lessn plans", None),  # whole words only
        ("Your card is on its way", None),
        ("Thank you for your order", None),
    ],
)
def test_sensitive_data(text: str, category: str | None) -> None:
    decision = sensitive_data(text)
    if category is None:
        assert decision.allowed
        return
    assert (decision.code, decision.rule) == ("email.sensitive_data", "M9")
    assert decision.details == {"category": category}


def test_the_operator_edits_the_sensitive_lists() -> None:
    own = Keywords({"government_id": ("numéro fiscal",), "health": ("blood type",)})
    assert sensitive_data("Your blood type?", keywords=own).refused
    assert sensitive_data("Your SSN?", keywords=own).allowed  # not on the operator's list


def _marketing(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "kind": "marketing",
        "postal_address": ADDRESS,
        "list_unsubscribe": f"<{URL}>",
        "list_unsubscribe_post": ONE_CLICK,
        "text_body": "Winter offer." + FOOTER,
        "html_body": None,
    }
    return base | changes


HTML_OK = (
    "<p>Winter offer.</p><p>Acme SAS<br>1 rue de la Paix<br>75002 Paris</p>"
    f'<a href="{URL}">Unsubscribe</a>'
)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({}, None),
        ({"list_unsubscribe": f"<mailto:unsubscribe@acme.example>, <{URL}>"}, None),
        ({"html_body": HTML_OK}, None),
        ({"kind": "transactional", "postal_address": None, "list_unsubscribe": None}, None),
        ({"postal_address": None}, "email.postal_address_missing"),
        ({"postal_address": "   "}, "email.postal_address_missing"),
        ({"text_body": "Winter offer.\nUnsubscribe: " + URL}, "email.postal_address_missing"),
        (
            {"html_body": "<p>Acme SAS</p>" + f'<a href="{URL}">x</a>'},
            "email.postal_address_missing",
        ),
        ({"list_unsubscribe": None}, "email.unsubscribe_missing"),
        ({"list_unsubscribe": "<mailto:unsubscribe@acme.example>"}, "email.unsubscribe_missing"),
        ({"list_unsubscribe": URL}, "email.unsubscribe_missing"),  # not in angle brackets
        ({"list_unsubscribe": "<ftp://acme.example/u>"}, "email.unsubscribe_missing"),
        ({"list_unsubscribe_post": None}, "email.unsubscribe_missing"),
        ({"list_unsubscribe_post": "List-Unsubscribe=one-click"}, "email.unsubscribe_missing"),
        ({"text_body": f"Winter offer.\n{ADDRESS}\n"}, "email.unsubscribe_missing"),
        ({"html_body": HTML_OK.replace(URL, "https://elsewhere")}, "email.unsubscribe_missing"),
    ],
)
def test_marketing_requirements(changes: dict[str, object], code: str | None) -> None:
    decision = marketing_requirements(**_marketing(**changes))  # type: ignore[arg-type]
    assert decision.code == code
    if code is not None:
        assert decision.rule == "M9"


def _intent(**changes: object) -> EmailIntent:
    values: dict[str, object] = {
        "to": "ann@example.com",
        "kind": "marketing",
        "subject": "Winter offer",
        "text_body": "Twenty per cent off." + FOOTER,
        "html_body": None,
        "suppressed": None,
        "postal_address": ADDRESS,
        "list_unsubscribe": f"<{URL}>",
        "list_unsubscribe_post": ONE_CLICK,
    }
    return EmailIntent(**(values | changes))  # type: ignore[arg-type]


def test_the_checks_in_order_and_the_first_refusal_wins() -> None:
    results = email_checks(_intent())
    assert [r.name for r in results] == [
        "suppression",
        "role_address",
        "sensitive_data",
        "marketing",
    ]
    assert all(r.rules == ("M9",) for r in results)
    assert first_refusal(results) is None
    everything_wrong = _intent(
        to="info@example.com",
        suppressed="unsubscribe",
        subject="Your IBAN please",
        postal_address=None,
    )
    refused = first_refusal(email_checks(everything_wrong))
    assert refused is not None
    assert refused.decision.code == "email.suppressed"
    codes = [r.decision.code for r in email_checks(everything_wrong)]
    assert codes == [
        "email.suppressed",
        "email.role_address",
        "email.sensitive_data",
        "email.postal_address_missing",
    ]


def test_sensitive_words_are_found_in_the_subject_and_the_html_too() -> None:
    for changes in ({"subject": "Your CVV"}, {"html_body": "<p>your passport number</p>"}):
        refused = first_refusal(email_checks(_intent(kind="transactional", **changes)))
        assert refused is not None
        assert refused.decision.code == "email.sensitive_data"
