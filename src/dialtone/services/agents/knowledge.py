"""An agent's knowledge entries (TERMS A1's knowledge base; A7's bulk CSV import of
FAQs): questions the agent can answer, with their answers, added one by one or imported
from a CSV file with a ``question,answer`` header.

An import is all or nothing: every row is checked first, and one bad row refuses the
whole file (400 ``agent.csv_invalid``) with every bad row's line number in the error's
``details`` (the first :data:`MAX_REPORTED`), so a corrected file can be sent again as
it is without duplicating the rows that were good. Entries keep the file's order after
those already there; ``replace`` swaps the whole set instead.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError, NotFound
from dialtone.services.agents.profiles import get_profile
from dialtone.services.ids import new_id
from dialtone.store.agent_models import AgentKnowledge

MAX_QUESTION = 500
MAX_ANSWER = 2000
MAX_ENTRIES = 2000
MAX_CSV_BYTES = 1024 * 1024  # the API's default body limit (api.limits)
MAX_REPORTED = 50


def _invalid(message: str) -> DialtoneError:
    return DialtoneError("agent.invalid", message)


def _check(question: str, answer: str) -> tuple[str, str]:
    """A question and its answer, stripped; the reason it is refused otherwise."""
    question, answer = (question or "").strip(), (answer or "").strip()
    if not question:
        raise ValueError("the question is empty")
    if not answer:
        raise ValueError("the answer is empty")
    if len(question) > MAX_QUESTION:
        raise ValueError(f"the question has more than {MAX_QUESTION} characters")
    if len(answer) > MAX_ANSWER:
        raise ValueError(f"the answer has more than {MAX_ANSWER} characters")
    return question, answer


def _count(session: Session, profile_id: str) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(AgentKnowledge)
            .where(AgentKnowledge.profile_id == profile_id)
        )
        or 0
    )


def _next_position(session: Session, profile_id: str) -> int:
    top = session.scalar(
        select(func.max(AgentKnowledge.position)).where(AgentKnowledge.profile_id == profile_id)
    )
    return 0 if top is None else top + 1


def add_entry(
    session: Session,
    account_id: str,
    profile_id: str,
    *,
    question: str,
    answer: str,
    now: datetime,
) -> AgentKnowledge:
    """Add one entry after the others (400 ``agent.invalid``: empty or too long, or the
    profile has :data:`MAX_ENTRIES`; 404 ``agent.not_found``)."""
    profile = get_profile(session, account_id, profile_id)
    try:
        question, answer = _check(question, answer)
    except ValueError as exc:
        raise _invalid(f"A knowledge entry is refused: {exc}.") from None
    if _count(session, profile.id) >= MAX_ENTRIES:
        raise _invalid(f"An agent has at most {MAX_ENTRIES} knowledge entries.")
    row = AgentKnowledge(
        id=new_id("AK"),
        profile_id=profile.id,
        account_id=account_id,
        question=question,
        answer=answer,
        position=_next_position(session, profile.id),
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def list_entries(session: Session, account_id: str, profile_id: str) -> list[AgentKnowledge]:
    """A profile's entries in order (404 ``agent.not_found``)."""
    profile = get_profile(session, account_id, profile_id)
    return list(
        session.scalars(
            select(AgentKnowledge)
            .where(AgentKnowledge.profile_id == profile.id)
            .order_by(AgentKnowledge.position, AgentKnowledge.id)
        )
    )


def delete_entry(session: Session, account_id: str, profile_id: str, entry_id: str) -> None:
    """Remove one entry (404 ``agent.not_found``, ``agent_knowledge.not_found``)."""
    profile = get_profile(session, account_id, profile_id)
    row = session.get(AgentKnowledge, entry_id)
    if row is None or row.profile_id != profile.id:
        raise NotFound(
            "agent_knowledge.not_found", f"Agent {profile_id} has no knowledge entry {entry_id}."
        )
    session.delete(row)
    session.flush()


@dataclass(frozen=True, slots=True)
class RowError:
    """A refused CSV row: its line in the file (the header is line 1) and why."""

    line: int
    error: str


def parse_csv(text: str) -> tuple[list[tuple[str, str]], list[RowError]]:
    """The (question, answer) rows of a CSV file with a ``question,answer`` header (any
    case, other columns ignored; a leading byte-order mark skipped; blank lines
    skipped), and the rows refused, by line."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        return [], [RowError(1, "the file has no question,answer header")]
    names = [name.strip().lower() for name in header]
    if "question" not in names or "answer" not in names:
        return [], [RowError(1, "the header must name the columns question and answer")]
    q, a = names.index("question"), names.index("answer")
    rows: list[tuple[str, str]] = []
    errors: list[RowError] = []
    while True:
        line = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(RowError(line, f"not CSV ({exc})"))
            break  # the reader cannot find the next row after a broken one
        if not any(f.strip() for f in fields):
            continue
        if len(fields) <= max(q, a):
            errors.append(RowError(line, f"{len(fields)} columns, {len(names)} expected"))
            continue
        try:
            rows.append(_check(fields[q], fields[a]))
        except ValueError as exc:
            errors.append(RowError(line, str(exc)))
    return rows, errors


def import_csv(
    session: Session,
    account_id: str,
    profile_id: str,
    text: str,
    *,
    now: datetime,
    replace: bool = False,
) -> list[AgentKnowledge]:
    """Import a ``question,answer`` CSV file, all or nothing (see the module): 400
    ``agent.csv_invalid`` with ``details.errors`` [{line, error}] when any row is bad, or
    the file is empty or too big; ``replace`` first removes the profile's entries. The
    rows added are returned, in order."""
    profile = get_profile(session, account_id, profile_id)
    if len(text.encode("utf-8")) > MAX_CSV_BYTES:
        raise DialtoneError(
            "agent.csv_invalid", f"A CSV file is at most {MAX_CSV_BYTES // 1024} KiB."
        )
    rows, errors = parse_csv(text)
    if not errors and not rows:
        errors = [RowError(2, "the file has no rows")]
    if errors:
        shown = errors[:MAX_REPORTED]
        listed = "; ".join(f"line {e.line}: {e.error}" for e in shown[:5])
        raise DialtoneError(
            "agent.csv_invalid",
            f"{len(errors)} row(s) refused, nothing imported ({listed}).",
            details={
                "errors": [{"line": e.line, "error": e.error} for e in shown],
                "refused": len(errors),
            },
        )
    if (0 if replace else _count(session, profile.id)) + len(rows) > MAX_ENTRIES:
        raise DialtoneError(
            "agent.csv_invalid", f"An agent has at most {MAX_ENTRIES} knowledge entries."
        )
    if replace:
        session.execute(delete(AgentKnowledge).where(AgentKnowledge.profile_id == profile.id))
    start = 0 if replace else _next_position(session, profile.id)
    added = [
        AgentKnowledge(
            id=new_id("AK"),
            profile_id=profile.id,
            account_id=account_id,
            question=question,
            answer=answer,
            position=start + n,
            created_at=now,
        )
        for n, (question, answer) in enumerate(rows)
    ]
    session.add_all(added)
    session.flush()
    return added
