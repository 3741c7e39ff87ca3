"""Knowledge entries (A1, A7's bulk CSV import): all or nothing, bad rows by line."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.services.agents import knowledge, profiles
from dialtone.services.agents.profiles import ProfileChanges

from ..conftest import T0


@pytest.fixture
def agent(session: Session, account: str) -> str:
    return profiles.create_profile(session, account, ProfileChanges(name="Ava"), now=T0).id


def _questions(session: Session, account: str, agent: str) -> list[str]:
    return [e.question for e in knowledge.list_entries(session, account, agent)]


def test_entries_are_added_in_order_and_deleted_one_by_one(
    session: Session, account: str, agent: str
) -> None:
    first = knowledge.add_entry(session, account, agent, question=" Open? ", answer="9-5", now=T0)
    knowledge.add_entry(session, account, agent, question="Parking?", answer="Yes", now=T0)
    assert first.question == "Open?"
    assert _questions(session, account, agent) == ["Open?", "Parking?"]
    knowledge.delete_entry(session, account, agent, first.id)
    assert _questions(session, account, agent) == ["Parking?"]
    with pytest.raises(DialtoneError) as info:
        knowledge.delete_entry(session, account, agent, first.id)
    assert info.value.code == "agent_knowledge.not_found"


@pytest.mark.parametrize(
    ("question", "answer", "fragment"),
    [
        ("", "a", "question is empty"),
        ("q", "  ", "answer is empty"),
        ("q" * 501, "a", "question has more than 500"),
        ("q", "a" * 2001, "answer has more than 2000"),
    ],
)
def test_an_entry_is_checked(
    *, session: Session, account: str, agent: str, question: str, answer: str, fragment: str
) -> None:
    with pytest.raises(DialtoneError, match=fragment):
        knowledge.add_entry(session, account, agent, question=question, answer=answer, now=T0)


def test_at_the_edges_an_entry_is_taken(session: Session, account: str, agent: str) -> None:
    knowledge.add_entry(session, account, agent, question="q" * 500, answer="a" * 2000, now=T0)


def test_a_csv_file_is_imported_after_what_is_there(
    session: Session, account: str, agent: str
) -> None:
    knowledge.add_entry(session, account, agent, question="First", answer="1", now=T0)
    text = (
        "\ufeffQuestion,Answer,notes\r\n"
        '"Where are you?","1 Main St, Springfield",x\r\n'
        "\r\n"
        '"Multi\nline?","Yes, ""quoted""",\r\n'
    )
    added = knowledge.import_csv(session, account, agent, text, now=T0)
    assert [(e.question, e.answer) for e in added] == [
        ("Where are you?", "1 Main St, Springfield"),
        ("Multi\nline?", 'Yes, "quoted"'),
    ]
    assert _questions(session, account, agent) == ["First", "Where are you?", "Multi\nline?"]
    knowledge.import_csv(session, account, agent, "answer,question\nB,A\n", now=T0, replace=True)
    assert _questions(session, account, agent) == ["A"]


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("", [1]),
        ("q,a\nx,y\n", [1]),
        ("question,answer\n", [2]),
        ("question,answer\nok,fine\n,no question\nno answer,\n", [3, 4]),
        ("question,answer\nok,fine\n\nonly one column\n", [4]),
        ('question,answer\n"a\n,b\n', [2]),  # an unclosed quote runs to the end
    ],
)
def test_a_bad_file_imports_nothing_and_names_its_lines(
    session: Session, account: str, agent: str, text: str, lines: list[int]
) -> None:
    knowledge.add_entry(session, account, agent, question="Kept", answer="1", now=T0)
    with pytest.raises(DialtoneError) as info:
        knowledge.import_csv(session, account, agent, text, now=T0, replace=True)
    assert info.value.code == "agent.csv_invalid"
    assert [e["line"] for e in info.value.details["errors"]] == lines
    assert _questions(session, account, agent) == ["Kept"]


def test_an_import_to_another_accounts_agent_is_not_found(
    session: Session, other_account: str, agent: str
) -> None:
    with pytest.raises(DialtoneError) as info:
        knowledge.import_csv(session, other_account, agent, "question,answer\na,b\n", now=T0)
    assert info.value.code == "agent.not_found"
