"""What an answer to an inbound message sends back (messaging TwiML).

The runtime requests the number's ``SmsUrl`` (``request``), gives the answer to
``answer``, sends each ``Reply`` through the messaging service (every check of an SMS
applies, as to any message), follows ``redirect`` when there is one (``answer`` again,
with ``redirects`` one more) and reports ``error``. No verb after a ``<Redirect>`` runs,
as at Twilio. ``<Media>`` is read, not sent: dialtone sends SMS, not MMS.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin

from dialtone.twiml import errors
from dialtone.twiml import params as p
from dialtone.twiml.errors import TwimlError
from dialtone.twiml.parse import MAX_BODY_CHARS, content_kind, parse_messaging
from dialtone.twiml.tasks import Fetched, FetchTwiml, ReportError
from dialtone.twiml.verbs import Message, Method

# A chain of <Redirect>s answering one message ends here (11215), as a call's does.
MAX_MESSAGING_REDIRECTS = 10


@dataclass(frozen=True, slots=True)
class Reply:
    """One message to send: to the sender and from the number written to unless the
    document says otherwise. ``action`` (or ``status_callback``) hears its status."""

    body: str
    to: str
    from_: str
    action: str | None = None
    method: Method = "POST"
    status_callback: str | None = None
    media: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MessagingAnswer:
    replies: tuple[Reply, ...] = ()
    redirect: FetchTwiml | None = None
    error: ReportError | None = None


def request(
    message: p.MessageParams,
    url: str,
    method: Method = "POST",
    fallback_url: str | None = None,
    fallback_method: Method = "POST",
) -> FetchTwiml:
    """The request of the number's SmsUrl for ``message`` (Twilio's parameters)."""
    params = tuple(p.message_request(message).items())
    return FetchTwiml(url, method, params, fallback_url, fallback_method)


def answer(
    message: p.MessageParams,
    fetched: Fetched | None,
    *,
    failure: str | None = None,
    redirects: int = 0,
) -> MessagingAnswer:
    """The replies the answer ``fetched`` asks for (None with ``failure``: the request
    got no answer at all). A document that cannot be run sends nothing and reports
    Twilio's code; plain text is sent back as it is."""
    if fetched is None:
        return _failed(errors.HTTP_RETRIEVAL_FAILURE, failure or "no answer", None)
    if not 200 <= fetched.status < 300:
        return _failed(
            errors.HTTP_RETRIEVAL_FAILURE, f"the answer was HTTP {fetched.status}", fetched.url
        )
    body = fetched.body
    try:
        kind = content_kind(fetched.content_type)
        if kind == "audio":
            raise TwimlError(errors.INVALID_CONTENT_TYPE, f"{fetched.content_type!r} for a message")
        if kind == "text":
            text = (body.decode("utf-8", "replace") if isinstance(body, bytes) else body).strip()
            if not text:
                return MessagingAnswer()
            return MessagingAnswer((_reply(message, Message(text[:MAX_BODY_CHARS]), fetched.url),))
        verbs = parse_messaging(body).verbs
    except TwimlError as error:
        return _refused(error, fetched.url)
    replies: list[Reply] = []
    for verb in verbs:
        if isinstance(verb, Message):
            replies.append(_reply(message, verb, fetched.url))
            continue
        if redirects >= MAX_MESSAGING_REDIRECTS:
            failed = _failed(
                errors.TOO_MANY_REDIRECTS, f"{MAX_MESSAGING_REDIRECTS} redirects", fetched.url
            )
            return MessagingAnswer(tuple(replies), error=failed.error)
        follow = request(message, urljoin(fetched.url, verb.url), verb.method)
        return MessagingAnswer(tuple(replies), redirect=follow)
    return MessagingAnswer(tuple(replies))


def _reply(message: p.MessageParams, verb: Message, base: str) -> Reply:
    return Reply(
        body=verb.body,
        to=verb.to or message.from_,
        from_=verb.from_ or message.to,
        action=urljoin(base, verb.action) if verb.action else None,
        method=verb.method,
        status_callback=urljoin(base, verb.status_callback) if verb.status_callback else None,
        media=tuple(urljoin(base, url) for url in verb.media),
    )


def _failed(code: int, detail: str, url: str | None) -> MessagingAnswer:
    return _refused(TwimlError(code, detail), url)


def _refused(error: TwimlError, url: str | None) -> MessagingAnswer:
    return MessagingAnswer(error=ReportError(error.code, error.message, url))
