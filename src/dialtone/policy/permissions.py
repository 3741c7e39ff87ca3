"""Who may do what through the API (TERMS D1 roles, D2 credential rotation).

TERMS D1 names five roles: the administrator does everything; a user acts for
themselves; a manager acts for other users; a scheduler books for others and takes no
calls; a guest only sees itself. Each permission is granted to a role over one of three
scopes: none, the role holder's own records (``OWN``: their calls, voicemail, devices),
or every record of the account (``ALL``). An account API key that belongs to no user
acts as the administrator (it is the key the account was created with).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import IntEnum
from types import MappingProxyType

from dialtone.policy.decision import ALLOWED, Decision, refuse

ADMINISTRATOR = "administrator"
MANAGER = "manager"
USER = "user"
SCHEDULER = "scheduler"
GUEST = "guest"
ROLES = (ADMINISTRATOR, USER, MANAGER, SCHEDULER, GUEST)

# TERMS D2: the platform rotates credentials with one business day's notice.
DEFAULT_ROTATION_NOTICE_BUSINESS_DAYS = 1


class Scope(IntEnum):
    """How far a permission reaches."""

    NONE = 0
    OWN = 1
    ALL = 2


PERMISSIONS: Mapping[str, str] = MappingProxyType(
    {
        "account.read": "See the account's settings, permissions and fair-use figures.",
        "account.write": "Change the account's settings and destination permissions.",
        "account.export": "Export everything held for the account (D6, V15).",
        "agents.read": "See AI agent profiles and their knowledge entries (A1).",
        "agents.write": "Create, change and delete AI agents and their knowledge (A1).",
        "agent_reports.read": "Read AI agent call reports: transcripts, summaries (A4).",
        "api_keys.manage": "Issue, list, rotate and revoke API keys.",
        "audit.read": "Read the audit log of refusals and enforcement actions.",
        "billing.read": "See the subscription, balances, buckets left and invoices.",
        "billing.write": "Dispute invoices, withdraw credit purchases, give notice (B9, B12, B13).",
        "usage.write": "Report third-party usage to be rated (POST /v1/usage).",
        "sla.claim": "Claim SLA credits for a past month (S1, S4).",
        "calls.place": "Place a click-to-call call (for oneself, or for others).",
        "calls.read": "Read call records.",
        "dnc.read": "Read the account's do-not-call list.",
        "errors.read": "Read the API error log (with client IP addresses, D4).",
        "dnc.write": "Add to and remove from the do-not-call list.",
        "messages.read": "Read the account's SMS, sent and received.",
        "messages.send": "Send SMS from the account's numbers and sender IDs.",
        "emails.read": "Read the account's emails and its email suppression list (M9).",
        "emails.send": "Send email and keep the suppression list (M9).",
        "consents.read": "See SMS opt-ins and opt-outs, and export the proof of consent (M3).",
        "consents.write": "Record SMS opt-ins and opt-outs (M3).",
        "smpp.manage": "Create, list and revoke the account's SMPP logins.",
        "numbers.read": "See the account's numbers, greetings and routes.",
        "numbers.write": "Lease and release numbers, set their greetings and routes.",
        "policy.check": "Ask the terms engine what it would decide (dry run).",
        "recordings.read": "Download call recordings.",
        "recordings.delete": "Delete call recordings (the call record stays).",
        "registrations.read": "See the devices registered for users.",
        "ring_groups.read": "See ring groups.",
        "ring_groups.write": "Create and delete ring groups.",
        "trunks.read": "See carrier trunks.",
        "trunks.write": "Add, change and remove carrier trunks.",
        "users.read": "See users (the account's directory).",
        "users.self_service": "A user's voicemail greeting and emergency location.",
        "users.write": "Create, change and delete users (roles, channels, SIP credentials).",
        "voicemails.read": "Read voicemail messages and their audio.",
        "voicemails.write": "Mark voicemail heard and delete it.",
        "webhooks.read": "See the webhooks owed to the account: pending, delivered, failed, why.",
    }
)

_ALL = Scope.ALL
_OWN = Scope.OWN

GRANTS: Mapping[str, Mapping[str, Scope]] = MappingProxyType(
    {
        ADMINISTRATOR: MappingProxyType(dict.fromkeys(PERMISSIONS, _ALL)),
        # "Acts for other users": what a user does for themselves, for anyone; and sees
        # the account and its lists, but changes neither settings, users nor trunks.
        MANAGER: MappingProxyType(
            {
                "account.read": _ALL,
                "agents.read": _ALL,
                "agent_reports.read": _ALL,
                "billing.read": _ALL,
                "calls.place": _ALL,
                "calls.read": _ALL,
                "dnc.read": _ALL,
                "dnc.write": _ALL,
                "messages.read": _ALL,
                "messages.send": _ALL,
                "emails.read": _ALL,
                "emails.send": _ALL,
                "consents.read": _ALL,
                "consents.write": _ALL,
                "numbers.read": _ALL,
                "policy.check": _ALL,
                "recordings.read": _ALL,
                "recordings.delete": _ALL,
                "registrations.read": _ALL,
                "ring_groups.read": _ALL,
                "users.read": _ALL,
                "users.self_service": _ALL,
                "voicemails.read": _ALL,
                "voicemails.write": _ALL,
                "webhooks.read": _ALL,
            }
        ),
        USER: MappingProxyType(
            {
                "calls.place": _OWN,
                "calls.read": _OWN,
                "numbers.read": _ALL,
                "recordings.read": _OWN,
                "registrations.read": _OWN,
                "users.read": _ALL,
                "users.self_service": _OWN,
                "voicemails.read": _OWN,
                "voicemails.write": _OWN,
            }
        ),
        # "Books for others, takes no calls": places calls that ring someone else's
        # devices; has no calls, voicemail or devices of its own to read.
        SCHEDULER: MappingProxyType(
            {"calls.place": _ALL, "numbers.read": _ALL, "users.read": _ALL}
        ),
        GUEST: MappingProxyType({"users.read": _OWN}),
    }
)


def scope_of(role: str, permission: str) -> Scope:
    """How far ``permission`` reaches for ``role`` (TERMS D1); unknown roles get none.

    An unknown permission is a programming error, raised rather than silently denied."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission}")
    return GRANTS.get(role, {}).get(permission, Scope.NONE)


def authorize(
    role: str,
    permission: str,
    *,
    acting_user_id: str | None = None,
    subject_user_id: str | None = None,
) -> Decision:
    """May a ``role`` holder (the user ``acting_user_id``) use ``permission`` on a record
    of the user ``subject_user_id``? (TERMS D1.)

    Without a subject the question is whether the permission reaches at all.
    ``permission.denied`` when the role lacks it; ``permission.own_only`` when it covers
    only the holder's own records and the subject is someone else (or nobody)."""
    scope = scope_of(role, permission)
    if scope is Scope.NONE:
        return refuse(
            "permission.denied",
            f"The role {role} may not do this ({permission}: {PERMISSIONS[permission]})",
            role=role,
            permission=permission,
        )
    if scope is Scope.OWN and subject_user_id is not None and subject_user_id != acting_user_id:
        return refuse(
            "permission.own_only",
            f"The role {role} does this for itself only ({permission}).",
            role=role,
            permission=permission,
            subject_user_id=subject_user_id,
        )
    return ALLOWED


# Writes an account keeps once closed or suspended for non-payment: getting its data out
# (D5 recording exports and their confirmation, D6, V15), asking what the terms would
# decide (a dry run writes nothing), and reporting usage, which happened before and is
# still owed. Suspended (not closed), it may also dispute an invoice, withdraw a credit
# purchase or give notice (B9, B12, B13): a suspension leaves the invoices due (B10).
WRITES_WHEN_CLOSED = frozenset({"account.export", "policy.check", "usage.write"})
WRITES_WHEN_SUSPENDED = WRITES_WHEN_CLOSED | {"billing.write"}


def standing(permission: str, *, write: bool, closed: bool, billing_suspended: bool) -> Decision:
    """May an account in this standing use ``permission`` (``write``: to change
    something)? Reads always may (V15, D5: the customer gets its records out); a write
    of a closed account is refused with ``account.closed``, of an account suspended
    for non-payment with ``billing.suspended`` (B10), except those listed above."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission}")
    if not write:
        return ALLOWED
    if closed and permission not in WRITES_WHEN_CLOSED:
        return refuse(
            "account.closed",
            "The account is closed: its records can be read and exported, not changed.",
            permission=permission,
        )
    if billing_suspended and permission not in WRITES_WHEN_SUSPENDED:
        return refuse(
            "billing.suspended",
            "The account is suspended for non-payment (B10): it can be read, exported "
            "and its invoices disputed; other changes wait until it is paid.",
            permission=permission,
        )
    return ALLOWED


def add_business_days(moment: datetime, days: int) -> datetime:
    """``moment`` moved ``days`` business days on (Saturday and Sunday skipped), at the
    same time of day; a moment on a weekend first moves to Monday at that time."""
    if days < 0:
        raise ValueError("days must not be negative")
    result = moment
    while result.weekday() >= 5:
        result += timedelta(days=1)
    remaining = days
    while remaining:
        result += timedelta(days=1)
        if result.weekday() < 5:
            remaining -= 1
    return result


def rotation_deadline(
    now: datetime, *, notice_business_days: int = DEFAULT_ROTATION_NOTICE_BUSINESS_DAYS
) -> datetime:
    """When a credential the platform rotates stops working (TERMS D2): after
    ``notice_business_days`` business days of notice (one by default)."""
    return add_business_days(now, notice_business_days)


def markdown() -> str:
    """``docs/permissions.md``: what each role may do, permission by permission (D1)."""
    marks = {Scope.ALL: "all", Scope.OWN: "own", Scope.NONE: "—"}
    lines = [
        "# Roles and permissions (TERMS D1)",
        "",
        "Generated from `src/dialtone/policy/permissions.py` by",
        "`python -m dialtone.policy.permissions > docs/permissions.md`; a test fails when",
        "this file is stale. *all*: every record of the account; *own*: the key's user's",
        "own records only (the calls it took or placed, their recordings, its voicemail,",
        "devices, emergency location);",
        "—: refused with 403 `permission.denied`. An account key (issued to no user) acts",
        "as the administrator.",
        "",
        "A closed account, or one suspended for non-payment (B10), keeps every read but",
        "only these writes (403 `account.closed` / `billing.suspended` otherwise): "
        + ", ".join(f"`{p}`" for p in sorted(WRITES_WHEN_CLOSED))
        + "; suspended, also "
        + ", ".join(f"`{p}`" for p in sorted(WRITES_WHEN_SUSPENDED - WRITES_WHEN_CLOSED))
        + ".",
        "",
        "| permission | " + " | ".join(ROLES) + " | what it covers |",
        "|---|" + "---|" * len(ROLES) + "---|",
    ]
    for permission, summary in sorted(PERMISSIONS.items()):
        cells = " | ".join(marks[scope_of(role, permission)] for role in ROLES)
        lines.append(f"| `{permission}` | {cells} | {summary} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
