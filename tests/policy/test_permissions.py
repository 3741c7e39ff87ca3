"""TERMS D1 roles and permissions; D2 rotation notice in business days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dialtone.policy.permissions import (
    ADMINISTRATOR,
    GRANTS,
    GUEST,
    MANAGER,
    PERMISSIONS,
    ROLES,
    SCHEDULER,
    USER,
    Scope,
    add_business_days,
    authorize,
    markdown,
    rotation_deadline,
    scope_of,
)

ALL, OWN, NONE = Scope.ALL, Scope.OWN, Scope.NONE


@pytest.mark.parametrize(
    ("role", "permission", "scope"),
    [
        # The administrator: everything.
        *((ADMINISTRATOR, p, ALL) for p in PERMISSIONS),
        # A manager acts for others but changes neither settings, users, trunks nor keys.
        (MANAGER, "calls.place", ALL),
        (MANAGER, "voicemails.read", ALL),
        (MANAGER, "users.self_service", ALL),
        (MANAGER, "account.read", ALL),
        (MANAGER, "account.write", NONE),
        (MANAGER, "users.write", NONE),
        (MANAGER, "trunks.read", NONE),
        (MANAGER, "api_keys.manage", NONE),
        (MANAGER, "audit.read", NONE),
        # A user: its own calls, voicemail and devices; the directory and the numbers.
        (USER, "calls.place", OWN),
        (USER, "calls.read", OWN),
        (USER, "recordings.read", OWN),
        (USER, "voicemails.write", OWN),
        (USER, "registrations.read", OWN),
        (USER, "users.self_service", OWN),
        (USER, "users.read", ALL),
        (USER, "numbers.read", ALL),
        (USER, "numbers.write", NONE),
        (USER, "account.read", NONE),
        (USER, "dnc.read", NONE),
        # A scheduler books for others and takes no calls: nothing of its own to read.
        (SCHEDULER, "calls.place", ALL),
        (SCHEDULER, "users.read", ALL),
        (SCHEDULER, "calls.read", NONE),
        (SCHEDULER, "voicemails.read", NONE),
        # A guest sees itself.
        (GUEST, "users.read", OWN),
        (GUEST, "numbers.read", NONE),
        (GUEST, "calls.place", NONE),
        # An unknown role (a row written by a newer version, say) gets nothing.
        ("owner", "calls.read", NONE),
    ],
)
def test_scope_of_each_role(role: str, permission: str, scope: Scope) -> None:
    assert scope_of(role, permission) is scope


def test_every_grant_names_a_known_permission_and_every_role_is_listed() -> None:
    assert set(GRANTS) == set(ROLES)
    for grants in GRANTS.values():
        assert set(grants) <= set(PERMISSIONS)


def test_an_unknown_permission_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        scope_of(ADMINISTRATOR, "calls.delete_everything")


@pytest.mark.parametrize(
    ("role", "permission", "acting", "subject", "code"),
    [
        (USER, "calls.place", "US1", "US1", None),  # for itself
        (USER, "calls.place", "US1", "US2", "permission.own_only"),  # for another
        (USER, "calls.place", "US1", None, None),  # reaches at all
        (USER, "voicemails.read", "US1", "", "permission.own_only"),  # nobody's box
        (MANAGER, "calls.place", "US1", "US2", None),
        (SCHEDULER, "calls.place", "US3", "US2", None),
        (GUEST, "calls.place", "US4", "US4", "permission.denied"),
        (USER, "numbers.write", "US1", None, "permission.denied"),
        (ADMINISTRATOR, "numbers.write", None, None, None),
    ],
)
def test_authorize(
    role: str, permission: str, acting: str | None, subject: str | None, code: str | None
) -> None:
    decision = authorize(role, permission, acting_user_id=acting, subject_user_id=subject)
    assert decision.code == code
    if code is not None:
        assert decision.rule == "D1"
        assert decision.http_status() == 403
        assert decision.details["permission"] == permission


THU = datetime(2026, 12, 3, 15, 30, tzinfo=UTC)  # a Thursday


@pytest.mark.parametrize(
    ("start", "days", "end"),
    [
        (THU, 0, THU),
        (THU, 1, THU + timedelta(days=1)),  # Friday
        (THU + timedelta(days=1), 1, THU + timedelta(days=4)),  # Friday -> Monday
        (THU + timedelta(days=2), 0, THU + timedelta(days=4)),  # Saturday -> Monday
        (THU + timedelta(days=2), 1, THU + timedelta(days=5)),  # Saturday -> Tuesday
        (THU + timedelta(days=3), 1, THU + timedelta(days=5)),  # Sunday -> Tuesday
        (THU, 5, THU + timedelta(days=7)),  # a working week
    ],
)
def test_add_business_days(start: datetime, days: int, end: datetime) -> None:
    assert add_business_days(start, days) == end


def test_rotation_notice_is_one_business_day_by_default() -> None:
    friday_evening = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)
    assert rotation_deadline(friday_evening) == datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
    assert rotation_deadline(friday_evening, notice_business_days=0) == friday_evening
    with pytest.raises(ValueError, match="negative"):
        add_business_days(friday_evening, -1)


def test_permissions_doc_is_current() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"
    assert doc.read_text(encoding="utf-8") == markdown(), (
        "docs/permissions.md is stale: python -m dialtone.policy.permissions > docs/permissions.md"
    )
