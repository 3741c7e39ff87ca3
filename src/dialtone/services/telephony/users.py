"""Users of an account (TERMS D1), their extensions and SIP credentials.

A SIP password is never stored: only the digest HA1 hashes (RFC 7616) for MD5 and SHA-256,
which the registrar and the call handler check challenges against. HA1 covers the
username and the realm, so changing either needs the password set again.
"""

from __future__ import annotations

import re
from datetime import datetime

import phonenumbers
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dialtone.core.errors import Conflict, DialtoneError, NotFound
from dialtone.policy import emergency
from dialtone.policy.emergency import EmergencyCaller
from dialtone.services.accounts.accounts import MAX_CHANNELS, get_account
from dialtone.services.ids import new_id
from dialtone.services.unset import UNSET, Unset
from dialtone.sip.digest import ha1
from dialtone.store.models import (
    Account,
    PhoneNumber,
    Registration,
    RingGroup,
    RingGroupMember,
    User,
    Voicemail,
)

# TERMS D1: administrator (everything), user, manager (acts for other users),
# scheduler (books for others, takes no calls), guest.
ROLES = ("administrator", "user", "manager", "scheduler", "guest")
STATUSES = ("active", "disabled")
MIN_PASSWORD = 8
MAX_PASSWORD = 128
MAX_NAME = 200

_EXTENSION = re.compile(r"[0-9]{2,6}")
_SIP_USERNAME = re.compile(r"[A-Za-z0-9._-]{3,64}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_GREETING_FILE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}")


def _invalid(message: str, rule: str | None = None) -> DialtoneError:
    return DialtoneError("user.invalid", message, rule=rule)


def _name(name: str) -> str:
    name = (name or "").strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise _invalid(f"A user name has 1 to {MAX_NAME} characters.")
    return name


def _email(email: str | None) -> str | None:
    if email is None:
        return None
    email = email.strip()
    if len(email) > 320 or not _EMAIL.fullmatch(email):
        raise _invalid(f"{email[:80]!r} is not an email address.")
    return email


def _role(role: str) -> str:
    if role not in ROLES:
        raise _invalid(f"role must be one of {', '.join(ROLES)}.", rule="D1")
    return role


def _status(status: str) -> str:
    if status not in STATUSES:
        raise _invalid(f"status must be one of {', '.join(STATUSES)}.")
    return status


def _extension(extension: str | None) -> str | None:
    if extension is None:
        return None
    if not _EXTENSION.fullmatch(extension):
        raise _invalid("An extension is 2 to 6 digits.")
    # An extension equal to an emergency number would capture emergency calls dialled
    # from a desk phone (TERMS V7).
    if emergency.is_emergency_number(extension):
        raise DialtoneError("extension.reserved", f"{extension} is an emergency number.", rule="V7")
    return extension


def _sip_username(username: str | None) -> str | None:
    if username is None:
        return None
    if not _SIP_USERNAME.fullmatch(username):
        raise _invalid("A SIP username is 3 to 64 of A-Z a-z 0-9 . _ -.")
    return username


def _password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise _invalid(f"A SIP password has {MIN_PASSWORD} to {MAX_PASSWORD} characters.")
    return password


def _channels(channels: int | None) -> int | None:
    if channels is None:
        return None
    if isinstance(channels, bool) or not 1 <= channels <= MAX_CHANNELS:
        raise _invalid(f"channels is between 1 and {MAX_CHANNELS}.", rule="V2")
    return channels


def _greeting_file(name: str | None) -> str | None:
    # A file name inside the greetings dir, never a path: the runtime joins it to the dir.
    if name is None:
        return None
    if not _GREETING_FILE.fullmatch(name) or ".." in name:
        raise _invalid("voicemail_greeting is a file name in the greetings directory.")
    return name


def _check_extension_free(
    session: Session, account_id: str, extension: str | None, user_id: str | None = None
) -> None:
    if extension is None:
        return
    holder = find_by_extension(session, account_id, extension)
    if holder is not None and holder.id != user_id:
        raise Conflict("extension.taken", f"Extension {extension} is taken in this account.")


def _check_username_free(session: Session, username: str | None, user_id: str | None) -> None:
    if username is None:
        return
    holder = session.scalar(select(User).where(User.sip_username == username))
    if holder is not None and holder.id != user_id:
        raise Conflict("sip_username.taken", f"SIP username {username!r} is taken.")


def _flush(session: Session, user: User) -> None:
    # The checks above leave only a race with a concurrent writer; the constraint decides.
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError:
        raise Conflict(
            "user.conflict", "The extension or SIP username was just taken; try again."
        ) from None


def create_user(
    session: Session,
    account_id: str,
    *,
    name: str,
    now: datetime,
    role: str = "user",
    email: str | None = None,
    extension: str | None = None,
    sip_username: str | None = None,
    sip_password: str | None = None,
    realm: str,
    channels: int | None = None,
) -> User:
    """Add a user to an account (TERMS D1 roles; V2 channels override, None = account's).

    ``extension``: 2–6 digits, unique in the account, not an emergency number (V7).
    ``sip_username``: globally unique; ``sip_password`` (8–128 characters) is hashed with
    ``realm`` into HA1 and thrown away. Raises 400 ``user.invalid``, 409
    ``extension.taken`` / ``sip_username.taken``, 404 ``account.not_found``.
    """
    get_account(session, account_id)
    user = User(
        id=new_id("US"),
        account_id=account_id,
        name=_name(name),
        email=_email(email),
        role=_role(role),
        extension=_extension(extension),
        sip_username=_sip_username(sip_username),
        channels=_channels(channels),
        status="active",
        created_at=now,
    )
    if sip_password is not None:
        if user.sip_username is None:
            raise _invalid("A SIP password needs a SIP username.")
        _password(sip_password)
    _check_extension_free(session, account_id, user.extension)
    _check_username_free(session, user.sip_username, None)
    if sip_password is not None:
        set_sip_password(session, user, sip_password, realm=realm)
    _flush(session, user)
    return user


def set_sip_password(session: Session, user: User, password: str, *, realm: str) -> None:
    """Store the digest HA1 of ``password`` for MD5 and SHA-256 (RFC 7616, RFC 8760).

    The password itself is not kept. 400 ``user.invalid`` when shorter than 8 characters
    or when the user has no SIP username (HA1 is computed over it).
    """
    _password(password)
    if user.sip_username is None:
        raise _invalid("Set a SIP username before the SIP password.")
    user.ha1_md5 = ha1(user.sip_username, realm, password, "MD5")
    user.ha1_sha256 = ha1(user.sip_username, realm, password, "SHA-256")
    if user in session:
        session.flush()


def get_user(session: Session, account_id: str, user_id: str) -> User:
    """One of the account's users; 404 ``user.not_found`` when absent or another account's."""
    user = session.get(User, user_id)
    if user is None or user.account_id != account_id:
        raise NotFound("user.not_found", f"The account has no user {user_id}.")
    return user


def get_user_by_id(session: Session, user_id: str) -> User:
    """A user of any account (operator tools only; the API always scopes by account)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user.not_found", f"No user {user_id}.")
    return user


def list_users(session: Session, account_id: str) -> list[User]:
    """The account's users, oldest first."""
    return list(
        session.scalars(
            select(User).where(User.account_id == account_id).order_by(User.created_at, User.id)
        )
    )


def update_user(
    session: Session,
    account_id: str,
    user_id: str,
    *,
    name: str | Unset = UNSET,
    email: str | Unset | None = UNSET,
    role: str | Unset = UNSET,
    extension: str | Unset | None = UNSET,
    sip_username: str | Unset | None = UNSET,
    sip_password: str | None = None,
    realm: str | None = None,
    channels: int | Unset | None = UNSET,
    status: str | Unset = UNSET,
    voicemail_greeting: str | Unset | None = UNSET,
) -> User:
    """Change the given fields (UNSET leaves a field; None clears a nullable one).

    A new ``sip_username`` needs ``sip_password`` too when a password was set, since the
    stored HA1 covers the username; clearing the username clears the credentials.
    ``sip_password`` and ``realm`` go together.
    """
    user = get_user(session, account_id, user_id)
    if not isinstance(name, Unset):
        user.name = _name(name)
    if not isinstance(email, Unset):
        user.email = _email(email)
    if not isinstance(role, Unset):
        user.role = _role(role)
    if not isinstance(status, Unset):
        user.status = _status(status)
    if not isinstance(channels, Unset):
        user.channels = _channels(channels)
    if not isinstance(voicemail_greeting, Unset):
        user.voicemail_greeting = _greeting_file(voicemail_greeting)
    if not isinstance(extension, Unset):
        extension = _extension(extension)
        _check_extension_free(session, account_id, extension, user.id)
        user.extension = extension
    if not isinstance(sip_username, Unset) and sip_username != user.sip_username:
        sip_username = _sip_username(sip_username)
        _check_username_free(session, sip_username, user.id)
        had_password = user.ha1_md5 is not None or user.ha1_sha256 is not None
        if sip_username is not None and had_password and sip_password is None:
            raise _invalid(
                "Changing the SIP username needs sip_password too: "
                "the stored digest hash covers the username."
            )
        user.sip_username = sip_username
        user.ha1_md5 = user.ha1_sha256 = None
    if sip_password is not None:
        if realm is None:
            raise ValueError("sip_password needs the realm")
        set_sip_password(session, user, sip_password, realm=realm)
    _flush(session, user)
    return user


def delete_user(session: Session, account_id: str, user_id: str) -> None:
    """Remove a user. Their numbers stay with the account (TERMS N9); routes that rang
    them fall back to the greeting, never to a gone endpoint (N10). Voicemails stay the
    account's (D6); CDRs keep the user id (V11, V15)."""
    user = get_user(session, account_id, user_id)
    session.execute(
        update(PhoneNumber)
        .where(
            PhoneNumber.account_id == account_id,
            PhoneNumber.route_kind.in_(("user", "voicemail")),
            PhoneNumber.route_target == user.id,
        )
        .values(route_kind="greeting", route_target=None, no_answer_seconds=None)
        .execution_options(synchronize_session="fetch")
    )
    session.execute(
        update(PhoneNumber)
        .where(PhoneNumber.voicemail_user_id == user.id)
        .values(voicemail_user_id=None)
        .execution_options(synchronize_session="fetch")
    )
    session.execute(
        update(Voicemail)
        .where(Voicemail.user_id == user.id)
        .values(user_id=None)
        .execution_options(synchronize_session="fetch")
    )
    session.execute(delete(Registration).where(Registration.user_id == user.id))
    session.execute(delete(RingGroupMember).where(RingGroupMember.user_id == user.id))
    session.delete(user)
    session.flush()
    # Loaded ring groups still list the removed memberships: reload them on next access.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, RingGroup):
            session.expire(obj, ["members"])


def find_sip_user(session: Session, sip_username: str) -> User | None:
    """The active user with this SIP username in an active account (digest auth lookup)."""
    return session.scalar(
        select(User)
        .join(Account, Account.id == User.account_id)
        .where(
            User.sip_username == sip_username,
            User.status == "active",
            Account.status == "active",
        )
    )


def find_by_extension(session: Session, account_id: str, extension: str) -> User | None:
    """The account's user with this extension, whatever their status (check
    :func:`can_take_calls` before ringing them)."""
    return session.scalar(
        select(User).where(User.account_id == account_id, User.extension == extension)
    )


def channels_for(session: Session, user: User) -> int:
    """Calls the user may have at once: their override, else the account's (TERMS V2)."""
    if user.channels is not None:
        return user.channels
    account = session.get(Account, user.account_id)
    return account.channels_per_user if account is not None else 1


def can_take_calls(user: User) -> bool:
    """Whether calls may ring this user: active, and not a scheduler (TERMS D1)."""
    return user.status == "active" and user.role != "scheduler"


def set_emergency_location(
    session: Session,
    account_id: str,
    user_id: str,
    *,
    address: str,
    country: str,
    warning_acknowledged: bool,
    now: datetime,
) -> User:
    """Register where the user's emergency calls come from (TERMS V7). The misrouting
    warning must be acknowledged with it: a location without the acknowledgement would
    leave emergency calls refused anyway, so it is refused here, clearly."""
    user = get_user(session, account_id, user_id)
    address = (address or "").strip()
    code = (country or "").strip().upper()
    if not 5 <= len(address) <= 500:
        raise DialtoneError(
            "emergency.location_invalid", "The address has 5 to 500 characters.", rule="V7"
        )
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise DialtoneError(
            "emergency.location_invalid", f"{country!r} is not an ISO 3166 country.", rule="V7"
        )
    if not warning_acknowledged:
        raise DialtoneError(
            "emergency.location_invalid",
            "The user must acknowledge that an emergency call over the Internet can be "
            "misrouted (acknowledge_misrouting_warning: true).",
            rule="V7",
        )
    user.emergency_address = address
    user.emergency_country = code
    user.emergency_registered_at = now
    user.emergency_warning_acknowledged_at = now
    session.flush()
    return user


def clear_emergency_location(session: Session, account_id: str, user_id: str) -> User:
    """Forget the user's emergency location: their emergency calls are refused again."""
    user = get_user(session, account_id, user_id)
    user.emergency_address = None
    user.emergency_country = None
    user.emergency_registered_at = None
    user.emergency_warning_acknowledged_at = None
    session.flush()
    return user


def emergency_caller(user: User, caller_number: str | None) -> EmergencyCaller:
    """What the V7 check needs to know of ``user`` calling from ``caller_number``."""
    return EmergencyCaller(
        location_country=user.emergency_country if user.emergency_address else None,
        warning_acknowledged=user.emergency_warning_acknowledged_at is not None,
        caller_number=caller_number,
    )
