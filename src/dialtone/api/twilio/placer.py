"""What the Twilio-compatible Calls resource needs of the call engine (issue 16).

The runtime implements it (``app.state.twilio_calls``, set by ``serve``): a call
placed with TwiML (``twiml``) or a URL to fetch it from (``url``), a live call
redirected to new TwiML or ended. Without it the routes answer 503
``call.engine_unavailable``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from dialtone.services.telephony.calls import LiveCall


class TwilioCallPlacer(Protocol):
    """The call engine as the Calls resource drives it. Refusals are raised as
    ``DialtoneError`` (the terms engine's: V5, V10…), which the API shapes as Twilio's."""

    async def place(
        self,
        account_id: str,
        to: str,
        from_: str,
        *,
        twiml: str | None,
        url: str | None,
        method: str,
        status_callback: str | None,
        status_callback_method: str,
        status_callback_events: Sequence[str],
        timeout: int,
        record: bool,
    ) -> str:
        """Place an outbound call from ``from_`` (a number the account holds, V10) to
        ``to`` (E.164, or a SIP URI / extension as the engine reads it) that runs
        ``twiml`` or the TwiML fetched from ``url`` with ``method`` once answered;
        ``timeout`` seconds of ringing. Returns the call's SID (``CA…``, the id its CDR
        will have)."""
        ...

    async def update(
        self,
        account_id: str,
        call_sid: str,
        *,
        status: str | None,
        url: str | None,
        twiml: str | None,
        method: str,
    ) -> None:
        """End a live call (``status`` "completed": hang up; "canceled": only if not yet
        answered) or redirect it to new TwiML (``twiml``, or fetched from ``url``).
        ``call.not_found`` (404) when no such call is live."""
        ...

    def live_calls(self, account_id: str) -> Sequence[LiveCall]:
        """The account's calls in progress (no CDR yet), read on the engine's loop."""
        ...
