"""TERMS D4: the API error log forgets after 14 days and keeps 100 errors per account."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from dialtone.services.accounts import error_log

from ..conftest import T0


def _error(
    account: str | None, at_seconds: int, code: str = "request.invalid"
) -> error_log.ApiError:
    return error_log.ApiError(
        at=T0 + timedelta(seconds=at_seconds),
        account_id=account,
        client_ip="192.0.2.7",
        method="POST",
        path="/v1/numbers",
        status=400,
        code=code,
        message="bad",
    )


def test_an_account_keeps_its_hundred_latest_errors(
    session: Session, account: str, other_account: str
) -> None:
    for i in range(101):
        error_log.record(session, _error(account, i))
    error_log.record(session, _error(other_account, 200))
    error_log.record(session, _error(None, 201))  # an unauthenticated request
    kept = error_log.list_errors(session, account)
    assert len(kept) == 100
    assert kept[-1].at == T0 + timedelta(seconds=1)  # the first (oldest) one went
    assert kept[0].client_ip == "192.0.2.7"
    assert len(error_log.list_errors(session, other_account)) == 1
    assert len(error_log.list_errors(session, None)) == 1


@pytest.mark.parametrize(
    ("age", "kept"),
    [
        (timedelta(days=14) - timedelta(seconds=1), True),
        (timedelta(days=14), True),  # exactly 14 days old: still within
        (timedelta(days=14, seconds=1), False),
    ],
)
def test_entries_older_than_fourteen_days_are_deleted(
    session: Session, account: str, age: timedelta, kept: bool
) -> None:
    error_log.record(session, _error(account, 0))
    removed = error_log.prune(session, T0 + age)
    assert removed == (0 if kept else 1)
    assert len(error_log.list_errors(session, account)) == (1 if kept else 0)


def test_a_shorter_setting_keeps_less(session: Session, account: str) -> None:
    for i in range(5):
        error_log.record(session, _error(account, i), keep=3, days=1)
    assert len(error_log.list_errors(session, account)) == 3
