"""Rules checked when a call is set up (TERMS V2, V10, N13, N10).

Pure decisions: the facts come in (counts, the numbers an account holds), a refusal with
a machine-readable code, the rule it applies and the SIP status to answer comes out, or
None when the call may go on. The SIP layer turns a refusal into a response carrying the
code in ``Reason`` and ``Warning`` headers.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a call may not go on."""

    code: str
    rule: str
    message: str
    sip_status: int


def user_concurrency(active_calls: int, channels: int) -> Refusal | None:
    """TERMS V2: one simultaneous call per user unless the account bought extra channels.

    ``active_calls`` counts the user's calls in progress (placed or received) before this
    one; ``channels`` is what the user may have at once (1 by default).
    """
    if active_calls < channels:
        return None
    return Refusal(
        code="concurrency.user_limit",
        rule="V2",
        message=f"the user already has {active_calls} call(s) and {channels} channel(s)",
        sip_status=486,
    )


def caller_id(candidate: str | None, held_numbers: Collection[str]) -> Refusal | None:
    """TERMS V10 and N13: outbound caller ID is only a number the account holds."""
    if candidate is not None and candidate in held_numbers:
        return None
    shown = candidate or "no number"
    return Refusal(
        code="caller_id.not_held",
        rule="V10",
        message=f"caller ID {shown} is not a number this account holds (V10, N13)",
        sip_status=403,
    )


def forward_target(active: bool, target: str) -> Refusal | None:
    """TERMS N10: never forward a number to an inactive endpoint."""
    if active:
        return None
    return Refusal(
        code="route.inactive_endpoint",
        rule="N10",
        message=f"{target} is not an active endpoint",
        sip_status=480,
    )


def sip_headers(refusal: Refusal) -> tuple[tuple[str, str], ...]:
    """The ``Reason`` (RFC 3326) and ``Warning`` (RFC 3261 §20.43) carrying the code."""
    text = f"{refusal.code} ({refusal.rule}): {refusal.message}".replace('"', "'")
    return (
        ("Reason", f'SIP;cause={refusal.sip_status};text="{refusal.code}"'),
        ("Warning", f'399 dialtone "{text}"'),
    )
