"""Agent profiles (TERMS A1): templates, every field's edges, targets of the account
only, texts that would pass the agent as a person refused (A4), sealed secrets, the pure
profile a call uses, the route kind ``agent``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from dialtone.agents.profile import AgentProfile, CalendarRef, KnowledgeEntry, OpenHours
from dialtone.core.errors import DialtoneError
from dialtone.services.accounts import accounts
from dialtone.services.agents import knowledge, profiles, templates
from dialtone.services.agents.profiles import ProfileChanges, Target, Window
from dialtone.services.numbering import numbers
from dialtone.services.telephony import routing, users
from dialtone.store import sealed
from dialtone.store.agent_models import AgentProfileRow
from tests.database import migrated_database

from ..conftest import REALM, T0

KEY = bytes(range(32))
NUMBER = "+33123456789"


@pytest.fixture(scope="module")
def _shared(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path: Path = tmp_path_factory.mktemp("agents") / "edges.db"
    _, factory = migrated_database(path)
    with factory() as s, s.begin():
        account_id = accounts.create_account(s, "Edges", now=T0).account.id
    return factory, account_id


@pytest.fixture
def edge(_shared: Any) -> Iterator[tuple[Session, str]]:
    """A session on one database migrated once for the table of edges (each test's
    writes rolled back): a migration per case would cost a second each."""
    factory, account_id = _shared
    with factory() as s:
        s.begin()
        try:
            yield s, account_id
        finally:
            s.rollback()


def _create(session: Session, account: str, **fields: Any) -> AgentProfileRow:
    fields.setdefault("name", "Ava")
    return profiles.create_profile(session, account, ProfileChanges(**fields), now=T0, key=KEY)


def _refused(session: Session, account: str, **fields: Any) -> DialtoneError:
    with pytest.raises(DialtoneError) as info:
        _create(session, account, **fields)
    assert info.value.code == "agent.invalid", info.value.message
    return info.value


@pytest.mark.parametrize("purpose", templates.PURPOSES)
def test_a_template_fills_the_greeting_and_instructions(
    edge: tuple[Session, str], purpose: str
) -> None:
    session, account = edge
    row = _create(session, account, purpose=purpose, business_name="Acme Dental")
    template = templates.TEMPLATES[purpose]
    assert (row.greeting, row.instructions) == (template.greeting, template.instructions)
    profile = profiles.profile_for(session, account, row.id, KEY)
    assert "{" not in profile.greeting
    if "{business_name}" in template.greeting:
        assert "Acme Dental" in profile.greeting


def test_given_texts_win_over_the_template(session: Session, account: str) -> None:
    row = _create(session, account, purpose="sales", greeting="Hi, {name} here.")
    assert row.greeting == "Hi, {name} here."
    assert profiles.profile_for(session, account, row.id, KEY).greeting == "Hi, Ava here."


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"name": ""}, "name is required"),
        ({"name": "x" * 201}, "at most 200"),
        ({"name": "Ava\nBob"}, "one line"),
        ({"purpose": "support"}, "purpose is one of"),
        ({"greeting": "  "}, "greeting is required"),
        ({"greeting": "x" * 501}, "at most 500"),
        ({"languages": []}, "1 to 5"),
        ({"languages": ["en-US"] * 2}, "twice"),
        ({"languages": ["english"]}, "not a language tag"),
        ({"languages": ["en-US", "fr-FR", "de-DE", "es-ES", "it-IT", "nl-NL"]}, "1 to 5"),
        ({"voice": "a b"}, "voice is"),
        ({"timezone": "Mars/Olympus"}, "not an IANA"),
        ({"timezone": "../etc/passwd"}, "not an IANA"),
        ({"timezone": ""}, "IANA name"),
        ({"hours": [Window(7, "09:00", "17:00")]}, "weekday"),
        ({"hours": [Window(-1, "09:00", "17:00")]}, "weekday"),
        ({"hours": [Window(0, "9:00", "17:00")]}, "HH:MM"),
        ({"hours": [Window(0, "09:00", "24:00")]}, "HH:MM"),
        ({"hours": [Window(0, "17:00", "09:00")]}, "opens before it closes"),
        ({"hours": [Window(0, "09:00", "09:00")]}, "opens before it closes"),
        (
            {"hours": [Window(0, "09:00", "12:00"), Window(0, "11:59", "14:00")]},
            "overlap",
        ),
        ({"hours": [Window(d % 7, "00:00", "00:01") for d in range(29)]}, "at most 28"),
        ({"appointment_minutes": 4}, "between 5 and 480"),
        ({"appointment_minutes": 481}, "between 5 and 480"),
        ({"appointment_minutes": True}, "between 5 and 480"),
        ({"max_call_seconds": 29}, "between 30 and 3600"),
        ({"max_call_seconds": 3601}, "between 30 and 3600"),
        ({"end_silence_ms": 199}, "between 200 and 2000"),
        ({"end_silence_ms": 2001}, "between 200 and 2000"),
        ({"dialog": "gpt"}, "dialog is one of"),
        ({"dialog": "llm"}, "needs a model_url"),
        ({"dialog": "llm", "model_url": "http://127.0.0.1:8080/v1"}, "needs a model_url"),
        ({"model_url": "ftp://x/"}, "http or https"),
        ({"model_url": "http:///v1"}, "http or https"),
        ({"model_api_key": "k"}, "needs a model_url"),
        ({"model_url": "http://h/", "model_name": "m", "model_timeout_seconds": 0.4}, "0.5"),
        ({"model_url": "http://h/", "model_name": "m", "model_timeout_seconds": 31}, "30.0"),
        ({"calendar_username": "ann"}, "need a calendar_url"),
        ({"calendar_url": "https://dav/cal/", "calendar_password": "pw"}, "calendar_username"),
        (
            {"calendar_url": "https://dav/", "calendar_username": "a", "calendar_password": ""},
            "1 to 500",
        ),
        ({"greeting": "Hello {caller_name}"}, "unknown placeholders: caller_name"),
        ({"greeting": "Hello {}"}, "unknown placeholders"),
        ({"greeting": "Hello {name"}, "brace outside"),
        ({"sms_template": "See you {when}"}, "unknown placeholders: when"),
        ({"extra": {"Bad-Key": "x"}}, "lower-case identifier"),
        ({"extra": {"name": "x"}}, "placeholder of its own"),
        ({"extra": {f"k{n}": "x" for n in range(21)}}, "at most 20"),
        ({"sms_template": "x" * 641}, "at most 640"),
    ],
)
def test_fields_are_checked_at_their_edges(
    edge: tuple[Session, str], fields: dict[str, Any], fragment: str
) -> None:
    session, account = edge
    assert fragment in _refused(session, account, **fields).message


@pytest.mark.parametrize(
    "fields",
    [
        {"hours": [Window(0, "09:00", "12:00"), Window(0, "12:00", "17:00")]},
        {"hours": [Window(6, "00:00", "23:59")]},
        {"appointment_minutes": 5, "max_call_seconds": 30, "end_silence_ms": 200},
        {"appointment_minutes": 480, "max_call_seconds": 3600, "end_silence_ms": 2000},
        {"languages": ["fr-FR", "en"], "timezone": "Europe/Paris"},
        {"sms_template": "Hi {caller_name}, see you {appointment} at {business_name}."},
        {"extra": {"offer": "10% off"}, "greeting": "Ask me about {offer}."},
        {"dialog": "llm", "model_url": "http://127.0.0.1:8080/v1", "model_name": "qwen"},
    ],
)
def test_values_at_the_edges_are_taken(edge: tuple[Session, str], fields: dict[str, Any]) -> None:
    session, account = edge
    _create(session, account, **fields)


@pytest.mark.parametrize(
    "text",
    [
        "I am a real person from the front desk.",
        "You are a human receptionist named Ava.",
        "Pretend to be a human.",
        "Never say you are an AI.",
        "Never admit that you are a bot.",
        "Act as a real person.",
        "We're real people here at Acme.",
    ],
)
def test_a_text_passing_the_agent_off_as_a_person_is_refused(
    edge: tuple[Session, str], text: str
) -> None:
    session, account = edge
    assert _refused(session, account, instructions=text).rule == "A4"
    assert _refused(session, account, greeting=text).rule == "A4"


@pytest.mark.parametrize(
    "text",
    [
        "I can put you through to a person.",
        "Say you are an AI assistant when asked.",
        "If the caller asks whether you are a person, say you are an AI.",
        "If asked if you are human, say no: you are an AI.",
        "I am not a person; I am an AI assistant.",
    ],
)
def test_honest_texts_are_taken(edge: tuple[Session, str], text: str) -> None:
    session, account = edge
    _create(session, account, instructions=text, greeting=text)


def test_transfer_targets_are_the_accounts_own(
    session: Session, account: str, other_account: str
) -> None:
    alice = users.create_user(session, account, name="Alice", now=T0, realm=REALM)
    group = routing.create_ring_group(
        session, account, name="Sales", strategy="parallel", member_seconds=20,
        user_ids=[alice.id], now=T0,
    )  # fmt: skip
    stranger = users.create_user(session, other_account, name="Eve", now=T0, realm=REALM)
    scheduler = users.create_user(
        session, account, name="Sam", now=T0, realm=REALM, role="scheduler", extension="301"
    )
    row = _create(
        session,
        account,
        transfer_targets=[
            Target("user", alice.id),
            Target("group", group.id, "sales"),
            Target("number", "+33 6 12 34 56 78", "mobile"),
        ],
    )
    assert [(t.kind, t.label) for t in profiles.targets_of(row)] == [
        ("user", "Alice"),
        ("group", "sales"),
        ("number", "mobile"),
    ]
    assert profiles.targets_of(row)[2].ref == "+33612345678"
    for target, fragment in [
        (Target("user", stranger.id), "no user"),
        (Target("user", scheduler.id), "takes no calls"),
        (Target("group", "RI0"), "no ring group"),
        (Target("number", "12"), "E.164"),
        (Target("robot", "x"), "kind is one of"),
    ]:
        assert fragment in _refused(session, account, transfer_targets=[target]).message
    twice = [Target("user", alice.id), Target("user", alice.id, "again")]
    assert "twice" in _refused(session, account, transfer_targets=twice).message
    # A target gone since the profile was saved is not offered to the call (N10).
    users.update_user(session, account, alice.id, status="disabled")
    routing.delete_ring_group(session, account, group.id)
    offered = profiles.profile_for(session, account, row.id, KEY).transfer_targets
    assert [(t.kind, t.ref) for t in offered] == [("number", "+33612345678")]


@pytest.mark.parametrize("number", ["112", "15", "911", " 17 "])
def test_an_emergency_number_is_never_a_transfer_target(
    session: Session, account: str, number: str
) -> None:
    """A3: the agent never places an emergency call."""
    refused = _refused(session, account, transfer_targets=[Target("number", number)])
    assert refused.rule == "A3"
    assert "emergency number" in refused.message


def test_secrets_are_sealed_bound_to_the_row_and_opened_for_the_call(
    session: Session, account: str
) -> None:
    row = _create(
        session,
        account,
        calendar_url="https://dav.example/cal/",
        calendar_username="ann",
        calendar_password="s3cret",
        model_url="http://127.0.0.1:8080/v1",
        model_name="qwen",
        model_api_key="sk-local",
    )
    assert row.calendar_password_sealed
    assert sealed.is_sealed_text(row.calendar_password_sealed)
    assert "s3cret" not in row.calendar_password_sealed
    assert row.model_api_key_sealed
    assert "sk-local" not in row.model_api_key_sealed
    profile = profiles.profile_for(session, account, row.id, KEY)
    assert profile.calendar == CalendarRef("https://dav.example/cal/", "ann", "s3cret")
    assert profile.model is not None
    assert profile.model.api_key == "sk-local"
    shown = profiles.described(row)
    assert shown["calendar_password_set"]
    assert shown["model_api_key_set"]
    assert "s3cret" not in str(shown)
    assert "sk-local" not in str(shown)
    other = _create(session, account, name="Bob")
    other.calendar_url, other.calendar_username = row.calendar_url, "ann"
    other.calendar_password_sealed = row.calendar_password_sealed  # copied onto another row
    with pytest.raises(sealed.SealError):
        profiles.profile_for(session, account, other.id, KEY)
    with pytest.raises(ValueError, match="key is needed"):
        profiles.create_profile(
            session, account, ProfileChanges(name="X", model_url="http://h/", model_api_key="k"),
            now=T0, key=None,
        )  # fmt: skip


def test_profile_for_is_the_whole_pure_profile(session: Session, account: str) -> None:
    row = _create(
        session,
        account,
        business_name="Acme",
        purpose="custom",
        greeting="{business_name}, {name} speaking. {offer}",
        extra={"offer": "Ask about our plans."},
        hours=[Window(1, "09:00", "12:00"), Window(0, "14:00", "18:00")],
        timezone="Europe/Paris",
        languages=["fr-FR", "en-US"],
        sms_template="{business_name}: see you {appointment}",
    )
    knowledge.add_entry(session, account, row.id, question="Open?", answer="9-5", now=T0)
    profile = profiles.profile_for(session, account, row.id, KEY)
    assert isinstance(profile, AgentProfile)
    assert profile.greeting == "Acme, Ava speaking. Ask about our plans."
    assert profile.sms_template == "Acme: see you {appointment}"  # the call fills its own
    assert profile.hours == (
        OpenHours(0, time(14), time(18)),
        OpenHours(1, time(9), time(12)),
    )
    assert profile.knowledge == (KnowledgeEntry("Open?", "9-5"),)
    assert profile.language == "fr-FR"
    assert (profile.timezone, profile.calendar, profile.model) == ("Europe/Paris", None, None)
    assert profile.extra == (("offer", "Ask about our plans."),)


def test_update_changes_what_is_given_and_clears_with_none(session: Session, account: str) -> None:
    row = _create(session, account, sms_template="Thanks!")
    updated = profiles.update_profile(
        session, account, row.id, ProfileChanges(voice="bella", sms_template=None), now=T0
    )
    assert (updated.voice, updated.sms_template, updated.name) == ("bella", None, "Ava")
    with pytest.raises(DialtoneError, match="unknown placeholders"):
        # The extra value a greeting uses cannot be taken away from under it.
        profiles.update_profile(
            session, account, row.id, ProfileChanges(greeting="Hi {x}", extra={}), now=T0
        )


def test_another_accounts_profile_is_not_found(
    session: Session, account: str, other_account: str
) -> None:
    row = _create(session, account)
    for call in (
        lambda: profiles.get_profile(session, other_account, row.id),
        lambda: profiles.profile_for(session, other_account, row.id, KEY),
        lambda: profiles.delete_profile(session, other_account, row.id),
    ):
        with pytest.raises(DialtoneError) as info:
            call()
        assert (info.value.code, info.value.status) == ("agent.not_found", 404)


def test_a_number_routes_to_an_agent_of_its_account_only(
    session: Session, account: str, other_account: str
) -> None:
    held = numbers.add_number(session, account, NUMBER, now=T0)
    held.activated_at = T0
    mine = _create(session, account)
    theirs = _create(session, other_account)
    with pytest.raises(DialtoneError) as info:
        routing.set_route(session, account, NUMBER, kind="agent", target=theirs.id)
    assert info.value.code == "route.invalid"
    with pytest.raises(DialtoneError):
        routing.set_route(session, account, NUMBER, kind="agent")
    boxed = users.create_user(session, account, name="Box", now=T0, realm=REALM)
    route = routing.set_route(
        session, account, NUMBER, kind="agent", target=mine.id, voicemail_user_id=boxed.id
    )
    assert (route.kind, route.target) == ("agent", mine.id)
    found = profiles.agent_route(session, NUMBER)
    assert found == profiles.AgentRoute(NUMBER, account, mine.id, boxed.id)
    assert profiles.delete_profile(session, account, mine.id) == [NUMBER]
    after = routing.get_route(session, account, NUMBER)
    assert (after.kind, after.target, after.voicemail_user_id) == ("greeting", None, None)
    assert profiles.agent_route(session, NUMBER) is None


def test_an_unactivated_or_unrouted_number_has_no_agent(session: Session, account: str) -> None:
    numbers.add_number(session, account, NUMBER, now=T0)
    assert profiles.agent_route(session, NUMBER) is None
    assert profiles.agent_route(session, "+33999999999") is None
