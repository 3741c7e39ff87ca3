"""Answers to inbound messages: replies, their defaults, Redirect, errors."""

from __future__ import annotations

import pytest

from dialtone.twiml import errors
from dialtone.twiml.messaging import MAX_MESSAGING_REDIRECTS, Reply, answer, request
from dialtone.twiml.params import MessageParams
from dialtone.twiml.tasks import Fetched

URL = "https://app.example.com/sms"
INBOUND = MessageParams(
    message_sid="SM" + "1" * 32,
    account_sid="AC" + "2" * 32,
    from_="+33612345678",
    to="+33187654321",
    body="STATUS 42",
)


def fetched(body: str, content_type: str | None = "text/xml", status: int = 200) -> Fetched:
    return Fetched(URL, status, content_type, body.encode())


def test_the_request_carries_twilios_parameters() -> None:
    task = request(INBOUND, URL, "GET", "https://fb.example.com/", "POST")
    params = dict(task.params)
    assert (task.url, task.method, task.fallback_url) == (URL, "GET", "https://fb.example.com/")
    assert params["Body"] == "STATUS 42"
    assert params["MessageSid"] == params["SmsSid"] == INBOUND.message_sid
    assert params["SmsStatus"] == "received"


def test_a_message_replies_to_the_sender_from_the_number() -> None:
    result = answer(INBOUND, fetched("<Response><Message>Order 42 shipped</Message></Response>"))
    assert result.replies == (Reply("Order 42 shipped", "+33612345678", "+33187654321"),)
    assert result.redirect is None
    assert result.error is None


def test_attributes_override_and_urls_resolve() -> None:
    document = (
        '<Response><Message to="+33600000000" from="Shop" action="/status" method="GET"'
        ' statusCallback="/cb"><Body>Hi</Body><Media>/pic.png</Media></Message></Response>'
    )
    (reply,) = answer(INBOUND, fetched(document)).replies
    assert reply == Reply(
        "Hi",
        "+33600000000",
        "Shop",
        "https://app.example.com/status",
        "GET",
        "https://app.example.com/cb",
        ("https://app.example.com/pic.png",),
    )


def test_messages_before_a_redirect_are_sent_those_after_are_not() -> None:
    document = (
        "<Response><Message>one</Message><Redirect>/next</Redirect>"
        "<Message>never</Message></Response>"
    )
    result = answer(INBOUND, fetched(document))
    assert [r.body for r in result.replies] == ["one"]
    assert result.redirect is not None
    assert result.redirect.url == "https://app.example.com/next"
    assert dict(result.redirect.params)["Body"] == "STATUS 42"


def test_redirects_are_bounded() -> None:
    document = "<Response><Redirect>/again</Redirect></Response>"
    assert answer(INBOUND, fetched(document), redirects=MAX_MESSAGING_REDIRECTS - 1).redirect
    result = answer(INBOUND, fetched(document), redirects=MAX_MESSAGING_REDIRECTS)
    assert result.redirect is None
    assert result.error is not None
    assert result.error.code == errors.TOO_MANY_REDIRECTS


def test_plain_text_is_sent_back() -> None:
    result = answer(INBOUND, fetched("  Thanks!  ", "text/plain"))
    assert result.replies == (Reply("Thanks!", "+33612345678", "+33187654321"),)


@pytest.mark.parametrize("document", ["<Response/>", ""])
def test_an_empty_answer_sends_nothing(document: str) -> None:
    content_type = "text/xml" if document else "text/plain"
    result = answer(INBOUND, fetched(document, content_type))
    assert result.replies == ()
    assert result.error is None


@pytest.mark.parametrize(
    ("response", "code"),
    [
        (fetched("<Response/>", status=500), errors.HTTP_RETRIEVAL_FAILURE),
        (fetched("<Response/>", "application/json"), errors.INVALID_CONTENT_TYPE),
        (fetched("ID3", "audio/mpeg"), errors.INVALID_CONTENT_TYPE),
        (fetched("<Response><Message>"), errors.DOCUMENT_PARSE_FAILURE),
        (fetched("<Response><Dial>1</Dial></Response>"), errors.SCHEMA_VALIDATION),
        (None, errors.HTTP_RETRIEVAL_FAILURE),
    ],
)
def test_errors_send_nothing_and_are_reported(response: Fetched | None, code: int) -> None:
    result = answer(INBOUND, response, failure="timeout")
    assert result.replies == ()
    assert result.error is not None
    assert result.error.code == code
