"""The engine's decision on a call setup, once its facts are in.

``setup_outcome`` consumes ``policy.checklist.checks`` for an action up to the first
refusal and says where an allowed call goes; ``_refusal`` carries the audit inputs each
check has always been recorded with; ``not_rung`` says why a user's devices are not
rung. Every call path of the engine decides here; the dry run evaluates the same checks
all through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dialtone.policy.checklist import Action, CallIntent, CheckResult, checks
from dialtone.policy.decision import Decision


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the engine does with an action once its facts are in: ``refusal``, the first
    refusing check, is put on the audit log as ``audit_action`` with ``inputs`` and
    answered (a SIP status, a transfer's NOTIFY, click-to-call's HTTP error); otherwise
    the call goes to ``go``: "extension" (a colleague's devices), "route" (one of our
    numbers, rung as an inbound call), "emergency" (the trunks, V7 passed) or "trunks"."""

    refusal: CheckResult | None
    go: str
    audit_action: str
    inputs: Mapping[str, object]

    def sip_status(self) -> int:
        """The SIP status the refusal is answered with."""
        assert self.refusal is not None
        return self.refusal.decision.sip_status()


_AUDIT_ACTION = {
    Action.DEVICE_CALL: "call.outbound",
    Action.CLICK_TO_CALL: "call.outbound",
    Action.API_CALL: "call.outbound",
    Action.FORWARD: "call.forward",
    Action.TRANSFER: "call.transfer",
    Action.INBOUND_CALL: "call.inbound",
}


def setup_outcome(action: Action, intent: CallIntent) -> Outcome:
    """The engine's decision for ``action`` on ``intent``: the checks of
    :func:`dialtone.policy.checklist.checks`, consumed up to the first refusal (nothing
    after it is evaluated), and where an allowed call goes. Every call path of the engine
    decides here; the dry run evaluates the same checks all through."""
    last: CheckResult | None = None
    for result in checks(action, intent):
        last = result
        if result.decision.refused:
            return _refusal(action, intent, result)
    if last is not None and last.name == "emergency":
        go = "emergency"
    elif intent.is_extension:
        go = "extension"
    elif intent.routed or action is Action.INBOUND_CALL:
        go = "route"
    else:
        go = "trunks"
    return Outcome(None, go, _AUDIT_ACTION[action], {})


def _refusal(action: Action, intent: CallIntent, result: CheckResult) -> Outcome:
    """A refusal with the audit inputs each check has always been recorded with."""
    name = result.name
    audit_action = _AUDIT_ACTION[action]
    inputs: dict[str, object] = {}
    if name == "emergency":
        audit_action = "call.emergency"
        inputs["caller_number"] = intent.caller_id
    elif action is Action.DEVICE_CALL:
        if name in ("billing_standing", "concurrency"):
            inputs["dialed"] = intent.dialed or None
        elif name == "dialling":
            inputs["country"] = intent.country
        elif name == "caller_id":
            inputs["number"] = intent.e164
    return Outcome(result, "", audit_action, inputs)


def not_rung(busy: Decision) -> tuple[str, int]:
    """Why a user's devices are not rung, and the SIP status that says it: 486 when the
    user already has as many calls as channels (``busy`` is TERMS V2's refusal), else 480
    (no registered device, or a user who cannot take calls)."""
    return ("busy (V2)", 486) if busy.refused else ("no registered device", 480)
