"""TERMS A2–A4: the disclosure first, emergencies handed over, no advice, no pretending."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dialtone.agents.english import ENGLISH
from dialtone.agents.guard import (
    check_reply,
    claims_human,
    classify,
    disclosure,
    emergency_number,
    guard,
    opening,
)
from dialtone.agents.profile import AgentProfile, TransferTarget
from dialtone.agents.turns import (
    AI_LABEL,
    DialogState,
    EndCall,
    HandOver,
    Heard,
    Reply,
    Silence,
)

NOW = datetime(2024, 12, 7, 9, 15, tzinfo=UTC)
DESK = TransferTarget(kind="group", ref="desk", label="front desk")
PROFILE = AgentProfile(
    id="ag1",
    account_id="acc1",
    name="Sarah",
    business_name="Acme Dental",
    transfer_targets=(DESK,),
)
ALONE = AgentProfile(id="ag2", account_id="acc1", name="Max", take_messages=False)

EMERGENCIES = [
    # fire, gas
    "There's a fire in my kitchen!",
    "my house is on fire",
    "the building caught fire",
    "there's smoke everywhere",
    "I smell gas",
    # breathing
    "I can't breathe",
    "I cant breath",
    "I cannot breathe",
    "my baby is not breathing",
    "he's choking",
    # heart, stroke
    "my husband is having a heart attack",
    "I think he's having a hard attack",  # speech-to-text's spelling
    "I have chest pain",
    "chest pains since this morning",
    "a pain in my chest",
    "I think she's having a stroke",
    # collapse
    "someone collapsed in the lobby",
    "he's unconscious",
    "she passed out and won't wake up",
    # overdose, poison
    "she took an overdose",
    "I think he overdosed",
    "my son swallowed too many pills",
    # bleeding
    "he's bleeding badly",
    "she is bleeding a lot",
    "there is blood everywhere",
    # violence, break-in
    "I'm being attacked",
    "someone is breaking into my house",
    "there's been a break-in",
    "there is an intruder downstairs",
    "he has a gun",
    "I've been stabbed",
    # help services
    "call an ambulance",
    "please call the police",
    "call 9-1-1",
    "call nine one one",
    "dial 112 for me",
    # self-harm
    "I want to kill myself",
    "I'm thinking about suicide",
    "I want to end my life",
    # outright
    "this is an emergency",
    "it's an emergency, please help",
    "there's been a car accident",
]

ADVICE = [
    "How much ibuprofen should I take?",
    "what dosage of paracetamol is safe",
    "can you diagnose my rash",
    "is it serious if my arm is swollen",
    "what are the symptoms of flu",
    "should I take antibiotics",
    "what are the side effects",
    "can I sue my landlord",
    "I want to sue them",
    "is it legal to record calls",
    "should I sign this contract",
    "I need some legal advice",
    "should I invest in bitcoin",
    "which stocks should I buy",
    "should I take out a loan",
    "I need tax advice",
    "is it a good time to buy property",
]

IDENTITY = [
    "Are you a robot?",
    "are you human",
    "are you a real person",
    "am I talking to a machine",
    "is this an AI?",
    "is this a recording",
    "you a robot?",
    "Are you an A.I.?",
    "who am I speaking with",
    "are you real",
    "Am I speaking with a bot?",
]

# Near misses: none of these is an emergency, advice or a question of identity.
NEAR_MISSES = [
    "fire the contractor",  # the verb: firing someone is no emergency
    "I want to fire my accountant",
    "I'd like to book a fire alarm inspection",
    "can I book a smoke detector installation",
    "I need an emergency appointment",  # an urgent slot: a booking (the word alone fires)
    "I'd like to book a checkup",
    "is the office open",
    "can I speak to Sue",
    "my gums bleed a bit",
    "what are your prices",
    "I'd like an appointment tomorrow at ten",
    "can I book a flu shot",
    "can I cancel my contract",
    "are you open on Saturday",
    "I'd like to speak to a real person",  # a transfer, not a question
    "where are you located",
    "do you take credit cards",
    "I'm dying to know your prices",
    "I'd like to book a diagnostic appointment",
    "are you the person who handles billing",
    "I'd like to invoice you",
]


@pytest.mark.parametrize("text", EMERGENCIES)
def test_emergencies_are_recognised(text: str) -> None:
    assert classify(text, ENGLISH) == "emergency"


@pytest.mark.parametrize("text", ADVICE)
def test_requests_for_advice_are_recognised(text: str) -> None:
    assert classify(text, ENGLISH) == "advice"


@pytest.mark.parametrize("text", IDENTITY)
def test_questions_of_identity_are_recognised(text: str) -> None:
    assert classify(text, ENGLISH) == "identity"


@pytest.mark.parametrize("text", NEAR_MISSES)
def test_near_misses_are_left_to_the_brain(text: str) -> None:
    assert classify(text, ENGLISH) is None
    assert guard(PROFILE, DialogState(), Heard(text), NOW) is None


def test_an_emergency_wins_over_everything_else() -> None:
    assert classify("are you a robot? my husband collapsed", ENGLISH) == "emergency"
    assert classify("should I take aspirin for chest pain", ENGLISH) == "emergency"


def test_emergency_is_handed_over_with_the_instruction() -> None:
    reply = guard(PROFILE, DialogState(), Heard("my husband collapsed"), NOW)
    assert reply is not None
    assert reply.guarded == "emergency"
    assert reply.outcome == "transferred"
    assert isinstance(reply.act, HandOver)
    assert reply.act.reason == "emergency"
    assert reply.act.target == DESK
    assert reply.act.summary.startswith(AI_LABEL)
    assert "collapsed" in reply.act.summary
    # The instruction comes first: it is what a caller in danger must hear.
    assert "hang up and dial 911" in reply.say[0]  # en-US, the default


def test_emergency_without_anyone_to_hand_to_ends_the_call() -> None:
    reply = guard(ALONE, DialogState(), Heard("there's a fire"), NOW)
    assert reply is not None
    assert isinstance(reply.act, EndCall)
    assert reply.guarded == "emergency"
    assert reply.say == ("If you are in danger, hang up and dial 911 now.",)


@pytest.mark.parametrize(
    ("language", "country", "number"),
    [
        ("en-US", None, "911"),
        ("en-CA", None, "911"),
        ("en-GB", None, "999"),
        ("en-AU", None, "000"),
        ("en", None, "112"),
        ("fr-FR", None, "112"),
        ("en-US", "FR", "112"),  # the parameter wins over the language's region
        ("en", "us", "911"),
    ],
)
def test_emergency_number_by_region(language: str, country: str | None, number: str) -> None:
    profile = AgentProfile(id="a", account_id="b", name="N", languages=(language,))
    assert emergency_number(profile, country) == number
    reply = guard(profile, DialogState(), Heard("call an ambulance"), NOW, country=country)
    assert reply is not None
    assert f"dial {number}" in reply.say[0]


def test_advice_gets_the_fixed_answer() -> None:
    reply = guard(PROFILE, DialogState(), Heard("how much aspirin should I take"), NOW)
    assert reply == Reply(
        say=(
            "I can't give medical, legal or financial advice.",
            "I can take a message or connect you to a person.",
        ),
        guarded="advice",
    )


def test_identity_gets_the_truth_and_the_offer_it_can_keep() -> None:
    reply = guard(PROFILE, DialogState(), Heard("are you a robot?"), NOW)
    assert reply is not None
    assert reply.guarded == "identity"
    assert reply.say[0] == "I'm an AI assistant, not a person."
    assert reply.act is None
    alone = guard(ALONE, DialogState(), Heard("are you human?"), NOW)
    assert alone == Reply(say=("I'm an AI assistant, not a person.",), guarded="identity")


def test_only_what_was_heard_is_guarded() -> None:
    assert guard(PROFILE, DialogState(), Silence(), NOW) is None


def test_disclosure_says_ai_and_comes_first() -> None:
    assert disclosure(PROFILE) == (
        "Hello, you're speaking with Sarah, an AI assistant for Acme Dental;"
        " this call is transcribed."
    )
    assert "AI" in disclosure(ALONE)
    reply = opening(PROFILE)
    assert reply.say == (disclosure(PROFILE), "How can I help you today?")


@pytest.mark.parametrize(
    ("greeting", "kept"),
    [
        ("Hi! I'm Sarah, a real person. How can I help?", ("Hi!", "How can I help?")),
        ("I am a human.", ("How can I help you today?",)),
        ("Don't worry, I'm not a robot.", ("How can I help you today?",)),
        ("Welcome to Acme. What can I do for you?", ("Welcome to Acme.", "What can I do for you?")),
        ("", ("How can I help you today?",)),
    ],
)
def test_a_greeting_cannot_claim_a_human_nor_drop_the_disclosure(
    greeting: str, kept: tuple[str, ...]
) -> None:
    profile = AgentProfile(id="a", account_id="b", name="Sarah", greeting=greeting)
    reply = opening(profile)
    assert reply.say[0] == disclosure(profile)
    assert "AI" in reply.say[0]
    assert reply.say[1:] == kept


def test_a_name_claiming_a_human_is_not_said() -> None:
    profile = AgentProfile(id="a", account_id="b", name="a real person", business_name="Acme")
    assert "real person" not in disclosure(profile)
    assert "AI" in disclosure(profile)


@pytest.mark.parametrize(
    ("sentence", "claims"),
    [
        ("I am a human.", True),
        ("I'm a real person.", True),
        ("I'm not a robot.", True),
        ("I'm not an AI.", True),
        ("I'm Sarah, a real person.", True),
        ("Yes, I'm human.", True),
        ("You're speaking with a real person.", True),
        ("This is not a recording.", True),
        ("I'm connecting you to a person now.", False),
        ("I'm getting a human for you.", False),
        ("I'm an AI assistant, not a person.", False),
        ("I'm sorry.", False),
        ("I'm happy to help.", False),
        ("Shall I connect you to a real person?", False),
    ],
)
def test_claims_of_being_human(sentence: str, claims: bool) -> None:
    assert claims_human(sentence, ENGLISH) is claims


def test_check_reply_replaces_a_claim_once_and_keeps_the_rest() -> None:
    reply = Reply(say=("Of course! I'm a real person. I'm human, promise.", "Anything else?"))
    checked = check_reply(PROFILE, reply)
    assert checked.say == ("Of course!", "I'm an AI assistant, not a person.", "Anything else?")
    assert checked.guarded == "identity"


def test_check_reply_leaves_an_honest_reply_alone() -> None:
    reply = Reply(say=("Connecting you to a person now.",), act=HandOver(None, "x"))
    assert check_reply(PROFILE, reply) is reply
