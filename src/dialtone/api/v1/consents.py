"""``/v1/consents`` and ``/v1/opt-outs``: SMS opt-ins the account recorded and the
opt-outs its recipients sent (TERMS M3).

An opt-in says where it was given, when and with which words; the proof for one
recipient (``GET /v1/consents/proof``) is what M3 asks to produce within 24 hours of a
request. Opt-outs come from the recipients' keywords (STOP…) or from the account
(``POST /v1/opt-outs``, e.g. a request by phone); only the recipient lifts one (START).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from dialtone.api.deps import AccountDep, SessionDep, SettingsDep, permit
from dialtone.api.fields import Moment
from dialtone.services.accounts import accounts
from dialtone.services.messaging import consents
from dialtone.services.numbering import numbers
from dialtone.store.messaging_models import SmsConsent, SmsOptOut

router = APIRouter(tags=["consents"])


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipient: str
    source: str = Field(description="Where it was given: a form's address, a shop, a keyword.")
    wording: str = Field(description="The words the recipient agreed to.")
    given_at: Moment | None = Field(default=None, description="When; default now.")
    marketing: bool = Field(default=False, description="Covers marketing messages.")


class ConsentOut(BaseModel):
    id: str
    recipient: str
    source: str
    wording: str
    marketing: bool
    given_at: datetime
    recorded_at: datetime
    withdrawn_at: datetime | None

    @classmethod
    def of(cls, row: SmsConsent) -> ConsentOut:
        return cls(
            id=row.id,
            recipient=row.recipient,
            source=row.source,
            wording=row.wording,
            marketing=row.marketing,
            given_at=row.given_at,
            recorded_at=row.recorded_at,
            withdrawn_at=row.withdrawn_at,
        )


class ConsentList(BaseModel):
    consents: list[ConsentOut]


class OptOutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipient: str
    sender: str | None = Field(
        default=None, description="The account's number they asked to stop; none: all of them."
    )


class OptOutOut(BaseModel):
    recipient: str
    sender: str | None
    keyword: str
    source: str
    opted_out_at: datetime
    opted_in_at: datetime | None

    @classmethod
    def of(cls, row: SmsOptOut) -> OptOutOut:
        return cls(
            recipient=row.recipient,
            sender=row.sender,
            keyword=row.keyword,
            source=row.source,
            opted_out_at=row.opted_out_at,
            opted_in_at=row.opted_in_at,
        )


class OptOutList(BaseModel):
    opt_outs: list[OptOutOut]


def _number(account: AccountDep, settings: SettingsDep, text: str) -> str:
    return numbers.to_e164(text, accounts.dialling_country(account, settings.default_country))


@router.post(
    "/v1/consents",
    dependencies=[permit("consents.write")],
    response_model=ConsentOut,
    status_code=status.HTTP_201_CREATED,
)
def record_consent(
    body: ConsentIn, account: AccountDep, session: SessionDep, settings: SettingsDep
) -> ConsentOut:
    """Record an opt-in (M3)."""
    now = datetime.now(UTC)
    row = consents.record_consent(
        session,
        account.id,
        consents.ConsentIn(
            recipient=_number(account, settings, body.recipient),
            source=body.source,
            wording=body.wording,
            given_at=body.given_at or now,
            marketing=body.marketing,
        ),
        now=now,
    )
    return ConsentOut.of(row)


@router.get("/v1/consents", dependencies=[permit("consents.read")], response_model=ConsentList)
def list_consents(
    account: AccountDep, session: SessionDep, settings: SettingsDep, recipient: str | None = None
) -> ConsentList:
    """The account's opt-in records (of one recipient), oldest first."""
    who = _number(account, settings, recipient) if recipient else None
    return ConsentList(
        consents=[ConsentOut.of(r) for r in consents.consents_of(session, account.id, who)]
    )


@router.get("/v1/consents/proof", dependencies=[permit("consents.read")])
def consent_proof(
    recipient: str, account: AccountDep, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    """M3's proof of consent for one recipient: every opt-in with its source, time and
    wording, every opt-out and opt-back-in."""
    return consents.proof(session, account.id, _number(account, settings, recipient))


@router.delete(
    "/v1/consents/{consent_id}",
    dependencies=[permit("consents.write")],
    status_code=status.HTTP_204_NO_CONTENT,
)
def withdraw_consent(consent_id: str, account: AccountDep, session: SessionDep) -> None:
    """Withdraw an opt-in (the record stays, as proof of the past)."""
    consents.withdraw_consent(session, account.id, consent_id, now=datetime.now(UTC))


@router.post(
    "/v1/opt-outs",
    dependencies=[permit("consents.write")],
    response_model=OptOutOut,
    status_code=status.HTTP_201_CREATED,
)
def record_opt_out(
    body: OptOutIn, account: AccountDep, session: SessionDep, settings: SettingsDep
) -> OptOutOut:
    """Record an opt-out the recipient asked for another way (by phone, by mail)."""
    sender = _number(account, settings, body.sender) if body.sender else None
    row = consents.opt_out(
        session,
        account.id,
        _number(account, settings, body.recipient),
        sender=sender,
        keyword="API",
        source="api",
        now=datetime.now(UTC),
    )
    return OptOutOut.of(row)


@router.get("/v1/opt-outs", dependencies=[permit("consents.read")], response_model=OptOutList)
def list_opt_outs(
    account: AccountDep, session: SessionDep, settings: SettingsDep, recipient: str | None = None
) -> OptOutList:
    """The account's opt-outs (of one recipient), newest first."""
    who = _number(account, settings, recipient) if recipient else None
    return OptOutList(
        opt_outs=[OptOutOut.of(r) for r in consents.opt_outs_of(session, account.id, who)]
    )


class ProofRequestOut(BaseModel):
    id: str
    recipient: str
    requested_by: str
    requested_at: datetime
    due_at: datetime = Field(description="Unanswered by then, messaging is suspended (M3).")
    answered_at: datetime | None


class ProofRequestList(BaseModel):
    requests: list[ProofRequestOut]


@router.get(
    "/v1/consents/proof-requests",
    dependencies=[permit("consents.read")],
    response_model=ProofRequestList,
)
def list_proof_requests(account: AccountDep, session: SessionDep) -> ProofRequestList:
    """Requests for the proof of a recipient's consent (M3), newest first."""
    return ProofRequestList(
        requests=[
            ProofRequestOut(
                id=r.id,
                recipient=r.recipient,
                requested_by=r.requested_by,
                requested_at=r.requested_at,
                due_at=r.due_at,
                answered_at=r.answered_at,
            )
            for r in consents.proof_requests(session, account.id)
        ]
    )


@router.post(
    "/v1/consents/proof-requests/{request_id}/answer", dependencies=[permit("consents.write")]
)
def answer_proof_request(
    request_id: str, account: AccountDep, session: SessionDep
) -> dict[str, Any]:
    """Produce the proof asked for (M3): the recipient's opt-ins and opt-outs; the request
    is answered, and a messaging suspension it caused ends. 409 ``consent.no_proof``
    when no opt-in is on record."""
    return consents.answer_proof_request(session, account.id, request_id, now=datetime.now(UTC))
