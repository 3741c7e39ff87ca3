"""TERMS N3 on a real database: documents, activation, the correction window."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from dialtone.services.accounts import accounts
from dialtone.services.numbering import kyc, numbers
from dialtone.store import sealed

from ..conftest import T0

KEY = bytes(range(32))


def _send(session: Session, account: str, kind: str, tmp: Path, country: str | None = None) -> None:
    kyc.upload(session, account, kind, b"scan", country=country, now=T0, documents_dir=tmp, key=KEY)


def test_documents_are_sealed_and_a_correction_in_time_keeps_the_service(
    session: Session, account: str, tmp_path: Path
) -> None:
    numbers.add_number(session, account, "+33123456789", now=T0, activated=False)
    for kind, country in (("company_registration", None), ("identity", None)):
        _send(session, account, kind, tmp_path, country)
    _send(session, account, "proof_of_address", tmp_path, "FR")
    stored = tmp_path / account / "kyc" / "identity.sealed"
    assert sealed.read(stored, KEY) == b"scan"
    kyc.review(
        session, account, "identity", approve=False, now=T0, note="x", false_declaration=True
    )
    _send(session, account, "identity", tmp_path)  # sent again, reviewed within the 8 days
    for kind in ("company_registration", "identity", "proof_of_address"):
        activated = kyc.review(session, account, kind, approve=True, now=T0 + timedelta(days=3))
    assert activated == ["+33123456789"]
    row = accounts.get_account(session, account)
    assert row.kyc_corrected_at == T0 + timedelta(days=3)
    assert kyc.review_corrections(session, T0 + timedelta(days=30)) == []
    assert row.closed_at is None
