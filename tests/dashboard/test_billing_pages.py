"""The billing pages: invoices (HTML view and PDF), the draft, credits withdrawn (B13),
disputes (B9), notice (B12) and the billing profile, over the API's services and
permissions; refused without CSRF; one account never sees another's."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.services.billing import contract_changes, invoicing, subscriptions, tariffs
from dialtone.store.db import transaction
from tests.dashboard.conftest import form_token, new_account, new_person, sign_in

DECK = "prefix,destination,rate_per_minute\n33,France,0.03\n"


@dataclass(frozen=True)
class Billed:
    """A subscribed account with one issued invoice, its API key and administrator."""

    account_id: str
    api_key: str
    invoice_id: str
    number: str
    email: str


def _billed(sessions: sessionmaker[Session], name: str, email: str) -> Billed:
    account_id, key = new_account(sessions, name)
    now = datetime.now(UTC)
    with transaction(sessions) as session:
        tariffs.import_csv(
            session, "calls", "EUR", DECK, effective_from=now - timedelta(days=400), now=now
        )
        subscriptions.subscribe(
            session, account_id, plan_code="essential", currency="EUR", country="FR", now=now,
            started_at=now - timedelta(days=1),
        )  # fmt: skip
        invoice = invoicing.issue(session, account_id, now=now)
        invoice_id, number = invoice.id, invoice.number or ""
    new_person(sessions, account_id, "administrator", email)
    return Billed(account_id, key, invoice_id, number, email)


@pytest.fixture
def acme(sessions: sessionmaker[Session]) -> Billed:
    return _billed(sessions, "Acme", "ada@acme.test")


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _buy(sessions: sessionmaker[Session], account_id: str, amount: str = "10.00") -> str:
    with transaction(sessions) as session:
        bought = contract_changes.buy_credits(
            session, account_id, Decimal(amount), now=datetime.now(UTC)
        )
        return bought.id


def test_the_administrator_sees_the_plan_invoices_and_forms(
    client: TestClient, acme: Billed
) -> None:
    sign_in(client, acme.email)
    page = client.get("/console/billing")
    assert page.status_code == 200, page.text
    assert 'id="invoices"' in page.text
    assert f'href="/console/billing/invoices/{acme.invoice_id}"' in page.text
    assert f'href="/console/billing/invoices/{acme.invoice_id}.pdf"' in page.text
    assert acme.number in page.text
    assert "€22.80" in page.text  # 19.00 + VAT 20 %
    assert "essential" in page.text
    assert 'id="credit-balance"' in page.text
    assert 'action="/console/billing/termination"' in page.text
    assert 'action="/console/billing/profile"' in page.text
    assert 'action="/console/billing/disputes"' in page.text


def test_the_invoice_pdf_downloads_and_pdftotext_reads_its_total(
    client: TestClient, acme: Billed, tmp_path: Path
) -> None:
    sign_in(client, acme.email)
    pdf = client.get(f"/console/billing/invoices/{acme.invoice_id}.pdf")
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == f'attachment; filename="{acme.number}.pdf"'
    assert pdf.content.startswith(b"%PDF")
    # The same document as the API's.
    assert (
        pdf.content[:8]
        == client.get(f"/v1/invoices/{acme.invoice_id}/pdf", headers=_auth(acme.api_key)).content[
            :8
        ]
    )
    if shutil.which("pdftotext") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pdftotext (poppler-utils) must be installed on CI")
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "invoice.pdf"
    path.write_bytes(pdf.content)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert acme.number in text
    assert "22.80" in text


def test_the_invoice_view_is_the_invoice_document(client: TestClient, acme: Billed) -> None:
    sign_in(client, acme.email)
    view = client.get(f"/console/billing/invoices/{acme.invoice_id}")
    assert view.status_code == 200, view.text
    api = client.get(f"/v1/invoices/{acme.invoice_id}/html", headers=_auth(acme.api_key)).text
    # The API's document sits whole in a sandboxed frame, escaped in its srcdoc attribute.
    frame = re.search(r'<iframe [^>]*sandbox srcdoc="([^"]*)"', view.text)
    assert frame
    assert html.unescape(frame.group(1)) == api
    assert "22.80" in api
    assert f'href="/console/billing/invoices/{acme.invoice_id}.pdf"' in view.text


def test_the_draft_invoice_is_shown_as_a_draft(client: TestClient, acme: Billed) -> None:
    sign_in(client, acme.email)
    draft = client.get("/console/billing/invoices/draft")
    assert draft.status_code == 200, draft.text
    assert "DRAFT" in draft.text.upper()
    assert 'id="dispute-form"' not in draft.text


@pytest.mark.parametrize("role", ["guest", "user", "scheduler"])
def test_roles_without_billing_read_are_refused(
    client: TestClient, sessions: sessionmaker[Session], acme: Billed, role: str
) -> None:
    new_person(sessions, acme.account_id, role, f"{role}@acme.test")
    sign_in(client, f"{role}@acme.test")
    for path in (
        "/console/billing",
        f"/console/billing/invoices/{acme.invoice_id}",
        f"/console/billing/invoices/{acme.invoice_id}.pdf",
        "/console/billing/invoices/draft",
    ):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "permission.denied" in answer.text
        assert "D1" in answer.text
    assert 'href="/console/billing"' not in client.get("/console/calls").text


def test_a_manager_reads_but_may_not_write(
    client: TestClient, sessions: sessionmaker[Session], acme: Billed
) -> None:
    purchase = _buy(sessions, acme.account_id)
    new_person(sessions, acme.account_id, "manager", "max@acme.test")
    sign_in(client, "max@acme.test")
    page = client.get("/console/billing")
    assert page.status_code == 200
    assert "/withdraw" not in page.text
    assert 'action="/console/billing/termination"' not in page.text
    token = form_token(page.text)
    answer = client.post(
        f"/console/billing/credits/{purchase}/withdraw", data={"csrf": token, "reason": "x"}
    )
    assert answer.status_code == 403
    assert "permission.denied" in answer.text


def test_a_credit_purchase_is_withdrawn_from_the_page(
    client: TestClient, sessions: sessionmaker[Session], acme: Billed
) -> None:
    purchase = _buy(sessions, acme.account_id)
    sign_in(client, acme.email)
    page = client.get("/console/billing")
    assert f'action="/console/billing/credits/{purchase}/withdraw"' in page.text
    answer = client.post(
        f"/console/billing/credits/{purchase}/withdraw",
        data={"csrf": form_token(page.text), "reason": "bought by mistake"},
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/console/billing?done=billing.withdrawn"
    credits = client.get("/v1/billing/credits", headers=_auth(acme.api_key)).json()
    [row] = credits["purchases"]
    assert row["id"] == purchase
    assert row["withdrawn_at"] is not None
    assert Decimal(credits["balance"]) == 0
    after = client.get(answer.headers["location"])
    assert "The credit purchase is withdrawn and refunded." in after.text
    assert f"/credits/{purchase}/withdraw" not in after.text


def test_a_withdrawal_needs_a_reason(
    client: TestClient, sessions: sessionmaker[Session], acme: Billed
) -> None:
    purchase = _buy(sessions, acme.account_id)
    sign_in(client, acme.email)
    token = form_token(client.get("/console/billing").text)
    answer = client.post(
        f"/console/billing/credits/{purchase}/withdraw", data={"csrf": token, "reason": " "}
    )
    assert answer.status_code == 400
    assert "billing.withdrawal_reason" in answer.text
    credits = client.get("/v1/billing/credits", headers=_auth(acme.api_key)).json()
    assert credits["purchases"][0]["withdrawn_at"] is None


def test_an_invoice_is_disputed_from_the_page(client: TestClient, acme: Billed) -> None:
    sign_in(client, acme.email)
    token = form_token(client.get(f"/console/billing/invoices/{acme.invoice_id}").text)
    answer = client.post(
        "/console/billing/disputes",
        data={"csrf": token, "invoice_id": acme.invoice_id, "reason": "two lines for one call"},
    )
    assert answer.status_code == 303, answer.text
    [dispute] = client.get("/v1/billing/disputes", headers=_auth(acme.api_key)).json()
    assert dispute["invoice_id"] == acme.invoice_id
    assert dispute["reason"] == "two lines for one call"
    assert dispute["status"] == "open"
    page = client.get("/console/billing").text
    assert "two lines for one call" in page


def test_notice_is_given_after_a_confirmation(
    client: TestClient, sessions: sessionmaker[Session], acme: Billed
) -> None:
    sign_in(client, acme.email)
    page = client.get("/console/billing").text
    form = re.search(r'<form [^>]*id="termination-form"[^>]*>', page)
    assert form
    assert "data-confirm=" in form.group(0)
    answer = client.post("/console/billing/termination", data={"csrf": form_token(page)})
    assert answer.status_code == 303, answer.text
    with transaction(sessions) as session:
        sub = subscriptions.get_subscription(session, acme.account_id)
        assert sub.termination_requested_at is not None
        ends = sub.ends_at
    assert ends is not None
    after = client.get("/console/billing").text
    assert 'id="termination-form"' not in after
    assert 'id="termination-state"' in after


def test_the_billing_profile_is_edited(client: TestClient, acme: Billed) -> None:
    sign_in(client, acme.email)
    token = form_token(client.get("/console/billing").text)
    answer = client.post(
        "/console/billing/profile",
        data={
            "csrf": token,
            "legal_name": "Acme SAS",
            "address": "1 rue de la Paix\n75002 Paris",
            "vat_number": "FR40123456824",
        },
    )
    assert answer.status_code == 303, answer.text
    profile = client.get("/v1/billing/profile", headers=_auth(acme.api_key)).json()
    assert profile == {
        "legal_name": "Acme SAS",
        "address": "1 rue de la Paix\n75002 Paris",
        "vat_number": "FR40123456824",
    }
    assert 'value="Acme SAS"' in client.get("/console/billing").text


def test_every_form_is_refused_without_its_csrf_token(
    client: TestClient, sessions: sessionmaker[Session], acme: Billed
) -> None:
    purchase = _buy(sessions, acme.account_id)
    sign_in(client, acme.email)
    posts = {
        f"/console/billing/credits/{purchase}/withdraw": {"reason": "x"},
        "/console/billing/disputes": {"invoice_id": acme.invoice_id, "reason": "x"},
        "/console/billing/termination": {},
        "/console/billing/profile": {"legal_name": "Evil Corp"},
    }
    for path, data in posts.items():
        for token in (None, "wrong"):
            sent = dict(data) if token is None else {**data, "csrf": token}
            answer = client.post(path, data=sent)
            assert answer.status_code == 403, path
            assert "console.csrf_failed" in answer.text
    key = _auth(acme.api_key)
    assert (
        client.get("/v1/billing/credits", headers=key).json()["purchases"][0]["withdrawn_at"]
        is None
    )
    assert client.get("/v1/billing/disputes", headers=key).json() == []
    assert client.get("/v1/billing/profile", headers=key).json()["legal_name"] is None
    with transaction(sessions) as session:
        assert subscriptions.get_subscription(session, acme.account_id).ends_at is None


def test_another_account_never_sees_or_touches_the_first_accounts_billing(
    client: TestClient, sessions: sessionmaker[Session], acme: Billed
) -> None:
    purchase = _buy(sessions, acme.account_id)
    other = _billed(sessions, "Globex", "gil@globex.test")
    sign_in(client, other.email)
    page = client.get("/console/billing")
    assert page.status_code == 200
    assert acme.invoice_id not in page.text
    assert purchase not in page.text
    assert other.invoice_id in page.text
    for path in (
        f"/console/billing/invoices/{acme.invoice_id}",
        f"/console/billing/invoices/{acme.invoice_id}.pdf",
    ):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert "invoice.not_found" in answer.text
    token = form_token(page.text)
    disputed = client.post(
        "/console/billing/disputes",
        data={"csrf": token, "invoice_id": acme.invoice_id, "reason": "not mine"},
    )
    assert disputed.status_code == 404
    withdrawn = client.post(
        f"/console/billing/credits/{purchase}/withdraw", data={"csrf": token, "reason": "x"}
    )
    assert withdrawn.status_code == 404
    key = _auth(acme.api_key)
    assert client.get("/v1/billing/disputes", headers=key).json() == []
    assert (
        client.get("/v1/billing/credits", headers=key).json()["purchases"][0]["withdrawn_at"]
        is None
    )


def test_an_account_without_a_subscription_sees_a_page_saying_so(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    account_id, _ = new_account(sessions, "Unbilled")
    new_person(sessions, account_id, "administrator", "una@unbilled.test")
    sign_in(client, "una@unbilled.test")
    page = client.get("/console/billing")
    assert page.status_code == 200, page.text
    assert "This account has no subscription billed by dialtone." in page.text
    assert 'id="termination-form"' not in page.text


def test_the_pages_speak_french(client: TestClient, acme: Billed) -> None:
    sign_in(client, acme.email)
    client.cookies.set("dt_lang", "fr")
    page = client.get("/console/billing").text
    assert "Factures" in page
    assert "22,80\u00a0€" in page
    assert "Profil de facturation" in page
    sla_page = client.get("/console/sla").text
    assert "Demandes d'avoir" in sla_page or "Demandes d&#39;avoir" in sla_page
