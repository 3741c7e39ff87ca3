"""The operator's view of every account (issue 18: "the operator has an all-accounts
view"), and opening one to act as its administrator. Customers never reach it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from dialtone.api.deps import SessionDep
from dialtone.dashboard.forms import FormDep
from dialtone.dashboard.render import back_to, notice, page
from dialtone.dashboard.viewer import OperatorDep
from dialtone.services.accounts import console_access
from dialtone.store.models import Account, CallRecord, PhoneNumber, User

router = APIRouter(prefix="/console", include_in_schema=False)

OPENED = notice("account.opened", "You act as this account's administrator.")


@router.get("/accounts", response_class=HTMLResponse)
def all_accounts(request: Request, session: SessionDep, viewer: OperatorDep) -> HTMLResponse:
    """Every account with its users, numbers and calls today."""
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    users = dict(
        session.execute(
            select(User.account_id, func.count(User.id)).group_by(User.account_id)
        ).all()
    )
    numbers = dict(
        session.execute(
            select(PhoneNumber.account_id, func.count(PhoneNumber.number)).group_by(
                PhoneNumber.account_id
            )
        ).all()
    )
    today = dict(
        session.execute(
            select(CallRecord.account_id, func.count(CallRecord.id))
            .where(CallRecord.started_at >= midnight)
            .group_by(CallRecord.account_id)
        ).all()
    )
    accounts = session.scalars(select(Account).order_by(Account.created_at)).all()
    context: dict[str, Any] = {
        "title": viewer.t("All accounts"),
        "accounts": accounts,
        "users": users,
        "numbers": numbers,
        "today": today,
    }
    return page(request, viewer, "accounts.html", context)


@router.post("/accounts/{account_id}/open")
def open_account(
    account_id: str, session: SessionDep, viewer: OperatorDep, form: FormDep
) -> Response:
    """Act as the account's administrator (the audit log names the operator)."""
    console_access.open_account(session, viewer.row, account_id)
    return back_to("/console/", OPENED)


@router.post("/accounts/close")
def close_account(session: SessionDep, viewer: OperatorDep, form: FormDep) -> Response:
    """Back to every account."""
    console_access.open_account(session, viewer.row, None)
    return back_to("/console/accounts")
