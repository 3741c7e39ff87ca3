"""What the caller wants, from what they said: many paraphrases per intent."""

from __future__ import annotations

import pytest

from dialtone.agents.english import ENGLISH
from dialtone.agents.intents import bare_name, message_text, understand
from dialtone.agents.profile import AgentProfile, TransferTarget
from dialtone.agents.text import normalise

SALES = TransferTarget("group", "sales", "sales")
ALICE = TransferTarget("user", "u1", "Alice Martin")
BOB = TransferTarget("user", "u2", "Bob")
DESK = TransferTarget("group", "desk", "front desk")
PROFILE = AgentProfile(
    id="a", account_id="b", name="Sarah", transfer_targets=(SALES, ALICE, BOB, DESK)
)

PARAPHRASES = {
    "book": [
        "I'd like an appointment tomorrow at ten",
        "I want to book an appointment",
        "can I book a checkup",
        "could I schedule a visit",
        "I need to make a reservation",
        "do you have any openings on Friday",
        "can I come in next week",
        "I'd like to see the dentist",
        "I need to reschedule my appointment",
        "what's your availability on Monday",
    ],
    "transfer": [
        "Can I speak to someone?",
        "I'd like to talk to a person",
        "put me through to a human",
        "I want a real person",
        "connect me with an operator",
        "can I get a representative",
        "let me talk to the manager",
        "transfer me please",
        "sales please",
        "is Alice there?",
        "I need to talk to sales",
    ],
    "message": [
        "please take a message",
        "can I leave a message",
        "can I leave a message for Alice?",
        "Please take a message, tell Bob I'll be late",
        "could you tell Bob that the parcel arrived",
        "can you ask Bob to call me back?",
        "please have someone call me back",
        "I'd like to leave a voicemail",
        "could you pass that on to Alice",
    ],
    "hours": [
        "what are your opening hours",
        "when do you close on Friday",
        "are you open on Saturday",
        "what time do you open tomorrow",
        "are you open now",
        "what are your hours",
    ],
    "goodbye": [
        "bye",
        "goodbye",
        "that's all, thanks",
        "that's it",
        "nothing else, have a good day",
        "ok bye bye",
        "I'm done",
    ],
    "repeat": [
        "sorry, could you repeat that",
        "can you say that again",
        "pardon?",
        "what did you say",
        "I didn't catch that",
    ],
    "thanks": ["thank you", "thanks a lot", "cheers"],
}


@pytest.mark.parametrize(
    ("intent", "text"), [(intent, text) for intent, texts in PARAPHRASES.items() for text in texts]
)
def test_paraphrases(intent: str, text: str) -> None:
    assert understand(text, PROFILE).intent == intent


@pytest.mark.parametrize(
    "text", ["do you have parking?", "how much is a cleaning", "my name is John", "hmm", ""]
)
def test_no_intent_leaves_it_to_the_knowledge_base(text: str) -> None:
    assert understand(text, PROFILE).intent is None


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("yes", "yes"),
        ("yes please", "yes"),
        ("yeah that works", "yes"),
        ("sure, go ahead", "yes"),
        ("okay", "yes"),
        ("that's right", "yes"),
        ("no problem", "yes"),  # a "no" that means yes
        ("no", "no"),
        ("nope", "no"),
        ("no thanks", "no"),
        ("no, that's not right", "no"),
        ("not really", "no"),
        ("I don't think so", "no"),
        ("hmm maybe later", None),
    ],
)
def test_yes_and_no(text: str, answer: str | None) -> None:
    assert understand(text, PROFILE).answer == answer


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("sales please", SALES),
        ("can I talk to the sales team", SALES),
        ("is Alice there", ALICE),
        ("I'd like to speak with Ms Martin", ALICE),
        ("put me through to Bob", BOB),
        ("the front desk please", DESK),
        ("I stood in front of your shop", None),  # a team only by its whole label
        ("can I speak to someone", None),
    ],
)
def test_targets_by_label(text: str, target: TransferTarget | None) -> None:
    assert understand(text, PROFILE).target == target


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Please take a message, tell Bob I'll be late", "tell Bob I'll be late"),
        ("Please take a message for Bob: I'll be late.", "I'll be late"),
        ("can you leave a message saying the order is ready", "the order is ready"),
        ("could you tell Bob that the parcel arrived", "tell Bob that the parcel arrived"),
        ("Can you ask Bob to call me back?", "ask Bob to call me back"),
        ("please take a message", None),
        ("can you tell me your hours", None),  # "tell me" is a question, not a message
        ("take a message: hi", None),  # too short to be the message
    ],
)
def test_message_said_with_the_request(text: str, message: str | None) -> None:
    assert message_text(text, ENGLISH) == message


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("my name is John Smith", "John Smith"),
        ("this is Mary speaking", "Mary"),
        ("hi, it's Paul here", "Paul"),
        ("I'm calling about my invoice", None),
        ("can you call me back", None),
    ],
)
def test_names_given(text: str, name: str | None) -> None:
    assert understand(text, PROFILE).name == name


@pytest.mark.parametrize(
    ("text", "name"),
    [("John Smith", "John Smith"), ("it's Anna", "Anna"), ("sure", None), ("no", None)],
)
def test_a_name_said_alone(text: str, name: str | None) -> None:
    assert bare_name(normalise(text, ENGLISH), ENGLISH) == name


@pytest.mark.parametrize(
    ("text", "choice"),
    [("the first one", 0), ("the earlier one", 0), ("the second", 1), ("the other one", 1)],
)
def test_choices(text: str, choice: int) -> None:
    assert understand(text, PROFILE).choice == choice
