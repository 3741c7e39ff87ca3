"""Billing: the subscription and what is left of it (B1, B4), invoices (an HTML view of
the invoice document and its PDF), the draft invoice (B7), payments (B10), credit
purchases and their withdrawal (B13), disputes (B9), notice of termination (B12) and
who invoices are made out to. Every read and write is the service function the matching
``/v1`` route calls, with the same permission (``billing.read`` / ``billing.write``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from dialtone.api.deps import SessionDep, SettingsDep
from dialtone.core.errors import NotFound
from dialtone.dashboard.forms import FormDep, text
from dialtone.dashboard.render import back_to, notice, page
from dialtone.dashboard.viewer import Viewer, needs
from dialtone.services.billing import (
    billing_profiles,
    collections,
    contract_changes,
    invoicing,
    rating,
)
from dialtone.services.billing import invoice_html as html_renderer
from dialtone.services.billing import overview as billing_overview

router = APIRouter(prefix="/console", include_in_schema=False)

HOME = "/console/billing"
WITHDRAWN = notice("billing.withdrawn", "The credit purchase is withdrawn and refunded.")
DISPUTED = notice("billing.disputed", "Your dispute is open; the invoice stays payable meanwhile.")
TERMINATED = notice("billing.terminated", "Your notice is recorded.")
PROFILE_SAVED = notice("billing.profile_saved", "Invoices issued from now on carry these details.")

Read = Annotated[Viewer, needs("billing.read")]
Write = Annotated[Viewer, needs("billing.write")]


@router.get("/billing", response_class=HTMLResponse)
def billing(request: Request, session: SessionDep, viewer: Read) -> HTMLResponse:
    """The account's billing at a glance, with its forms for a role that may write."""
    account_id = viewer.account.id
    now = datetime.now(UTC)
    try:
        summary: billing_overview.Summary | None = billing_overview.summary(
            session, account_id, now=now
        )
    except NotFound:
        # An account dialtone does not bill: nothing but the profile to show.
        summary = None
    invoices = [row for row in invoicing.list_invoices(session, account_id) if row.issued_at]
    context: dict[str, Any] = {
        "title": viewer.t("Billing"),
        "summary": summary,
        "invoices": invoices[::-1],
        "payments": collections.list_payments(session, account_id),
        "purchases": contract_changes.list_purchases(session, account_id)[::-1],
        "disputes": contract_changes.list_disputes(session, account_id)[::-1],
        "profile": billing_profiles.get_profile(session, account_id),
        "numbers": {row.id: row.number or row.id for row in invoices},
        "may_write": viewer.can("billing.write"),
    }
    return page(request, viewer, "billing.html", context)


@router.get("/billing/invoices/draft", response_class=HTMLResponse)
def draft_invoice(
    request: Request, session: SessionDep, settings: SettingsDep, viewer: Read
) -> HTMLResponse:
    """The next invoice as it stands (``GET /v1/invoices/draft``), as the same document
    as an issued one, marked draft: usage is rated first, so a call that just ended is
    on it (B7: usage in arrears)."""
    account_id = viewer.account.id
    rating.rate_account(session, account_id, now=datetime.now(UTC))
    row = invoicing.as_row(invoicing.draft(session, account_id))
    document = html_renderer.render(invoicing.document(session, row, settings.invoice_issuer))
    context: dict[str, Any] = {
        "title": viewer.t("Draft invoice"),
        "invoice": row,
        "document": document,
        "disputes": [],
        "may_write": False,
    }
    return page(request, viewer, "billing_invoice.html", context)


@router.get("/billing/invoices/{invoice_id}.pdf")
def invoice_pdf(
    invoice_id: str, session: SessionDep, settings: SettingsDep, viewer: Read
) -> Response:
    """The invoice as a PDF document, to download (``GET /v1/invoices/{id}/pdf``)."""
    # fpdf takes half a second to import: only a PDF pays for it.
    from dialtone.services.billing import invoice_pdf as pdf_renderer  # noqa: PLC0415

    row = invoicing.get_invoice(session, viewer.account.id, invoice_id)
    body = pdf_renderer.render(invoicing.document(session, row, settings.invoice_issuer))
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{row.number or row.id}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/billing/invoices/{invoice_id}", response_class=HTMLResponse)
def invoice_view(
    invoice_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: Read,
) -> HTMLResponse:
    """One invoice: the same document as its PDF and ``GET /v1/invoices/{id}/html``,
    with its disputes and, for a role that may, the form to dispute it (B9)."""
    row = invoicing.get_invoice(session, viewer.account.id, invoice_id)
    document = html_renderer.render(invoicing.document(session, row, settings.invoice_issuer))
    disputes = [
        d
        for d in contract_changes.list_disputes(session, viewer.account.id)
        if d.invoice_id == row.id
    ]
    context: dict[str, Any] = {
        "title": viewer.t("Invoice {number}", number=row.number or row.id),
        "invoice": row,
        "document": document,
        "disputes": disputes,
        "may_write": viewer.can("billing.write"),
    }
    return page(request, viewer, "billing_invoice.html", context)


@router.post("/billing/credits/{purchase_id}/withdraw")
def withdraw(purchase_id: str, session: SessionDep, viewer: Write, form: FormDep) -> Response:
    """B13: withdraw a credit purchase (``POST /v1/billing/credits/{id}/withdraw``)."""
    contract_changes.withdraw_credits(
        session, viewer.account.id, purchase_id, now=datetime.now(UTC), reason=text(form, "reason")
    )
    return back_to(HOME, WITHDRAWN)


@router.post("/billing/disputes")
def dispute(session: SessionDep, viewer: Write, form: FormDep) -> Response:
    """B9: dispute the form's invoice (``POST /v1/invoices/{id}/disputes``)."""
    contract_changes.open_dispute(
        session,
        viewer.account.id,
        text(form, "invoice_id"),
        reason=text(form, "reason"),
        now=datetime.now(UTC),
    )
    return back_to(HOME, DISPUTED)


@router.post("/billing/termination")
def terminate(session: SessionDep, viewer: Write, form: FormDep) -> Response:
    """B12: give notice (``POST /v1/billing/termination``)."""
    contract_changes.request_termination(session, viewer.account.id, now=datetime.now(UTC))
    return back_to(HOME, TERMINATED)


@router.post("/billing/profile")
def profile(session: SessionDep, viewer: Write, form: FormDep) -> Response:
    """Who invoices are made out to (``PUT /v1/billing/profile``)."""
    billing_profiles.set_profile(
        session,
        viewer.account.id,
        legal_name=text(form, "legal_name"),
        address=text(form, "address"),
        vat_number=text(form, "vat_number"),
        now=datetime.now(UTC),
    )
    return back_to(HOME, PROFILE_SAVED)
