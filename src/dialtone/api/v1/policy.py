"""``POST /v1/policy/check``: the dry run of the terms engine.

Takes an intended action and returns every check it would go through, each with its
rule and outcome, without acting and without writing anything: operators and customers
use it to answer "why was this refused?" and "would this be allowed?".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Protocol

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from dialtone.api.deps import AccountDep, SessionDep, SettingsDep, permit
from dialtone.policy.checklist import Action, CheckResult, verdict
from dialtone.services import policy

router = APIRouter(prefix="/v1/policy", tags=["policy"])


class ActiveCalls(Protocol):
    """What the dry run needs of the running call engine (TERMS V2)."""

    def active_calls(self, user_id: str) -> int: ...


# What each call action of the API is, for the checks (policy.checklist.Action).
CALL_ACTIONS = {
    "call": Action.DEVICE_CALL,
    "click_to_call": Action.CLICK_TO_CALL,
    "api_call": Action.API_CALL,
    "transfer": Action.TRANSFER,
}


class CallCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["call", "click_to_call", "api_call", "transfer"] = Field(
        description="A device's call, a click-to-call (POST /v1/calls), a call the "
        "account places over the Twilio-compatible API (POST …/Calls.json), or a REFER "
        "transfer to ``to`` (checked as a direct call of the account; a TwiML <Dial> too)."
    )
    to: str = Field(description="An extension of the account, or a number.")
    user_id: str | None = Field(
        default=None,
        description="Who would call (their channels and calls count, V2); for a transfer, "
        "the transferor.",
    )
    caller_id: str | None = Field(
        default=None,
        description="The number to present (V10); for a transfer, the call's number.",
    )


class ForwardCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["forward"]
    to: str = Field(description="The E.164 number calls would be forwarded to.")


class CheckOut(BaseModel):
    check: str = Field(description="The check's name (concurrency, dialling, destination…).")
    rules: list[str] = Field(description="The TERMS.md rules the check applies.")
    allowed: bool
    rule: str | None = Field(default=None, description="The rule that refuses, if any.")
    code: str | None = Field(default=None, description="The reason code, if refused.")
    message: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(cls, result: CheckResult) -> CheckOut:
        decision = result.decision
        return cls(
            check=result.name,
            rules=list(result.rules),
            allowed=decision.allowed,
            rule=decision.rule,
            code=decision.code,
            message=decision.message or None,
            details=dict(decision.details),
        )


class ChecksVerdict(BaseModel):
    """A dry run's answer: the first refusal (if any) and every check in order."""

    allowed: bool
    code: str | None = None
    rule: str | None = None
    message: str = ""
    checks: list[CheckOut]

    @classmethod
    def of(cls, results: list[CheckResult]) -> ChecksVerdict:
        decision = verdict(results)
        return cls(
            allowed=decision.allowed,
            code=decision.code,
            rule=decision.rule,
            message=decision.message,
            checks=[CheckOut.of(r) for r in results],
        )


class PolicyVerdict(BaseModel):
    action: str
    allowed: bool = Field(description="Whether the action would go ahead.")
    rule: str | None = Field(description="The first refusing check's rule.")
    code: str | None = Field(description="The first refusing check's reason code.")
    message: str | None
    checks: list[CheckOut]


@router.post("/check", dependencies=[permit("policy.check")], response_model=PolicyVerdict)
def check(
    body: Annotated[CallCheck | ForwardCheck, Field(discriminator="action")],
    request: Request,
    account: AccountDep,
    session: SessionDep,
    settings: SettingsDep,
) -> PolicyVerdict:
    """Which rules an action would meet, and whether it would be refused (nothing is
    done, nothing recorded)."""
    operator = policy.OperatorPolicy(
        settings.destinations, settings.default_country, settings.emergency_countries
    )
    if isinstance(body, CallCheck):
        engine: ActiveCalls | None = getattr(request.app.state, "call_placer", None)
        results = policy.check_call(
            session,
            account.id,
            to=body.to,
            operator=operator,
            user_id=body.user_id,
            caller_id=body.caller_id,
            active_calls=engine.active_calls if engine is not None else lambda _: 0,
            now=datetime.now(UTC),
            action=CALL_ACTIONS[body.action],
        )
    else:
        results = policy.check_forward(session, account.id, to=body.to, operator=operator)
    first = verdict(results)
    return PolicyVerdict(
        action=body.action,
        allowed=first.allowed,
        rule=first.rule,
        code=first.code,
        message=first.message or None,
        checks=[CheckOut.of(r) for r in results],
    )
