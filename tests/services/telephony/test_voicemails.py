"""Voicemail: per-account access, heard flag, V9 transcript label, file removal."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.services.telephony import users, voicemails
from dialtone.store.models import Voicemail

from ..conftest import REALM, T0


def _vm(
    session: Session, account: str, path: Path, user_id: str | None = None, minutes: int = 0
) -> Voicemail:
    path.write_bytes(b"RIFF")
    return voicemails.create_voicemail(
        session,
        account_id=account,
        user_id=user_id,
        number="+33123456789",
        from_number="+14155550100",
        duration=Decimal("12.3456"),
        path=str(path),
        now=T0 + timedelta(minutes=minutes),
    )


def test_create_and_list(session: Session, account: str, tmp_path: Path) -> None:
    alice = users.create_user(session, account, name="Alice", now=T0, realm=REALM)
    first = _vm(session, account, tmp_path / "1.wav", alice.id)
    second = _vm(session, account, tmp_path / "2.wav", minutes=1)
    assert first.duration == Decimal("12.346")  # kept to the millisecond
    assert first.transcript is None
    assert first.transcript_label is None
    assert voicemails.list_voicemails(session, account) == [second, first]  # newest first
    assert voicemails.list_voicemails(session, account, user_id=alice.id) == [first]
    voicemails.mark_heard(session, account, first.id, True)
    assert voicemails.list_voicemails(session, account, heard=True) == [first]
    assert voicemails.list_voicemails(session, account, heard=False) == [second]
    voicemails.mark_heard(session, account, first.id, False)
    assert voicemails.list_voicemails(session, account, heard=True) == []


def test_v9_a_transcript_is_always_labelled(session: Session, account: str, tmp_path: Path) -> None:
    vm = _vm(session, account, tmp_path / "1.wav")
    voicemails.set_transcript(session, vm.id, "Call me back.")
    assert (vm.transcript, vm.transcript_label) == ("Call me back.", "machine-generated")
    voicemails.set_transcript(session, vm.id, "")
    assert vm.transcript_label == "machine-generated"
    voicemails.set_transcript(session, vm.id, None)
    assert vm.transcript is None
    assert vm.transcript_label is None


def test_delete_removes_the_file(session: Session, account: str, tmp_path: Path) -> None:
    vm = _vm(session, account, tmp_path / "1.wav")
    voicemails.delete_voicemail(session, account, vm.id)
    assert not (tmp_path / "1.wav").exists()
    assert voicemails.list_voicemails(session, account) == []
    gone = _vm(session, account, tmp_path / "2.wav")
    (tmp_path / "2.wav").unlink()
    voicemails.delete_voicemail(session, account, gone.id)  # a missing file is fine


def test_other_accounts_cannot_reach_a_message(
    session: Session, account: str, other_account: str, tmp_path: Path
) -> None:
    vm = _vm(session, account, tmp_path / "1.wav")
    assert voicemails.list_voicemails(session, other_account) == []
    for call in (
        lambda: voicemails.get_voicemail(session, other_account, vm.id),
        lambda: voicemails.mark_heard(session, other_account, vm.id, True),
        lambda: voicemails.delete_voicemail(session, other_account, vm.id),
    ):
        with pytest.raises(DialtoneError) as info:
            call()
        assert (info.value.code, info.value.status) == ("voicemail.not_found", 404)
    assert (tmp_path / "1.wav").exists()


def test_box_owner_must_be_the_accounts(
    session: Session, account: str, other_account: str, tmp_path: Path
) -> None:
    stranger = users.create_user(session, other_account, name="M", now=T0, realm=REALM)
    with pytest.raises(DialtoneError) as info:
        _vm(session, account, tmp_path / "1.wav", stranger.id)
    assert info.value.code == "voicemail.invalid"


def test_unknown_voicemail_transcript(session: Session) -> None:
    with pytest.raises(DialtoneError) as info:
        voicemails.set_transcript(session, "VM" + "0" * 32, "x")
    assert info.value.code == "voicemail.not_found"
