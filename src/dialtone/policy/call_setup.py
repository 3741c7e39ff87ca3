"""Rules checked when a call is set up (TERMS V2, V10, N13, N10).

Pure decisions: the facts come in (counts, the numbers an account holds) and a
:class:`~dialtone.policy.decision.Decision` comes out. The SIP layer answers a refusal with
the code's SIP status (from the registry in :mod:`dialtone.policy.codes`) and the code in
``Reason`` and ``Warning`` headers; the API answers with its HTTP status.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from dialtone.policy.decision import ALLOWED, Decision, refuse


def user_concurrency(active_calls: int, channels: int) -> Decision:
    """TERMS V2: one simultaneous call per user unless the account bought extra channels.

    ``active_calls`` counts the user's calls in progress (placed or received) before this
    one; ``channels`` is what the user may have at once (1 by default).
    """
    if active_calls < channels:
        return ALLOWED
    return refuse(
        "concurrency.user_limit",
        f"the user already has {active_calls} call(s) and {channels} channel(s)",
        active_calls=active_calls,
        channels=channels,
    )


@dataclass(frozen=True, slots=True)
class HeldNumbers:
    """The numbers an account holds, and those of them that are inbound-only (N13:
    bought for a country where the customer has no operations)."""

    numbers: tuple[str, ...]
    inbound_only: frozenset[str] = frozenset()

    @property
    def outbound(self) -> tuple[str, ...]:
        """The numbers a call may present (V10 defaults pick among these)."""
        return tuple(n for n in self.numbers if n not in self.inbound_only)


def caller_id(
    candidate: str | None,
    held_numbers: Collection[str],
    inbound_only: Collection[str] = (),
) -> Decision:
    """TERMS V10 and N13: outbound caller ID is only a number the account holds, and
    not one of its inbound-only numbers."""
    if candidate is not None and candidate in held_numbers:
        if candidate not in inbound_only:
            return ALLOWED
        return refuse(
            "caller_id.inbound_only",
            f"{candidate} is inbound-only: it was bought for a country where the account "
            "has no operations (N13)",
            caller_id=candidate,
        )
    shown = candidate or "no number"
    return refuse(
        "caller_id.not_held",
        f"caller ID {shown} is not a number this account holds (V10, N13)",
        rule="V10",
        caller_id=candidate,
    )


def default_caller_id(routed_to_user: Sequence[str], held_numbers: Sequence[str]) -> str | None:
    """TERMS V10: the number a user's call presents when none is asked for: the first
    number routed to the user, else the account's first, else none."""
    if routed_to_user:
        return routed_to_user[0]
    return held_numbers[0] if held_numbers else None


def forward_target(active: bool, target: str) -> Decision:
    """TERMS N10: never forward a number to an inactive endpoint."""
    if active:
        return ALLOWED
    return refuse("route.inactive_endpoint", f"{target} is not an active endpoint", target=target)


def sip_headers(decision: Decision) -> tuple[tuple[str, str], ...]:
    """The ``Reason`` (RFC 3326) and ``Warning`` (RFC 3261 §20.43) carrying the code."""
    text = f"{decision.code} ({decision.rule}): {decision.message}".replace('"', "'")
    return (
        ("Reason", f'SIP;cause={decision.sip_status()};text="{decision.code}"'),
        ("Warning", f'399 dialtone "{text}"'),
    )
