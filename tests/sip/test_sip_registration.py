"""The sans-I/O registration client (issue 13, item 21): what it sends, when it
refreshes, how it backs off, all with ``now`` given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialtone.sip.digest import DigestCredentials, expected_response, ha1
from dialtone.sip.headers import Via
from dialtone.sip.message import Request, Response, make_response, parse_message
from dialtone.sip.registration import (
    RegistrationClient,
    RegistrationConfig,
    backoff_delay,
    refresh_delay,
)
from dialtone.sip.uri import SipUri

T0 = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
CONTACT = SipUri("sip", host="203.0.113.5", port=5060, user="trunk-0123456789abcdef")
CHALLENGE = 'Digest realm="provider.example", nonce="n0nce", qop="auth", algorithm=MD5'
PASSWORD = "carrier-s3cret"


def _config(**kw: object) -> RegistrationConfig:
    values: dict[str, object] = {
        "request_uri": SipUri("sip", host="sip.provider.example"),
        "domain": "sip.provider.example",
        "aor_user": "33123456789",
        "auth_username": "acct-1",
        "contact": CONTACT,
        "expires": 3600,
        "retry_base": 30.0,
        "retry_max": 1800.0,
    }
    values.update(kw)
    return RegistrationConfig(**values)  # type: ignore[arg-type]


def _client(**kw: object) -> RegistrationClient:
    client = RegistrationClient(_config(**kw), call_id="reg-1@dialtone", from_tag="ft1")
    client.start(T0)
    return client


_branches = iter(range(10_000))


def _send(client: RegistrationClient, now: datetime) -> Request:
    via = Via("UDP", "203.0.113.5", 5060, (("branch", f"z9hG4bK{next(_branches)}"),))
    request = client.request(now, via=via, cnonce="c0ffee", secret=lambda: PASSWORD)
    # What goes on the wire parses back (a real REGISTER, not just an object).
    parsed = parse_message(request.encode())
    assert isinstance(parsed, Request)
    return parsed


def _answer(request: Request, status: int, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return make_response(request, status, to_tag="rt", extra_headers=headers)


def _ok(
    request: Request, expires: str | None = "3600", contact_expires: int | None = None
) -> Response:
    headers: list[tuple[str, str]] = []
    if contact_expires is not None:
        headers.append(("Contact", f"<{CONTACT}>;expires={contact_expires}"))
    if expires is not None:
        headers.append(("Expires", expires))
    return _answer(request, 200, tuple(headers))


def _register(client: RegistrationClient, now: datetime, granted: int = 3600) -> None:
    first = _send(client, now)
    client.on_response(_answer(first, 401, (("WWW-Authenticate", CHALLENGE),)), now)
    second = _send(client, now)
    client.on_response(_ok(second, str(granted)), now)


def test_register_challenge_answer_and_200() -> None:
    client = _client()
    assert client.due(T0)
    first = _send(client, T0)
    assert (first.method, str(first.uri)) == ("REGISTER", "sip:sip.provider.example")
    assert str(first.to.uri) == "sip:33123456789@sip.provider.example"
    assert first.from_.tag == "ft1"
    assert first.headers.get("Expires") == "3600"
    assert "trunk-0123456789abcdef" in (first.headers.get("Contact") or "")
    assert "Authorization" not in first.headers
    assert client.state == "registering"
    assert not client.due(T0)  # waiting for the answer
    client.on_response(_answer(first, 401, (("WWW-Authenticate", CHALLENGE),)), T0)
    assert client.due(T0)  # the challenge is answered at once
    second = _send(client, T0)
    assert second.call_id == first.call_id
    assert second.cseq.number == first.cseq.number + 1
    credentials = DigestCredentials.parse(second.headers.get("Authorization") or "")
    assert credentials.username == "acct-1"
    stored = ha1("acct-1", "provider.example", PASSWORD, "MD5")
    assert credentials.response == expected_response(credentials, "REGISTER", stored)
    client.on_response(_ok(second), T0)
    assert client.state == "registered"
    assert client.expires_at == T0 + timedelta(seconds=3600)
    assert client.last_error is None


@pytest.mark.parametrize(
    ("granted", "refresh_after"),
    [(3600, 3540), (121, 61), (120, 60), (119, 59.5), (10, 5), (1, 0.5)],
)
def test_refresh_is_due_at_the_later_of_half_and_a_minute_before(
    granted: int, refresh_after: float
) -> None:
    assert refresh_delay(granted, 60) == refresh_after
    client = _client()
    _register(client, T0, granted)
    due = T0 + timedelta(seconds=refresh_after)
    assert client.next_at == due
    assert not client.due(due - timedelta(microseconds=1))
    assert client.due(due)


def test_the_granted_expiry_of_our_contact_wins_over_the_expires_header() -> None:
    client = _client()
    request = _send(client, T0)
    client.on_response(_ok(request, expires="3600", contact_expires=600), T0)
    assert client.expires_at == T0 + timedelta(seconds=600)
    assert client.next_at == T0 + timedelta(seconds=540)


def test_refresh_answers_the_last_challenge_again_and_stays_registered() -> None:
    client = _client()
    _register(client, T0, 600)
    later = client.next_at
    assert later is not None
    refresh = _send(client, later)
    assert client.state == "registered"  # still bound while the refresh is under way
    credentials = DigestCredentials.parse(refresh.headers.get("Authorization") or "")
    assert credentials.nc == "00000002"
    client.on_response(_ok(refresh, "600"), later)
    assert client.expires_at == later + timedelta(seconds=600)


def test_a_refused_preemptive_answer_gets_one_fresh_challenge() -> None:
    client = _client()
    _register(client, T0, 600)
    later = client.next_at
    assert later is not None
    refresh = _send(client, later)
    fresh = CHALLENGE.replace("n0nce", "n3w")
    client.on_response(_answer(refresh, 401, (("WWW-Authenticate", fresh),)), later)
    assert client.due(later)
    assert client.state == "registered"
    again = _send(client, later)
    assert 'nonce="n3w"' in (again.headers.get("Authorization") or "")
    client.on_response(_answer(again, 401, (("WWW-Authenticate", fresh),)), later)
    assert client.state == "failed"
    assert client.last_error == "401 Unauthorized (credentials refused)"


def test_wrong_credentials_fail_clearly_and_a_stale_nonce_does_not() -> None:
    client = _client()
    first = _send(client, T0)
    client.on_response(_answer(first, 401, (("WWW-Authenticate", CHALLENGE),)), T0)
    second = _send(client, T0)
    stale = CHALLENGE + ", stale=true"
    client.on_response(_answer(second, 401, (("WWW-Authenticate", stale),)), T0)
    assert client.state == "registering"
    assert client.due(T0)
    third = _send(client, T0)
    client.on_response(_answer(third, 401, (("WWW-Authenticate", CHALLENGE),)), T0)
    assert (client.state, client.last_error) == (
        "failed",
        "401 Unauthorized (credentials refused)",
    )
    assert client.next_at == T0 + timedelta(seconds=30)


@pytest.mark.parametrize(
    ("failures", "delay"),
    [(0, 0), (1, 30), (2, 60), (6, 960), (7, 1800), (8, 1800), (200, 1800)],
)
def test_backoff_doubles_up_to_its_cap(failures: int, delay: float) -> None:
    assert backoff_delay(failures, 30, 1800) == delay


def test_failures_back_off_and_a_success_resets_the_count() -> None:
    client = _client()
    now = T0
    waits = []
    for _ in range(8):
        request = _send(client, now)
        client.on_response(_answer(request, 403), now)
        assert client.state == "failed"
        assert client.last_error == "403 Forbidden"
        assert client.next_at is not None
        waits.append((client.next_at - now).total_seconds())
        assert not client.due(client.next_at - timedelta(microseconds=1))
        now = client.next_at
    assert waits == [30, 60, 120, 240, 480, 960, 1800, 1800]
    _register(client, now)
    assert (client.state, client.failures, client.last_error) == ("registered", 0, None)


def test_timeouts_and_dns_failures_back_off_too() -> None:
    client = _client()
    _send(client, T0)
    client.fail("no answer from 192.0.2.1:5060 (timeout)", T0)
    assert (client.state, client.next_at) == ("failed", T0 + timedelta(seconds=30))
    client.fail("cannot resolve sip.provider.example", T0)
    assert client.next_at == T0 + timedelta(seconds=60)
    assert client.last_error == "cannot resolve sip.provider.example"


def test_retry_after_longer_than_the_backoff_is_honoured_within_the_cap() -> None:
    client = _client()
    request = _send(client, T0)
    client.on_response(_answer(request, 503, (("Retry-After", "120 (maintenance)"),)), T0)
    assert client.next_at == T0 + timedelta(seconds=120)
    request = _send(client, T0)
    client.on_response(_answer(request, 503, (("Retry-After", "99999"),)), T0)
    assert client.next_at == T0 + timedelta(seconds=1800)


def test_423_takes_the_min_expires_once() -> None:
    client = _client(expires=60)
    request = _send(client, T0)
    client.on_response(_answer(request, 423, (("Min-Expires", "300"),)), T0)
    assert client.due(T0)
    again = _send(client, T0)
    assert again.headers.get("Expires") == "300"
    client.on_response(_answer(again, 423, (("Min-Expires", "600"),)), T0)
    assert client.state == "failed"


def test_a_200_without_our_binding_is_a_failure() -> None:
    client = _client()
    request = _send(client, T0)
    client.on_response(_ok(request, expires="0"), T0)
    assert client.state == "failed"
    assert "expires 0" in (client.last_error or "")


def test_provisional_responses_change_nothing() -> None:
    client = _client()
    request = _send(client, T0)
    client.on_response(_answer(request, 100), T0)
    assert (client.state, client.next_at) == ("registering", None)
