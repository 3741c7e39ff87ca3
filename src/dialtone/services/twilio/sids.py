"""Twilio-style SIDs of what dialtone names otherwise (issue 16).

Ids are already a two-letter kind and 32 hex digits (:mod:`dialtone.services.ids`), so a
Twilio SID is the same hex with Twilio's prefix: an API key ``KE<hex>`` is ``SK<hex>``;
a call's recording (on its CDR ``CA<hex>``) is ``RE<hex>``, and so is a voicemail
message's audio (``VM<hex>``). A recording a call application made has its own ``RE…``
row. Accounts (AC), calls (CA), messages (SM) and numbers (PN) keep their ids.
"""

from __future__ import annotations

import re

_HEX = re.compile(r"^[0-9a-f]{32}$")


def _swap(prefix: str, an_id: str) -> str:
    return prefix + an_id[2:]


def api_key_sid(key_id: str) -> str:
    """The ``SK…`` SID of an API key id ``KE…``."""
    return _swap("SK", key_id)


def is_api_key_sid(text: str) -> bool:
    return text.startswith("SK") and bool(_HEX.match(text[2:]))


def recording_sid(source_id: str) -> str:
    """The ``RE…`` SID of the recording of a CDR ``CA…`` or a voicemail ``VM…``."""
    return _swap("RE", source_id)


def recording_sources(sid: str) -> tuple[str, str] | None:
    """The CDR and voicemail ids a ``RE…`` SID may stand for (None: not a SID)."""
    if not sid.startswith("RE") or not _HEX.match(sid[2:]):
        return None
    return "CA" + sid[2:], "VM" + sid[2:]
