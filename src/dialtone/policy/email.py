"""Email rules (TERMS M9) as decisions: pure checks over an email as it will be sent.

M9 asks for permission-based lists, a working unsubscribe link in every marketing
email (transactional mail exempt), removals honoured within 10 days, a physical postal
address, no role addresses on a routine basis, and never collecting government ID
numbers, health data, card or bank numbers or GDPR special categories. What the platform
can check on one email is here; the order is :func:`email_checks`'.

Decisions taken here, where M9 leaves a choice:

- **Unsubscribes are honoured at once**, not within the 10 days M9 allows: the
  suppression is written by the one-click POST itself and every later check (and the
  sender, for mail already queued) reads it.
- **Transactional mail goes to a recipient who unsubscribed**: an unsubscribe is from
  marketing (M9 exempts transactional mail from the unsubscribe link, so the recipient
  was never offered a way out of it). An address that bounced, or that the account
  suppressed itself (``manual``), gets no mail of either kind.
- **Role addresses** (``info@``, ``webmaster@``…) are refused for marketing only:
  "not on a routine basis" forbids list mail to them, not a receipt a customer asked
  for at such an address.
- **Sensitive data** is refused in every email, transactional too: "never collect" has
  no exemption. The keyword lists are the operator's (:class:`Keywords`), like SMS
  content categories.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import Literal

from dialtone.policy.checklist import CheckResult
from dialtone.policy.decision import ALLOWED, Decision, refuse
from dialtone.policy.messaging import Keywords

Kind = Literal["transactional", "marketing"]
KINDS: tuple[Kind, ...] = ("transactional", "marketing")
SuppressionReason = Literal["unsubscribe", "bounce", "manual"]
SUPPRESSION_REASONS: tuple[SuppressionReason, ...] = ("unsubscribe", "bounce", "manual")

# RFC 8058 §3.1: the one value of List-Unsubscribe-Post, and the body of the POST.
ONE_CLICK = "List-Unsubscribe=One-Click"

# M9's "removals honoured within 10 days": dialtone honours them at once (above).
REMOVAL_DAYS = 10

# -- Role addresses --------------------------------------------------------------------

# Local parts that name a function, not a person who signed up (M9's "info@,
# webmaster@"; RFC 2142's mailbox names and the usual no-reply forms).
ROLE_LOCAL_PARTS = frozenset(
    {
        "abuse",
        "admin",
        "administrator",
        "billing",
        "contact",
        "do-not-reply",
        "donotreply",
        "help",
        "hostmaster",
        "info",
        "mailer-daemon",
        "marketing",
        "no-reply",
        "noc",
        "noreply",
        "office",
        "postmaster",
        "root",
        "sales",
        "security",
        "support",
        "webmaster",
    }
)


def local_part(address: str) -> str:
    """The part of ``address`` before the last ``@``, lower case, without a ``+tag``."""
    local = address.rpartition("@")[0].lower()
    return local.split("+", 1)[0]


def is_role_address(address: str, roles: frozenset[str] = ROLE_LOCAL_PARTS) -> bool:
    """Whether ``address`` is a role address (``Info+news@example.com`` is ``info``)."""
    return local_part(address) in roles


def role_address(to: str, *, kind: Kind, roles: frozenset[str] = ROLE_LOCAL_PARTS) -> Decision:
    """TERMS M9: no marketing to role addresses (info@, webmaster@…)."""
    if kind != "marketing" or not is_role_address(to, roles):
        return ALLOWED
    return refuse(
        "email.role_address",
        f"{to} is a role address ({local_part(to)}@): no marketing email to it",
        to=to,
    )


# -- Suppression -------------------------------------------------------------------------


def suppression(to: str, reason: SuppressionReason | None, *, kind: Kind) -> Decision:
    """TERMS M9: an address on the account's suppression list gets no more mail; an
    unsubscribe stops marketing only (transactional mail is exempt, see above)."""
    if reason is None or (reason == "unsubscribe" and kind == "transactional"):
        return ALLOWED
    return refuse(
        "email.suppressed",
        f"{to} is on the suppression list ({reason})",
        to=to,
        reason=reason,
    )


# -- Sensitive data ----------------------------------------------------------------------

# Operator-editable phrases per category: what asks a recipient for data M9 forbids
# collecting. Whole words, case-insensitive (see Keywords).
SENSITIVE_CATEGORIES: Mapping[str, tuple[str, ...]] = {
    "government_id": (
        "social security number",
        "ssn",
        "passport number",
        "national insurance number",
        "national id number",
        "identity card number",
        "driver's license number",
        "driving licence number",
        "tax identification number",
        "numéro de sécurité sociale",
        "numéro fiscal",
    ),
    "card_or_bank": (
        "card number",
        "credit card number",
        "debit card number",
        "cvv",
        "cvc",
        "card security code",
        "iban",
        "bank account number",
        "routing number",
        "sort code",
        "online banking password",
        "numéro de carte",
        "code pin",
        "pin code",
    ),
    "health": (
        "medical history",
        "medical record",
        "health condition",
        "diagnosis",
        "medical condition",
        "prescription details",
        "hiv status",
        "dossier médical",
    ),
    "special_category": (
        "sexual orientation",
        "religious beliefs",
        "political opinions",
        "trade union membership",
        "racial origin",
        "ethnic origin",
        "genetic data",
        "biometric data",
    ),
}
SENSITIVE = Keywords(SENSITIVE_CATEGORIES)


def sensitive_data(text: str, *, keywords: Keywords | None = None) -> Decision:
    """TERMS M9: no email asks for government ID numbers, card or bank numbers, health
    data or GDPR special categories (``text``: the subject and the bodies)."""
    category = (keywords or SENSITIVE).category(text)
    if category is None:
        return ALLOWED
    return refuse(
        "email.sensitive_data",
        f"the email asks for {category.replace('_', ' ')} data, which may never be collected",
        category=category,
    )


# -- Marketing: postal address and one-click unsubscribe -----------------------------------


def _one_click_url(list_unsubscribe: str) -> str | None:
    """The http(s) URL among the ``<…>`` entries of a List-Unsubscribe value."""
    for entry in list_unsubscribe.split(","):
        value = entry.strip()
        if value.startswith("<") and value.endswith(">"):
            url = value[1:-1].strip()
            if url.startswith(("https://", "http://")) and len(url) > len("https://x"):
                return url
    return None


def marketing_requirements(
    *,
    kind: Kind,
    postal_address: str | None,
    list_unsubscribe: str | None,
    list_unsubscribe_post: str | None,
    text_body: str,
    html_body: str | None = None,
) -> Decision:
    """TERMS M9: a marketing email carries the sender's postal address and a working
    unsubscribe: a ``List-Unsubscribe`` header with an http(s) URL and RFC 8058's
    ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``, the address and the URL also
    in the text and in the HTML (the part a reader sees). Checked on the email as
    composed, so what is sent is what was checked. Transactional mail is exempt."""
    if kind != "marketing":
        return ALLOWED
    address = (postal_address or "").strip()
    if not address:
        return refuse(
            "email.postal_address_missing",
            "marketing email carries the sender's postal address: set the account's "
            "postal_address first",
        )
    lines = [line.strip() for line in address.splitlines() if line.strip()]
    if address not in text_body or (
        html_body is not None and not all(escape(line) in html_body for line in lines)
    ):
        return refuse(
            "email.postal_address_missing", "the postal address is not in the email's body"
        )
    url = _one_click_url(list_unsubscribe or "")
    if url is None or list_unsubscribe_post != ONE_CLICK:
        return refuse(
            "email.unsubscribe_missing",
            "marketing email needs a one-click unsubscribe (List-Unsubscribe with an "
            "http(s) URL and List-Unsubscribe-Post: List-Unsubscribe=One-Click)",
        )
    if url not in text_body or (html_body is not None and escape(url) not in html_body):
        return refuse("email.unsubscribe_missing", "the unsubscribe link is not in the body")
    return ALLOWED


# -- The checks of one email, in order ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EmailIntent:
    """An email as the checks see it: as it will be sent (bodies with the footer, the
    List-Unsubscribe headers) and what is known of its recipient and sender."""

    to: str
    kind: Kind
    subject: str
    text_body: str
    html_body: str | None
    suppressed: SuppressionReason | None
    postal_address: str | None
    list_unsubscribe: str | None
    list_unsubscribe_post: str | None
    sensitive: Keywords | None = None
    roles: frozenset[str] = ROLE_LOCAL_PARTS


def email_checks(intent: EmailIntent) -> list[CheckResult]:
    """Every check an email goes through, in order (all M9): the suppression list, role
    addresses, sensitive data asked for, the marketing address and unsubscribe."""
    content = "\n".join((intent.subject, intent.text_body, intent.html_body or ""))
    return [
        CheckResult(
            "suppression", ("M9",), suppression(intent.to, intent.suppressed, kind=intent.kind)
        ),
        CheckResult(
            "role_address", ("M9",), role_address(intent.to, kind=intent.kind, roles=intent.roles)
        ),
        CheckResult("sensitive_data", ("M9",), sensitive_data(content, keywords=intent.sensitive)),
        CheckResult(
            "marketing",
            ("M9",),
            marketing_requirements(
                kind=intent.kind,
                postal_address=intent.postal_address,
                list_unsubscribe=intent.list_unsubscribe,
                list_unsubscribe_post=intent.list_unsubscribe_post,
                text_body=intent.text_body,
                html_body=intent.html_body,
            ),
        ),
    ]
