"""Ring groups: the account's groups with their members and strategy; created and
deleted through the services ``/v1/ring-groups`` calls (TERMS D1: no scheduler in a
group; N10: numbers routed to a deleted group go back to the greeting)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from dialtone.api.deps import SessionDep
from dialtone.core.errors import DialtoneError
from dialtone.dashboard.forms import FormDep, text
from dialtone.dashboard.render import back_to, notice, page
from dialtone.dashboard.viewer import Viewer, needs
from dialtone.services.telephony import routing, users

router = APIRouter(prefix="/console", include_in_schema=False)

CREATED = notice("ring_group.created", "The ring group is created.")
DELETED = notice("ring_group.deleted", "The ring group is deleted.")
DEFAULT_MEMBER_SECONDS = 20


@router.get("/ring-groups", response_class=HTMLResponse)
def ring_group_list(
    request: Request,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("ring_groups.read")],
) -> HTMLResponse:
    """The account's ring groups, members in ring order; the form to make one."""
    people = users.list_users(session, viewer.account.id)
    context: dict[str, Any] = {
        "title": viewer.t("Ring groups"),
        "groups": routing.list_ring_groups(session, viewer.account.id),
        "names": {u.id: u.name for u in people},
        # D1: a scheduler takes no calls, so is never offered as a member.
        "members": [u for u in people if u.role != "scheduler"],
        "strategies": routing.STRATEGIES,
        "default_seconds": DEFAULT_MEMBER_SECONDS,
        "min_seconds": routing.MIN_RING_SECONDS,
        "max_seconds": routing.MAX_RING_SECONDS,
    }
    return page(request, viewer, "ring_groups.html", context)


@router.post("/ring-groups")
def create_ring_group(
    session: SessionDep,
    viewer: Annotated[Viewer, needs("ring_groups.write")],
    form: FormDep,
) -> Response:
    """A ring group of the members ticked, in the order listed (as ``POST
    /v1/ring-groups``; 400 ``ring_group.invalid``)."""
    seconds = text(form, "member_seconds") or str(DEFAULT_MEMBER_SECONDS)
    try:
        member_seconds = int(seconds)
    except ValueError:
        raise DialtoneError(
            "ring_group.invalid", "member_seconds: a whole number of seconds."
        ) from None
    routing.create_ring_group(
        session,
        viewer.account.id,
        name=text(form, "name"),
        strategy=text(form, "strategy"),
        member_seconds=member_seconds,
        user_ids=[v for v in form.getlist("user_ids") if isinstance(v, str) and v],
        now=datetime.now(UTC),
    )
    return back_to("/console/ring-groups", CREATED)


@router.post("/ring-groups/{group_id}/delete")
def delete_ring_group(
    group_id: str,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("ring_groups.write")],
    form: FormDep,
) -> Response:
    """Remove a group (as ``DELETE /v1/ring-groups/{id}``)."""
    routing.delete_ring_group(session, viewer.account.id, group_id)
    return back_to("/console/ring-groups", DELETED)
