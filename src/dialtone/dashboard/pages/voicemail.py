"""Voicemail: the messages of the boxes the viewer may read (a user: their own, TERMS
D1), played in the page, with their transcript labelled machine-generated (V9); marked
heard or deleted through the service ``/v1/voicemails`` uses."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from dialtone.api.audio import wav_response
from dialtone.api.deps import SessionDep
from dialtone.core.errors import NotFound
from dialtone.dashboard.forms import FormDep, flag
from dialtone.dashboard.render import back_to, notice, page
from dialtone.dashboard.viewer import Viewer, needs
from dialtone.services.telephony import voicemails
from dialtone.store.models import Voicemail

router = APIRouter(prefix="/console", include_in_schema=False)

HEARD = notice("voicemail.heard", "The message was marked heard.")
UNHEARD = notice("voicemail.unheard", "The message was marked new.")
DELETED = notice("voicemail.deleted", "The message was deleted.")
SHOWS = ("new", "heard")


def _message(session: SessionDep, viewer: Viewer, vm_id: str, permission: str) -> Voicemail:
    """One of the account's messages (404 ``voicemail.not_found`` for another account's),
    once the viewer may use ``permission`` on its box (D1: a user's own box only)."""
    caller = viewer.check(permission)
    row = voicemails.get_voicemail(session, viewer.account.id, vm_id)
    caller.check(permission, row.user_id or "")
    return row


@router.get("/voicemail", response_class=HTMLResponse)
def voicemail_list(
    request: Request,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("voicemails.read")],
    show: str | None = None,
) -> HTMLResponse:
    """The messages, newest first (``show``: only new or only heard ones)."""
    caller = viewer.check("voicemails.read")
    rows = voicemails.list_voicemails(
        session,
        viewer.account.id,
        heard={"new": False, "heard": True}.get(show or ""),
        user_id=caller.narrow("voicemails.read"),
    )
    context: dict[str, Any] = {
        "title": viewer.t("Voicemail"),
        "rows": rows,
        "show": show if show in SHOWS else "",
        "can_write": viewer.can("voicemails.write"),
    }
    return page(request, viewer, "voicemail.html", context)


@router.get("/voicemail/{vm_id}/audio")
def voicemail_audio(
    vm_id: str,
    request: Request,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("voicemails.read")],
) -> Response:
    """The message's audio, to play in the page (as ``/v1/voicemails/{id}/audio``, inline)."""
    row = _message(session, viewer, vm_id, "voicemails.read")
    if not Path(row.path).is_file():
        raise NotFound("voicemail.audio_not_found", f"Voicemail {vm_id} has no audio file.")
    return wav_response(request, Path(row.path), f"{row.id}.wav", inline=True)


@router.post("/voicemail/{vm_id}/heard")
def mark_heard(
    vm_id: str,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("voicemails.write")],
    form: FormDep,
) -> Response:
    """Mark the message heard (``heard`` checked) or new again."""
    _message(session, viewer, vm_id, "voicemails.write")
    heard = flag(form, "heard")
    voicemails.mark_heard(session, viewer.account.id, vm_id, heard)
    return back_to("/console/voicemail", HEARD if heard else UNHEARD)


@router.post("/voicemail/{vm_id}/delete")
def delete_message(
    vm_id: str,
    session: SessionDep,
    viewer: Annotated[Viewer, needs("voicemails.write")],
    form: FormDep,
) -> Response:
    """Delete the message and its audio."""
    _message(session, viewer, vm_id, "voicemails.write")
    voicemails.delete_voicemail(session, viewer.account.id, vm_id)
    return back_to("/console/voicemail", DELETED)
