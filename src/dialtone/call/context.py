"""What a call needs from outside and cannot make itself (ids, tags, delays, the
signalling path), as small Protocols the runtime satisfies, and the settings it runs by."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from dialtone.sip.headers import Via

Address = tuple[str, int]
Trace = dict[str, str | None]

ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REFER, NOTIFY"


class SignallingPath(Protocol):
    """The transport a leg's signalling travels on (the runtime's channel): its name, a
    new top Via (fresh branch) per request, our Contact on it, and new tags."""

    @property
    def name(self) -> str: ...

    @property
    def contact(self) -> str: ...

    def via(self) -> Via: ...

    def new_tag(self) -> str: ...


class Ids(Protocol):
    """Where the randomness of a call comes from (RFC 3261 wants Call-IDs, cnonces and
    the first CSeq unguessable, and the §14.1 glare delay random): passed in, so tests
    can script it."""

    def call_id(self) -> str: ...

    def cnonce(self) -> str: ...

    def local_seq(self) -> int: ...

    def session_id(self) -> str: ...

    def glare_delay(self, owner: bool) -> float:
        """Seconds before retrying a re-INVITE answered 491 (RFC 3261 §14.1): 2.1-4 s
        when we chose the dialog's Call-ID (``owner``), else 0-2 s."""
        ...


@dataclass(frozen=True, slots=True)
class CallSettings:
    """What every call runs by (from the settings; the defaults are the settings')."""

    advertised_host: str
    codecs: tuple[str, ...] = ("PCMA", "PCMU")
    max_call_seconds: float = 3600.0
    allow: str = ALLOW
