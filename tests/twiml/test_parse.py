"""The parser: Twilio's defaults, every attribute at its bounds, the 12100/12200/11750
errors, and (hypothesis) nothing but TwimlError out of any input."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialtone.twiml import errors
from dialtone.twiml.errors import TwimlError
from dialtone.twiml.parse import (
    MAX_DOCUMENT_BYTES,
    NOT_SUPPORTED,
    content_kind,
    parse_messaging,
    parse_voice,
)
from dialtone.twiml.verbs import (
    Client,
    Connect,
    Dial,
    Gather,
    Hangup,
    Message,
    Number,
    Pause,
    Play,
    Record,
    Redirect,
    Reject,
    Say,
    Sip,
    Start,
    Stop,
    Stream,
)


def one(verb: str) -> object:
    (parsed,) = parse_voice(f"<Response>{verb}</Response>").verbs
    return parsed


def refused(document: str) -> TwimlError:
    with pytest.raises(TwimlError) as caught:
        parse_voice(document)
    return caught.value


# -- defaults ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verb", "expected"),
    [
        ("<Say>Hi</Say>", Say("Hi", None, "en-US", 1)),
        ("<Play>a.wav</Play>", Play("a.wav", 1, None)),
        ("<Pause/>", Pause(1)),
        ("<Gather/>", Gather()),
        ("<Dial>+15551234567</Dial>", Dial((Number("+15551234567"),))),
        ("<Record/>", Record()),
        ("<Hangup/>", Hangup()),
        ("<Reject/>", Reject("rejected")),
        ("<Redirect>/next</Redirect>", Redirect("/next", "POST")),
        (
            '<Connect><Stream url="wss://s.example/a"/></Connect>',
            Connect(Stream("wss://s.example/a")),
        ),
        ('<Start><Stream url="ws://s.example/a"/></Start>', Start(Stream("ws://s.example/a"))),
        ("<Stop><Stream/></Stop>", Stop("")),
    ],
)
def test_twilios_defaults(verb: str, expected: object) -> None:
    assert one(verb) == expected


def test_default_record_values_are_twilios() -> None:
    record = Record()
    assert (record.timeout, record.finish_on_key, record.max_length) == (5, "1234567890*#", 3600)
    assert record.play_beep
    assert record.method == "POST"
    assert record.trim == "trim-silence"


def test_default_gather_values_are_twilios() -> None:
    gather = Gather()
    assert gather.input == {"dtmf"}
    assert gather.num_digits is None
    assert (gather.timeout, gather.finish_on_key, gather.method) == (5, "#", "POST")
    assert gather.speech_timeout == 5.0
    assert not gather.action_on_empty_result


# -- attribute bounds (value accepted, or refused with 12200) --------------------------------

OK = object()

ATTRIBUTES: list[tuple[str, object]] = [
    # Say
    ('<Say loop="0">x</Say>', OK),
    ('<Say loop="1000">x</Say>', OK),
    ('<Say loop="1001">x</Say>', None),
    ('<Say loop="-1">x</Say>', None),
    ('<Say loop="1.5">x</Say>', None),
    ('<Say loop="">x</Say>', None),
    ('<Say loop="' + "9" * 5000 + '">x</Say>', None),
    ('<Say language="fr-FR">x</Say>', OK),
    ('<Say language="french!">x</Say>', None),
    ("<Say>" + "a" * 4096 + "</Say>", OK),
    ("<Say>" + "a" * 4097 + "</Say>", None),
    ("<Say>  </Say>", None),
    ('<Say>Wait<break time="1s"/>now</Say>', OK),
    ("<Say><Play>a</Play></Say>", None),
    # Play
    ('<Play digits="0123456789*#w"/>', OK),
    ('<Play digits="12x"/>', None),
    ("<Play/>", None),
    ('<Play loop="0">a</Play>', OK),
    ('<Play loop="1001">a</Play>', None),
    # Pause
    ('<Pause length="1"/>', OK),
    ('<Pause length="0"/>', None),
    ('<Pause length="14400"/>', OK),
    ('<Pause length="14401"/>', None),
    ('<Pause length="ten"/>', None),
    ("<Pause><Say>x</Say></Pause>", None),
    # Gather
    ('<Gather timeout="1"/>', OK),
    ('<Gather timeout="0"/>', None),
    ('<Gather timeout="600"/>', OK),
    ('<Gather timeout="601"/>', None),
    ('<Gather numDigits="1"/>', OK),
    ('<Gather numDigits="0"/>', None),
    ('<Gather numDigits="1000"/>', OK),
    ('<Gather numDigits="1001"/>', None),
    ('<Gather finishOnKey=""/>', OK),
    ('<Gather finishOnKey="*"/>', OK),
    ('<Gather finishOnKey="##"/>', None),
    ('<Gather finishOnKey="a"/>', None),
    ('<Gather input="speech dtmf"/>', OK),
    ('<Gather input="voice"/>', None),
    ('<Gather input=""/>', OK),
    ('<Gather method="get"/>', OK),
    ('<Gather method="PUT"/>', None),
    ('<Gather speechTimeout="auto"/>', OK),
    ('<Gather speechTimeout="0"/>', None),
    ('<Gather speechTimeout="soon"/>', None),
    ('<Gather actionOnEmptyResult="TRUE"/>', OK),
    ('<Gather actionOnEmptyResult="yes"/>', None),
    ('<Gather action="has space"/>', None),
    ("<Gather><Pause/><Play>a</Play><Say>b</Say></Gather>", OK),
    ("<Gather><Dial>1</Dial></Gather>", None),
    ("<Gather><Gather/></Gather>", None),
    ("<Gather>stray text</Gather>", None),
    # Dial
    ('<Dial timeout="1">1</Dial>', OK),
    ('<Dial timeout="0">1</Dial>', None),
    ('<Dial timeout="600">1</Dial>', OK),
    ('<Dial timeout="601">1</Dial>', None),
    ('<Dial record="record-from-ringing-dual">1</Dial>', OK),
    ('<Dial record="always">1</Dial>', None),
    ('<Dial hangupOnStar="true" answerOnBridge="false">1</Dial>', OK),
    ('<Dial timeLimit="86400">1</Dial>', OK),
    ('<Dial timeLimit="86401">1</Dial>', None),
    ('<Dial trim="trim-silence">1</Dial>', OK),
    ('<Dial trim="cut">1</Dial>', None),
    ("<Dial></Dial>", None),
    ("<Dial>call me</Dial>", None),
    ("<Dial>+1 (415) 555-1212</Dial>", OK),
    ("<Dial>1<Number>2</Number></Dial>", None),
    ("<Dial>" + "<Number>1</Number>" * 10 + "</Dial>", OK),
    ("<Dial>" + "<Number>1</Number>" * 11 + "</Dial>", None),
    ('<Dial><Number sendDigits="ww123#">1</Number></Dial>', OK),
    ('<Dial><Number sendDigits="abc">1</Number></Dial>', None),
    ('<Dial><Number statusCallbackEvent="initiated ringing">1</Number></Dial>', OK),
    ('<Dial><Number statusCallbackEvent="exploded">1</Number></Dial>', None),
    ("<Dial><Sip>sip:a@b</Sip></Dial>", OK),
    ("<Dial><Sip>sips:a@b</Sip></Dial>", OK),
    ("<Dial><Sip>tel:+1</Sip></Dial>", None),
    ("<Dial><Client>" + "c" * 256 + "</Client></Dial>", OK),
    ("<Dial><Client>" + "c" * 257 + "</Client></Dial>", None),
    ("<Dial><Client>two words</Client></Dial>", None),
    ("<Dial><Client></Client></Dial>", None),
    ("<Dial><Conference>room</Conference></Dial>", None),
    ("<Dial><Queue>q</Queue></Dial>", None),
    ("<Dial><Say>x</Say></Dial>", None),
    # Record
    ('<Record timeout="0"/>', OK),
    ('<Record timeout="3600"/>', OK),
    ('<Record timeout="3601"/>', None),
    ('<Record maxLength="1"/>', OK),
    ('<Record maxLength="0"/>', None),
    ('<Record maxLength="14400"/>', OK),
    ('<Record maxLength="14401"/>', None),
    ('<Record finishOnKey=""/>', OK),
    ('<Record finishOnKey="#*0"/>', OK),
    ('<Record finishOnKey="#x"/>', None),
    ('<Record playBeep="false"/>', OK),
    ('<Record playBeep="0"/>', None),
    ('<Record trim="do-not-trim"/>', OK),
    ('<Record recordingStatusCallbackEvent="in-progress completed absent"/>', OK),
    ('<Record recordingStatusCallbackEvent="started"/>', None),
    ('<Record transcribe="true" transcribeCallback="/t"/>', OK),
    ("<Record><Say>x</Say></Record>", None),
    # Hangup, Reject, Redirect
    ("<Hangup>now</Hangup>", None),
    ('<Reject reason="busy"/>', OK),
    ('<Reject reason="nope"/>', None),
    ("<Redirect></Redirect>", None),
    ('<Redirect method="GET">/x</Redirect>', OK),
    # Streams
    ('<Connect><Stream url="https://x"/></Connect>', None),
    ("<Connect><Stream/></Connect>", None),
    ('<Connect><Stream url="wss://x" track="both_tracks"/></Connect>', None),
    ("<Connect></Connect>", None),
    ('<Connect><Stream url="wss://a"/><Stream url="wss://b"/></Connect>', None),
    ("<Connect><Room>r</Room></Connect>", None),
    ('<Start><Stream url="wss://x" track="outbound_track"/></Start>', OK),
    ('<Start><Stream url="wss://x" track="sideways"/></Start>', None),
    ('<Start><Stream url="wss://x"><Parameter name="a" value="b"/></Stream></Start>', OK),
    ('<Start><Stream url="wss://x"><Parameter value="b"/></Stream></Start>', None),
    ("<Start><Siprec/></Start>", None),
    ('<Stop><Stream name="x"/></Stop>', OK),
]


@pytest.mark.parametrize(("verb", "outcome"), ATTRIBUTES)
def test_attribute_bounds(verb: str, outcome: object) -> None:
    document = f"<Response>{verb}</Response>"
    if outcome is OK:
        parse_voice(document)
    else:
        assert refused(document).code == errors.SCHEMA_VALIDATION


def test_values_read() -> None:
    gather = one(
        '<Gather input="dtmf speech" numDigits="4" timeout="9" finishOnKey="*" action="/a"'
        ' method="GET" speechTimeout="3" language="fr-FR" hints="oui, non ,, peut-être"'
        ' actionOnEmptyResult="true" bargeIn="false"><Say>x</Say></Gather>'
    )
    assert gather == Gather(
        children=(Say("x"),),
        input=frozenset({"dtmf", "speech"}),
        num_digits=4,
        timeout=9,
        finish_on_key="*",
        action="/a",
        method="GET",
        speech_timeout=3.0,
        language="fr-FR",
        hints=("oui", "non", "peut-être"),
        action_on_empty_result=True,
        barge_in=False,
    )
    dial = one(
        '<Dial record="true" callerId="+33100000000" answerOnBridge="true">'
        '<Client url="/whisper"><Identity>alice</Identity><Parameter name="k" value="v"/></Client>'
        "</Dial>"
    )
    assert isinstance(dial, Dial)
    assert dial.record
    assert dial.record_mode == "true"
    assert dial.answer_on_bridge
    assert dial.nouns == (Client("alice", url="/whisper", parameters=(("k", "v"),)),)
    sip = one('<Dial><Sip username="u" password="p">sip:x@y</Sip></Dial>')
    assert isinstance(sip, Dial)
    assert sip.nouns == (Sip("sip:x@y", "u", "p"),)


def test_comments_and_the_xml_declaration_are_fine() -> None:
    document = '<?xml version="1.0"?>\n<!-- hi --><Response>\n  <!-- c --><Hangup/>\n</Response>'
    assert parse_voice(document).verbs == (Hangup(),)
    assert parse_voice(document.encode()).verbs == (Hangup(),)


# -- document errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ("", errors.DOCUMENT_PARSE_FAILURE),
        ("hello", errors.DOCUMENT_PARSE_FAILURE),
        ("<Response>", errors.DOCUMENT_PARSE_FAILURE),
        ("<response/>", errors.DOCUMENT_PARSE_FAILURE),
        ("<Response/><Response/>", errors.DOCUMENT_PARSE_FAILURE),
        ('<!DOCTYPE r [<!ENTITY e "x">]><Response/>', errors.DOCUMENT_PARSE_FAILURE),
        (
            '<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]><Response>&e;</Response>',
            errors.DOCUMENT_PARSE_FAILURE,
        ),
        ("<Response>loose text</Response>", errors.SCHEMA_VALIDATION),
        ("<Response><Hangup/>tail</Response>", errors.SCHEMA_VALIDATION),
        ("<Response><Dance/></Response>", errors.SCHEMA_VALIDATION),
        ("<Response><say>x</say></Response>", errors.SCHEMA_VALIDATION),
        ("<Response><Number>1</Number></Response>", errors.SCHEMA_VALIDATION),
        ("<Response><Message>hi</Message></Response>", errors.SCHEMA_VALIDATION),
        ("<Response>" + " " * MAX_DOCUMENT_BYTES + "</Response>", errors.BODY_TOO_LARGE),
    ],
)
def test_document_errors(document: str, code: int) -> None:
    assert refused(document).code == code


@pytest.mark.parametrize("verb", sorted(NOT_SUPPORTED))
def test_twilio_verbs_dialtone_does_not_run_are_named(verb: str) -> None:
    error = refused(f"<Response><{verb}/></Response>")
    assert error.code == errors.SCHEMA_VALIDATION
    assert error.message == f"Schema validation warning: <{verb}> is not supported by dialtone"


def test_error_messages_carry_twilios_title() -> None:
    assert refused("x").message.startswith("Document parse failure: ")
    assert (
        "timeout must be an integer from 1 to 600"
        in refused('<Response><Gather timeout="0"/></Response>').message
    )


# -- content types ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "kind"),
    [
        ("text/xml", "twiml"),
        ("application/xml; charset=utf-8", "twiml"),
        ("TEXT/HTML", "twiml"),
        ("application/twiml+xml", "twiml"),
        ("text/plain", "text"),
        ("audio/mpeg", "audio"),
        ("audio/x-wav", "audio"),
    ],
)
def test_content_kinds(content_type: str, kind: str) -> None:
    assert content_kind(content_type) == kind


@pytest.mark.parametrize("content_type", [None, "", "application/json", "image/png", "text/csv"])
def test_other_content_types_are_12300(content_type: str | None) -> None:
    with pytest.raises(TwimlError) as caught:
        content_kind(content_type)
    assert caught.value.code == errors.INVALID_CONTENT_TYPE


# -- messaging -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verb", "expected"),
    [
        ("<Message>Hi</Message>", Message("Hi")),
        ("<Message><Body>Hi</Body></Message>", Message("Hi")),
        (
            '<Message to="+1" from="+2" action="/s" method="GET" statusCallback="/cb">'
            "<Body>Hi</Body><Media>https://m/1.png</Media></Message>",
            Message("Hi", "+1", "+2", "/s", "GET", "/cb", ("https://m/1.png",)),
        ),
        (
            "<Message><Media>https://m/1.png</Media></Message>",
            Message("", media=("https://m/1.png",)),
        ),
        ("<Redirect>/more</Redirect>", Redirect("/more")),
    ],
)
def test_messaging_verbs(verb: str, expected: object) -> None:
    assert parse_messaging(f"<Response>{verb}</Response>").verbs == (expected,)


@pytest.mark.parametrize(
    "verb",
    [
        "<Message></Message>",
        "<Message>text<Body>and body</Body></Message>",
        "<Message><Body>a</Body><Body>b</Body></Message>",
        "<Message><Media></Media></Message>",
        "<Message>" + "x" * 1601 + "</Message>",
        "<Message><Say>x</Say></Message>",
        "<Say>voice verb</Say>",
        "<Sms>old</Sms>",
    ],
)
def test_messaging_refusals(verb: str) -> None:
    with pytest.raises(TwimlError) as caught:
        parse_messaging(f"<Response>{verb}</Response>")
    assert caught.value.code == errors.SCHEMA_VALIDATION


def test_a_message_of_1600_characters_is_fine() -> None:
    (message,) = parse_messaging("<Response><Message>" + "x" * 1600 + "</Message></Response>").verbs
    assert isinstance(message, Message)
    assert len(message.body) == 1600


# -- nothing else escapes ----------------------------------------------------------------------

NAMES = st.sampled_from(
    [
        "Response",
        "Say",
        "Play",
        "Pause",
        "Gather",
        "Dial",
        "Number",
        "Sip",
        "Client",
        "Identity",
        "Parameter",
        "Record",
        "Hangup",
        "Reject",
        "Redirect",
        "Connect",
        "Start",
        "Stop",
        "Stream",
        "Message",
        "Body",
        "Media",
        "Enqueue",
        "x",
    ]
)
ATTRS = st.sampled_from(
    [
        "loop",
        "timeout",
        "numDigits",
        "finishOnKey",
        "input",
        "method",
        "action",
        "url",
        "track",
        "name",
        "value",
        "digits",
        "reason",
        "record",
        "maxLength",
        "speechTimeout",
        "language",
        "statusCallbackEvent",
        "length",
    ]
)
VALUES = st.one_of(
    st.sampled_from(["", "0", "1", "-1", "600", "auto", "true", "GET", "wss://x", "#", " "]),
    st.text(max_size=8),
)
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


@st.composite
def elements(draw: st.DrawFn, depth: int = 0) -> str:
    name = draw(NAMES)
    attrs = draw(st.dictionaries(ATTRS, VALUES, max_size=3))
    rendered = "".join(f' {k}="{_escape(v)}"' for k, v in attrs.items())
    children = [] if depth > 2 else draw(st.lists(elements(depth + 1), max_size=3))
    text = _escape(draw(TEXT))
    return f"<{name}{rendered}>{text}{''.join(children)}</{name}>"


def outcome(parse: Callable[[str | bytes], object], document: str | bytes) -> int | None:
    """None when the document parses, else its error's code (anything else escapes)."""
    try:
        parse(document)
    except TwimlError as error:
        return error.code
    return None


@settings(max_examples=300, deadline=None)
@given(st.lists(elements(), max_size=4), st.booleans())
def test_random_trees_raise_only_twiml_errors(children: list[str], messaging: bool) -> None:
    document = "<Response>" + "".join(children) + "</Response>"
    code = outcome(parse_messaging if messaging else parse_voice, document)
    assert code is None or code in errors.TITLES


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_random_text_raises_only_twiml_errors(document: str | bytes) -> None:
    for parse in (parse_voice, parse_messaging):
        code = outcome(parse, document)
        assert code is None or code in errors.TITLES


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_random_attribute_values_raise_only_twiml_errors(value: str) -> None:
    for verb in ("Gather", "Record", "Dial", "Say", "Play", "Pause", "Reject"):
        for attribute in ("timeout", "loop", "finishOnKey", "input", "method", "record", "reason"):
            document = f'<Response><{verb} {attribute}="{_escape(value)}">1</{verb}></Response>'
            code = outcome(parse_voice, document)
            assert code is None or code in errors.TITLES
