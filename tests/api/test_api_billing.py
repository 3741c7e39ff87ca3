"""``/v1/usage``, ``/v1/billing`` and ``/v1/invoices`` over HTTP (TERMS section B)."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.services.accounts import api_keys
from dialtone.services.billing import (
    collections,
    contract_changes,
    invoicing,
    subscriptions,
    tariffs,
)
from dialtone.services.telephony import users
from dialtone.store.db import transaction

from .conftest import auth, new_account

DECK = "prefix,destination,rate_per_minute\n33,France,0.03\n44,United Kingdom,0.05\n"


def _subscribed(sessions: sessionmaker[Session], plan: str = "prepaid") -> tuple[str, str]:
    account, key = new_account(sessions, "Billed")
    now = datetime.now(UTC)
    with transaction(sessions) as session:
        tariffs.import_csv(
            session, "calls", "EUR", DECK, effective_from=now - timedelta(days=400), now=now
        )
        subscriptions.subscribe(
            session, account, plan_code=plan, currency="EUR", country="FR", now=now,
            started_at=now - timedelta(days=1),
        )  # fmt: skip
        invoicing.issue(session, account, now=now)
    return account, key


def _event(tx: str, seconds: int = 61, to: str = "+33123456789") -> dict[str, object]:
    at = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    return {"transaction_id": tx, "code": "call", "timestamp": at, "destination": to,
            "duration": seconds}  # fmt: skip


def test_usage_is_stored_once_and_rated_on_the_draft(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, key = _subscribed(sessions)
    first = client.post("/v1/usage", json={"events": [_event("a"), _event("b")]}, headers=auth(key))
    assert first.status_code == 200, first.text
    assert first.json() == {"accepted": 2, "duplicates": 0}
    again = client.post(
        "/v1/usage", json={"events": [_event("b"), _event("c"), _event("c")]}, headers=auth(key)
    )
    assert again.json() == {"accepted": 1, "duplicates": 2}
    draft = client.get("/v1/invoices/draft", headers=auth(key)).json()
    usage = [ln for ln in draft["lines"] if ln["kind"] == "usage"]
    # three calls of 61 s bill 2 min each at 0.03 (B2, B5): 0.18, none twice
    assert [(ln["description"], ln["amount"]) for ln in usage] == [
        ("Calls to France: 3 calls, 6 min", "0.18")
    ]
    assert draft["number"] is None
    assert draft["status"] == "draft"
    billing = client.get("/v1/billing", headers=auth(key)).json()
    assert billing["plan"] == "prepaid"
    assert billing["credits"] == "0.0000"


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"events": []}, "events"),
        ({"events": [{**_event("x"), "destination": "0123"}]}, "destination"),
        ({"events": [{**_event("x"), "duration": -1}]}, "duration"),
        ({"events": [{**_event("x"), "code": "fax"}]}, "code"),
    ],
)
def test_bad_usage_gets_a_json_error(
    client: TestClient, sessions: sessionmaker[Session], body: dict[str, object], where: str
) -> None:
    _, key = _subscribed(sessions)
    response = client.post("/v1/usage", json=body, headers=auth(key))
    assert response.status_code == 400
    assert response.json()["code"]
    assert where in response.text


def test_invoices_list_and_download(
    client: TestClient, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    _, key = _subscribed(sessions, "essential")
    invoices = client.get("/v1/invoices", headers=auth(key)).json()
    assert [i["number"] for i in invoices] == [invoices[0]["number"]]
    invoice_id = invoices[0]["id"]
    assert invoices[0]["total"] == "22.80"  # 19.00 + VAT 20 %
    html = client.get(f"/v1/invoices/{invoice_id}/html", headers=auth(key))
    assert "Essential" in html.text
    pdf = client.get(f"/v1/invoices/{invoice_id}/pdf", headers=auth(key))
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    if shutil.which("pdftotext") is None:
        if os.environ.get("CI") == "true":  # .ci/run installs it: missing is a broken run
            pytest.fail("pdftotext (poppler-utils) must be installed on CI")
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "invoice.pdf"
    path.write_bytes(pdf.content)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert invoices[0]["number"] in text
    assert "Essential" in text
    assert "22.80" in text
    missing = client.get("/v1/invoices/INnope/pdf", headers=auth(key))
    assert missing.status_code == 404
    assert missing.json()["code"] == "invoice.not_found"


def test_dispute_credits_and_termination_over_http(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    account, key = _subscribed(sessions, "prepaid")
    [invoice] = client.get("/v1/invoices", headers=auth(key)).json()
    dispute = client.post(
        f"/v1/invoices/{invoice['id']}/disputes", json={"reason": "wrong"}, headers=auth(key)
    )
    assert dispute.status_code == 201, dispute.text
    assert dispute.json()["status"] == "open"
    listed = client.get("/v1/billing/disputes", headers=auth(key)).json()
    assert [d["id"] for d in listed] == [dispute.json()["id"]]
    with transaction(sessions) as session:
        bought = contract_changes.buy_credits(
            session, account, Decimal("10.00"), now=datetime.now(UTC)
        )
    credits = client.get("/v1/billing/credits", headers=auth(key)).json()
    assert credits["balance"] == "10.0000"
    withdrawn = client.post(
        f"/v1/billing/credits/{bought.id}/withdraw", json={"reason": "by mistake"},
        headers=auth(key),
    )  # fmt: skip
    assert withdrawn.status_code == 200, withdrawn.text
    again = client.post(
        f"/v1/billing/credits/{bought.id}/withdraw", json={"reason": "by mistake"},
        headers=auth(key),
    )  # fmt: skip
    assert again.status_code == 409
    assert again.json()["code"] == "billing.purchase_withdrawn"
    assert client.get("/v1/billing/credits", headers=auth(key)).json()["balance"] == "0.0000"
    returned = datetime.now(UTC)
    presented = returned - timedelta(days=5)  # a SEPA return comes days after the debit
    with transaction(sessions) as session:
        collections.record_result(
            session, invoice["id"], "rejected", at=returned, method="sepa_debit",
            attempted_at=presented,
        )  # fmt: skip
    [payment] = client.get("/v1/billing/payments", headers=auth(key)).json()
    assert (payment["outcome"], payment["invoice_number"]) == ("rejected", invoice["number"])
    assert datetime.fromisoformat(payment["at"]) == presented
    assert datetime.fromisoformat(payment["result_at"]) == returned
    ends = client.post("/v1/billing/termination", headers=auth(key))
    assert ends.status_code == 200, ends.text
    assert datetime.fromisoformat(ends.json()["ends_at"]) > datetime.now(UTC)


def test_deleting_a_number_under_commitment_costs_six_months(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, key = _subscribed(sessions, "unlimited")
    leased = client.post("/v1/numbers", json={"number": "+33199000123"}, headers=auth(key))
    assert leased.status_code == 201, leased.text
    assert client.delete("/v1/numbers/+33199000123", headers=auth(key)).status_code == 204
    draft = client.get("/v1/invoices/draft", headers=auth(key)).json()
    fees = [(ln["description"], ln["amount"]) for ln in draft["lines"] if ln["kind"] == "fee"]
    # 3.00 a year → 0.25 a month × 6 (N9)
    assert fees == [("Number deletion fee +33199000123", "1.50")]


def test_the_billing_profile_is_read_and_set_and_printed_on_the_next_invoice(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    account, key = new_account(sessions, "Acme")
    empty = client.get("/v1/billing/profile", headers=auth(key))
    assert empty.status_code == 200, empty.text
    assert empty.json() == {"legal_name": None, "address": "", "vat_number": ""}
    body = {"legal_name": "Acme Industries SARL", "address": "4 avenue des Champs\n69002 Lyon",
            "vat_number": "fr12 345678901"}  # fmt: skip
    put = client.put("/v1/billing/profile", json=body, headers=auth(key))
    assert put.status_code == 200, put.text
    assert put.json()["vat_number"] == "FR12345678901"
    assert client.get("/v1/billing/profile", headers=auth(key)).json() == put.json()
    bad = client.put("/v1/billing/profile", json={**body, "vat_number": "12"}, headers=auth(key))
    assert bad.status_code == 400
    assert bad.json()["code"] == "billing.profile_invalid"
    assert "vat_number" in bad.json()["message"]
    missing = client.put("/v1/billing/profile", json={"address": "x"}, headers=auth(key))
    assert missing.status_code == 400
    # A manager reads billing (billing.read) but may not change it (billing.write).
    with transaction(sessions) as session:
        user = users.create_user(session, account, name="Manager", now=datetime.now(UTC),
                                 role="manager", extension="201", realm="dialtone")  # fmt: skip
        manager = api_keys.issue(session, account, now=datetime.now(UTC), user_id=user.id).key
    assert client.get("/v1/billing/profile", headers=auth(manager)).status_code == 200
    refused = client.put("/v1/billing/profile", json=body, headers=auth(manager))
    assert refused.status_code == 403
    # The next invoice is made out to the profile.
    now = datetime.now(UTC)
    with transaction(sessions) as session:
        subscriptions.subscribe(session, account, plan_code="essential", currency="EUR",
                                country="FR", now=now)  # fmt: skip
        invoice = invoicing.issue(session, account, now=now)
    html = client.get(f"/v1/invoices/{invoice.id}/html", headers=auth(key)).text
    assert "Acme Industries SARL" in html
    assert "VAT no. FR12345678901" in html
