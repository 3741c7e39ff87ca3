"""Email through the operator's SMTP relay (issue 15, TERMS M9): checked, stored
``queued`` before it is acknowledged, then sent by the runtime (``runtime/email_sender``).

A marketing email is composed here with what M9 asks for, before the checks read it:
the account's postal address and the unsubscribe link at the end of its text (and of
its HTML), and the ``List-Unsubscribe`` / ``List-Unsubscribe-Post`` headers of RFC
8058. The link's token is an HMAC of (account, address) keyed from the platform's key:
no table of tokens, and a link stays valid as long as the platform's key. A POST to it
(the recipient's mail client's one-click, or the confirm page's button) writes the
suppression at once; mail to that address already queued is suppressed with it.

States: ``queued → sent | failed | suppressed``. A temporary SMTP error (4xx, no
connection) leaves the email ``queued`` and retries it after 30 s doubling to an hour,
failed a day after it was stored; a permanent one (5xx) fails it, and a recipient
refused for good is put on the account's suppression list (``bounce``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage as MimeMessage
from email.policy import SMTP
from email.utils import format_datetime
from html import escape

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from dialtone.core.errors import Conflict, DialtoneError, NotFound
from dialtone.policy.checklist import CheckResult, first_refusal
from dialtone.policy.email import (
    KINDS,
    ONE_CLICK,
    ROLE_LOCAL_PARTS,
    SUPPRESSION_REASONS,
    EmailIntent,
    Kind,
    email_checks,
)
from dialtone.policy.messaging import Keywords
from dialtone.services.accounts.accounts import get_account
from dialtone.services.ids import new_id
from dialtone.store.email_models import EmailMessage, EmailSuppression

STATES = ("queued", "sent", "failed", "suppressed")
MAX_ADDRESS = 254  # RFC 5321 §4.5.3.1.3 (a path of 256 with its brackets)
MAX_SUBJECT = 998  # RFC 5322 §2.1.1: a line
MAX_BODY = 256_000  # characters of each body; the API takes 1 MiB of JSON
UNSUBSCRIBE_PATH = "/v1/email/unsubscribe/"
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=24)
IN_FLIGHT = timedelta(minutes=5)  # how long a taken email is left alone by other rounds

# Not a full RFC 5322 address (no quoted local parts, no comments): what a sign-up form
# collects. No white space, no control characters, no header syntax can get through.
_ADDRESS = re.compile(r"[^\s@<>()\[\],;:\"\\]+@[^\s@<>()\[\],;:\"\\.]+(\.[^\s@<>()\[\],;:\"\\.]+)+")


@dataclass(frozen=True, slots=True)
class EmailRules:
    """The operator's values (the settings' email section, as services take them)."""

    enabled: bool = True
    default_from: str = ""
    unsubscribe_base_url: str = "http://127.0.0.1:8000"
    sensitive: Keywords | None = None  # None: policy.email.SENSITIVE
    role_local_parts: frozenset[str] | None = None  # None: policy.email.ROLE_LOCAL_PARTS


@dataclass(frozen=True, slots=True)
class Outgoing:
    """An email an account asks to send, as the API gave it."""

    to: str
    subject: str
    text: str
    kind: str = "transactional"
    html: str | None = None
    sender: str | None = None  # None: the operator's default sender
    idempotency_key: str | None = None


# -- Addresses and tokens -------------------------------------------------------------------


def valid_address(address: str, field_name: str) -> str:
    """``address`` stripped, or ``email.invalid`` naming ``field_name``."""
    value = address.strip()
    if len(value) > MAX_ADDRESS or not _ADDRESS.fullmatch(value) or not value.isprintable():
        raise DialtoneError(
            "email.invalid", f"{field_name}: an email address like name@example.com ({value!r})."
        )
    return value


def suppression_key(address: str) -> str:
    """How an address is kept on the suppression list: lower case, stripped."""
    return address.strip().lower()


def _token_key(platform_key: bytes) -> bytes:
    return hmac.new(platform_key, b"email-unsubscribe", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def unsubscribe_token(platform_key: bytes, account_id: str, address: str) -> str:
    """The token of the unsubscribe link of ``address``'s mail from the account: the
    pair, and its HMAC-SHA256 (128 bits) under a key derived from the platform's."""
    payload = _b64(f"{account_id}:{suppression_key(address)}".encode())
    mac = hmac.new(_token_key(platform_key), payload.encode(), hashlib.sha256).digest()[:16]
    return f"{payload}.{_b64(mac)}"


def read_token(platform_key: bytes, token: str) -> tuple[str, str]:
    """(account id, address) of a token made by :func:`unsubscribe_token`;
    ``email.unsubscribe_invalid`` when it is not one."""
    invalid = NotFound("email.unsubscribe_invalid", "This unsubscribe link is not valid.")
    payload, _, mac = token.partition(".")
    try:
        given = _unb64(mac)
        account_id, _, address = _unb64(payload).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid from None
    expected = hmac.new(_token_key(platform_key), payload.encode(), hashlib.sha256).digest()[:16]
    if not hmac.compare_digest(given, expected) or not account_id or not address:
        raise invalid
    return account_id, address


def unsubscribe_url(base_url: str, token: str) -> str:
    """Where the one-click POST (and the confirm page) of ``token`` is."""
    return base_url.rstrip("/") + UNSUBSCRIBE_PATH + token


# -- Composition -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Composed:
    """The email as it goes on the wire (the checks read this)."""

    text: str
    html: str | None
    list_unsubscribe: str | None = None
    list_unsubscribe_post: str | None = None


def compose(
    text: str, html: str | None, *, kind: str, postal_address: str | None, url: str | None
) -> Composed:
    """A marketing email gets the sender's postal address and the unsubscribe link at
    the end of its text and of its HTML, and the List-Unsubscribe headers (RFC 2369,
    RFC 8058); transactional mail is left as written. With no address or no URL the
    email is composed without them, and the checks refuse it."""
    if kind != "marketing":
        return Composed(text, html)
    address = (postal_address or "").strip()
    footer = [line for line in (address, f"Unsubscribe: {url}" if url else "") if line]
    text = text.rstrip("\n") + "\n\n-- \n" + "\n".join(footer) + "\n"
    if html is not None:
        lines = "<br>".join(escape(line) for line in address.splitlines())
        block = f'<hr><p style="font-size:small">{lines}</p>'
        if url:
            block += f'<p style="font-size:small"><a href="{escape(url)}">Unsubscribe</a></p>'
        at = html.lower().rfind("</body>")
        html = html + block if at < 0 else html[:at] + block + html[at:]
    if not url:
        return Composed(text, html)
    return Composed(text, html, f"<{url}>", ONE_CLICK)


def message_id_header(email_id: str, sender: str) -> str:
    """The Message-ID of an email: its id at the sender's domain (RFC 5322 §3.6.4)."""
    return f"<{email_id}@{sender.rpartition('@')[2].lower()}>"


# -- Suppressions ------------------------------------------------------------------------------


def suppression_of(session: Session, account_id: str, address: str) -> EmailSuppression | None:
    """The account's suppression of ``address``, if any."""
    return session.scalar(
        select(EmailSuppression).where(
            EmailSuppression.account_id == account_id,
            EmailSuppression.address == suppression_key(address),
        )
    )


def suppress(
    session: Session, account_id: str, address: str, reason: str, *, now: datetime
) -> EmailSuppression:
    """Put ``address`` on the account's suppression list (M9: honoured at once). An
    unsubscribe replaces an earlier bounce or manual entry (so that only the recipient
    can lift it); anything else leaves an existing entry as it is. Mail to the address
    still queued that the entry stops is marked ``suppressed`` now."""
    if reason not in SUPPRESSION_REASONS:
        raise DialtoneError(
            "email.invalid", f"reason: one of {', '.join(SUPPRESSION_REASONS)} ({reason!r})."
        )
    key = suppression_key(address)
    row = suppression_of(session, account_id, key)
    if row is None:
        row = EmailSuppression(account_id=account_id, address=key, reason=reason, created_at=now)
        session.add(row)
    elif reason == "unsubscribe" and row.reason != "unsubscribe":
        row.reason, row.created_at = reason, now
    stopped = ("marketing",) if row.reason == "unsubscribe" else KINDS
    session.execute(
        update(EmailMessage)
        .where(
            EmailMessage.account_id == account_id,
            EmailMessage.status == "queued",
            EmailMessage.kind.in_(stopped),
            func.lower(EmailMessage.recipient) == key,
        )
        .values(
            status="suppressed",
            error_code="email.suppressed",
            error=f"{key} is on the suppression list ({row.reason})",
            next_attempt_at=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return row


def unsubscribe(
    session: Session, platform_key: bytes, token: str, *, now: datetime
) -> EmailSuppression:
    """The recipient's one-click unsubscribe (RFC 8058): honoured at once (M9)."""
    account_id, address = read_token(platform_key, token)
    try:
        get_account(session, account_id)
    except NotFound:
        raise NotFound("email.unsubscribe_invalid", "This unsubscribe link is not valid.") from None
    return suppress(session, account_id, address, "unsubscribe", now=now)


def list_suppressions(
    session: Session, account_id: str, *, reason: str | None = None, limit: int = 1000
) -> list[EmailSuppression]:
    """The account's suppression list, newest first."""
    query = select(EmailSuppression).where(EmailSuppression.account_id == account_id)
    if reason is not None:
        query = query.where(EmailSuppression.reason == reason)
    order = (EmailSuppression.created_at.desc(), EmailSuppression.id.desc())
    return list(session.scalars(query.order_by(*order).limit(limit)))


def remove_suppression(session: Session, account_id: str, address: str) -> None:
    """Take ``address`` off the account's list; a recipient's unsubscribe stays (M9:
    ``suppression.unsubscribed``), only the recipient could lift it."""
    row = suppression_of(session, account_id, address)
    if row is None:
        raise NotFound("suppression.not_found", f"{address} is not on the suppression list.")
    if row.reason == "unsubscribe":
        raise Conflict(
            "suppression.unsubscribed",
            f"{row.address} unsubscribed: only the recipient can take that back",
            rule="M9",
        )
    session.delete(row)
    session.flush()


# -- Sending -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Wanted:
    sender: str
    to: str
    subject: str
    text: str
    html: str | None
    kind: Kind
    key: str | None = field(default=None)


def _normalise(outgoing: Outgoing, rules: EmailRules) -> _Wanted:
    if not rules.enabled:
        raise DialtoneError(
            "email.disabled", "No SMTP relay is configured (smtp_host).", status=503
        )
    kind = next((k for k in KINDS if k == outgoing.kind), None)
    if kind is None:
        raise DialtoneError("email.invalid", f"kind: one of {', '.join(KINDS)}.")
    sender = outgoing.sender if outgoing.sender is not None else rules.default_from
    if not sender:
        raise DialtoneError("email.invalid", "from: no sender given and no default (email_from).")
    subject = outgoing.subject.strip()
    if not subject or len(subject) > MAX_SUBJECT or not subject.isprintable():
        raise DialtoneError(
            "email.invalid",
            f"subject: one line of 1 to {MAX_SUBJECT} printable characters.",
        )
    if not outgoing.text.strip():
        raise DialtoneError("email.invalid", "text: the plain-text body, not empty.")
    for name, body in (("text", outgoing.text), ("html", outgoing.html or "")):
        if len(body) > MAX_BODY:
            raise DialtoneError("email.invalid", f"{name}: at most {MAX_BODY} characters.")
    return _Wanted(
        valid_address(sender, "from"),
        valid_address(outgoing.to, "to"),
        subject,
        outgoing.text,
        outgoing.html,
        kind,
        outgoing.idempotency_key,
    )


def _checked(
    session: Session,
    account_id: str,
    wanted: _Wanted,
    *,
    rules: EmailRules,
    platform_key: bytes,
) -> tuple[Composed, list[CheckResult]]:
    account = get_account(session, account_id)
    url = None
    if rules.unsubscribe_base_url.startswith(("https://", "http://")):
        token = unsubscribe_token(platform_key, account_id, wanted.to)
        url = unsubscribe_url(rules.unsubscribe_base_url, token)
    composed = compose(
        wanted.text, wanted.html, kind=wanted.kind, postal_address=account.postal_address, url=url
    )
    suppressed = suppression_of(session, account_id, wanted.to)
    reason = next((r for r in SUPPRESSION_REASONS if suppressed and r == suppressed.reason), None)
    intent = EmailIntent(
        to=wanted.to,
        kind=wanted.kind,
        subject=wanted.subject,
        text_body=composed.text,
        html_body=composed.html,
        suppressed=reason,
        postal_address=account.postal_address,
        list_unsubscribe=composed.list_unsubscribe,
        list_unsubscribe_post=composed.list_unsubscribe_post,
        sensitive=rules.sensitive,
        roles=rules.role_local_parts or ROLE_LOCAL_PARTS,
    )
    return composed, email_checks(intent)


def check(
    session: Session,
    account_id: str,
    outgoing: Outgoing,
    *,
    rules: EmailRules,
    platform_key: bytes,
) -> list[CheckResult]:
    """Every check the email would go through now (the dry run; :func:`send` runs the
    same list): M9's suppression, role address, sensitive data, marketing footer."""
    wanted = _normalise(outgoing, rules)
    return _checked(session, account_id, wanted, rules=rules, platform_key=platform_key)[1]


def send(
    session: Session,
    account_id: str,
    outgoing: Outgoing,
    *,
    rules: EmailRules,
    platform_key: bytes,
    now: datetime,
) -> tuple[EmailMessage, bool]:
    """Check and store one email (``queued``) in the caller's transaction; the email
    and whether it is new. A repeated ``idempotency_key`` returns the email stored
    under it (``idempotency.mismatch`` if the request differs). A refusal raises the
    first refusing check's error, with its code and rule (M9)."""
    wanted = _normalise(outgoing, rules)
    if wanted.key is not None:
        earlier = session.scalar(
            select(EmailMessage).where(
                EmailMessage.account_id == account_id,
                EmailMessage.idempotency_key == wanted.key,
            )
        )
        if earlier is not None:
            asked = (wanted.sender, wanted.to, wanted.subject, wanted.kind)
            if (earlier.sender, earlier.recipient, earlier.subject, earlier.kind) != asked:
                raise Conflict(
                    "idempotency.mismatch",
                    "This Idempotency-Key was used for a different email.",
                )
            return earlier, False
    composed, results = _checked(
        session, account_id, wanted, rules=rules, platform_key=platform_key
    )
    refused = first_refusal(results)
    if refused is not None:
        raise refused.decision.as_error()
    email_id = new_id("EM")
    row = EmailMessage(
        id=email_id,
        account_id=account_id,
        sender=wanted.sender,
        recipient=wanted.to,
        subject=wanted.subject,
        text_body=composed.text,
        html_body=composed.html,
        kind=wanted.kind,
        status="queued",
        message_id_header=message_id_header(email_id, wanted.sender),
        list_unsubscribe=composed.list_unsubscribe,
        idempotency_key=wanted.key,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row, True


def get_email(session: Session, account_id: str, email_id: str) -> EmailMessage:
    """One of the account's emails (``email.not_found`` otherwise)."""
    row = session.get(EmailMessage, email_id)
    if row is None or row.account_id != account_id:
        raise NotFound("email.not_found", f"No email {email_id}.")
    return row


def list_emails(
    session: Session,
    account_id: str,
    *,
    status: str | None = None,
    to: str | None = None,
    kind: str | None = None,
    limit: int = 100,
) -> list[EmailMessage]:
    """The account's emails, newest first, filtered."""
    query = select(EmailMessage).where(EmailMessage.account_id == account_id)
    if status is not None:
        query = query.where(EmailMessage.status == status)
    if to is not None:
        query = query.where(func.lower(EmailMessage.recipient) == suppression_key(to))
    if kind is not None:
        query = query.where(EmailMessage.kind == kind)
    order = (EmailMessage.created_at.desc(), EmailMessage.id.desc())
    return list(session.scalars(query.order_by(*order).limit(limit)))


# -- What the runtime's sender uses --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Due:
    """An email to attempt now, as the sender needs it (no ORM object leaves the DB
    thread)."""

    id: str
    account_id: str
    sender: str
    recipient: str
    subject: str
    text: str
    html: str | None
    message_id: str
    list_unsubscribe: str | None
    created_at: datetime


def take_due(session: Session, now: datetime, limit: int = 50) -> list[Due]:
    """Queued emails due at ``now``, oldest first; each is pushed ahead (``IN_FLIGHT``)
    so the next round does not take it again while it is being sent."""
    rows = session.scalars(
        select(EmailMessage)
        .where(EmailMessage.status == "queued", EmailMessage.next_attempt_at <= now)
        .order_by(EmailMessage.next_attempt_at, EmailMessage.id)
        .limit(limit)
    ).all()
    for row in rows:
        row.next_attempt_at = now + IN_FLIGHT
    return [
        Due(
            r.id,
            r.account_id,
            r.sender,
            r.recipient,
            r.subject,
            r.text_body,
            r.html_body,
            r.message_id_header,
            r.list_unsubscribe,
            r.created_at,
        )
        for r in rows
    ]


def mime(due: Due) -> MimeMessage:
    """The email as the SMTP relay gets it: From, To, Subject, Date, Message-ID, the
    List-Unsubscribe pair of a marketing email, a text part and an HTML alternative."""
    message = MimeMessage(policy=SMTP)
    message["From"] = due.sender
    message["To"] = due.recipient
    message["Subject"] = due.subject
    message["Date"] = format_datetime(due.created_at)
    message["Message-ID"] = due.message_id
    if due.list_unsubscribe is not None:
        message["List-Unsubscribe"] = due.list_unsubscribe
        message["List-Unsubscribe-Post"] = ONE_CLICK
    message.set_content(due.text)
    if due.html is not None:
        message.add_alternative(due.html, subtype="html")
    return message


def record_sent(session: Session, email_id: str, *, now: datetime) -> EmailMessage | None:
    """The relay took the email (2xx to its data). Recorded even if it was suppressed
    while in flight: it did go out."""
    row = session.get(EmailMessage, email_id)
    if row is None or row.status == "sent":
        return row
    row.attempts += 1
    row.status, row.sent_at, row.updated_at, row.next_attempt_at = "sent", now, now, None
    row.error_code = row.error = None
    return row


def record_failure(
    session: Session,
    email_id: str,
    *,
    error: str,
    permanent: bool,
    bounced: bool = False,
    now: datetime,
    first_retry: timedelta = FIRST_RETRY,
    give_up_after: timedelta = GIVE_UP_AFTER,
) -> EmailMessage | None:
    """An attempt that failed: for good (a 5xx: ``failed``, and when the relay refused
    the recipient, ``bounced``, the address goes on the suppression list), or for now
    (retried after ``first_retry`` doubling to an hour, failed once ``give_up_after``
    has passed since the email was stored)."""
    row = session.get(EmailMessage, email_id)
    if row is None or row.status != "queued":
        return row
    row.attempts += 1
    row.error, row.updated_at = error[:500], now
    if permanent:
        row.status, row.error_code, row.next_attempt_at = "failed", "email.smtp_refused", None
        if bounced:
            suppress(session, row.account_id, row.recipient, "bounce", now=now)
        return row
    if now - row.created_at >= give_up_after:
        row.status, row.error_code, row.next_attempt_at = "failed", "email.smtp_unavailable", None
        return row
    row.next_attempt_at = now + min(LONGEST_WAIT, first_retry * 2 ** min(row.attempts - 1, 20))
    return row
