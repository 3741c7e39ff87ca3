"""The deterministic dialog manager (TERMS A1): intents, the knowledge base, slot filling.

``RulesBrain`` works offline with no model. It books (day, time, a name asked once,
a confirmation; or, when the first utterance holds the day and the time, straight away
with one short sentence, confirming once ``Booked`` comes back), hands over to a person,
takes messages, answers the FAQ and the opening hours, and ends the call politely.

The guard (``guard``) answers emergencies, advice and identity before any brain; this
one never sees those turns. Replies are short, the first sentence shortest: it is the
one the caller waits for.

State kept in ``DialogState.slots`` (text values): ``await`` what the last reply asked
for (``confirm``, ``name``, ``choice``, ``offer``, ``anything``, ``booking``, ``transfer``,
``message``); ``day``, ``time``, ``part`` the appointment gathered; ``start`` the one
asked for or booked; ``alternatives`` the free starts offered; ``name``, ``name_asked``;
``message``; ``offer`` what an offer was of; ``silences``; ``followed_up``.

Follow-up SMS: when the profile has ``sms_template``, the reply to ``Booked`` (and to
``MessageTaken``) confirms aloud and carries ``SendFollowUp`` as its act, once per call;
``FollowUpSent`` needs no words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from dialtone.agents.hours import closes_at, is_open, say_hours
from dialtone.agents.intents import Understood, bare_name, understand
from dialtone.agents.knowledge import answer
from dialtone.agents.language import Language
from dialtone.agents.languages import language_for
from dialtone.agents.profile import AgentProfile
from dialtone.agents.summary import AGENT, summarise, with_turn
from dialtone.agents.text import matches, normalise, sentences
from dialtone.agents.turns import (
    Act,
    BookAppointment,
    Booked,
    DialogState,
    EndCall,
    FollowUpSent,
    HandOver,
    HandOverFailed,
    Heard,
    Input,
    MessageTaken,
    NotBooked,
    Outcome,
    RecordMessage,
    Reply,
    SendFollowUp,
    Silence,
)
from dialtone.agents.when import When, parse_when, say_time, say_when

# Below this speech-to-text confidence a turn counts as not understood.
MIN_CONFIDENCE = 0.35
# Turns not understood in a row before a person or a message is offered.
MISSES_BEFORE_OFFER = 2
# Silences in a row before the call ends (the first gets a prompt).
SILENCES_BEFORE_END = 2
# The follow-up template's field for the appointment's time.
WHEN_FIELD = "{when}"
# Alternatives offered when a time is not free (more are hard to hold in mind).
ALTERNATIVES_SAID = 2


def _with(state: DialogState, **slots: str | None) -> DialogState:
    """``state`` with ``slots`` set (None removes one)."""
    kept = [(k, v) for k, v in state.slots if k not in slots]
    kept.extend((k, v) for k, v in slots.items() if v is not None)
    return replace(state, slots=tuple(kept))


def _when_of(state: DialogState) -> When:
    day, at, part = state.slot("day"), state.slot("time"), state.slot("part")
    return When(
        day=date.fromisoformat(day) if day else None,
        at=time.fromisoformat(at) if at else None,
        part=part or None,
    )


def _keep_when(state: DialogState, when: When) -> DialogState:
    return _with(
        state,
        day=when.day.isoformat() if when.day else "",
        time=when.at.isoformat(timespec="minutes") if when.at else "",
        part=when.part or "",
    )


_DOUBLE_STOP = re.compile(r"\.\.(?=\s|$)")
_SPACE_BEFORE_MARK = re.compile(r"\s+([,.!?])")


def _fill(template: str, values: dict[str, str]) -> str:
    # Only the known fields are filled: an operator's stray brace stays as written.
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


@dataclass(frozen=True, slots=True)
class _Turn:
    """What every step of one turn reads: the profile, ``now`` in the profile's zone,
    the profile's language."""

    profile: AgentProfile
    now: datetime
    lang: Language


class RulesBrain:
    """``turns.Brain`` by rules (see the module)."""

    def hear(
        self, profile: AgentProfile, state: DialogState, heard: Input, now: datetime
    ) -> tuple[DialogState, Reply]:
        """The next state and reply for one input (A1); the history gets the caller's
        words and the agent's sentences."""
        t = _Turn(profile, now.astimezone(ZoneInfo(profile.timezone)), language_for(profile))
        if isinstance(heard, Heard):
            # The caller's words first: a summary made this turn quotes them.
            state = with_turn(_with(state, silences=None), heard.text, Reply())
            new_state, reply = self._heard(t, state, heard)
        elif isinstance(heard, Silence):
            new_state, reply = self._silence(t, state)
        elif isinstance(heard, Booked):
            new_state, reply = self._booked(t, state, heard)
        elif isinstance(heard, NotBooked):
            new_state, reply = self._not_booked(t, state, heard)
        elif isinstance(heard, HandOverFailed):
            new_state, reply = self._hand_over_failed(t, state)
        elif isinstance(heard, MessageTaken):
            new_state, reply = self._message_taken(t, state, heard)
        elif isinstance(heard, FollowUpSent):
            new_state, reply = state, Reply()
        else:  # ModelAnswered: nothing was asked of a model
            new_state, reply = state, Reply()
        return with_turn(new_state, None, reply), reply

    # -- the caller spoke --------------------------------------------------------------

    def _heard(
        self,
        t: _Turn,
        state: DialogState,
        heard: Heard,
    ) -> tuple[DialogState, Reply]:
        if heard.confidence < MIN_CONFIDENCE or not normalise(heard.text, t.lang):
            return self._miss(t, state)
        said = understand(heard.text, t.profile, t.lang)
        when = parse_when(heard.text, t.now, t.lang)
        if said.name and not state.slot("name"):
            state = _with(state, name=said.name)
        if said.intent not in ("goodbye", "message", "transfer"):
            handled = self._answering(t, state, said, when, heard)
            if handled is not None:
                return handled
        return self._intent(t, state, said, when, heard)

    def _answering(
        self,
        t: _Turn,
        state: DialogState,
        said: Understood,
        when: When,
        heard: Heard,
    ) -> tuple[DialogState, Reply] | None:
        """The reply to an answer to what the agent asked; None when the utterance is
        no answer to it (then it is read as a new request)."""
        awaiting = state.slot("await")
        if awaiting == "confirm":
            if not when.empty:
                return self._booking(t, state, _when_of(state).merged(when))
            if said.answer == "yes":
                return self._book(t, state, announce=False)
            if said.answer == "no":
                state = _keep_when(state, When())
                return self._ask(state, t.lang.say.ask_day_and_time)
        elif awaiting == "choice":
            return self._chosen(t, state, said, when)
        elif awaiting == "name":
            name = said.name or bare_name(normalise(heard.text, t.lang), t.lang)
            state = _with(state, name=name or state.slot("name"))
            if when.empty and said.intent is None:
                return self._booking(t, state, _when_of(state))
            return self._booking(t, state, _when_of(state).merged(when))
        elif awaiting == "offer" and said.intent is None and said.answer is not None:
            if said.answer == "no":
                return self._ask(
                    state, t.lang.say.ok, t.lang.say.anything_else, awaiting="anything"
                )
            if state.slot("offer") == "transfer" or (
                state.slot("offer") == "either" and t.profile.transfer_targets
            ):
                return self._transfer(t, state, said)
            return self._message(t, state, said)
        elif awaiting == "anything" and said.intent in (None, "thanks") and when.empty:
            if said.answer == "no":
                return self._goodbye(t, state)
            if said.answer == "yes":
                return self._ask(state, t.lang.say.nothing_to_repeat)
        elif awaiting == "day_time" and not when.empty and said.intent in (None, "book"):
            return self._booking(t, state, _when_of(state).merged(when))
        return None

    def _intent(
        self,
        t: _Turn,
        state: DialogState,
        said: Understood,
        when: When,
        heard: Heard,
    ) -> tuple[DialogState, Reply]:
        if said.intent == "goodbye":
            return self._goodbye(t, state)
        if said.intent == "message":
            return self._message(t, state, said)
        if said.intent == "transfer":
            return self._transfer(t, state, said)
        if said.intent == "book" or when.complete:
            booking = _when_of(state) if state.intent == "booking" else When()
            direct = state.intent != "booking" and when.complete
            state = replace(state, intent="booking", misses=0)
            return self._booking(t, state, booking.merged(when), direct=direct)
        if said.intent == "hours":
            return self._hours(t, state, heard)
        if said.intent == "repeat":
            return self._repeat(t, state)
        if said.intent == "thanks":
            say = t.lang.say
            return self._ask(state, say.you_are_welcome, say.anything_else, awaiting="anything")
        found = answer(heard.text, t.profile.knowledge, t.lang)
        if found is not None:
            state = replace(state, intent=state.intent or "faq", misses=0)
            return self._ask(
                state, found, t.lang.say.anything_else, awaiting="anything", outcome="answered"
            )
        return self._miss(t, state)

    # -- booking -------------------------------------------------------------------------

    def _booking(
        self,
        t: _Turn,
        state: DialogState,
        when: When,
        *,
        direct: bool = False,
    ) -> tuple[DialogState, Reply]:
        """One step of booking: ask what is missing, refuse a past or closed time,
        ask the name once, confirm; or book at once when ``direct``."""
        say = t.lang.say
        state = _keep_when(replace(state, intent="booking", misses=0), when)
        if when.day is None and when.at is None:
            return self._ask(state, say.ask_day_and_time, awaiting="day_time")
        if when.day is None:
            return self._ask(state, say.ask_day, awaiting="day_time")
        if when.at is None:
            if when.part:
                return self._ask(
                    state, say.ask_time_in_part.format(part=when.part), awaiting="day_time"
                )
            return self._ask(state, say.ask_time, awaiting="day_time")
        start = when.start(ZoneInfo(t.profile.timezone))
        assert start is not None  # day and time are both known here
        if start <= t.now:
            state = _keep_when(state, When())
            return self._ask(state, say.past_time, say.ask_day_and_time, awaiting="day_time")
        if not is_open(t.profile.hours, start, t.profile.appointment_minutes):
            state = _keep_when(state, When())
            hours = say.hours_intro.format(hours=say_hours(t.profile.hours, t.lang))
            return self._ask(state, say.closed, hours, say.ask_day_and_time, awaiting="day_time")
        state = _with(state, start=start.isoformat())
        if direct:
            return self._book(t, state)
        if not state.slot("name") and not state.slot("name_asked"):
            return self._ask(_with(state, name_asked="1"), say.ask_name, awaiting="name")
        confirm = say.confirm_booking.format(when=say_when(start, t.now, t.lang))
        return self._ask(state, confirm, awaiting="confirm")

    def _book(
        self, t: _Turn, state: DialogState, *, announce: bool = True
    ) -> tuple[DialogState, Reply]:
        zone = ZoneInfo(t.profile.timezone)
        start = datetime.fromisoformat(state.slot("start") or t.now.isoformat()).astimezone(zone)
        act = BookAppointment(
            start=start,
            minutes=t.profile.appointment_minutes,
            caller_name=state.slot("name") or "",
            note=summarise(state, topic="booking", lang=t.lang),
        )
        # Confirmed already: the date need not be said twice.
        sentence = (
            t.lang.say.booking_now.format(when=say_when(start, t.now, t.lang))
            if announce
            else t.lang.say.one_moment
        )
        return self._ask(state, sentence, awaiting="booking", act=act)

    def _booked(
        self,
        t: _Turn,
        state: DialogState,
        booked: Booked,
    ) -> tuple[DialogState, Reply]:
        start = booked.start
        state = _with(state, start=start.isoformat(), alternatives=None)
        state = replace(_keep_when(state, When()), intent="booking")
        when = say_when(start, t.now, t.lang)
        follow_up = self._follow_up(t, state, when)
        if follow_up is not None:
            state = _with(state, followed_up="1")
        return self._ask(
            state,
            t.lang.say.booked.format(when=when),
            t.lang.say.anything_else,
            awaiting="anything",
            act=follow_up,
            outcome="booked",
        )

    def _not_booked(
        self,
        t: _Turn,
        state: DialogState,
        refused: NotBooked,
    ) -> tuple[DialogState, Reply]:
        say = t.lang.say
        if refused.error is not None:
            return self._offer(t, state, say.not_booked_error)
        offered = refused.alternatives[:ALTERNATIVES_SAID]
        if not offered:
            state = _keep_when(state, When())
            return self._ask(state, say.closed, say.ask_day_and_time, awaiting="day_time")
        same_day = all(a.date() == refused.wanted.date() for a in offered)
        names = [
            say_time(a.astimezone(t.now.tzinfo).time(), t.lang)
            if same_day
            else say_when(a, t.now, t.lang)
            for a in offered
        ]
        choices = f" {t.lang.spoken.or_} ".join(names)
        template = say.not_booked_alternatives if len(offered) > 1 else say.not_booked_alternative
        state = _with(state, alternatives="|".join(a.isoformat() for a in offered))
        said = tuple(s.format(choices=choices) for s in sentences(template))
        return self._ask(state, *said, awaiting="choice")

    def _chosen(
        self,
        t: _Turn,
        state: DialogState,
        said: Understood,
        when: When,
    ) -> tuple[DialogState, Reply] | None:
        offered = [
            datetime.fromisoformat(a) for a in (state.slot("alternatives") or "").split("|") if a
        ]
        picked: datetime | None = None
        if said.choice is not None and said.choice < len(offered):
            picked = offered[said.choice]
        elif when.at is not None:
            picked = next((a for a in offered if a.time() == when.at), None)
            if picked is None:
                wanted = _when_of(state)
                return self._booking(t, state, wanted.merged(when))
        elif said.answer == "yes" and offered:
            picked = offered[0]
        elif said.answer == "no":
            state = _keep_when(_with(state, alternatives=None), When())
            return self._ask(state, t.lang.say.ask_day_and_time, awaiting="day_time")
        if picked is None:
            return None
        state = _with(state, start=picked.isoformat(), alternatives=None)
        return self._book(t, state)

    # -- hand-over and messages ----------------------------------------------------------

    def _transfer(
        self, t: _Turn, state: DialogState, said: Understood
    ) -> tuple[DialogState, Reply]:
        say = t.lang.say
        if not t.profile.transfer_targets:
            if t.profile.take_messages:
                state = _with(state, offer="message")
                return self._ask(state, say.no_transfer, say.offer_message, awaiting="offer")
            return self._ask(state, say.no_transfer, say.anything_else, awaiting="anything")
        target = said.target or t.profile.transfer_targets[0]
        state = replace(state, intent="transfer", misses=0)
        summary = summarise(state, topic="transfer", lang=t.lang)
        sentence = say.connecting_to.format(label=target.label) if said.target else say.connecting
        act = HandOver(target=target, summary=summary, reason="asked")
        return self._ask(state, sentence, awaiting="transfer", act=act)

    def _hand_over_failed(self, t: _Turn, state: DialogState) -> tuple[DialogState, Reply]:
        say = t.lang.say
        if t.profile.take_messages:
            state = _with(state, offer="message")
            return self._ask(state, say.hand_over_failed, say.offer_message, awaiting="offer")
        return self._ask(state, say.hand_over_failed, say.anything_else, awaiting="anything")

    def _message(self, t: _Turn, state: DialogState, said: Understood) -> tuple[DialogState, Reply]:
        say = t.lang.say
        if not t.profile.take_messages:
            if t.profile.transfer_targets:
                state = _with(state, offer="transfer")
                return self._ask(state, say.no_messages, say.offer_transfer, awaiting="offer")
            return self._ask(state, say.no_messages, say.anything_else, awaiting="anything")
        state = _with(replace(state, intent="message", misses=0), message=said.message)
        act = RecordMessage(about=said.message or "")
        return self._ask(state, say.leave_message, awaiting="message", act=act)

    def _message_taken(
        self,
        t: _Turn,
        state: DialogState,
        taken: MessageTaken,
    ) -> tuple[DialogState, Reply]:
        if taken.transcript:
            state = _with(state, message=taken.transcript)
        start = state.slot("start")
        when = say_when(datetime.fromisoformat(start), t.now, t.lang) if start else ""
        follow_up = None
        # A template naming {when} confirms a booking: after a message alone it would
        # say nothing true.
        template = t.profile.sms_template or ""
        if start or WHEN_FIELD not in template:
            follow_up = self._follow_up(t, state, when)
        if follow_up is not None:
            state = _with(state, followed_up="1")
        return self._ask(
            replace(state, intent="message"),
            t.lang.say.message_taken,
            t.lang.say.anything_else,
            awaiting="anything",
            act=follow_up,
            outcome="message",
        )

    def _follow_up(self, t: _Turn, state: DialogState, when: str) -> Act | None:
        """The follow-up SMS, once per call, when the profile has a template."""
        if not t.profile.sms_template or state.slot("followed_up"):
            return None
        values = {
            "name": state.slot("name") or "",
            "business": t.profile.business_name or t.profile.name,
            "when": when,
        }
        text = " ".join(_fill(t.profile.sms_template, values).split())
        return SendFollowUp(text=_SPACE_BEFORE_MARK.sub(r"\1", text))

    # -- the rest ------------------------------------------------------------------------

    def _hours(
        self,
        t: _Turn,
        state: DialogState,
        heard: Heard,
    ) -> tuple[DialogState, Reply]:
        say = t.lang.say
        state = replace(state, intent=state.intent or "hours", misses=0)
        if not t.profile.hours:
            return self._offer(t, state, say.no_hours)
        week = say.hours_intro.format(hours=say_hours(t.profile.hours, t.lang))
        if matches(t.lang.intents.now, normalise(heard.text, t.lang)):
            closes = closes_at(t.profile.hours, t.now)
            if closes is not None:
                first = say.open_now.format(time=say_time(closes, t.lang))
                return self._ask(
                    state, first, say.anything_else, awaiting="anything", outcome="answered"
                )
            return self._ask(state, say.closed_now, week, awaiting="anything", outcome="answered")
        return self._ask(state, week, say.anything_else, awaiting="anything", outcome="answered")

    def _repeat(self, t: _Turn, state: DialogState) -> tuple[DialogState, Reply]:
        last: list[str] = []
        for speaker, text in reversed(state.history):
            if speaker != AGENT:
                if last:
                    break
                continue
            last.insert(0, text)
        if not last:
            return self._ask(state, t.lang.say.nothing_to_repeat)
        return state, Reply(say=tuple(last))

    def _miss(self, t: _Turn, state: DialogState) -> tuple[DialogState, Reply]:
        state = replace(state, misses=state.misses + 1)
        if state.misses >= MISSES_BEFORE_OFFER and (
            t.profile.transfer_targets or t.profile.take_messages
        ):
            return self._offer(t, state, t.lang.say.not_caught)
        return state, Reply(say=(t.lang.say.not_caught,))

    def _offer(self, t: _Turn, state: DialogState, first: str) -> tuple[DialogState, Reply]:
        """``first``, then the offer of a person or a message, whichever the profile has."""
        say = t.lang.say
        if t.profile.transfer_targets and t.profile.take_messages:
            return self._ask(_with(state, offer="either"), first, say.offer_help, awaiting="offer")
        if t.profile.transfer_targets:
            state = _with(state, offer="transfer")
            return self._ask(state, first, say.offer_transfer, awaiting="offer")
        if t.profile.take_messages:
            state = _with(state, offer="message")
            return self._ask(state, first, say.offer_message, awaiting="offer")
        return self._ask(state, first, say.anything_else, awaiting="anything")

    def _silence(self, t: _Turn, state: DialogState) -> tuple[DialogState, Reply]:
        silences = int(state.slot("silences") or 0) + 1
        state = _with(state, silences=str(silences))
        if silences >= SILENCES_BEFORE_END:
            return state, Reply(say=(t.lang.say.silence_goodbye,), act=EndCall())
        return state, Reply(say=(t.lang.say.still_there,))

    def _goodbye(self, t: _Turn, state: DialogState) -> tuple[DialogState, Reply]:
        return _with(state, **{"await": None}), Reply(say=(t.lang.say.goodbye,), act=EndCall())

    def _ask(
        self,
        state: DialogState,
        *say: str,
        awaiting: str | None = None,
        act: Act | None = None,
        outcome: Outcome | None = None,
    ) -> tuple[DialogState, Reply]:
        """Say ``say``, then wait for ``awaiting`` (what the reply asked for)."""
        state = _with(state, **{"await": awaiting})
        # "… at 10 a.m." ends a sentence already: no second full stop.
        said = tuple(_DOUBLE_STOP.sub(".", s) for s in say if s)
        return state, Reply(say=said, act=act, outcome=outcome)
