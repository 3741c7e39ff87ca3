"""What a device dials, over real SIP (issue 13, TERMS V5, V6): premium-rate numbers padded
or cut short never reach a carrier trunk, national digits are read by the account's
dialling plan and reach the carrier as E.164, and the real call and the dry run
(``POST /v1/policy/check``) decide the same on the same table of numbers."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialtone.policy.codes import REGISTRY
from dialtone.policy.destinations import read_dialled
from dialtone.sip.errors import SipParseError
from dialtone.sip.message import Request, make_response, parse_message
from tests.policy.test_checklist import DIALLED

from . import sippgen
from .conftest import (
    Platform,
    add_trunk,
    cli,
    require_sipp,
    serving,
)
from .test_call_engine import PASSWORD, Sipp, calls, route, run, wait_for

pytestmark = pytest.mark.interop


@pytest.fixture
def outbound(tmp_path: Path) -> Iterator[Platform]:
    """A platform with an account (France, the operator's default), its number and user
    alice (201); look-ups are not cached, so a change of country applies to the next call."""
    require_sipp()
    with serving(
        tmp_path,
        users=(("alice", "201"),),
        password=PASSWORD,
        lookup_cache_seconds="0",
        digest_algorithms="MD5",
    ) as running:
        yield running


class BusyCarrier:
    """A carrier trunk on a loopback UDP socket: keeps the Request-URI user of every
    INVITE it gets and answers it 486 Busy Here, so a call that reaches it ends at once."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.invited: dict[str, str] = {}  # Call-ID -> user (retransmissions count once)
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                data, peer = self.sock.recvfrom(65535)
            except OSError:
                return  # closed
            with contextlib.suppress(SipParseError):
                message = parse_message(data)
                if isinstance(message, Request) and message.method == "INVITE":
                    user = str(getattr(message.uri, "user", ""))
                    with self._lock:
                        self.invited.setdefault(message.call_id, user)
                    busy = make_response(message, 486, to_tag="busycarrier")
                    self.sock.sendto(busy.encode(), peer)

    def received(self) -> list[str]:
        with self._lock:
            return list(self.invited.values())

    def close(self) -> None:
        self.sock.close()


def test_a_padded_premium_number_is_refused_and_a_national_number_reaches_the_carrier(
    outbound: Platform, tmp_path: Path
) -> None:
    # A carrier trunk (sipp) that would carry anything: only the terms stop the call.
    carrier = Sipp(
        outbound, tmp_path, "carrier", sippgen.phone(expect_caller=r"\+33123456789"), server=True
    )
    add_trunk(outbound, carrier.port, 10, "carrier-a")
    run(
        outbound,
        tmp_path,
        "padded",
        sippgen.call(
            "+338991234567",
            from_user="alice",
            auth=True,
            expect=403,
            expect_header=("Reason", "destination.premium_rate"),
        ),
        user="alice",
    )
    # France's national format: the carrier is sent the E.164 number, not "+0612…".
    run(
        outbound,
        tmp_path,
        "national",
        sippgen.call("0612345678", from_user="alice", auth=True),
        user="alice",
    )
    carrier.wait(outbound)  # one call, the national one (-m 1): the padded one never came
    received = (tmp_path / "carrier.msg.log").read_text(errors="replace")
    invites = [line for line in received.splitlines() if line.startswith("INVITE ")]
    assert len(invites) == 1, invites
    assert invites[0].startswith("INVITE sip:+33612345678@"), invites
    assert "8991234567" not in received
    [call] = wait_for(lambda: calls(outbound))
    assert (call["direction"], call["to"]) == ("outbound", "+33612345678")


def test_real_calls_and_the_dry_run_agree_on_the_table_of_numbers(
    outbound: Platform, tmp_path: Path
) -> None:
    carrier = BusyCarrier()
    try:
        add_trunk(outbound, carrier.port, 10, "carrier-a")
        country = "FR"
        for index, (dialed, wanted_country, code) in enumerate(DIALLED):
            if wanted_country != country:
                cli(
                    outbound.env,
                    "accounts",
                    "set",
                    outbound.account_id,
                    "--country",
                    wanted_country,
                )
                country = wanted_country
            with outbound.http() as http:
                dry = http.post(
                    "/v1/policy/check",
                    json={"action": "call", "to": dialed, "user_id": outbound.extra["alice"]},
                ).json()
            assert dry["code"] == code, (dialed, country, dry)
            before = carrier.received()
            # Refused: the code's SIP status with the code in Reason. Allowed: the carrier's
            # 486 comes back, once the carrier was sent the number as the plan reads it.
            status = 486 if code is None else REGISTRY[code].sip_status
            assert status is not None
            run(
                outbound,
                tmp_path,
                f"dial-{index}",
                sippgen.call(
                    dialed.replace(" ", ""),
                    from_user="alice",
                    auth=True,
                    expect=status,
                    expect_header=None if code is None else ("Reason", code),
                ),
                user="alice",
            )
            if code is None:
                # The carrier answered before the caller heard its 486.
                wanted = read_dialled(dialed, country)
                assert carrier.received()[len(before) :] == [wanted], (dialed, country)
            else:
                assert carrier.received() == before, (dialed, country)
    finally:
        carrier.close()


def test_a_call_to_an_unregistered_user_is_not_taken_for_busy(
    outbound: Platform, tmp_path: Path
) -> None:
    # Issue 13, item 10: alice has no registered device and no call: voicemail takes
    # the call as unavailable (480), not as busy under V2 (486).
    route(outbound, outbound.number, kind="user", target=outbound.extra["alice"])
    run(outbound, tmp_path, "caller", sippgen.call("33123456789", bye_after_ms=500))
    [call] = wait_for(lambda: calls(outbound))
    assert call["to"] == outbound.number
    assert "call to alice: no registered device -> voicemail" in outbound.log()
    assert "busy (V2)" not in outbound.log()
