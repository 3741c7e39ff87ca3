"""TwiML requests against a real HTTP server on loopback whose handler validates each
request's signature with the Twilio SDK: answers handed back, failures with Twilio's
codes, the fallback told ErrorCode and ErrorUrl, redirects as Twilio follows them, the
size limit, the timeout and the SSRF guard."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from dialtone.runtime.twiml_fetch import Fetched, TwimlFetcher
from dialtone.services.accounts.webhook_targets import TargetPolicy
from dialtone.settings import WebhooksSection

from .twilio_sink import Answer, TwilioSink, twilio_sink

TOKEN = "0123456789abcdef0123456789abcdef"
ACCOUNT = "AC" + "1" * 32
LOOPBACK = TargetPolicy(allow_private=True)
PARAMS = [
    ("CallSid", "CA" + "2" * 32),
    ("AccountSid", ACCOUNT),
    ("From", "+15551230000"),
    ("To", "+15559870000"),
    ("CallStatus", "ringing"),
    ("Direction", "inbound"),
    ("SpeechResult", "oui, s'il vous plaît"),
]
TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response><Say>Hi</Say></Response>'


@pytest.fixture
def sink() -> Iterator[TwilioSink]:
    with twilio_sink(TOKEN) as server:
        yield server


def _fetch(
    url: str,
    method: str = "POST",
    *,
    policy: TargetPolicy = LOOPBACK,
    token: str | None = TOKEN,
    max_bytes: int = 64 * 1024,
    **options: Any,
) -> Fetched:
    async def run() -> Fetched:
        async def token_of(account: str) -> str | None:
            assert account == ACCOUNT
            return token

        fetcher = TwimlFetcher(token_of, policy, timeout=5.0, max_bytes=max_bytes)
        try:
            return await fetcher.fetch(ACCOUNT, url, method, PARAMS, **options)
        finally:
            await fetcher.close()

    return asyncio.run(run())


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_twiml_is_fetched_signed(sink: TwilioSink, method: str) -> None:
    sink.on("/voice", Answer(body=TWIML, content_type="application/xml"))
    fetched = _fetch(sink.base + "/voice?app=1", method)
    assert fetched.ok
    assert (fetched.status, fetched.content_type, fetched.body) == (200, "application/xml", TWIML)
    assert not fetched.fallback
    [seen] = sink.seen
    assert seen.valid, seen
    assert seen.method == method
    assert seen.headers["User-Agent"] == "DialtoneProxy/1.1"
    assert len(seen.headers["I-Twilio-Idempotency-Token"]) == 36
    if method == "POST":
        assert seen.form == PARAMS
    else:
        assert "SpeechResult=oui%2C+s%27il+vous+pla%C3%AEt" in seen.url


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (Answer(status=500), 11200),
        (Answer(status=404), 11200),
        (Answer(status=308, headers={"Location": "/voice"}), 11216),  # not followed by Twilio
        (Answer(status=302), 11216),  # no Location
        (Answer(body=b"x" * 2000), 11750),
    ],
)
def test_a_failure_goes_to_the_fallback_with_its_code(
    sink: TwilioSink, answer: Answer, code: int
) -> None:
    sink.on("/broken", answer)
    sink.on("/fallback", Answer(body=TWIML))
    fetched = _fetch(
        sink.base + "/broken",
        max_bytes=1024,
        fallback_url=sink.base + "/fallback",
        fallback_method="POST",
    )
    assert fetched.ok
    assert fetched.fallback
    assert fetched.url == sink.base + "/fallback"
    assert fetched.body == TWIML
    first, second = sink.seen
    assert first.valid
    assert second.valid
    assert second.form == [
        *PARAMS,
        ("ErrorCode", str(code)),
        ("ErrorUrl", sink.base + "/broken"),
    ]


def test_without_a_fallback_the_failure_is_returned(sink: TwilioSink) -> None:
    sink.on("/broken", Answer(status=503))
    fetched = _fetch(sink.base + "/broken")
    assert (fetched.ok, fetched.status, fetched.error_code, fetched.error) == (
        False,
        503,
        11200,
        "HTTP 503",
    )
    assert fetched.body == b""


def test_a_failing_fallback_is_told_too(sink: TwilioSink) -> None:
    sink.on("/a", Answer(status=500))
    sink.on("/b", Answer(status=502))
    fetched = _fetch(sink.base + "/a", fallback_url=sink.base + "/b", fallback_method="GET")
    assert (fetched.fallback, fetched.error_code, fetched.status) == (True, 11200, 502)
    assert sink.seen[1].method == "GET"
    assert sink.seen[1].valid


def test_a_slow_answer_times_out_and_falls_back(sink: TwilioSink) -> None:
    sink.on("/slow", Answer(body=TWIML, delay=1.5))
    sink.on("/fallback", Answer(body=TWIML))
    started = time.monotonic()
    fetched = _fetch(sink.base + "/slow", fallback_url=sink.base + "/fallback", timeout=0.4)
    assert time.monotonic() - started < 1.4
    assert fetched.ok
    assert fetched.fallback
    assert ("ErrorCode", "11205") in sink.seen[-1].form


@pytest.mark.parametrize(("status", "method_after"), [(301, "GET"), (302, "GET"), (303, "GET"),
                                                      (307, "POST")])  # fmt: skip
def test_redirects_are_followed_as_twilio_does(
    sink: TwilioSink, status: int, method_after: str
) -> None:
    sink.on("/old", Answer(status=status, headers={"Location": "/new?v=2"}))
    sink.on("/new", Answer(body=TWIML))
    fetched = _fetch(sink.base + "/old")
    assert fetched.ok
    assert fetched.url == sink.base + "/new?v=2"
    first, second = sink.seen
    assert (first.method, second.method) == ("POST", method_after)
    assert first.valid
    assert second.valid  # signed for its own URL
    assert (
        first.headers["I-Twilio-Idempotency-Token"] == second.headers["I-Twilio-Idempotency-Token"]
    )


def test_a_redirect_loop_ends(sink: TwilioSink) -> None:
    sink.on("/loop", Answer(status=302, headers={"Location": "/loop"}))
    fetched = _fetch(sink.base + "/loop")
    assert fetched.error_code == 11215
    assert len(sink.seen) == 11


def test_loopback_is_refused_unless_allowed(sink: TwilioSink) -> None:
    fetched = _fetch(
        sink.base + "/voice", policy=TargetPolicy(), fallback_url="http://169.254.169.254/x"
    )
    assert sink.seen == []
    assert (fetched.fallback, fetched.error_code) == (True, 11205)
    assert fetched.error is not None
    assert "link-local" in fetched.error


def test_a_redirect_to_a_refused_address_is_not_followed(sink: TwilioSink) -> None:
    sink.on("/old", Answer(status=302, headers={"Location": "http://10.0.0.9/inside"}))
    only_loopback = TargetPolicy.of(False, ["127.0.0.1/32"])
    fetched = _fetch(sink.base + "/old", policy=only_loopback)
    assert fetched.error_code == 11205
    assert fetched.url == "http://10.0.0.9/inside"
    assert len(sink.seen) == 1


def test_other_schemes_and_missing_tokens(sink: TwilioSink) -> None:
    assert _fetch("ftp://example.com/x").error_code == 11100
    assert _fetch(sink.base + "/voice", token=None).error_code == 11200
    assert sink.seen == []


def test_the_settings_give_policy_timeout_and_limit(sink: TwilioSink) -> None:
    sink.on("/big", Answer(body=b"x" * 3000))

    async def run(allow: bool) -> Fetched:
        section = WebhooksSection(
            webhook_allow_private_targets=allow,
            twiml_fetch_timeout_seconds=2,
            twiml_max_bytes=2048,
        )
        fetcher = TwimlFetcher.from_settings(section, lambda account: TOKEN)
        assert fetcher.timeout == 2
        try:
            return await fetcher.fetch(ACCOUNT, sink.base + "/big", "POST", PARAMS)
        finally:
            await fetcher.close()

    assert asyncio.run(run(False)).error_code == 11205  # loopback refused by default
    assert asyncio.run(run(True)).error_code == 11750  # reached, and too large
