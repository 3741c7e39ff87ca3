"""N4 port-ins and N5 port-outs around the pure state machine, on a real database."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.services.accounts import audit
from dialtone.services.numbering import lifecycle, numbers, porting
from dialtone.store import sealed

from ..conftest import T0  # a Monday, 09:00 UTC

KEY = bytes(range(32))
PARIS = ZoneInfo("Europe/Paris")


def _documented(session: Session, account: str, tmp_path: Path) -> str:
    port = porting.create(session, account, ["+33 1 23 45 67 00", "+33123456701"], now=T0)
    for kind in ("mandate", "carrier_bill", "identity"):
        porting.add_document(
            session, account, port.id, kind, b"%PDF-1.7 " + kind.encode(),
            documents_dir=tmp_path, key=KEY,
        )  # fmt: skip
    return port.id


def test_a_port_in_from_draft_to_completion(session: Session, account: str, tmp_path: Path) -> None:
    port = porting.create(session, account, ["+33123456700"], now=T0)
    with pytest.raises(DialtoneError) as incomplete:
        porting.submit(session, account, port.id, now=T0)
    assert (incomplete.value.code, incomplete.value.rule) == ("port_in.incomplete", "N4")
    port_id = _documented(session, account, tmp_path)
    stored = tmp_path / account / port_id / "identity.sealed"
    assert sealed.read(stored, KEY) == b"%PDF-1.7 identity"
    assert b"identity" not in stored.read_bytes()  # never plain on disk
    porting.submit(session, account, port_id, now=T0)
    friday_morning = datetime(2026, 11, 6, 9, 0, tzinfo=PARIS)
    saturday = friday_morning + timedelta(days=1)
    with pytest.raises(DialtoneError) as outside:
        porting.schedule(session, account, port_id, saturday, now=T0.astimezone(PARIS))
    assert outside.value.code == "port_in.outside_window"
    fee = porting.schedule(
        session, account, port_id, saturday, now=T0.astimezone(PARIS), accept_fee=True
    )
    assert fee.out_of_window_fee
    done = porting.complete(session, port_id, now=saturday)
    assert (done.state, done.previous_line_ended) == ("completed", True)
    held = {n.number: n.kind for n in numbers.list_numbers(session, account)}
    assert held == {"+33123456700": "ported", "+33123456701": "ported"}
    with pytest.raises(DialtoneError):
        porting.cancel(session, account, port_id, now=saturday)  # completed: too late


def test_numbers_on_the_platform_cannot_be_ported_in(session: Session, account: str) -> None:
    numbers.add_number(session, account, "+33123456789", now=T0)
    with pytest.raises(DialtoneError) as held:
        porting.create(session, account, ["+33123456789"], now=T0)
    assert (held.value.code, held.value.rule) == ("number.held", "N2")


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ((30, "ported", True), None),  # at the notice
        ((29, "ported", True), "port_out.notice_too_short"),  # just under
        ((31, "random", True), None),  # a platform number: allowed by default (N2 setting)
        ((31, "ported", False), "port_out.address_unproven"),
    ],
)
def test_port_out_decisions_and_their_effect(
    session: Session, account: str, case: tuple[int, str, bool], code: str | None
) -> None:
    days_before_end, kind, proven = case
    numbers.add_number(session, account, "+33123456789", now=T0, kind=kind)
    end = date(2026, 12, 31)
    decision = porting.port_out(
        session,
        "+33123456789",
        requested_on=end - timedelta(days=days_before_end),
        period_end=end,
        address_proven=proven,
        now=T0,
    )
    assert decision.code == code
    still_held = numbers.find_holder(session, "+33123456789") is not None
    assert still_held is (code is not None)  # allowed: the line ends here
    events, _ = audit.list_events(session, account)
    assert events[0].code == (code or "port_out.completed")


def test_no_port_out_after_termination(session: Session, account: str) -> None:
    numbers.add_number(session, account, "+33123456789", now=T0, kind="ported")
    lifecycle.close_account(session, account, now=T0)
    decision = porting.port_out(
        session,
        "+33123456789",
        requested_on=date(2026, 11, 3),
        period_end=date(2026, 12, 31),
        address_proven=True,
        now=T0 + timedelta(days=1),
    )
    assert (decision.code, decision.rule) == ("port_out.after_termination", "N5")
