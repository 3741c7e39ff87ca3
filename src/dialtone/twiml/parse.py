"""TwiML text to verbs, every attribute checked against Twilio's values and defaults.

The XML is read by ``defusedxml`` (no DTD, no entities: a fetched document is
untrusted). Nothing but ``TwimlError`` leaves this module, whatever the input: 12100 for
what is not an XML ``<Response>``, 12200 for what the schema refuses (an unknown verb, a
verb dialtone does not run, bad nesting, a bad attribute value), 11750 for a document
over 64 KiB. Unknown attributes are ignored, as Twilio ignores them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Literal, TypedDict, cast
from xml.etree.ElementTree import Element

from defusedxml import ElementTree

from dialtone.twiml import errors
from dialtone.twiml.errors import TwimlError, schema, unsupported
from dialtone.twiml.verbs import (
    Client,
    Connect,
    Dial,
    Gather,
    Hangup,
    Message,
    MessagingResponse,
    MessagingVerb,
    Method,
    Noun,
    Number,
    Pause,
    Play,
    Prompt,
    Record,
    Redirect,
    Reject,
    Say,
    Sip,
    Start,
    Stop,
    Stream,
    Track,
    VoiceResponse,
    VoiceVerb,
)

MAX_DOCUMENT_BYTES = 64 * 1024
MAX_LOOP = 1000
MAX_SAY_CHARS = 4096
MAX_BODY_CHARS = 1600
MAX_DIAL_NOUNS = 10

# Verbs and nouns Twilio has that dialtone does not run: a clear error, never a skip.
NOT_SUPPORTED = frozenset(
    {
        "Enqueue",
        "Leave",
        "Queue",
        "Conference",
        "Pay",
        "Prompt",
        "Refer",
        "Siprec",
        "Transcription",
        "VirtualAgent",
        "Echo",
        "Sms",
        "Autopilot",
        "Room",
        "Conversation",
        "ConversationRelay",
        "Assistant",
        "Sim",
        "Application",
        "WhatsApp",
        "Recording",
        "Config",
        "Email",
    }
)

_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
_DIGITS = re.compile(r"[0-9*#w]+")
_NUMBER = re.compile(r"\+?[0-9]{1,20}")
_NUMBER_PUNCTUATION = str.maketrans("", "", " ()-.")
_KEYS = frozenset("0123456789*#")
_RECORD_MODES = {
    "do-not-record": False,
    "false": False,
    "record-from-answer": True,
    "record-from-ringing": True,
    "record-from-answer-dual": True,
    "record-from-ringing-dual": True,
    "true": True,
}
_NOUN_EVENTS = frozenset({"initiated", "ringing", "answered", "completed"})
_RECORDING_EVENTS = frozenset({"in-progress", "completed", "absent"})

# -- documents -----------------------------------------------------------------------------


def parse_voice(document: str | bytes) -> VoiceResponse:
    """A voice document's verbs, checked (12100, 12200, 11750 otherwise)."""
    root = _root(document)
    return VoiceResponse(tuple(_voice_verb(child) for child in _children(root, "Response")))


def parse_messaging(document: str | bytes) -> MessagingResponse:
    """A messaging document's ``<Message>`` and ``<Redirect>`` verbs, checked."""
    root = _root(document)
    verbs: list[MessagingVerb] = []
    for child in _children(root, "Response"):
        if child.tag == "Message":
            verbs.append(_message(child))
        elif child.tag == "Redirect":
            verbs.append(_redirect(child))
        else:
            raise _not_here(child.tag, "a messaging <Response>")
    return MessagingResponse(tuple(verbs))


ContentKind = Literal["twiml", "text", "audio"]


def content_kind(content_type: str | None) -> ContentKind:
    """What an answer is by its Content-Type, as Twilio reads it: XML types are TwiML,
    ``text/plain`` is text to say (or send), ``audio/*`` is played; else 12300."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in {"text/xml", "application/xml", "text/html"} or media.endswith("+xml"):
        return "twiml"
    if media == "text/plain":
        return "text"
    if media.startswith("audio/"):
        return "audio"
    raise TwimlError(errors.INVALID_CONTENT_TYPE, f"{content_type or 'no Content-Type'!r}")


def _root(document: str | bytes) -> Element:
    size = len(document.encode("utf-8", "replace") if isinstance(document, str) else document)
    if size > MAX_DOCUMENT_BYTES:
        raise TwimlError(errors.BODY_TOO_LARGE, f"{size} bytes, at most {MAX_DOCUMENT_BYTES}")
    try:
        root = ElementTree.fromstring(document, forbid_dtd=True)
    except Exception as error:  # expat, defusedxml and codecs each raise their own kind
        raise TwimlError(errors.DOCUMENT_PARSE_FAILURE, f"not XML ({error})") from None
    if not isinstance(root, Element) or root.tag != "Response":
        tag = getattr(root, "tag", "?")
        raise TwimlError(errors.DOCUMENT_PARSE_FAILURE, f"the root is <{tag}>, not <Response>")
    return root


def _children(element: Element, where: str) -> list[Element]:
    """The child elements; text between them must be blank (comments are dropped by the
    parser, processing instructions too)."""
    if (element.text or "").strip():
        raise schema(f"text directly inside <{where}>")
    children = []
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if (child.tail or "").strip():
            raise schema(f"text directly inside <{where}>")
        children.append(child)
    return children


def _not_here(tag: object, where: str) -> TwimlError:
    name = str(tag)
    if name in NOT_SUPPORTED:
        return unsupported(name)
    if name in _VOICE_VERBS or name in _NOUNS:
        return schema(f"<{name}> is not allowed in {where}")
    return schema(f"<{name}> is not a TwiML element")


# -- voice verbs ---------------------------------------------------------------------------


def _voice_verb(element: Element) -> VoiceVerb:
    make = _VOICE_VERBS.get(element.tag)
    if make is None:
        if element.tag == "Message":
            raise schema("<Message> belongs in a messaging document, not a call's")
        raise _not_here(element.tag, "<Response>")
    return make(element)


def _say(element: Element) -> Say:
    _no_children_but_ssml(element)
    text = " ".join("".join(element.itertext()).split())
    if not text:
        raise schema("<Say> has no text")
    if len(text) > MAX_SAY_CHARS:
        raise schema(f"<Say> text is {len(text)} characters, at most {MAX_SAY_CHARS}")
    return Say(
        text=text,
        voice=_text_attr(element, "voice"),
        language=_language(element, "language", "en-US"),
        loop=_int(element, "loop", 1, 0, MAX_LOOP),
    )


def _no_children_but_ssml(element: Element) -> None:
    # SSML inside <Say> (<break>, <emphasis>, <prosody>…) is read as its text; a TwiML
    # verb there is a nesting error.
    for child in element.iter():
        if child is not element and isinstance(child.tag, str) and child.tag[:1].isupper():
            raise schema(f"<{child.tag}> is not allowed in <{element.tag}>")


def _play(element: Element) -> Play:
    _leaf(element)
    url = (element.text or "").strip() or None
    digits = _text_attr(element, "digits")
    if digits is not None and not _DIGITS.fullmatch(digits):
        raise schema(f"<Play> digits must be 0-9, *, # or w, not {digits!r}")
    if url is None and digits is None:
        raise schema("<Play> has neither a URL nor digits")
    return Play(url=url, loop=_int(element, "loop", 1, 0, MAX_LOOP), digits=digits)


def _pause(element: Element) -> Pause:
    _leaf(element)
    return Pause(length=_int(element, "length", 1, 1, 14400))


_PROMPTS: dict[str, Callable[[Element], Prompt]] = {"Say": _say, "Play": _play, "Pause": _pause}


def _gather(element: Element) -> Gather:
    children: list[Prompt] = []
    for child in _children(element, "Gather"):
        make = _PROMPTS.get(child.tag)
        if make is None:
            raise _not_here(child.tag, "<Gather>")
        children.append(make(child))
    inputs = (element.get("input") or "dtmf").split()
    if not inputs or any(kind not in {"dtmf", "speech"} for kind in inputs):
        raise schema(f"<Gather> input must be dtmf, speech or both, not {element.get('input')!r}")
    finish = element.get("finishOnKey", "#").strip()
    if len(finish) > 1 or (finish and finish not in _KEYS):
        raise schema(f"<Gather> finishOnKey must be one of 0-9, *, # or empty, not {finish!r}")
    timeout = _int(element, "timeout", 5, 1, 600)
    speech_timeout_text = (element.get("speechTimeout") or "").strip()
    speech_timeout: float | None
    if speech_timeout_text == "auto":
        speech_timeout = None
    elif speech_timeout_text:
        speech_timeout = float(_int(element, "speechTimeout", timeout, 1, 600))
    else:
        speech_timeout = float(timeout)
    hints = tuple(h.strip() for h in (element.get("hints") or "").split(",") if h.strip())
    num_digits = element.get("numDigits")
    return Gather(
        children=tuple(children),
        input=frozenset(inputs),
        num_digits=None if num_digits is None else _int(element, "numDigits", 1, 1, 1000),
        timeout=timeout,
        finish_on_key=finish,
        action=_url(element, "action"),
        method=_method(element, "method"),
        speech_timeout=speech_timeout,
        language=_language(element, "language", "en-US"),
        hints=hints,
        action_on_empty_result=_bool(element, "actionOnEmptyResult", False),
        barge_in=_bool(element, "bargeIn", True),
        partial_result_callback=_url(element, "partialResultCallback"),
        profanity_filter=_bool(element, "profanityFilter", True),
        speech_model=_text_attr(element, "speechModel"),
        enhanced=_bool(element, "enhanced", False),
    )


def _dial(element: Element) -> Dial:
    nouns: list[Noun] = []
    for child in element:
        if not isinstance(child.tag, str):
            continue
        make = _NOUNS.get(child.tag)
        if make is None:
            raise _not_here(child.tag, "<Dial>")
        nouns.append(make(child))
    text = "".join([element.text or "", *((child.tail or "") for child in element)]).strip()
    if text and nouns:
        raise schema("<Dial> has both a plain number and nouns")
    if text:
        nouns.append(Number(number=_phone_number(text, "<Dial>")))
    if not nouns:
        raise schema("<Dial> has nothing to dial")
    if len(nouns) > MAX_DIAL_NOUNS:
        raise schema(f"<Dial> has {len(nouns)} nouns, at most {MAX_DIAL_NOUNS}")
    record_mode = (element.get("record") or "do-not-record").strip()
    if record_mode not in _RECORD_MODES:
        raise schema(f"<Dial> record must be one of {sorted(_RECORD_MODES)}, not {record_mode!r}")
    return Dial(
        nouns=tuple(nouns),
        action=_url(element, "action"),
        method=_method(element, "method"),
        timeout=_int(element, "timeout", 30, 1, 600),
        caller_id=_text_attr(element, "callerId"),
        record=_RECORD_MODES[record_mode],
        record_mode=record_mode,
        hangup_on_star=_bool(element, "hangupOnStar", False),
        answer_on_bridge=_bool(element, "answerOnBridge", False),
        time_limit=_int(element, "timeLimit", 14400, 1, 86400),
        trim=_enum(element, "trim", "do-not-trim", ("trim-silence", "do-not-trim")),
        recording_status_callback=_url(element, "recordingStatusCallback"),
        recording_status_callback_method=_method(element, "recordingStatusCallbackMethod"),
        recording_status_callback_event=_events(
            element, "recordingStatusCallbackEvent", _RECORDING_EVENTS, {"completed"}
        ),
        ring_tone=_text_attr(element, "ringTone"),
    )


def _phone_number(text: str, where: str) -> str:
    number = text.strip().translate(_NUMBER_PUNCTUATION)
    if not _NUMBER.fullmatch(number):
        raise schema(f"{where} number {text.strip()!r} is not a phone number")
    return number


def _number(element: Element) -> Number:
    _leaf(element)
    send_digits = _text_attr(element, "sendDigits")
    if send_digits is not None and not _DIGITS.fullmatch(send_digits):
        raise schema(f"<Number> sendDigits must be 0-9, *, # or w, not {send_digits!r}")
    return Number(
        number=_phone_number(element.text or "", "<Number>"),
        send_digits=send_digits,
        url=_url(element, "url"),
        method=_method(element, "method"),
        **_callbacks(element),
    )


def _sip(element: Element) -> Sip:
    _leaf(element)
    uri = (element.text or "").strip()
    if not uri.lower().startswith(("sip:", "sips:")) or len(uri) <= len("sips:"):
        raise schema(f"<Sip> needs a sip: URI, not {uri!r}")
    return Sip(
        uri=uri,
        username=_text_attr(element, "username"),
        password=_text_attr(element, "password"),
        url=_url(element, "url"),
        method=_method(element, "method"),
        **_callbacks(element),
    )


def _client(element: Element) -> Client:
    identity = (element.text or "").strip()
    parameters: list[tuple[str, str]] = []
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if child.tag == "Identity":
            _leaf(child)
            if identity:
                raise schema("<Client> has two identities")
            identity = (child.text or "").strip()
        elif child.tag == "Parameter":
            parameters.append(_parameter(child))
        else:
            raise _not_here(child.tag, "<Client>")
        if (child.tail or "").strip():
            raise schema("text directly inside <Client> beside its nouns")
    if not identity or len(identity) > 256 or any(c.isspace() for c in identity):
        raise schema(f"<Client> identity {identity!r} must be 1 to 256 characters, no spaces")
    return Client(
        identity=identity,
        url=_url(element, "url"),
        method=_method(element, "method"),
        parameters=tuple(parameters),
        **_callbacks(element),
    )


class _Callbacks(TypedDict):
    status_callback: str | None
    status_callback_event: frozenset[str]
    status_callback_method: Method


def _callbacks(element: Element) -> _Callbacks:
    return {
        "status_callback": _url(element, "statusCallback"),
        "status_callback_event": _events(element, "statusCallbackEvent", _NOUN_EVENTS, set()),
        "status_callback_method": _method(element, "statusCallbackMethod"),
    }


def _record(element: Element) -> Record:
    _leaf(element)
    finish = (element.get("finishOnKey", "1234567890*#")).strip()
    if any(key not in _KEYS for key in finish):
        raise schema(f"<Record> finishOnKey must be keys among 0-9, *, #, not {finish!r}")
    return Record(
        action=_url(element, "action"),
        method=_method(element, "method"),
        timeout=_int(element, "timeout", 5, 0, 3600),
        finish_on_key=finish,
        max_length=_int(element, "maxLength", 3600, 1, 14400),
        play_beep=_bool(element, "playBeep", True),
        trim=_enum(element, "trim", "trim-silence", ("trim-silence", "do-not-trim")),
        recording_status_callback=_url(element, "recordingStatusCallback"),
        recording_status_callback_method=_method(element, "recordingStatusCallbackMethod"),
        recording_status_callback_event=_events(
            element, "recordingStatusCallbackEvent", _RECORDING_EVENTS, {"completed"}
        ),
        transcribe=_bool(element, "transcribe", False),
        transcribe_callback=_url(element, "transcribeCallback"),
    )


def _hangup(element: Element) -> Hangup:
    _leaf(element, text=False)
    return Hangup()


def _reject(element: Element) -> Reject:
    _leaf(element, text=False)
    reason = _enum(element, "reason", "rejected", ("rejected", "busy"))
    return Reject(reason=cast(Literal["rejected", "busy"], reason))


def _redirect(element: Element) -> Redirect:
    _leaf(element)
    url = (element.text or "").strip()
    if not url:
        raise schema("<Redirect> has no URL")
    return Redirect(url=url, method=_method(element, "method"))


def _stream_holder(element: Element) -> Stream:
    """The one ``<Stream>`` a ``<Connect>``, ``<Start>`` or ``<Stop>`` holds."""
    children = _children(element, element.tag)
    for child in children:
        if child.tag != "Stream":
            raise _not_here(child.tag, f"<{element.tag}>")
    if len(children) != 1:
        raise schema(f"<{element.tag}> must hold exactly one <Stream>, not {len(children)}")
    return _stream(children[0], url_needed=element.tag != "Stop")


def _stream(element: Element, *, url_needed: bool) -> Stream:
    parameters: list[tuple[str, str]] = []
    for child in _children(element, "Stream"):
        if child.tag != "Parameter":
            raise _not_here(child.tag, "<Stream>")
        parameters.append(_parameter(child))
    url = _url(element, "url")
    if url_needed and (url is None or not url.lower().startswith(("wss://", "ws://"))):
        raise schema(f"<Stream> url must be a ws:// or wss:// URL, not {url!r}")
    track = _enum(
        element, "track", "inbound_track", ("inbound_track", "outbound_track", "both_tracks")
    )
    return Stream(
        url=url,
        name=(element.get("name") or "").strip(),
        track=cast(Track, track),
        parameters=tuple(parameters),
        status_callback=_url(element, "statusCallback"),
        status_callback_method=_method(element, "statusCallbackMethod"),
    )


def _parameter(element: Element) -> tuple[str, str]:
    _leaf(element, text=False)
    name = (element.get("name") or "").strip()
    if not name:
        raise schema("<Parameter> has no name")
    return name, element.get("value") or ""


def _connect(element: Element) -> Connect:
    stream = _stream_holder(element)
    if stream.track != "inbound_track":
        # Twilio's bidirectional streams carry the caller's audio only.
        raise schema("<Connect><Stream> track must be inbound_track")
    return Connect(stream=stream, action=_url(element, "action"), method=_method(element, "method"))


def _start(element: Element) -> Start:
    stream = _stream_holder(element)
    return Start(stream=stream, action=_url(element, "action"), method=_method(element, "method"))


def _stop(element: Element) -> Stop:
    return Stop(name=_stream_holder(element).name)


_VOICE_VERBS: dict[str, Callable[[Element], VoiceVerb]] = {
    "Say": _say,
    "Play": _play,
    "Pause": _pause,
    "Gather": _gather,
    "Dial": _dial,
    "Record": _record,
    "Hangup": _hangup,
    "Reject": _reject,
    "Redirect": _redirect,
    "Connect": _connect,
    "Start": _start,
    "Stop": _stop,
}
_NOUNS: dict[str, Callable[[Element], Noun]] = {"Number": _number, "Sip": _sip, "Client": _client}


# -- messaging -----------------------------------------------------------------------------


def _message(element: Element) -> Message:
    text = (element.text or "").strip()
    bodies: list[str] = []
    media: list[str] = []
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if child.tag == "Body":
            _leaf(child)
            bodies.append(child.text or "")
        elif child.tag == "Media":
            _leaf(child)
            url = (child.text or "").strip()
            if not url:
                raise schema("<Media> has no URL")
            media.append(url)
        else:
            raise _not_here(child.tag, "<Message>")
        text += (child.tail or "").strip()
    if text and (bodies or media):
        raise schema("<Message> mixes plain text with <Body> or <Media>")
    if len(bodies) > 1:
        raise schema("<Message> has more than one <Body>")
    body = text or (bodies[0] if bodies else "")
    if not body.strip() and not media:
        raise schema("<Message> has no body")
    if len(body) > MAX_BODY_CHARS:
        raise schema(f"<Message> body is {len(body)} characters, at most {MAX_BODY_CHARS}")
    return Message(
        body=body,
        to=_text_attr(element, "to"),
        from_=_text_attr(element, "from"),
        action=_url(element, "action"),
        method=_method(element, "method"),
        status_callback=_url(element, "statusCallback"),
        media=tuple(media),
    )


# -- attributes ----------------------------------------------------------------------------


def _leaf(element: Element, *, text: bool = True) -> None:
    for child in element:
        if isinstance(child.tag, str):
            raise _not_here(child.tag, f"<{element.tag}>")
    if not text and (element.text or "").strip():
        raise schema(f"<{element.tag}> takes no text")


def _text_attr(element: Element, name: str) -> str | None:
    value = element.get(name)
    return value.strip() or None if value is not None else None


def _url(element: Element, name: str) -> str | None:
    value = _text_attr(element, name)
    if value is not None and any(c.isspace() for c in value):
        raise schema(f"<{element.tag}> {name} {value!r} is not a URL")
    return value


def _int(element: Element, name: str, default: int, low: int, high: int) -> int:
    raw = element.get(name)
    if raw is None:
        return default
    text = raw.strip()
    # Length first: int() refuses strings of thousands of digits with its own error.
    valid = text.isascii() and text.isdigit() and len(text) <= 9
    if not valid or not low <= int(text) <= high:
        raise schema(f"<{element.tag}> {name} must be an integer from {low} to {high}, not {raw!r}")
    return int(text)


def _bool(element: Element, name: str, default: bool) -> bool:
    raw = element.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value not in {"true", "false"}:
        raise schema(f"<{element.tag}> {name} must be true or false, not {raw!r}")
    return value == "true"


def _enum(element: Element, name: str, default: str, allowed: Iterable[str]) -> str:
    raw = element.get(name)
    if raw is None:
        return default
    options = tuple(allowed)
    if raw.strip() not in options:
        raise schema(f"<{element.tag}> {name} must be one of {', '.join(options)}, not {raw!r}")
    return raw.strip()


def _method(element: Element, name: str) -> Method:
    raw = element.get(name)
    if raw is None or not raw.strip():
        return "POST"
    value = raw.strip().upper()
    if value not in {"GET", "POST"}:
        raise schema(f"<{element.tag}> {name} must be GET or POST, not {raw!r}")
    return cast(Method, value)


def _language(element: Element, name: str, default: str) -> str:
    raw = element.get(name)
    if raw is None:
        return default
    if not _LANGUAGE.fullmatch(raw.strip()):
        raise schema(f"<{element.tag}> {name} must be a BCP 47 tag, not {raw!r}")
    return raw.strip()


def _events(
    element: Element, name: str, allowed: frozenset[str], default: set[str]
) -> frozenset[str]:
    raw = element.get(name)
    if raw is None:
        return frozenset(default)
    events = frozenset(raw.replace(",", " ").split())
    if not events <= allowed:
        raise schema(
            f"<{element.tag}> {name} must be among {', '.join(sorted(allowed))}, not {raw!r}"
        )
    return events
