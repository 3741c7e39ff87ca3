"""The deterministic dialog (A1): booking, hand-over, messages, FAQ, hours, misses."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from dialtone.agents.profile import AgentProfile, KnowledgeEntry, OpenHours, TransferTarget
from dialtone.agents.rules_brain import RulesBrain
from dialtone.agents.turns import (
    AI_LABEL,
    BookAppointment,
    Booked,
    Brain,
    DialogState,
    EndCall,
    FollowUpSent,
    HandOver,
    HandOverFailed,
    Heard,
    Input,
    MessageTaken,
    NotBooked,
    RecordMessage,
    Reply,
    SendFollowUp,
    Silence,
)

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2024, 12, 9, 9, 15, tzinfo=PARIS)  # a Monday
DESK = TransferTarget("group", "desk", "front desk")
SALES = TransferTarget("group", "sales", "sales")
PROFILE = AgentProfile(
    id="a",
    account_id="b",
    name="Sarah",
    business_name="Acme",
    timezone="Europe/Paris",
    hours=tuple(OpenHours(d, time(9), time(17)) for d in range(5)),
    transfer_targets=(DESK, SALES),
    knowledge=(KnowledgeEntry("Do you have parking?", "Yes, free parking behind the building."),),
    sms_template="Hi {name}, see you {when} at {business}.",
)
BARE = AgentProfile(id="c", account_id="b", name="Max", timezone="Europe/Paris")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 12, day, hour, minute, tzinfo=PARIS)


def talk(inputs: list[Input], profile: AgentProfile = PROFILE) -> tuple[DialogState, list[Reply]]:
    brain: Brain = RulesBrain()
    state = DialogState()
    replies = []
    for heard in inputs:
        state, reply = brain.hear(profile, state, heard, NOW)
        replies.append(reply)
    return state, replies


def test_direct_booking_then_confirmation_and_follow_up() -> None:
    state, replies = talk(
        [Heard("I'd like an appointment tomorrow at ten"), Booked(at(10, 10), 30), FollowUpSent()]
    )
    asking, booked, sent = replies
    assert asking.say == ("One moment, let me book tomorrow at 10 a.m.",)
    assert asking.act == BookAppointment(
        start=at(10, 10),
        minutes=30,
        caller_name="",
        note=asking.act.note,  # type: ignore[union-attr]
    )
    assert isinstance(asking.act, BookAppointment)
    assert asking.act.start.tzinfo == PARIS
    assert asking.act.note.startswith(AI_LABEL)
    assert booked.say == ("You're booked for tomorrow at 10 a.m.", "Anything else I can help with?")
    assert booked.outcome == "booked"
    assert booked.act == SendFollowUp("Hi, see you tomorrow at 10 a.m. at Acme.")
    assert sent == Reply()
    assert len(asking.say[0].split()) <= 9  # the first sentence is short: it is the latency
    # The history holds both sides.
    assert state.history[0] == ("caller", "I'd like an appointment tomorrow at ten")


def test_slot_filling_asks_name_once_and_confirms() -> None:
    _, replies = talk(
        [
            Heard("I'd like to book an appointment"),
            Heard("Friday afternoon"),
            Heard("at 3"),
            Heard("John Smith"),
            Heard("yes"),
        ]
    )
    says = [r.say for r in replies]
    assert says[:4] == [
        ("Which day and time suit you?",),
        ("What time in the afternoon?",),
        ("May I have your name?",),
        ("Shall I book Friday 13 December at 3 p.m.?",),
    ]
    book = replies[4].act
    assert isinstance(book, BookAppointment)
    assert (book.start, book.caller_name) == (at(13, 15), "John Smith")


def test_a_name_given_early_is_not_asked_for() -> None:
    _, replies = talk([Heard("Hi, this is Anna. I'd like to book for Friday"), Heard("at 11")])
    assert replies[1].say == ("Shall I book Friday 13 December at 11 a.m.?",)


def test_no_at_the_confirmation_asks_again_and_a_correction_is_taken() -> None:
    _, replies = talk([Heard("book me on Friday"), Heard("at 11"), Heard("Paul"), Heard("no")])
    assert replies[3].say == ("Which day and time suit you?",)
    _, replies = talk(
        [Heard("book me on Friday"), Heard("at 11"), Heard("Paul"), Heard("make it Thursday")]
    )
    assert replies[3].say == ("Shall I book Thursday 12 December at 11 a.m.?",)


def test_not_booked_offers_the_alternatives_and_books_the_chosen_one() -> None:
    inputs: list[Input] = [
        Heard("tomorrow at 3 please, I'd like an appointment"),
        NotBooked(at(10, 15), (at(10, 15, 30), at(10, 16))),
    ]
    _, replies = talk([*inputs, Heard("the second one")])
    assert replies[1].say == ("That time isn't free.", "Would 3:30 p.m. or 4 p.m. suit you?")
    assert isinstance(replies[2].act, BookAppointment)
    assert replies[2].act.start == at(10, 16)
    _, replies = talk([*inputs, Heard("yes")])
    assert isinstance(replies[2].act, BookAppointment)
    assert replies[2].act.start == at(10, 15, 30)
    _, replies = talk([*inputs, Heard("4 pm works")])
    assert isinstance(replies[2].act, BookAppointment)
    assert replies[2].act.start == at(10, 16)


def test_calendar_error_offers_a_person_or_a_message() -> None:
    _, replies = talk([Heard("appointment tomorrow at 10"), NotBooked(at(10, 10), error="down")])
    assert replies[1].say == (
        "Sorry, I couldn't book that.",
        "I can take a message or connect you to a person.",
    )


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("appointment on Saturday at 10", "Sorry, we're closed then."),
        ("appointment tomorrow at 8", "Sorry, we're closed then."),  # 8 a.m., before 9
        ("appointment tomorrow at 16:45", "Sorry, we're closed then."),  # ends after 17:00
        ("appointment today at 9", "That time has passed."),
    ],
)
def test_closed_or_past_times_are_not_booked(text: str, first: str) -> None:
    _, (reply,) = talk([Heard(text)])
    assert reply.act is None
    assert reply.say[0] == first
    if first.startswith("Sorry"):
        assert reply.say[1] == "We're open Monday to Friday, 9 a.m. to 5 p.m."


def test_last_slot_of_the_day_is_bookable() -> None:
    _, (reply,) = talk([Heard("appointment tomorrow at 16:30")])
    assert isinstance(reply.act, BookAppointment)


def test_transfer_then_failure_offers_a_message() -> None:
    _, replies = talk(
        [Heard("Can I speak to someone?"), HandOverFailed(486), Heard("yes"), MessageTaken("x")]
    )
    hand_over = replies[0].act
    assert isinstance(hand_over, HandOver)
    assert hand_over.target == DESK
    assert hand_over.reason == "asked"
    assert hand_over.summary.startswith(AI_LABEL)
    assert "Can I speak to someone?" in hand_over.summary
    assert replies[0].outcome is None  # "transferred" only once connected
    assert replies[1].say == ("Sorry, nobody is available right now.", "Shall I take a message?")
    assert isinstance(replies[2].act, RecordMessage)
    assert replies[3].outcome == "message"


def test_transfer_to_a_named_target() -> None:
    _, (reply,) = talk([Heard("I need to talk to sales")])
    assert reply.say == ("Connecting you to sales now.",)
    assert isinstance(reply.act, HandOver)
    assert reply.act.target == SALES


def test_no_transfer_targets_offers_a_message() -> None:
    _, (reply,) = talk([Heard("can I speak to a person")], BARE)
    assert reply.say == ("Sorry, I can't transfer calls.", "Shall I take a message?")
    assert reply.act is None


def test_message_with_its_text_is_still_recorded() -> None:
    state, replies = talk([Heard("Please take a message, tell Bob I'll be late"), MessageTaken()])
    assert replies[0].say == ("Please leave your message after the tone.",)
    assert replies[0].act == RecordMessage(about="tell Bob I'll be late")
    assert replies[1].say[0] == "Thank you, your message is recorded."
    assert replies[1].outcome == "message"
    # The booking template names {when}: no follow-up after a message alone.
    assert replies[1].act is None
    assert state.slot("message") == "tell Bob I'll be late"


def test_message_follow_up_when_the_template_fits() -> None:
    profile = AgentProfile(
        id="a",
        account_id="b",
        name="S",
        business_name="Acme",
        sms_template="Thanks for calling {business}.",
    )
    _, replies = talk([Heard("please take a message"), MessageTaken("hello there")], profile)
    assert replies[1].act == SendFollowUp("Thanks for calling Acme.")


def test_messages_refused_when_the_profile_takes_none() -> None:
    profile = AgentProfile(
        id="a", account_id="b", name="S", take_messages=False, transfer_targets=(DESK,)
    )
    _, (reply,) = talk([Heard("can I leave a message")], profile)
    assert reply.say == ("Sorry, I can't take messages.", "Shall I connect you to a person?")


def test_faq_and_hours_are_answered() -> None:
    _, replies = talk(
        [Heard("do you have parking?"), Heard("what are your hours?"), Heard("are you open now?")]
    )
    assert replies[0].say == (
        "Yes, free parking behind the building.",
        "Anything else I can help with?",
    )
    assert replies[0].outcome == "answered"
    assert replies[1].say[0] == "We're open Monday to Friday, 9 a.m. to 5 p.m."
    assert replies[2].say[0] == "Yes, we're open until 5 p.m. today."


def test_no_hours_set() -> None:
    _, (reply,) = talk([Heard("when are you open?")], BARE)
    assert reply.say == ("I don't have our opening hours.", "Shall I take a message?")


def test_two_misses_then_an_offer() -> None:
    _, replies = talk([Heard("blah blah"), Heard("zzz qqq"), Heard("yes")])
    assert replies[0].say == ("Sorry, I didn't catch that.",)
    assert replies[1].say == (
        "Sorry, I didn't catch that.",
        "I can take a message or connect you to a person.",
    )
    assert isinstance(replies[2].act, HandOver)


def test_low_confidence_is_a_miss() -> None:
    _, (reply,) = talk([Heard("do you have parking?", confidence=0.1)])
    assert reply.say == ("Sorry, I didn't catch that.",)


def test_silence_prompts_once_then_ends() -> None:
    _, replies = talk([Silence(), Silence()])
    assert replies[0] == Reply(say=("Are you still there?",))
    assert replies[1] == Reply(say=("I'll end the call now. Goodbye.",), act=EndCall())
    _, replies = talk([Silence(), Heard("hello?"), Silence()])
    assert replies[2].act is None  # speaking in between starts the count again


def test_goodbye_and_no_more() -> None:
    _, (reply,) = talk([Heard("that's all, bye")])
    assert reply == Reply(say=("Thank you for calling. Goodbye.",), act=EndCall())
    _, replies = talk([Heard("do you have parking?"), Heard("no thanks")])
    assert isinstance(replies[1].act, EndCall)


def test_repeat_says_the_last_reply_again() -> None:
    _, replies = talk([Heard("do you have parking?"), Heard("sorry, can you repeat that")])
    assert replies[1].say == replies[0].say


def test_every_first_sentence_is_short() -> None:
    _, replies = talk(
        [Heard("I'd like to book"), Heard("Friday"), Heard("at 10"), Heard("Jo"), Heard("yes")]
    )
    for reply in replies:
        assert len(reply.say[0].split()) <= 10
