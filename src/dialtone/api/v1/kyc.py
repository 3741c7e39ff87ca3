"""``/v1/kyc``: the account's identity documents and what they activate (TERMS N3)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from dialtone.api.deps import (
    AccountDep,
    DocumentDep,
    RecordingKeyDep,
    SessionDep,
    SettingsDep,
    permit,
)
from dialtone.services.numbering import kyc
from dialtone.store.models import Account, KycDocument

router = APIRouter(prefix="/v1/kyc", tags=["identity documents"])


class DocumentOut(BaseModel):
    kind: str
    country: str | None = Field(description="The country of the address it proves.")
    state: str = Field(description="pending, approved or rejected.")
    received_at: datetime
    reviewed_at: datetime | None
    note: str | None = Field(description="The reviewer's note (why it was rejected).")

    @classmethod
    def of(cls, row: KycDocument) -> DocumentOut:
        return cls(
            kind=row.kind,
            country=row.country,
            state=row.state,
            received_at=row.received_at,
            reviewed_at=row.reviewed_at,
            note=row.note,
        )


class WaitingNumber(BaseModel):
    number: str
    activation: dict[str, object] = Field(description="What its activation still needs.")


class KycOut(BaseModel):
    documents: list[DocumentOut]
    waiting_numbers: list[WaitingNumber] = Field(
        description="Leased numbers not activated yet, each with what it waits for."
    )
    correction_due: datetime | None = Field(
        description="A false declaration was notified: the date it must be corrected by "
        "(TERMS N3: 8 days), or the service ends."
    )


def _status(session: SessionDep, account: Account) -> KycOut:
    found = kyc.status(session, account)
    return KycOut(
        documents=[DocumentOut.of(r) for r in found.documents],
        waiting_numbers=[
            WaitingNumber(number=n, activation=decision.as_payload())
            for n, decision in found.waiting
        ],
        correction_due=found.correction_due,
    )


@router.get("", dependencies=[permit("account.read")], response_model=KycOut)
def get_kyc(account: AccountDep, session: SessionDep) -> KycOut:
    """The documents sent, the numbers waiting for them, a correction due."""
    return _status(session, account)


@router.put("/documents/{kind}", dependencies=[permit("account.write")], response_model=KycOut)
def put_document(
    kind: str,
    data: DocumentDep,
    *,
    account: AccountDep,
    session: SessionDep,
    settings: SettingsDep,
    key: RecordingKeyDep,
    country: Annotated[
        str | None, Query(description="For a proof of address: its country (ISO 3166).")
    ] = None,
) -> KycOut:
    """One document as the raw body (PDF, image…): ``company_registration``,
    ``identity`` or ``proof_of_address`` (with ``?country=``); stored encrypted, then
    reviewed by the operator."""
    kyc.upload(
        session,
        account.id,
        kind,
        data,
        country=country,
        now=datetime.now(UTC),
        documents_dir=settings.data_dir / "documents",
        key=key,
    )
    return _status(session, account)
