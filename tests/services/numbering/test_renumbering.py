"""TERMS N14: a number the platform changes works on until the notice ends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.services.accounts import audit
from dialtone.services.numbering import numbers, renumbering
from dialtone.services.telephony import routing, users

from ..conftest import REALM, T0

NOTICE = timedelta(days=30)


def test_the_new_number_takes_the_route_now_and_the_old_one_goes_after_the_notice(
    session: Session, account: str
) -> None:
    ann = users.create_user(session, account, name="Ann", now=T0, realm=REALM)
    numbers.add_number(session, account, "+33123456789", now=T0, kind="custom")
    routing.set_route(session, account, "+33123456789", kind="user", target=ann.id)
    row = renumbering.schedule(session, "+33123456789", "+33123456790", now=T0, reason="plan")
    assert row.effective_at == T0 + NOTICE
    new = numbers.find_holder(session, "+33123456790")
    assert new is not None
    assert (new.route_kind, new.route_target, new.kind) == ("user", ann.id, "custom")

    assert renumbering.run(session, T0 + NOTICE - timedelta(seconds=1)) == []  # just under
    assert numbers.find_holder(session, "+33123456789") is not None
    assert renumbering.run(session, T0 + NOTICE * 3) == ["+33123456789"]  # after downtime
    assert renumbering.run(session, T0 + NOTICE * 4) == []  # idempotent
    assert numbers.find_holder(session, "+33123456789") is None
    with pytest.raises(DialtoneError) as quarantined:  # N7: nobody gets it for six months
        numbers.add_number(session, account, "+33123456789", now=T0 + NOTICE * 2)
    assert quarantined.value.code == "number.quarantined"
    events, _ = audit.list_events(session, account)
    assert [e.code for e in events] == ["renumbering.done", "renumbering.notice"]
    assert row.done_at == T0 + NOTICE  # dated when it was due


def test_renumbering_refusals(session: Session, account: str) -> None:
    with pytest.raises(DialtoneError):
        renumbering.schedule(session, "+33123456789", "+33123456790", now=T0, reason="x")
    numbers.add_number(session, account, "+33123456789", now=T0)
    renumbering.schedule(session, "+33123456789", "+33123456790", now=T0, reason="x")
    with pytest.raises(DialtoneError):  # already being renumbered
        renumbering.schedule(session, "+33123456789", "+33123456791", now=T0, reason="x")
    with pytest.raises(DialtoneError):
        renumbering.schedule(
            session, "+33123456790", "+33123456792", now=T0, reason="x", notice_days=0
        )
