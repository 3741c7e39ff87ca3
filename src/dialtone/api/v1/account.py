"""``/v1/account``: the calling account itself, and the call options it may set.

Channels per user (TERMS V2) is a paid option, and premium-rate and high-cost
destinations (V5) are blocked unless the operator allows them: shown here, set by the
operator (CLI).
The recording policy (V8) is the customer's own choice: "notice" plays a notice to both
parties, then records both legs; "one_party" records without the notice where the law of
every party's place lets one party consent, and plays it first elsewhere.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from dialtone.api.audio import wav_response
from dialtone.api.deps import AccountDep, RecordingKeyDep, SessionDep, SettingsDep, permit
from dialtone.core.errors import DialtoneError
from dialtone.policy import fraud
from dialtone.services.accounts import (
    account_data,
    accounts,
    recording_exports,
    webhook_targets,
    webhooks,
)
from dialtone.services.compliance import fair_use
from dialtone.store.models import Account, RecordingExport

router = APIRouter(prefix="/v1/account", tags=["account"])

_RECORDING_POLICY = (
    'TERMS V8: "off"; "notice" (a notice to both parties, then both legs recorded); or '
    '"one_party" (recorded without the notice when the law of every party\'s place, by '
    "its number, lets one party consent; with the notice first otherwise, and always "
    "for a party without a number, such as an extension). A party may object during "
    "the call: POST /v1/calls/{id}/recording/objection."
)


class FairUseStanding(BaseModel):
    status: str = Field(description='"good", "suspended" or "terminated" (TERMS F5).')
    rule: str | None = Field(description="The rule the abuse was found under (F1, F2…).")
    suspended_at: datetime | None
    suspended_until: datetime | None
    remedied_at: datetime | None
    terminated_at: datetime | None

    @classmethod
    def of(cls, row: Account) -> FairUseStanding:
        now = datetime.now(UTC)
        decision = fraud.standing(fair_use.abuse_state(row), now)
        status = {
            None: "good",
            "fair_use.suspended": "suspended",
            "fair_use.terminated": "terminated",
        }[decision.code]
        return cls(
            status=status,
            rule=row.suspension_rule,
            suspended_at=row.suspended_at,
            suspended_until=row.suspended_at + fraud.SUSPENSION if row.suspended_at else None,
            remedied_at=row.remedied_at,
            terminated_at=row.plan_terminated_at,
        )


class AccountOut(BaseModel):
    id: str
    name: str
    status: str
    billing_increment: str = Field(description="First/next billing seconds (TERMS B2).")
    channels_per_user: int = Field(description="Simultaneous calls per user (TERMS V2).")
    recording_policy: str = Field(description=_RECORDING_POLICY)
    country: str = Field(description="ISO 3166 country the account dials from (V6, V7).")
    premium_rate_allowed: bool = Field(
        description="Whether premium-rate numbers may be called (TERMS V5; set by the operator)."
    )
    high_cost_allowed: bool = Field(
        description="Whether high-cost destinations may be called (V5; set by the operator)."
    )
    sanctions_declared_at: datetime | None = Field(
        description="When the customer declared it is on no sanctions list (TERMS D3)."
    )
    telemarketing: bool = Field(
        description="Telemarketing account: national do-not-call registers and the callee's "
        "calling hours apply to its calls (V12; set by the operator)."
    )
    fair_use: FairUseStanding = Field(
        description="The unlimited plan's standing after a suspension for abuse (TERMS F5)."
    )
    sms_webhook_url: str | None = Field(
        description="Where inbound SMS are POSTed, signed (Dialtone-Signature)."
    )
    postal_address: str | None = Field(
        description="The sender's postal address every marketing email carries (TERMS M9); "
        "none: the account sends no marketing email."
    )
    ai_quality_monitoring: bool = Field(
        description="Whether the operator may monitor the quality of the account's AI calls "
        "(read its agents' reports and transcripts); false: the customer opted out (TERMS A8)."
    )
    created_at: datetime

    @classmethod
    def of(cls, row: Account, default_country: str) -> AccountOut:
        return cls(
            id=row.id,
            name=row.name,
            status=row.status,
            billing_increment=row.billing_increment,
            channels_per_user=row.channels_per_user,
            recording_policy=row.recording_policy,
            country=accounts.dialling_country(row, default_country),
            premium_rate_allowed=row.premium_rate_allowed,
            high_cost_allowed=row.high_cost_allowed,
            telemarketing=row.telemarketing,
            sanctions_declared_at=row.sanctions_declared_at,
            fair_use=FairUseStanding.of(row),
            sms_webhook_url=row.sms_webhook_url,
            postal_address=row.postal_address,
            ai_quality_monitoring=row.ai_quality_monitoring,
            created_at=row.created_at,
        )


class AccountPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recording_policy: str | None = Field(default=None, description=_RECORDING_POLICY)
    declare_no_sanctions: bool | None = Field(
        default=None,
        description="true: the customer declares it is on no sanctions or export-control "
        "list (TERMS D3); the declaration is kept with its date.",
    )
    sms_webhook_url: str | None = Field(
        default=None,
        description="Where inbound SMS are POSTed (http or https); an empty string removes it.",
    )
    postal_address: str | None = Field(
        default=None,
        description="The postal address marketing email carries (TERMS M9), lines separated "
        "by newlines; an empty string removes it.",
    )
    ai_quality_monitoring: bool | None = Field(
        default=None,
        description="false: opt out of the operator's monitoring of the account's AI calls "
        "(TERMS A8); true: allow it again.",
    )


@router.get("/export", dependencies=[permit("account.export")])
def export_account(account: AccountDep, session: SessionDep) -> dict[str, Any]:
    """Everything held for the account as JSON (its content is the customer's, D6):
    users, numbers, ring groups, trunks, key metadata, call records, voicemail metadata
    and transcripts, do-not-call list, audit log. Secrets (key and SIP digest hashes,
    trunk passwords) are left out; audio is downloaded per call and message."""
    return account_data.export(session, account.id, now=datetime.now(UTC))


class ExportOut(BaseModel):
    id: str
    created_at: datetime
    files: int = Field(description="Recordings and voicemail messages in the archive.")
    available: bool = Field(
        description="The archive is kept (the backup) until the transfer is confirmed."
    )
    confirmed_at: datetime | None

    @classmethod
    def of(cls, row: RecordingExport) -> ExportOut:
        return cls(
            id=row.id,
            created_at=row.created_at,
            files=row.files,
            available=row.path is not None,
            confirmed_at=row.confirmed_at,
        )


class ExportList(BaseModel):
    exports: list[ExportOut]


@router.post(
    "/recordings/exports",
    dependencies=[permit("account.export")],
    status_code=status.HTTP_201_CREATED,
    response_model=ExportOut,
)
def export_recordings(
    account: AccountDep, session: SessionDep, settings: SettingsDep, key: RecordingKeyDep
) -> ExportOut:
    """Archive every call recording and voicemail message of the account (TERMS D5): a
    ZIP, sealed at rest, kept as a backup until the transfer is confirmed."""
    row = recording_exports.create(
        session,
        account.id,
        now=datetime.now(UTC),
        exports_dir=settings.data_dir / "exports",
        key=key,
    )
    return ExportOut.of(row)


@router.get(
    "/recordings/exports", dependencies=[permit("account.export")], response_model=ExportList
)
def list_recording_exports(account: AccountDep, session: SessionDep) -> ExportList:
    """The account's exports, newest first."""
    rows = recording_exports.list_exports(session, account.id)
    return ExportList(exports=[ExportOut.of(r) for r in rows])


@router.get(
    "/recordings/exports/{export_id}/archive",
    dependencies=[permit("account.export")],
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}}},
)
def download_recording_export(
    export_id: str, request: Request, account: AccountDep, session: SessionDep
) -> StreamingResponse:
    """The archive (409 ``export.confirmed`` once the transfer was confirmed)."""
    row = recording_exports.get(session, account.id, export_id)
    if row.path is None:
        raise DialtoneError(
            "export.confirmed", f"Export {export_id} was confirmed: it is gone.", status=409
        )
    return wav_response(request, Path(row.path), f"{row.id}.zip", media_type="application/zip")


@router.post(
    "/recordings/exports/{export_id}/confirm",
    dependencies=[permit("account.export")],
    response_model=ExportOut,
)
def confirm_recording_export(export_id: str, account: AccountDep, session: SessionDep) -> ExportOut:
    """The customer has the archive: the platform's backup of it is deleted (D5)."""
    row = recording_exports.confirm(session, account.id, export_id, now=datetime.now(UTC))
    return ExportOut.of(row)


class WebhookSecretOut(BaseModel):
    secret: str = Field(
        description="The key of the HMAC-SHA256 in each webhook's Dialtone-Signature header "
        "(t=<unix time>,v1=<hex of HMAC(secret, '<t>.<body>')>)."
    )


@router.get(
    "/webhook-secret", dependencies=[permit("account.write")], response_model=WebhookSecretOut
)
def webhook_secret(account: AccountDep, settings: SettingsDep) -> WebhookSecretOut:
    """The secret the account's webhooks are signed with (status callbacks, inbound SMS)."""
    return WebhookSecretOut(secret=webhooks.account_secret(settings.sealing_key(), account.id))


@router.get("", dependencies=[permit("account.read")], response_model=AccountOut)
def get_account(account: AccountDep, settings: SettingsDep) -> AccountOut:
    """The account the API key belongs to."""
    return AccountOut.of(account, settings.default_country)


@router.patch("", dependencies=[permit("account.write")], response_model=AccountOut)
def patch_account(
    body: AccountPatch, account: AccountDep, session: SessionDep, settings: SettingsDep
) -> AccountOut:
    """Change the account's recording policy (TERMS V8), its inbound SMS webhook, its
    postal address (M9) or its opt-out of AI quality monitoring (A8), or declare it is
    on no sanctions list (D3)."""
    row = accounts.set_call_options(session, account.id, recording_policy=body.recording_policy)
    if body.sms_webhook_url is not None:
        # The SSRF guard, name resolved (a rare write; each request checks again).
        row = accounts.set_sms_webhook(
            session,
            account.id,
            body.sms_webhook_url or None,
            target_policy=settings.webhook_target_policy,
            resolve=webhook_targets.resolve_blocking,
        )
    if body.ai_quality_monitoring is not None:
        row = accounts.set_ai_quality_monitoring(session, account.id, body.ai_quality_monitoring)
    if body.postal_address is not None:
        row = accounts.set_postal_address(session, account.id, body.postal_address or None)
    if body.declare_no_sanctions:
        row = accounts.declare_no_sanctions(session, account.id, now=datetime.now(UTC))
    elif body.declare_no_sanctions is False:
        raise DialtoneError(
            "account.declaration_invalid",
            "The declaration can only be made (true); the operator deals with a change.",
            rule="D3",
        )
    return AccountOut.of(row, settings.default_country)


class ShortCallDayOut(BaseModel):
    day: date
    short_calls: int = Field(description="Outbound calls under 15 s (unanswered included).")
    users: int
    counts: bool = Field(description="More than 60 per user on average (TERMS F1).")


class PatternOut(BaseModel):
    check: str = Field(
        description='"autodialing" (F4), "redial" (F3), "usage" (F2: the usage rate over 6 '
        'months against 5 times the average of all customers), or "access:<user id>" (V3: '
        "a PBX or dialer behind the user, or its access used from too many places)."
    )
    allowed: bool
    code: str | None
    rule: str | None
    message: str
    details: dict[str, Any]


class FairUseOut(BaseModel):
    month: str
    days: list[ShortCallDayOut] = Field(description="Days with short outbound calls.")
    flagged_days: int
    allowed: bool = Field(description="False from 3 flagged days: suspension allowed (F1).")
    code: str | None
    rule: str | None
    patterns: list[PatternOut] = Field(
        description="The month's calling patterns (F3, F4) and the devices registered now (V3)."
    )


@router.get("/fair-use", dependencies=[permit("account.read")], response_model=FairUseOut)
def get_fair_use(
    account: AccountDep,
    session: SessionDep,
    month: Annotated[str, Query(description="YYYY-MM (UTC days).", pattern=r"^\d{4}-\d{2}$")],
) -> FairUseOut:
    """The month's very short outbound calls, day by day (TERMS F1, V13), its calling
    patterns (F3, F4) and what is registered behind each user now (V3)."""
    report = fair_use.short_call_report(session, account.id, month)
    findings = fair_use.pattern_report(session, account.id, month, now=datetime.now(UTC))
    return FairUseOut(
        month=report.month,
        days=[
            ShortCallDayOut(day=d.day, short_calls=d.short_calls, users=d.users, counts=d.counts)
            for d in report.days
        ],
        flagged_days=sum(d.counts for d in report.days),
        allowed=report.decision.allowed,
        code=report.decision.code,
        rule=report.decision.rule,
        patterns=[
            PatternOut(
                check=f.check,
                allowed=f.decision.allowed,
                code=f.decision.code,
                rule=f.decision.rule,
                message=f.decision.message,
                details=dict(f.decision.details),
            )
            for f in findings
        ],
    )
