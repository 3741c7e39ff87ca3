"""Agent profiles (TERMS A1): created from a use-case template, checked, changed,
deleted, and turned into the pure ``agents.profile.AgentProfile`` a call uses.

Every field is checked where it is set (400 ``agent.invalid``): the time zone is an
IANA name, opening hours are windows of a week day that do not overlap, transfer
targets are the account's users and ring groups or E.164 numbers, texts use only the
placeholders the templates know (:mod:`.templates`), and no text may tell the agent to
pass as a person (A4). The calendar's password and the model's API key are sealed in
their columns with the platform's key, bound to the profile (as trunk passwords are),
and unsealed only by :func:`profile_for`, for the call.
"""

from __future__ import annotations

import itertools
import json
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.agents.profile import (
    DEFAULT_APPOINTMENT_MINUTES,
    DEFAULT_END_SILENCE_MS,
    DEFAULT_MAX_CALL_SECONDS,
    AgentProfile,
    CalendarRef,
    DialogEngine,
    KnowledgeEntry,
    ModelRef,
    OpenHours,
    Purpose,
    TargetKind,
    TransferTarget,
)
from dialtone.core.errors import DialtoneError, NotFound
from dialtone.policy.emergency import is_emergency_number
from dialtone.services.accounts.accounts import get_account
from dialtone.services.agents import templates
from dialtone.services.ids import new_id
from dialtone.services.numbering import numbers
from dialtone.services.telephony import routing
from dialtone.services.telephony.users import can_take_calls
from dialtone.services.unset import UNSET, Unset
from dialtone.store import sealed
from dialtone.store.agent_models import AgentKnowledge, AgentProfileRow
from dialtone.store.models import RingGroup, User

TARGET_KINDS = ("user", "group", "number")
DIALOGS = ("rules", "llm")
MAX_NAME = 200
MAX_GREETING = 500
MAX_INSTRUCTIONS = 10_000
MAX_SMS_TEMPLATE = 640
MAX_LANGUAGES = 5
MAX_WINDOWS = 28  # four windows a day
MAX_TARGETS = 20
MAX_LABEL = 60
MAX_EXTRA = 20
MAX_EXTRA_VALUE = 500
MAX_SECRET = 500
MIN_APPOINTMENT_MINUTES, MAX_APPOINTMENT_MINUTES = 5, 480
MIN_CALL_SECONDS, MAX_CALL_SECONDS = 30, 3600
MIN_END_SILENCE_MS, MAX_END_SILENCE_MS = 200, 2000
MIN_MODEL_TIMEOUT, MAX_MODEL_TIMEOUT = 0.5, 30.0

_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
_VOICE = re.compile(r"[A-Za-z0-9_.-]{1,60}")
_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A4: nothing may pass AI output off as human. A profile's texts are the agent's words
# and its orders: one that claims or orders a human persona is refused. A guard against
# the plain cases, not a proof: the dialog's guard answers "are you human?" truthfully
# whatever the profile says. "Whether/if you are a person" is a question, not a claim.
_AS_HUMAN = re.compile(
    r"\b(?:i\s+am|i'm|we\s+are|we're)\s+(?:a\s+)?(?:real\s+)?(?:human|person|people)\b"
    r"|(?<!whether )(?<!if )\byou\s+are\s+(?:a\s+)?(?:real\s+)?(?:human|person)\b"
    r"|\b(?:pretend|claim|say|act)\w*\s+(?:to\s+be|you\s+are|that\s+you\s+are|as)\s+"
    r"(?:a\s+)?(?:real\s+)?(?:human|person)\b"
    r"|\bnever\s+(?:say|admit|reveal|tell)\w*\s+(?:that\s+)?(?:you\s+are\s+)?(?:an?\s+)?"
    r"(?:ai|bot|robot|machine|artificial)\b",
    re.IGNORECASE,
)


def _invalid(message: str, rule: str | None = None) -> DialtoneError:
    return DialtoneError("agent.invalid", message, rule=rule)


@dataclass(frozen=True, slots=True)
class Window:
    """One opening window as given: ``weekday`` 0 = Monday, ``opens``/``closes`` HH:MM."""

    weekday: int
    opens: str
    closes: str


@dataclass(frozen=True, slots=True)
class Target:
    """A transfer target as given (``kind`` user, group or number)."""

    kind: str
    ref: str
    label: str = ""


@dataclass(frozen=True, slots=True)
class ProfileChanges:
    """The fields a create or an update sets; :data:`UNSET` leaves one as it is (on
    create: the template's or the default). ``None`` clears the optional ones. Secrets
    (``calendar_password``, ``model_api_key``) are sealed; they are never read back."""

    name: str | Unset = UNSET
    business_name: str | Unset = UNSET
    purpose: str | Unset = UNSET
    greeting: str | Unset = UNSET
    instructions: str | Unset = UNSET
    languages: Sequence[str] | Unset = UNSET
    voice: str | Unset = UNSET
    timezone: str | Unset = UNSET
    hours: Sequence[Window] | Unset = UNSET
    transfer_targets: Sequence[Target] | Unset = UNSET
    calendar_url: str | Unset | None = UNSET
    calendar_username: str | Unset | None = UNSET
    calendar_password: str | Unset | None = UNSET
    appointment_minutes: int | Unset = UNSET
    take_messages: bool | Unset = UNSET
    sms_template: str | Unset | None = UNSET
    max_call_seconds: int | Unset = UNSET
    end_silence_ms: int | Unset = UNSET
    dialog: str | Unset = UNSET
    model_url: str | Unset | None = UNSET
    model_name: str | Unset | None = UNSET
    model_api_key: str | Unset | None = UNSET
    model_timeout_seconds: float | Unset = UNSET
    extra: Mapping[str, str] | Unset = UNSET


# -- checks of single fields -----------------------------------------------------------------


def _text(value: str, what: str, limit: int, *, empty: bool = True) -> str:
    if not isinstance(value, str):
        raise _invalid(f"{what} is text.")
    value = value.strip()
    if not empty and not value:
        raise _invalid(f"{what} is required.")
    if len(value) > limit:
        raise _invalid(f"{what} has at most {limit} characters.")
    if _AS_HUMAN.search(value):
        raise _invalid(f"{what} would have the agent pass as a person.", rule="A4")
    return value


def _line(value: str, what: str, limit: int, *, empty: bool = False) -> str:
    value = _text(value, what, limit, empty=empty)
    if _CONTROL.search(value):
        raise _invalid(f"{what} is one line, without control characters.")
    return value


def _purpose(value: str) -> str:
    if value not in templates.PURPOSES:
        raise _invalid(f"purpose is one of {', '.join(templates.PURPOSES)}.")
    return value


def _languages(values: Sequence[str]) -> list[str]:
    if isinstance(values, str) or not 1 <= len(values) <= MAX_LANGUAGES:
        raise _invalid(f"languages has 1 to {MAX_LANGUAGES} language tags (en-US, fr-FR).")
    out: list[str] = []
    for tag in values:
        if not isinstance(tag, str) or not _LANGUAGE.fullmatch(tag):
            raise _invalid(f"{str(tag)[:40]!r} is not a language tag (en-US, fr-FR).")
        if tag in out:
            raise _invalid(f"{tag} is listed twice in languages.")
        out.append(tag)
    return out


def _voice(value: str) -> str:
    if not isinstance(value, str) or not _VOICE.fullmatch(value):
        raise _invalid("voice is 1 to 60 letters, digits, '_', '.' or '-'.")
    return value


def check_timezone(name: str) -> str:
    """``name`` when it is an IANA time zone this system knows (``Europe/Paris``);
    ``agent.invalid`` otherwise."""
    if not isinstance(name, str) or not name or len(name) > 64:
        raise _invalid("timezone is an IANA name such as Europe/Paris.")
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise _invalid(f"{name[:64]!r} is not an IANA time zone (e.g. Europe/Paris).") from None
    return name


def _clock(value: str, what: str) -> time:
    match = _HHMM.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise _invalid(f"{what} is a time HH:MM from 00:00 to 23:59.")
    return time(int(match.group(1)), int(match.group(2)))


def check_hours(windows: Sequence[Window]) -> list[OpenHours]:
    """Opening windows checked: a week day 0–6, opens before closes, at most
    :data:`MAX_WINDOWS`, no two of one day overlapping; sorted by day and time."""
    if len(windows) > MAX_WINDOWS:
        raise _invalid(f"hours has at most {MAX_WINDOWS} windows.")
    out: list[OpenHours] = []
    for window in windows:
        if isinstance(window.weekday, bool) or not 0 <= window.weekday <= 6:
            raise _invalid("A window's weekday is 0 (Monday) to 6 (Sunday).")
        opens = _clock(window.opens, "opens")
        closes = _clock(window.closes, "closes")
        if opens >= closes:
            raise _invalid(f"A window opens before it closes ({window.opens}–{window.closes}).")
        out.append(OpenHours(window.weekday, opens, closes))
    out.sort(key=lambda w: (w.weekday, w.opens))
    for before, after in itertools.pairwise(out):
        if before.weekday == after.weekday and after.opens < before.closes:
            raise _invalid(f"Two windows of weekday {before.weekday} overlap.")
    return out


def _target(session: Session, account_id: str, target: Target) -> TransferTarget:
    label = _line(target.label, "A target's label", MAX_LABEL, empty=True)
    if target.kind == "user":
        user = session.get(User, target.ref)
        if user is None or user.account_id != account_id:
            raise _invalid(f"The account has no user {target.ref[:40]}.")
        if not can_take_calls(user):
            raise _invalid(f"User {target.ref} takes no calls (disabled or a scheduler).", "D1")
        return TransferTarget("user", user.id, label or user.name)
    if target.kind == "group":
        group = session.get(RingGroup, target.ref)
        if group is None or group.account_id != account_id:
            raise _invalid(f"The account has no ring group {target.ref[:40]}.")
        return TransferTarget("group", group.id, label or group.name)
    if target.kind == "number":
        if is_emergency_number(target.ref.strip()):
            # A3: the AI never handles an emergency call, so it never places one either;
            # an emergency described to it is handed to a person, who may call.
            raise _invalid(
                f"{target.ref.strip()} is an emergency number: an agent never calls one.", "A3"
            )
        try:
            e164 = numbers.to_e164(target.ref)
        except DialtoneError as exc:
            raise _invalid(f"A number target is an E.164 number: {exc.message}") from None
        return TransferTarget("number", e164, label)
    raise _invalid(f"A target's kind is one of {', '.join(TARGET_KINDS)}.")


def check_targets(
    session: Session, account_id: str, targets: Sequence[Target]
) -> list[TransferTarget]:
    """Transfer targets checked against the account: its users who take calls, its ring
    groups, or E.164 numbers (the decision path checks a transfer again when it is
    made); at most :data:`MAX_TARGETS`, none twice."""
    if len(targets) > MAX_TARGETS:
        raise _invalid(f"transfer_targets has at most {MAX_TARGETS} targets.")
    out = [_target(session, account_id, t) for t in targets]
    if len({(t.kind, t.ref) for t in out}) != len(out):
        raise _invalid("A transfer target is listed twice.")
    return out


def _url(value: str, what: str) -> str:
    value = _line(value, what, 2000)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _invalid(f"{what} is an http or https URL.")
    return value


def _secret(value: str, what: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_SECRET or _CONTROL.search(value):
        raise _invalid(f"{what} has 1 to {MAX_SECRET} characters and no control characters.")
    return value


def _bounded(value: int, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _invalid(f"{what} is between {low} and {high}.")
    return value


def _extra(values: Mapping[str, str]) -> dict[str, str]:
    if len(values) > MAX_EXTRA:
        raise _invalid(f"extra has at most {MAX_EXTRA} values.")
    out: dict[str, str] = {}
    for key, value in values.items():
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise _invalid("An extra value's name is a lower-case identifier (opening_offer).")
        if key in templates.PROFILE_FIELDS or key in templates.CALL_FIELDS:
            raise _invalid(f"{key} is a placeholder of its own; it cannot be an extra value.")
        out[key] = _line(value, f"extra.{key}", MAX_EXTRA_VALUE, empty=True)
    return out


def _placeholders(text: str, what: str, allowed: Sequence[str]) -> None:
    try:
        unknown = templates.unknown_placeholders(text, allowed)
    except ValueError:
        raise _invalid(f"{what} has a brace outside a {{placeholder}}.") from None
    if unknown:
        raise _invalid(
            f"{what} names unknown placeholders: {', '.join(unknown)} "
            f"(known: {', '.join(allowed)})."
        )


# -- sealing --------------------------------------------------------------------------------


def _context(profile_id: str, column: str) -> str:
    # Bound to the row: a sealed value copied onto another profile does not open.
    return f"agent_profiles.{column}:{profile_id}"


def _seal(profile_id: str, column: str, value: str | None, key: bytes | None) -> str | None:
    if value is None:
        return None
    if key is None:
        raise ValueError("an agent's secrets are sealed: the platform's key is needed")
    return sealed.seal_text(value, key, context=_context(profile_id, column))


def _open(profile_id: str, column: str, value: str | None, key: bytes | None) -> str:
    if value is None:
        return ""
    if key is None:
        raise ValueError("an agent's secrets are sealed: the platform's key is needed")
    return sealed.open_text(value, key, context=_context(profile_id, column))


# -- reading the JSON columns ------------------------------------------------------------------


def hours_of(row: AgentProfileRow) -> list[OpenHours]:
    """A profile's opening windows."""
    return [
        OpenHours(w["weekday"], time.fromisoformat(w["opens"]), time.fromisoformat(w["closes"]))
        for w in json.loads(row.hours)
    ]


def targets_of(row: AgentProfileRow) -> list[TransferTarget]:
    """A profile's transfer targets, in offer order."""
    return [
        TransferTarget(cast(TargetKind, t["kind"]), t["ref"], t.get("label", ""))
        for t in json.loads(row.transfer_targets)
    ]


def languages_of(row: AgentProfileRow) -> list[str]:
    """A profile's languages, the first spoken first."""
    return list(json.loads(row.languages))


def extra_of(row: AgentProfileRow) -> dict[str, str]:
    """A profile's extra template values."""
    return dict(json.loads(row.extra))


# -- the use cases ------------------------------------------------------------------------------


def _apply(
    session: Session,
    row: AgentProfileRow,
    changes: ProfileChanges,
    key: bytes | None,
) -> None:
    c = changes
    if not isinstance(c.name, Unset):
        row.name = _line(c.name, "name", MAX_NAME)
    if not isinstance(c.business_name, Unset):
        row.business_name = _line(c.business_name, "business_name", MAX_NAME, empty=True)
    if not isinstance(c.purpose, Unset):
        row.purpose = _purpose(c.purpose)
    if not isinstance(c.greeting, Unset):
        row.greeting = _text(c.greeting, "greeting", MAX_GREETING, empty=False)
    if not isinstance(c.instructions, Unset):
        row.instructions = _text(c.instructions, "instructions", MAX_INSTRUCTIONS)
    if not isinstance(c.languages, Unset):
        row.languages = json.dumps(_languages(c.languages))
    if not isinstance(c.voice, Unset):
        row.voice = _voice(c.voice)
    if not isinstance(c.timezone, Unset):
        row.timezone = check_timezone(c.timezone)
    if not isinstance(c.hours, Unset):
        row.hours = json.dumps(
            [
                {"weekday": w.weekday, "opens": f"{w.opens:%H:%M}", "closes": f"{w.closes:%H:%M}"}
                for w in check_hours(c.hours)
            ]
        )
    if not isinstance(c.transfer_targets, Unset):
        row.transfer_targets = json.dumps(
            [
                {"kind": t.kind, "ref": t.ref, "label": t.label}
                for t in check_targets(session, row.account_id, c.transfer_targets)
            ]
        )
    if not isinstance(c.calendar_url, Unset):
        row.calendar_url = None if c.calendar_url is None else _url(c.calendar_url, "calendar_url")
    if not isinstance(c.calendar_username, Unset):
        row.calendar_username = (
            None
            if c.calendar_username is None
            else _line(c.calendar_username, "calendar_username", MAX_NAME)
        )
    if not isinstance(c.calendar_password, Unset):
        password = (
            None
            if c.calendar_password is None
            else _secret(c.calendar_password, "calendar_password")
        )
        row.calendar_password_sealed = _seal(row.id, "calendar_password", password, key)
    if not isinstance(c.appointment_minutes, Unset):
        row.appointment_minutes = _bounded(
            c.appointment_minutes,
            "appointment_minutes",
            MIN_APPOINTMENT_MINUTES,
            MAX_APPOINTMENT_MINUTES,
        )
    if not isinstance(c.take_messages, Unset):
        row.take_messages = bool(c.take_messages)
    if not isinstance(c.sms_template, Unset):
        row.sms_template = (
            None
            if c.sms_template is None
            else _text(c.sms_template, "sms_template", MAX_SMS_TEMPLATE, empty=False)
        )
    if not isinstance(c.max_call_seconds, Unset):
        row.max_call_seconds = _bounded(
            c.max_call_seconds, "max_call_seconds", MIN_CALL_SECONDS, MAX_CALL_SECONDS
        )
    if not isinstance(c.end_silence_ms, Unset):
        row.end_silence_ms = _bounded(
            c.end_silence_ms, "end_silence_ms", MIN_END_SILENCE_MS, MAX_END_SILENCE_MS
        )
    if not isinstance(c.dialog, Unset):
        if c.dialog not in DIALOGS:
            raise _invalid(f"dialog is one of {', '.join(DIALOGS)}.")
        row.dialog = c.dialog
    if not isinstance(c.model_url, Unset):
        row.model_url = None if c.model_url is None else _url(c.model_url, "model_url")
    if not isinstance(c.model_name, Unset):
        row.model_name = None if c.model_name is None else _line(c.model_name, "model", MAX_NAME)
    if not isinstance(c.model_api_key, Unset):
        api_key = None if c.model_api_key is None else _secret(c.model_api_key, "model_api_key")
        row.model_api_key_sealed = _seal(row.id, "model_api_key", api_key, key)
    if not isinstance(c.model_timeout_seconds, Unset):
        timeout = c.model_timeout_seconds
        if isinstance(timeout, bool) or not MIN_MODEL_TIMEOUT <= timeout <= MAX_MODEL_TIMEOUT:
            raise _invalid(
                f"model_timeout_seconds is between {MIN_MODEL_TIMEOUT} and {MAX_MODEL_TIMEOUT}."
            )
        row.model_timeout_seconds = float(timeout)
    if not isinstance(c.extra, Unset):
        row.extra = json.dumps(_extra(c.extra))
    _check_whole(row)


def _check_whole(row: AgentProfileRow) -> None:
    """What holds between fields, once they are all set."""
    names = (*templates.PROFILE_FIELDS, *extra_of(row))
    _placeholders(row.greeting, "greeting", names)
    _placeholders(row.instructions, "instructions", names)
    if row.sms_template is not None:
        _placeholders(row.sms_template, "sms_template", (*names, *templates.CALL_FIELDS))
    if row.calendar_url is None and (
        row.calendar_username is not None or row.calendar_password_sealed is not None
    ):
        raise _invalid("Calendar credentials need a calendar_url.")
    if row.calendar_password_sealed is not None and row.calendar_username is None:
        raise _invalid("A calendar password needs a calendar_username.")
    if row.dialog == "llm" and (row.model_url is None or row.model_name is None):
        raise _invalid('dialog "llm" needs a model_url and a model.')
    if row.model_url is None and row.model_api_key_sealed is not None:
        raise _invalid("A model_api_key needs a model_url.")


def create_profile(
    session: Session,
    account_id: str,
    changes: ProfileChanges,
    *,
    now: datetime,
    key: bytes | None = None,
) -> AgentProfileRow:
    """A new agent profile for the account (TERMS A1). ``changes.name`` is required;
    ``changes.purpose`` (default ``customer_service``) picks the template whose greeting
    and instructions fill what is not given. ``key`` (the platform's) seals a calendar
    password or a model API key. 400 ``agent.invalid``; 404 ``account.not_found``."""
    get_account(session, account_id)
    if isinstance(changes.name, Unset):
        raise _invalid("name is required.")
    purpose = "customer_service" if isinstance(changes.purpose, Unset) else changes.purpose
    template = templates.TEMPLATES.get(purpose, templates.TEMPLATES["custom"])
    row = AgentProfileRow(
        id=new_id("AG"),
        account_id=account_id,
        name="",
        business_name="",
        purpose=purpose,
        greeting=template.greeting,
        instructions=template.instructions,
        languages='["en-US"]',
        voice="heart",
        timezone="UTC",
        hours="[]",
        transfer_targets="[]",
        appointment_minutes=DEFAULT_APPOINTMENT_MINUTES,
        take_messages=True,
        max_call_seconds=DEFAULT_MAX_CALL_SECONDS,
        end_silence_ms=DEFAULT_END_SILENCE_MS,
        dialog="rules",
        model_timeout_seconds=4.0,
        extra="{}",
        created_at=now,
        updated_at=now,
    )
    _apply(session, row, changes, key)
    session.add(row)
    session.flush()
    return row


def get_profile(session: Session, account_id: str, profile_id: str) -> AgentProfileRow:
    """One of the account's profiles (404 ``agent.not_found``, also for another
    account's: nothing says it exists)."""
    row = session.get(AgentProfileRow, profile_id)
    if row is None or row.account_id != account_id:
        raise NotFound("agent.not_found", f"The account has no agent {profile_id}.")
    return row


def list_profiles(session: Session, account_id: str) -> list[AgentProfileRow]:
    """The account's profiles, oldest first."""
    return list(
        session.scalars(
            select(AgentProfileRow)
            .where(AgentProfileRow.account_id == account_id)
            .order_by(AgentProfileRow.created_at, AgentProfileRow.id)
        )
    )


def update_profile(
    session: Session,
    account_id: str,
    profile_id: str,
    changes: ProfileChanges,
    *,
    now: datetime,
    key: bytes | None = None,
) -> AgentProfileRow:
    """Change the fields ``changes`` sets (checked as on create; a new purpose does not
    rewrite a greeting already there). 400 ``agent.invalid``, 404 ``agent.not_found``."""
    row = get_profile(session, account_id, profile_id)
    _apply(session, row, changes, key)
    row.updated_at = now
    session.flush()
    return row


def delete_profile(session: Session, account_id: str, profile_id: str) -> list[str]:
    """Remove a profile and its knowledge; numbers routed to it go back to their
    greeting (N10), and are returned. Its reports stay (they are the calls' records)."""
    row = get_profile(session, account_id, profile_id)
    released = routing.release_agent_routes(session, account_id, row.id)
    session.delete(row)
    session.flush()
    return released


def knowledge_of(session: Session, profile_id: str) -> list[KnowledgeEntry]:
    """A profile's knowledge entries as the dialog reads them, in order."""
    rows = session.execute(
        select(AgentKnowledge.question, AgentKnowledge.answer)
        .where(AgentKnowledge.profile_id == profile_id)
        .order_by(AgentKnowledge.position, AgentKnowledge.id)
    )
    return [KnowledgeEntry(q, a) for q, a in rows]


def _reachable(
    session: Session, account_id: str, targets: Sequence[TransferTarget]
) -> list[TransferTarget]:
    """The targets a call may still be handed to: a user deleted, disabled or made a
    scheduler since the profile was saved, or a ring group deleted, is left out (N10:
    never hand a caller to an endpoint that is gone)."""
    kept: list[TransferTarget] = []
    for target in targets:
        if target.kind == "user":
            user = session.get(User, target.ref)
            if user is None or user.account_id != account_id or not can_take_calls(user):
                continue
        elif target.kind == "group":
            group = session.get(RingGroup, target.ref)
            if group is None or group.account_id != account_id:
                continue
        kept.append(target)
    return kept


def profile_for(
    session: Session, account_id: str, profile_id: str, key: bytes | None
) -> AgentProfile:
    """The pure profile a call uses (A1): texts with the profile's placeholders filled,
    knowledge in order, secrets unsealed with ``key`` (the platform's; may be None when
    the profile has none), transfer targets gone since left out. 404
    ``agent.not_found``; ``store.sealed.SealError`` when a secret does not open."""
    row = get_profile(session, account_id, profile_id)
    values = {"name": row.name, "business_name": row.business_name, **extra_of(row)}
    calendar = None
    if row.calendar_url is not None:
        calendar = CalendarRef(
            url=row.calendar_url,
            username=row.calendar_username or "",
            password=_open(row.id, "calendar_password", row.calendar_password_sealed, key),
        )
    model = None
    if row.model_url is not None and row.model_name is not None:
        model = ModelRef(
            url=row.model_url,
            model=row.model_name,
            api_key=_open(row.id, "model_api_key", row.model_api_key_sealed, key),
            timeout_seconds=row.model_timeout_seconds,
        )
    return AgentProfile(
        id=row.id,
        account_id=row.account_id,
        name=row.name,
        greeting=templates.fill(row.greeting, values),
        purpose=cast(Purpose, row.purpose),
        instructions=templates.fill(row.instructions, values),
        languages=tuple(languages_of(row)),
        voice=row.voice,
        knowledge=tuple(knowledge_of(session, row.id)),
        hours=tuple(hours_of(row)),
        timezone=row.timezone,
        calendar=calendar,
        appointment_minutes=row.appointment_minutes,
        transfer_targets=tuple(_reachable(session, row.account_id, targets_of(row))),
        take_messages=row.take_messages,
        sms_template=None if row.sms_template is None else templates.fill(row.sms_template, values),
        max_call_seconds=row.max_call_seconds,
        end_silence_ms=row.end_silence_ms,
        dialog=cast(DialogEngine, row.dialog),
        model=model,
        business_name=row.business_name,
        extra=tuple(sorted(extra_of(row).items())),
    )


@dataclass(frozen=True, slots=True)
class AgentRoute:
    """What the runtime needs to answer a call to a number routed to an agent."""

    number: str
    account_id: str
    profile_id: str
    # Whose voicemail box takes the messages the agent records (None: the runtime's
    # choice, e.g. the first user target, or no message taking).
    voicemail_user_id: str | None


def agent_route(session: Session, dialed_e164: str) -> AgentRoute | None:
    """The agent a dialled number is routed to, or None (nobody holds it, it takes no
    calls, or its route is not ``agent``). A3 is not decided here: the runtime never
    routes an emergency number anywhere but the emergency path."""
    route = routing.route_for(session, dialed_e164)
    if route is None or route.kind != "agent" or route.target is None:
        return None
    return AgentRoute(route.number, route.account_id, route.target, route.voicemail_user_id)


def described(row: AgentProfileRow) -> dict[str, Any]:
    """A profile as the API and CLI show it: every field, secrets only as whether they
    are set."""
    return {
        "id": row.id,
        "account_id": row.account_id,
        "name": row.name,
        "business_name": row.business_name,
        "purpose": row.purpose,
        "greeting": row.greeting,
        "instructions": row.instructions,
        "languages": languages_of(row),
        "voice": row.voice,
        "timezone": row.timezone,
        "hours": json.loads(row.hours),
        "transfer_targets": json.loads(row.transfer_targets),
        "calendar_url": row.calendar_url,
        "calendar_username": row.calendar_username,
        "calendar_password_set": row.calendar_password_sealed is not None,
        "appointment_minutes": row.appointment_minutes,
        "take_messages": row.take_messages,
        "sms_template": row.sms_template,
        "max_call_seconds": row.max_call_seconds,
        "end_silence_ms": row.end_silence_ms,
        "dialog": row.dialog,
        "model_url": row.model_url,
        "model": row.model_name,
        "model_api_key_set": row.model_api_key_sealed is not None,
        "model_timeout_seconds": row.model_timeout_seconds,
        "extra": extra_of(row),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }
