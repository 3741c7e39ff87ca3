"""An account's export (D6) and its purge after retention (V15)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.services.accounts import account_data, accounts
from dialtone.services.agents import profiles
from dialtone.services.numbering import lifecycle, numbers
from dialtone.services.telephony import trunks, users, voicemails
from dialtone.store.models import Account, AuditEvent, User

from ..conftest import REALM, T0

YEAR = timedelta(days=365)


def test_export_holds_everything_but_secrets(session: Session, account: str) -> None:
    users.create_user(
        session,
        account,
        name="Ann",
        now=T0,
        sip_username="ann",
        sip_password="correct horse",
        realm=REALM,
    )
    numbers.add_number(session, account, "+33123456789", now=T0)
    trunks.create_trunk(
        session,
        account_id=account,
        name="Carrier",
        host="192.0.2.10",
        now=T0,
        username="acme",
        password="trunk-s3cret",
        key=bytes(32),
    )
    profiles.create_profile(
        session,
        account,
        profiles.ProfileChanges(
            name="Robin",
            calendar_url="https://cal.example/robin/",
            calendar_username="robin",
            calendar_password="calendar-s3cret",
        ),
        now=T0,
        key=bytes(32),
    )
    data = account_data.export(session, account, now=T0)
    text = json.dumps(data)  # JSON-ready
    assert [a["name"] for a in data["agents"]] == ["Robin"]
    assert data["agent_knowledge"] == []
    assert data["agent_reports"] == []
    assert "calendar-s3cret" not in text
    assert "calendar_password_sealed" not in text
    assert [t["username"] for t in data["trunks"]] == ["acme"]
    assert "trunk-s3cret" not in text
    assert "password_sealed" not in text  # not even sealed: the key is the platform's
    assert data["account"]["id"] == account
    assert [u["sip_username"] for u in data["users"]] == ["ann"]
    assert [n["number"] for n in data["numbers"]] == ["+33123456789"]
    assert len(data["api_keys"]) == 1
    for secret in ("key_hash", "ha1_md5", "ha1_sha256", "password"):
        assert f'"{secret}"' not in text


def test_purge_is_refused_until_a_year_after_closing(
    session: Session, account: str, other_account: str, tmp_path: Path
) -> None:
    dirs = {"recordings_dir": tmp_path / "rec", "greetings_dir": tmp_path / "greet"}
    with pytest.raises(DialtoneError) as open_refusal:
        account_data.purge(session, account, now=T0, **dirs)
    assert (open_refusal.value.code, open_refusal.value.rule) == ("retention.account_open", "V15")
    ann = users.create_user(session, account, name="Ann", now=T0, realm=REALM)
    ann.voicemail_greeting = "voicemail-ann.wav"
    voicemails.create_voicemail(
        session,
        account_id=account,
        user_id=ann.id,
        number="+33123456789",
        from_number="+33600000000",
        duration=Decimal(2),
        path=str(tmp_path / "vm" / "VM1.wav.sealed"),
        now=T0,
    )
    lifecycle.close_account(session, account, now=T0)
    with pytest.raises(DialtoneError) as hold:
        account_data.purge(session, account, now=T0 + YEAR - timedelta(seconds=1), **dirs)
    assert hold.value.code == "retention.hold"
    assert account_data.purge_due(session, T0 + YEAR - timedelta(seconds=1), **dirs) == []

    [done] = account_data.purge_due(session, T0 + YEAR, **dirs)
    assert done.account_id == account
    assert done.directories == [tmp_path / "rec" / account]
    assert sorted(done.files) == [
        tmp_path / "greet" / "voicemail-ann.wav",
        tmp_path / "vm" / "VM1.wav.sealed",
    ]
    assert session.get(Account, account) is None
    assert session.scalars(select(User).where(User.account_id == account)).all() == []
    assert accounts.get_account(session, other_account).id == other_account  # untouched
    # The audit log outlives the account.
    events = session.scalars(select(AuditEvent).where(AuditEvent.account_id == account)).all()
    assert "retention.purged" in {e.code for e in events}
    assert account_data.purge_due(session, T0 + YEAR * 2, **dirs) == []  # idempotent
