"""Calls placed with the unmodified twilio SDK on a running ``dialtone serve`` (issue
16's acceptance): created with a TwiML URL, the callee (alice's baresip) answers and
hears the document, the call is fetched and listed while live, hung up with
``update(status="completed")``; its status callbacks (initiated, ringing, answered,
completed) arrive signed as the SDK's RequestValidator expects; a refusal by the terms
engine (V5: a premium-rate number) is a TwilioRestException with Twilio's code, and the
body names the rule."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException

from tests.interop.baresip import Baresip, require_baresip
from tests.interop.conftest import Platform, poll, registrations, require_sipp, serving
from tests.interop.twiml_app import Params, sdk, twiml_app

pytestmark = pytest.mark.interop

PASSWORD = "s3cret-phone-pass"


def outbound(p: Params) -> str:
    return '<Response><Say>Hello from dialtone.</Say><Pause length="30"/></Response>'


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    require_sipp()
    with serving(
        tmp_path,
        users=(("alice", "201"),),
        password=PASSWORD,
        webhook_allow_private_targets="true",
    ) as running:
        yield running


def test_a_call_created_with_a_twiml_url_is_answered_listed_and_hung_up(
    platform: Platform, tmp_path: Path
) -> None:
    require_baresip()
    client = sdk(platform)
    routes = {"/outbound": outbound, "/status": lambda p: "<Response/>"}
    with twiml_app(platform.extra["auth_token"], routes) as app:
        phone = Baresip(
            tmp_path, "alice", user="alice", password=PASSWORD, registrar_port=platform.sip_port
        )
        try:
            assert poll(lambda: registrations(platform), timeout=20), phone.log()[-3000:]
            call = client.calls.create(
                to="client:201",
                from_=platform.number,
                url=app.url("/outbound"),
                status_callback=app.url("/status"),
                status_callback_event=["initiated", "ringing", "answered", "completed"],
                timeout=20,
            )
            assert call.sid.startswith("CA")
            phone.wait_event("CALL_ESTABLISHED", timeout=30)
            (asked,) = app.wait_for("/outbound")
            assert (asked["CallSid"], asked["Direction"], asked["CallStatus"]) == (
                call.sid,
                "outbound-api",
                "in-progress",
            )
            live = poll(lambda: client.calls(call.sid).fetch().status == "in-progress", 10)
            assert live
            assert call.sid in [c.sid for c in client.calls.list(status="in-progress")]
            client.calls(call.sid).update(status="completed")
            statuses = app.wait_for("/status", count=4)
        finally:
            phone.stop()
        # Sent at once, they may arrive in any order: SequenceNumber orders them.
        statuses.sort(key=lambda s: int(s["SequenceNumber"]))
        assert [int(s["SequenceNumber"]) for s in statuses] == [0, 1, 2, 3]
        assert [s["CallStatus"] for s in statuses] == [
            "initiated",
            "ringing",
            "in-progress",
            "completed",
        ]
        assert int(statuses[-1]["CallDuration"]) >= 0
        assert all(r.signed for r in app.requests), [(r.path, r.signed) for r in app.requests]
    ended = poll(lambda: client.calls(call.sid).fetch(), timeout=10)
    assert ended.status == "completed"
    assert ended.direction == "outbound-api"


def test_a_call_the_terms_refuse_is_a_twilio_error_that_names_the_rule(
    platform: Platform,
) -> None:
    client = sdk(platform)
    with pytest.raises(TwilioRestException) as refused:
        client.calls.create(
            to="+33899123456", from_=platform.number, twiml="<Response><Say>x</Say></Response>"
        )
    assert (refused.value.status, refused.value.code) == (403, 21216)
    raw = httpx.post(
        f"{platform.base_url}/2010-04-01/Accounts/{platform.account_id}/Calls.json",
        auth=(platform.account_id, platform.extra["auth_token"]),
        data={"To": "+33899123456", "From": platform.number, "Twiml": "<Response/>"},
    ).json()
    assert (raw["code"], raw["reason"], raw["rule"]) == (21216, "destination.premium_rate", "V5")
    assert client.calls.list() == []
