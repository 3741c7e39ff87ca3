"""The voice interpreter driven by hand: each verb's commands, its action request and
parameters, the answer rule, the application-error path for each kind of error."""

from __future__ import annotations

import pytest

from dialtone.call import application as app
from dialtone.twiml import errors
from dialtone.twiml.interpreter import (
    ERROR_SPEECH,
    MAX_FETCHES_WITHOUT_CALLER,
    MAX_FETCHES_WITHOUT_MEDIA,
    UNLIMITED_DIGITS,
    FromTwiml,
    FromUrl,
)
from dialtone.twiml.parse import MAX_LOOP
from dialtone.twiml.tasks import (
    FetchTwiml,
    Notify,
    Prepare,
    ReportError,
    SavedRecording,
    SaveRecording,
    Speech,
)
from tests.twiml.driver import URL, Driver, inline, param, response, started

HANGUP_AFTER_ANSWER = [app.Answer(), app.HangUp()]


def error_path(driver: Driver, out: list[app.Command], code: int) -> list[app.Command]:
    """The application-error path: the report, the sentence prepared, said, hang up."""
    assert isinstance(out[0], app.RunTask)
    report = out[0].task
    assert isinstance(report, ReportError)
    assert report.code == code
    assert out[1] == app.RunTask(Prepare(says=(ERROR_SPEECH,)))
    said = driver.done(out[1].task, {ERROR_SPEECH: "/wav/error"})
    assert said[-1] == app.Play("/wav/error", beep=False)
    assert driver.send(app.PlayDone()) == [app.HangUp()]
    assert driver.app.done
    return said


# -- the first request ------------------------------------------------------------------------


def test_first_fetch_carries_twilios_parameters_with_ringing() -> None:
    driver = Driver.make(FromUrl(URL, "GET", "https://fallback.example.com/v", "POST"))
    out = driver.send(app.Started())
    assert len(out) == 1
    task = driver.last(FetchTwiml)
    assert (task.url, task.method) == (URL, "GET")
    assert (task.fallback_url, task.fallback_method) == ("https://fallback.example.com/v", "POST")
    assert param(task, "CallStatus") == "ringing"
    assert param(task, "Direction") == "inbound"
    assert param(task, "ApiVersion") == "2010-04-01"
    assert param(task, "FromCountry") == "FR"
    assert param(task, "Caller") == param(task, "From") == "+33612345678"


def test_outbound_api_call_is_in_progress_and_never_answered_again() -> None:
    driver, out = started(response("<Say>Hello</Say>"), direction="outbound-api")
    assert param(driver.tasks[0], "CallStatus") == "in-progress"  # type: ignore[arg-type]
    assert out == [app.Play("/wav/Hello", beep=False)]
    assert driver.send(app.PlayDone()) == [app.HangUp()]


def test_started_twice_starts_once() -> None:
    driver = Driver.make()
    driver.send(app.Started())
    assert driver.send(app.Started()) == []


# -- Say, Play, Pause ------------------------------------------------------------------------


def test_say_and_play_are_prepared_together_then_played_in_order() -> None:
    driver = Driver.make()
    driver.send(app.Started())
    out = driver.fetched(
        response(
            '<Say voice="alice" language="fr-FR" loop="2">Bonjour</Say>',
            '<Play loop="0">/hold.wav</Play>',
            "<Say>Bye</Say>",
        )
    )
    prepare = out[-1].task
    assert isinstance(prepare, Prepare)
    assert prepare.says == (Speech("Bonjour", "alice", "fr-FR"), Speech("Bye"))
    assert prepare.plays == ("https://app.example.com/hold.wav",)
    out = driver.prepare()
    assert out == [app.Answer(), app.Play("/wav/Bonjour", beep=False, loop=2)]
    assert driver.send(app.PlayDone()) == [app.Play("/wav/hold.wav", beep=False, loop=MAX_LOOP)]
    assert driver.send(app.PlayDone()) == [app.Play("/wav/Bye", beep=False)]
    assert driver.send(app.PlayDone()) == [app.HangUp()]


def test_play_digits_sends_dtmf_before_the_audio() -> None:
    driver, out = started(response('<Play digits="12w#">/tone.wav</Play>'))
    assert out == [app.Answer(), app.SendDigits("12w#")]
    assert driver.send(app.PlayDone()) == [app.Play("/wav/tone.wav", beep=False)]


def test_pause_first_delays_the_answer() -> None:
    driver, out = started(response('<Pause length="3"/>', "<Say>Hi</Say>"))
    assert out == [app.Pause(3.0)]
    assert driver.send(app.Paused()) == [app.Answer(), app.Play("/wav/Hi", beep=False)]


def test_unrelated_events_change_nothing() -> None:
    driver, _ = started(response("<Say>Hi</Say>", "<Say>There</Say>"))
    assert driver.send(app.DigitPressed("5")) == []
    assert driver.send(app.Paused()) == []
    assert driver.send(app.Gathered("1", False)) == []
    assert driver.send(app.PlayDone()) == [app.Play("/wav/There", beep=False)]


def test_a_play_that_could_not_be_fetched_is_skipped_with_a_notice() -> None:
    driver = Driver.make()
    driver.send(app.Started())
    driver.fetched(response("<Play>/gone.mp3</Play>", "<Say>After</Say>"))
    out = driver.prepare(missing=("https://app.example.com/gone.mp3",))
    notice = out[0]
    assert isinstance(notice, app.RunTask)
    assert isinstance(notice.task, ReportError)
    assert notice.task.code == errors.HTTP_RETRIEVAL_FAILURE
    assert out[1:] == [app.Answer(), app.Play("/wav/After", beep=False)]


# -- Gather ----------------------------------------------------------------------------------


GATHER = (
    '<Gather numDigits="1" timeout="7" action="/menu" method="GET">'
    "<Say>Press one</Say><Play>/x.wav</Play></Gather><Say>Nothing</Say>"
)


PROMPTS = (
    app.Play("/wav/Press one", beep=False, barge_in=True),
    app.Play("/wav/x.wav", beep=False, barge_in=True),
)


def test_gather_plays_its_prompts_itself() -> None:
    # Input counts from the first prompt and stops them (the call core does it).
    driver, out = started(response(GATHER))
    assert out == [app.Answer(), app.Gather(1, 7.0, "#", prompts=PROMPTS)]
    # A stale prompt end is nothing to the interpreter: it waits for Gathered.
    assert driver.send(app.PlayDone(completed=False)) == []


def test_gather_without_barge_in_plays_its_prompts_whole_first() -> None:
    driver, out = started(response(GATHER.replace("<Gather ", '<Gather bargeIn="false" ')))
    assert out == [app.Answer(), app.Play("/wav/Press one", beep=False)]
    assert driver.send(app.PlayDone()) == [app.Play("/wav/x.wav", beep=False)]
    assert driver.send(app.PlayDone()) == [app.Gather(1, 7.0, "#")]


def test_gather_for_speech_listens_over_its_prompts() -> None:
    _, out = started(response(GATHER.replace("<Gather ", '<Gather input="speech" ')))
    (gather,) = out[1:]
    assert isinstance(gather, app.Gather)
    assert gather.speech == app.Listen("en-US", 7.0, ())  # speechTimeout: the timeout
    assert gather.prompts == PROMPTS


def test_gather_digits_go_to_the_action() -> None:
    driver, _ = started(response(GATHER))
    driver.send(app.PlayDone(completed=False))
    out = driver.send(app.Gathered("1", timed_out=False))
    task = out[-1].task
    assert isinstance(task, FetchTwiml)
    assert (task.url, task.method) == ("https://app.example.com/menu", "GET")
    assert param(task, "Digits") == "1"
    assert param(task, "CallStatus") == "in-progress"


def test_gather_timeout_goes_on_to_the_next_verb() -> None:
    driver, _ = started(response(GATHER))
    driver.send(app.PlayDone(completed=False))
    assert driver.send(app.Gathered("", timed_out=True)) == [app.Play("/wav/Nothing", beep=False)]


def test_gather_action_on_empty_result_requests_the_action() -> None:
    driver, _ = started(response('<Gather actionOnEmptyResult="true"/>'))
    out = driver.send(app.Gathered("", timed_out=True))
    task = out[-1].task
    assert task.url == URL  # the default action: the document's own URL
    assert param(task, "Digits") is None


def test_gather_defaults_unlimited_digits_hash_and_the_documents_url() -> None:
    driver, out = started(response('<Gather finishOnKey=""/>'))
    assert out == [app.Answer(), app.Gather(UNLIMITED_DIGITS, 5.0, None)]
    out = driver.send(app.Gathered("1234", timed_out=False))
    assert out[-1].task.url == URL
    assert out[-1].task.method == "POST"


def test_gather_speech_listens_and_sends_speech_result() -> None:
    driver, out = started(
        response('<Gather input="speech" speechTimeout="auto" language="fr-FR" hints="oui, non"/>')
    )
    assert out[-1] == app.Gather(
        UNLIMITED_DIGITS, 5.0, None, speech=app.Listen("fr-FR", None, ("oui", "non"))
    )
    fetch = driver.send(app.Gathered("", False, speech="oui merci", confidence=0.93))[-1].task
    assert param(fetch, "SpeechResult") == "oui merci"
    assert param(fetch, "Confidence") == "0.93000000"
    assert param(fetch, "Digits") is None


def test_gather_speech_only_ignores_digits() -> None:
    driver, out = started(response('<Gather input="speech"/>', "<Hangup/>"))
    assert out[-1].finish_key is None
    assert driver.send(app.Gathered("5", False)) == [app.HangUp()]


def test_gather_speech_timeout_defaults_to_timeout() -> None:
    _, out = started(response('<Gather input="dtmf speech" timeout="9"/>'))
    assert out[-1].speech == app.Listen("en-US", 9.0, ())


def test_gather_in_an_inline_document_without_action_goes_on() -> None:
    driver, out = inline(response("<Gather/>", "<Hangup/>"))
    assert out == [app.Answer(), app.Gather(UNLIMITED_DIGITS, 5.0, "#")]
    assert driver.send(app.Gathered("12", False)) == [app.HangUp()]


# -- Dial ------------------------------------------------------------------------------------


def dial(verb: str, status: int) -> tuple[Driver, list[app.Command]]:
    driver, _out = started(response(verb, "<Say>After</Say>"))
    return driver, driver.send(app.BridgeResult(status))


def test_dial_bridges_the_first_noun_keeping_the_caller() -> None:
    _, out = started(
        response(
            '<Dial timeout="12" callerId="+33187654321" record="record-from-answer">'
            "<Number>+33 6 11 22 33 44</Number><Number>+33600000000</Number></Dial>"
        )
    )
    assert out == [
        app.Answer(),
        app.Bridge(
            target="+33611223344",
            timeout=12.0,
            caller_id="+33187654321",
            record=True,
            keep_caller=True,
        ),
    ]


@pytest.mark.parametrize(
    ("noun", "target"),
    [
        ("+15551234567", "+15551234567"),
        ("<Sip>sip:alice@example.com</Sip>", "sip:alice@example.com"),
        ("<Client>bob</Client>", "client:bob"),
        ("<Client><Identity>101</Identity></Client>", "client:101"),
    ],
)
def test_dial_targets(noun: str, target: str) -> None:
    _, out = started(response(f"<Dial>{noun}</Dial>"))
    assert out[-1].target == target


def test_dial_answer_on_bridge_does_not_answer_first() -> None:
    driver, out = started(
        response('<Dial answerOnBridge="true">+15551234567</Dial>', "<Say>x</Say>")
    )
    assert not any(isinstance(c, app.Answer) for c in out)
    driver.send(app.BridgeResult(200))
    assert driver.send(app.BridgeEnded(4)) == [app.Play("/wav/x", beep=False)]


def test_dial_answer_on_bridge_failing_at_the_end_passes_the_status_on() -> None:
    driver, _ = started(response('<Dial answerOnBridge="true">+15551234567</Dial>'))
    assert driver.send(app.BridgeResult(486)) == [app.HangUp(status=486)]


@pytest.mark.parametrize(
    ("status", "dial_status"),
    [
        (486, "busy"),
        (600, "busy"),
        (603, "busy"),
        (408, "no-answer"),
        (480, "no-answer"),
        (487, "canceled"),
        (404, "failed"),
        (403, "failed"),
        (503, "failed"),
    ],
)
def test_dial_failures_give_dial_call_status(status: int, dial_status: str) -> None:
    _driver, out = dial('<Dial action="/after">+15551234567</Dial>', status)
    task = out[-1].task
    assert task.url == "https://app.example.com/after"
    assert param(task, "DialCallStatus") == dial_status
    assert param(task, "DialCallDuration") == "0"


def test_dial_connected_waits_for_the_callee_to_leave() -> None:
    driver, out = dial('<Dial action="/after">+15551234567</Dial>', 200)
    assert out == []
    task = driver.send(app.BridgeEnded(61.4))[-1].task
    assert param(task, "DialCallStatus") == "completed"
    assert param(task, "DialCallDuration") == "61"


def test_dial_without_action_goes_on_to_the_next_verb() -> None:
    _, out = dial("<Dial>+15551234567</Dial>", 486)
    assert out == [app.Play("/wav/After", beep=False)]


def test_dial_noun_status_callbacks_for_the_events_asked() -> None:
    driver, out = started(
        response(
            '<Dial><Number statusCallback="/leg"'
            ' statusCallbackEvent="initiated answered completed">'
            "+15551234567</Number></Dial>"
        )
    )
    initiated = out[1].task
    assert isinstance(initiated, Notify)
    assert initiated.url == "https://app.example.com/leg"
    assert dict(initiated.params)["CallStatus"] == "initiated"
    assert dict(initiated.params)["ParentCallSid"] == "CA" + "b" * 32
    answered = driver.send(app.BridgeResult(200))
    assert dict(answered[0].task.params)["CallStatus"] == "in-progress"
    completed = driver.send(app.BridgeEnded(10))
    assert dict(completed[0].task.params)["CallStatus"] == "completed"
    assert dict(completed[0].task.params)["CallDuration"] == "10"


def test_dial_noun_status_callback_defaults_to_completed() -> None:
    driver, out = started(response('<Dial><Sip statusCallback="/leg">sip:a@b.example</Sip></Dial>'))
    assert not any(isinstance(c, app.RunTask) for c in out)
    out = driver.send(app.BridgeResult(486))
    assert dict(out[0].task.params)["CallStatus"] == "busy"


# -- Record ----------------------------------------------------------------------------------


RECORD = (
    '<Record maxLength="30" timeout="0" finishOnKey="#*" playBeep="false" transcribe="true"'
    ' transcribeCallback="/t" recordingStatusCallback="/rs"'
    ' recordingStatusCallbackEvent="completed absent"/>'
)


def test_record_records_saves_and_requests_the_action() -> None:
    driver, out = started(response(RECORD), record_prefix="/rec/call")
    assert out == [
        app.Answer(),
        app.Record(
            max_seconds=30.0, finish_key="#*", silence=None, beep=False, path="/rec/call-1.wav"
        ),
    ]
    out = driver.send(app.RecordDone("/rec/call-1.wav", 12.6, "#"))
    save = out[-1].task
    assert isinstance(save, SaveRecording)
    assert (save.path, save.seconds, save.call_sid) == ("/rec/call-1.wav", 12.6, "CA" + "b" * 32)
    assert save.trim
    assert save.transcribe
    assert save.transcribe_callback == "https://app.example.com/t"
    assert save.action is None
    # The status callback rides on the save (the runtime adds the SID and URL).
    assert save.status_callback is not None
    assert save.status_callback.url == "https://app.example.com/rs"
    assert dict(save.status_callback.params)["RecordingStatus"] == "completed"
    assert dict(save.status_callback.params)["RecordingDuration"] == "13"
    out = driver.done(save, SavedRecording("RE1", "https://api/RE1"))
    action = out[-1].task
    assert action.url == URL
    assert param(action, "RecordingUrl") == "https://api/RE1"
    assert param(action, "RecordingSid") == "RE1"
    assert param(action, "RecordingDuration") == "13"
    assert param(action, "Digits") == "#"


def test_record_defaults() -> None:
    _, out = started(response("<Record/>"))
    assert out[-1] == app.Record(3600.0, "1234567890*#", 5.0, True, None)


def test_record_ended_by_silence_sends_no_digits() -> None:
    driver, _ = started(response("<Record/>"))
    save = driver.send(app.RecordDone("/r.wav", 4.0, ""))[-1].task
    assert save.status_callback is None
    action = driver.done(save, SavedRecording("RE1", "https://api/RE1"))[-1].task
    assert param(action, "Digits") is None


def test_an_empty_recording_goes_on_without_the_action() -> None:
    driver, _ = started(response(RECORD, "<Say>Nothing heard</Say>"))
    out = driver.send(app.RecordDone(None))
    assert dict(out[0].task.params)["RecordingStatus"] == "absent"
    assert out[1:] == [app.Play("/wav/Nothing heard", beep=False)]


def test_record_the_caller_hung_up_on_is_saved_and_its_action_requested_by_the_save() -> None:
    # As the call core does it: RecordDone(digit="hangup"), then FarEndHungUp; no
    # TaskDone comes back after the end, so the save carries the action.
    driver, _ = started(response('<Record action="/done"/>', "<Say>never</Say>"))
    out = driver.send(app.RecordDone("/r.wav", 5.0, "hangup"))
    (command,) = out
    save = command.task
    assert isinstance(save, SaveRecording)
    assert save.action is not None
    assert save.action.url == "https://app.example.com/done"
    assert param(save.action, "Digits") == "hangup"
    assert param(save.action, "CallStatus") == "completed"
    assert param(save.action, "RecordingDuration") == "5"
    assert driver.app.done
    assert driver.send(app.FarEndHungUp()) == []


def test_an_empty_recording_the_caller_hung_up_on_ends_quietly() -> None:
    driver, _ = started(response(RECORD, "<Say>never</Say>"))
    out = driver.send(app.RecordDone(None, 0.0, "hangup"))
    assert [type(c.task) for c in out] == [Notify]  # type: ignore[union-attr]
    assert driver.app.done


def test_a_recording_not_saved_is_an_application_error() -> None:
    driver, _ = started(response("<Record/>"))
    out = driver.send(app.RecordDone("/r.wav", 5.0, ""))
    out = driver.done(out[-1].task, error="disk full")
    error_path(driver, out, errors.INTERNAL_FAILURE)


# -- Hangup, Reject, Redirect, streams --------------------------------------------------------


def test_hangup_answers_then_hangs_up() -> None:
    driver, out = started(response("<Hangup/>", "<Say>never</Say>"))
    assert out == HANGUP_AFTER_ANSWER
    assert driver.app.done


@pytest.mark.parametrize(
    ("reason", "status"), [("", 603), (' reason="rejected"', 603), (' reason="busy"', 486)]
)
def test_reject_refuses_without_answering(reason: str, status: int) -> None:
    _, out = started(response(f"<Reject{reason}/>"))
    assert out == [app.HangUp(status=status)]


def test_reject_after_answer_hangs_up() -> None:
    driver, _ = started(response("<Say>x</Say>", "<Reject/>"))
    assert driver.send(app.PlayDone()) == [app.HangUp()]


def test_redirect_fetches_relative_to_the_document() -> None:
    _driver, out = started(response('<Redirect method="GET">next?x=1</Redirect>'))
    task = out[-1].task
    assert (task.url, task.method) == ("https://app.example.com/next?x=1", "GET")
    assert param(task, "CallStatus") == "ringing"


def test_connect_stream_then_action() -> None:
    driver, out = started(
        response(
            '<Connect action="/after"><Stream url="wss://ai.example.com/s" name="bot">'
            '<Parameter name="lang" value="fr"/></Stream></Connect>'
        )
    )
    assert out == [
        app.Answer(),
        app.Stream(
            "wss://ai.example.com/s", "bot", "inbound_track", (("lang", "fr"),), connect=True
        ),
    ]
    assert driver.send(app.StreamEnded("bot"))[-1].task.url == "https://app.example.com/after"


def test_start_and_stop_stream_do_not_wait() -> None:
    _, out = started(
        response(
            '<Start><Stream url="wss://x.example/s" name="tap" track="both_tracks"/></Start>',
            '<Stop><Stream name="tap"/></Stop>',
            "<Hangup/>",
        )
    )
    assert out == [
        app.Answer(),
        app.Stream("wss://x.example/s", "tap", "both_tracks", (), connect=False),
        app.StopStream("tap"),
        app.HangUp(),
    ]


def test_end_of_document_hangs_up() -> None:
    _, out = started(response())
    assert out == HANGUP_AFTER_ANSWER


def test_caller_hanging_up_ends_the_application() -> None:
    driver, _ = started(response("<Say>x</Say>", "<Say>y</Say>"))
    assert driver.send(app.FarEndHungUp()) == []
    assert driver.send(app.PlayDone()) == []
    assert driver.app.done


# -- content types ---------------------------------------------------------------------------


def test_plain_text_is_said_then_the_call_ends() -> None:
    driver = Driver.make()
    driver.send(app.Started())
    out = driver.fetched("Hello   there", content_type="text/plain; charset=utf-8")
    assert out[-1].task == Prepare(says=(Speech("Hello there"),))
    assert driver.prepare() == [app.Answer(), app.Play("/wav/Hello there", beep=False)]
    assert driver.send(app.PlayDone()) == [app.HangUp()]


def test_audio_is_played_then_the_call_ends() -> None:
    driver = Driver.make()
    driver.send(app.Started())
    out = driver.fetched(b"ID3...", content_type="audio/mpeg", url="https://app.example.com/a.mp3")
    assert out[-1].task == Prepare(plays=("https://app.example.com/a.mp3",))


# -- the application-error path ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ({"status": 500}, errors.HTTP_RETRIEVAL_FAILURE),
        ({"status": 404}, errors.HTTP_RETRIEVAL_FAILURE),
        ({"content_type": "application/json"}, errors.INVALID_CONTENT_TYPE),
        ({"content_type": None}, errors.INVALID_CONTENT_TYPE),
        ({"body": "<Response><Say>unclosed</Response>"}, errors.DOCUMENT_PARSE_FAILURE),
        ({"body": "<Reply/>"}, errors.DOCUMENT_PARSE_FAILURE),
        ({"body": "<Response><Dance/></Response>"}, errors.SCHEMA_VALIDATION),
        ({"body": "<Response><Enqueue>q</Enqueue></Response>"}, errors.SCHEMA_VALIDATION),
        ({"body": '<Response><Gather timeout="0"/></Response>'}, errors.SCHEMA_VALIDATION),
        ({"body": "x" * 70_000}, errors.BODY_TOO_LARGE),
    ],
)
def test_each_kind_of_bad_answer_takes_the_application_error_path(
    answer: dict[str, object], code: int
) -> None:
    driver = Driver.make()
    driver.send(app.Started())
    body = answer.pop("body", response("<Say>fine</Say>"))
    out = driver.fetched(body, **answer)  # type: ignore[arg-type]
    said = error_path(driver, out, code)
    assert said[0] == app.Answer()


def test_no_answer_at_all_is_11200() -> None:
    driver = Driver.make()
    driver.send(app.Started())
    out = driver.done(driver.last(FetchTwiml), error="connection refused")
    error_path(driver, out, errors.HTTP_RETRIEVAL_FAILURE)


def test_a_document_that_cannot_run_tries_the_fallback() -> None:
    driver = Driver.make(FromUrl(URL, fallback_url="https://b.example.com/fb"))
    driver.send(app.Started())
    out = driver.fetched("<Response><Dance/></Response>")
    assert out[0].task.code == errors.SCHEMA_VALIDATION
    retry = out[-1].task
    assert retry.url == "https://b.example.com/fb"
    assert retry.fallback_url is None
    assert driver.document(response("<Say>Backup</Say>")) == [
        app.Answer(),
        app.Play("/wav/Backup", beep=False),
    ]


def test_a_bad_inline_document_takes_the_error_path() -> None:
    driver = Driver.make(FromTwiml("<Response><Say></Say></Response>"))
    out = driver.send(app.Started())
    error_path(driver, out, errors.SCHEMA_VALIDATION)


def test_if_even_the_error_cannot_be_said_the_call_hangs_up_unanswered() -> None:
    driver = Driver.make()
    driver.send(app.Started())
    out = driver.fetched("nope", content_type="text/xml")
    assert driver.done(out[-1].task, error="no speech engine") == [app.HangUp(status=500)]
    assert driver.app.done


def test_speech_not_ready_is_an_internal_failure() -> None:
    driver = Driver.make()
    driver.send(app.Started())
    out = driver.fetched(response("<Say>hi</Say>"))
    out = driver.done(out[-1].task, error="tts crashed")
    error_path(driver, out, errors.INTERNAL_FAILURE)


def test_a_redirect_loop_ends() -> None:
    driver = Driver.make()
    driver.send(app.Started())
    loop = response("<Redirect>/voice</Redirect>")
    for _ in range(MAX_FETCHES_WITHOUT_MEDIA - 1):
        out = driver.fetched(loop)
        assert isinstance(out[-1].task, FetchTwiml)
    out = driver.fetched(loop)
    error_path(driver, out, errors.TOO_MANY_REDIRECTS)


def test_a_hold_loop_that_never_asks_the_caller_ends() -> None:
    driver = Driver.make()
    driver.send(app.Started())
    loop = response("<Play>/hold.wav</Play>", "<Redirect>/voice</Redirect>")
    fetches = 1
    while True:
        out = driver.document(loop)
        out = driver.send(app.PlayDone())
        task = out[-1].task if isinstance(out[-1], app.RunTask) else None
        if isinstance(task, ReportError | Prepare):
            break
        fetches += 1
    assert fetches == MAX_FETCHES_WITHOUT_CALLER
    error_path(driver, out, errors.TOO_MANY_REDIRECTS)


def test_a_gather_resets_the_loop_guard() -> None:
    driver = Driver.make()
    driver.send(app.Started())
    for _ in range(3 * MAX_FETCHES_WITHOUT_MEDIA):
        driver.document(response("<Gather/>"))
        out = driver.send(app.Gathered("1", False))
        assert isinstance(out[-1].task, FetchTwiml)


# -- Calls.update ----------------------------------------------------------------------------


def test_update_drops_the_document_and_fetches_the_new_url() -> None:
    driver, _ = started(response("<Say>long</Say>", "<Say>more</Say>"))
    out = driver.app.update(FromUrl("https://other.example.com/x"))
    assert out[-1].task.url == "https://other.example.com/x"
    assert driver.send(app.PlayDone()) == []  # the old Say's end is stale


# -- a scripted IVR ---------------------------------------------------------------------------


def test_ivr_say_gather_redirect_dial_no_answer_record_hang_up() -> None:
    driver = Driver.make(record_prefix="/rec/CA1")
    driver.send(app.Started())
    out = driver.document(
        response(
            '<Gather numDigits="1" action="/choice"><Say>For sales press 1</Say></Gather>',
            "<Say>Goodbye</Say>",
        )
    )
    sales = app.Play("/wav/For sales press 1", beep=False, barge_in=True)
    assert out == [app.Answer(), app.Gather(1, 5.0, "#", prompts=(sales,))]
    choice = driver.send(app.Gathered("1", False))[-1].task
    assert (choice.url, param(choice, "Digits")) == ("https://app.example.com/choice", "1")

    out = driver.document(response("<Redirect>/sales</Redirect>"))
    assert out[-1].task.url == "https://app.example.com/sales"

    out = driver.document(
        response(
            '<Dial timeout="20" action="/dialed">+33611111111</Dial>',
        )
    )
    assert out == [app.Bridge(target="+33611111111", timeout=20.0, keep_caller=True)]
    dialed = driver.send(app.BridgeResult(480))[-1].task
    assert param(dialed, "DialCallStatus") == "no-answer"

    out = driver.document(
        response("<Say>Leave a message</Say>", '<Record maxLength="60" action="/saved"/>')
    )
    assert out == [app.Play("/wav/Leave a message", beep=False)]
    assert driver.send(app.PlayDone()) == [
        app.Record(60.0, "1234567890*#", 5.0, True, "/rec/CA1-1.wav")
    ]
    save = driver.send(app.RecordDone("/rec/CA1-1.wav", 8.0, "#"))[-1].task
    assert isinstance(save, SaveRecording)
    saved = driver.done(save, SavedRecording("RE9", "https://dialtone/RE9"))[-1].task
    assert param(saved, "RecordingSid") == "RE9"

    out = driver.document(response("<Say>Thanks</Say>", "<Hangup/>"))
    assert out == [app.Play("/wav/Thanks", beep=False)]
    assert driver.send(app.PlayDone()) == [app.HangUp()]
    assert driver.app.done
    answers = [c for c in driver.log if isinstance(c, app.Answer)]
    assert len(answers) == 1
