"""Do-not-call lists (TERMS V12): each account's own, and the national registers an
operator imports (Bloctel, the US National DNC Registry…), kept as numbers in E.164."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError, NotFound
from dialtone.policy.telemarketing import ACCOUNT_LIST
from dialtone.services.ids import new_id
from dialtone.services.numbering import numbers
from dialtone.store.models import DncEntry

MAX_ROWS = 1_000_000
_LIST_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


@dataclass(slots=True)
class ImportResult:
    """What an import did: numbers added, numbers already there, lines not a number."""

    added: int = 0
    already_listed: int = 0
    invalid_lines: list[int] = field(default_factory=list)


def _rows(text: str) -> list[tuple[int, str]]:
    """(line number, first cell) of each non-empty row; a header row is skipped."""
    found = []
    for index, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cell = row[0].strip() if row else ""
        if not cell or (index == 1 and not any(ch.isdigit() for ch in cell)):
            continue
        found.append((index, cell))
    return found


def import_csv(
    session: Session,
    account_id: str | None,
    text: str,
    *,
    now: datetime,
    list_name: str = ACCOUNT_LIST,
    region: str | None = None,
) -> ImportResult:
    """Add the numbers of a CSV (first column; a header is allowed) to the account's list,
    or, with ``account_id`` None, to the operator's register ``list_name``. Numbers are
    international (``+33…``), or national forms of ``region`` (a register's own
    country, such as Bloctel's ``06…``)."""
    if account_id is not None and list_name != ACCOUNT_LIST:
        raise DialtoneError("dnc.invalid", "An account's list is named 'account'.")
    if account_id is None and (list_name == ACCOUNT_LIST or not _LIST_NAME.fullmatch(list_name)):
        raise DialtoneError(
            "dnc.invalid", "A register is named in lowercase letters and digits (bloctel)."
        )
    rows = _rows(text)
    if len(rows) > MAX_ROWS:
        raise DialtoneError("dnc.invalid", f"At most {MAX_ROWS} numbers per import.")
    result = ImportResult()
    wanted: dict[str, int] = {}
    for line, cell in rows:
        try:
            wanted.setdefault(numbers.to_e164(cell, region), line)
        except DialtoneError:
            result.invalid_lines.append(line)
    existing = set(
        session.scalars(
            select(DncEntry.number).where(
                DncEntry.account_id.is_(None)
                if account_id is None
                else DncEntry.account_id == account_id,
                DncEntry.list_name == list_name,
            )
        )
    )
    for number in wanted:
        if number in existing:
            result.already_listed += 1
            continue
        session.add(
            DncEntry(
                id=new_id("DN"),
                account_id=account_id,
                number=number,
                list_name=list_name,
                added_at=now,
            )
        )
        result.added += 1
    session.flush()
    return result


def listed_by(session: Session, account_id: str, number: str) -> str | None:
    """Which list ``number`` is on for the account: its own ("account") before any
    national register; None when on none."""
    return lists_of(session, account_id, [number]).get(number)


def lists_of(session: Session, account_id: str, wanted: Collection[str]) -> dict[str, str]:
    """``listed_by`` for many numbers in one query: the list each listed one is on."""
    found: dict[str, list[tuple[str | None, str]]] = {}
    for number, owner, list_name in session.execute(
        select(DncEntry.number, DncEntry.account_id, DncEntry.list_name).where(
            DncEntry.number.in_(wanted),
            (DncEntry.account_id == account_id) | DncEntry.account_id.is_(None),
        )
    ):
        found.setdefault(number, []).append((owner, list_name))
    return {
        number: ACCOUNT_LIST
        if any(owner == account_id for owner, _ in rows)
        else min(name for _, name in rows)
        for number, rows in found.items()
    }


def list_numbers(session: Session, account_id: str, *, limit: int = 1000) -> list[DncEntry]:
    """The account's own list, by number."""
    return list(
        session.scalars(
            select(DncEntry)
            .where(DncEntry.account_id == account_id)
            .order_by(DncEntry.number)
            .limit(limit)
        )
    )


def remove(session: Session, account_id: str, number: str) -> None:
    """Take ``number`` off the account's own list (a register is the operator's)."""
    e164 = numbers.to_e164(number)
    gone = session.execute(
        delete(DncEntry).where(DncEntry.account_id == account_id, DncEntry.number == e164)
    )
    if not gone.rowcount:  # type: ignore[attr-defined]
        raise NotFound("dnc.not_found", f"{e164} is not on the account's do-not-call list.")
