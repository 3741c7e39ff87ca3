"""TERMS M6: alphanumeric sender IDs registered to an account (the operator registers a
name after checking the account may use it; messages may then come from it)."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dialtone.core.errors import Conflict, DialtoneError
from dialtone.services.accounts.accounts import get_account
from dialtone.services.ids import new_id
from dialtone.store.messaging_models import SenderName

# GSM 03.40's alphanumeric address: up to 11 characters; carriers take letters, digits,
# spaces and a few signs, and at least one letter (all digits would read as a number).
_NAME = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 .&'_-]{1,11}$")


def register(session: Session, account_id: str, name: str, *, now: datetime) -> SenderName:
    """Register ``name`` to the account."""
    get_account(session, account_id)
    if not _NAME.match(name):
        raise DialtoneError(
            "request.invalid",
            "a sender ID is 1 to 11 letters, digits, spaces or . & ' _ -, with a letter.",
        )
    row = SenderName(id=new_id("SN"), account_id=account_id, name=name, registered_at=now)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise Conflict(
            "sender.registered", f"{name} is already registered to the account."
        ) from None
    return row


def names(session: Session, account_id: str) -> list[str]:
    """The account's sender IDs."""
    return list(
        session.scalars(
            select(SenderName.name)
            .where(SenderName.account_id == account_id)
            .order_by(SenderName.name)
        )
    )
