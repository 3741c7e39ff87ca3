"""SMS end to end through ``dialtone serve`` between two programs we did not write: a
customer's smpplib client binds to dialtone's SMPP server and submits; dialtone sends
through its carrier (the Net::SMPP simulator); the carrier's receipt comes back to the
customer's bind as a deliver_sm receipt; a reply from the phone reaches the customer's
bind too, and STOP from the phone makes the customer's next submit_sm refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dialtone.services.messaging import logins
from dialtone.store.db import transaction
from tests.peers.esme import Esme
from tests.peers.smsc import Smsc, require_smsc

from .conftest import Platform, poll, provision, start_platform, stop_platform
from .test_sms_carriers import RECIPIENT, _database, accepted, add_carrier, opt_in, text_of

pytestmark = pytest.mark.interop


@pytest.fixture
def smsc(tmp_path: Path) -> Iterator[Smsc]:
    require_smsc()
    with Smsc(tmp_path / "smsc", dlr_delay=0.1).start() as running:
        yield running


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    require_smsc()
    running = start_platform(tmp_path)
    try:
        provision(running)
        opt_in(running)
        yield running
    finally:
        code = stop_platform(running)
        assert code == 0, f"dialtone serve did not stop cleanly ({code}):\n{running.log()}"


def _login(platform: Platform) -> tuple[str, str]:
    with transaction(_database(platform)) as session:
        row, password = logins.create_login(
            session, platform.account_id, "acme", now=datetime.now(UTC)
        )
        return row.system_id, password


def test_a_customers_smpp_message_reaches_the_carrier_and_its_receipt_comes_back(
    platform: Platform, smsc: Smsc
) -> None:
    add_carrier(platform, smsc, "sim")
    smsc.wait_bound(1)
    system_id, password = _login(platform)
    with Esme(int(platform.env["DIALTONE_SMPP_PORT"]), system_id, password).bind("trx") as esme:
        [answer] = esme.answers(
            esme.submit(platform.number.lstrip("+"), RECIPIENT.lstrip("+"), "Hello from our CRM")
        )
        assert answer.status == 0
        assert answer.message_id.startswith("SM")
        # The carrier got it, from the customer's number.
        assert poll(lambda: len(accepted(smsc)) == 1, 15)
        [entry] = accepted(smsc)
        assert (text_of(entry), entry["source"], entry["dest"]) == (
            "Hello from our CRM",
            platform.number.lstrip("+"),
            RECIPIENT.lstrip("+"),
        )
        # The carrier's receipt became the customer's receipt, under dialtone's id.
        [receipt] = esme.wait_delivered(1, receipts=True, timeout=20)
        assert receipt.receipted_message_id == answer.message_id
        assert "stat:DELIVRD" in receipt.text
        assert receipt.message_state == 2  # DELIVERED
        # The phone answers: the customer's bind gets the message.
        smsc.send_mo(RECIPIENT.lstrip("+"), platform.number.lstrip("+"), "See you at 8")
        [reply] = esme.wait_delivered(1, receipts=False, timeout=20)
        assert (reply.text, reply.source) == ("See you at 8", RECIPIENT.lstrip("+"))
        # STOP from the phone: the next submit_sm is refused, nothing reaches the carrier.
        smsc.send_mo(RECIPIENT.lstrip("+"), platform.number.lstrip("+"), "STOP")
        # The confirmation goes out (in French for a French number: UCS-2, two parts).
        assert poll(lambda: len(accepted(smsc)) == 3, 20)
        confirmation = "".join(text_of(e) for e in accepted(smsc)[1:])
        assert "désabonné" in confirmation
        [refused] = esme.answers(
            esme.submit(platform.number.lstrip("+"), RECIPIENT.lstrip("+"), "Promo")
        )
        assert refused.status != 0
        assert len(accepted(smsc)) == 3
    with platform.http() as http:
        rows = http.get("/v1/messages", params={"direction": "outbound"}).json()["messages"]
        audit = http.get("/v1/audit", params={"code": "sms.opted_out"}).json()["events"]
    origins = sorted(r["origin"] for r in rows)
    assert origins == ["keyword", "smpp"]
    assert [r["status"] for r in rows if r["origin"] == "smpp"] == ["delivered"]
    assert audit
