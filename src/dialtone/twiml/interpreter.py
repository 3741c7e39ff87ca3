"""A voice TwiML document run as a call application (call/application.py).

``TwimlApplication`` fetches the first document (or takes the one given inline), has
its speech and audio made ready in one ``Prepare``, then runs its verbs in order as
call commands, as Twilio documents them: the caller is answered before the first verb
that needs media (``<Pause>`` first delays the answer, ``<Reject>`` never answers,
``<Dial answerOnBridge>`` answers on the bridge); ``<Gather>``, ``<Dial>``,
``<Record>`` and ``<Connect>`` end in their ``action`` (or the next verb), ``<Redirect>``
fetches the next document, the end of a document hangs up.

One command that waits is out at a time; the application expects its event (a
``TaskDone`` for that very task) and ignores anything else, so an event of a command
it no longer cares about (a ``ReportError`` done, a stale ``PlayDone``) changes nothing.

When a document cannot run (not fetched, not 2xx, wrong Content-Type, not TwiML, a
chain of documents that loops), the caller hears "An application error has occurred.",
the error is reported with Twilio's code (``ReportError``) and the call hangs up: the
same outcome for every kind of error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urljoin

from dialtone.call import application as app
from dialtone.twiml import errors
from dialtone.twiml import params as p
from dialtone.twiml import verbs as v
from dialtone.twiml.errors import TwimlError
from dialtone.twiml.parse import MAX_LOOP, MAX_SAY_CHARS, content_kind, parse_voice
from dialtone.twiml.tasks import (
    Fetched,
    FetchTwiml,
    Notify,
    Prepare,
    ReportError,
    SavedRecording,
    SaveRecording,
    Speech,
)

ERROR_SPEECH = Speech("An application error has occurred.")

# A chain of documents must come to something. Documents fetched in a row with nothing
# heard in between (Redirect to Redirect) stop at the first bound; documents fetched
# without the caller being asked anything (a Say or Play then Redirect, for ever) at
# the second: a hold loop of a 30-second clip lasts 50 minutes. Both end the call by
# the application-error path (11215).
MAX_FETCHES_WITHOUT_MEDIA = 10
MAX_FETCHES_WITHOUT_CALLER = 100

# <Gather> without numDigits: "unlimited", i.e. until finishOnKey or the timeout.
UNLIMITED_DIGITS = 1000

# DialCallStatus from the SIP status a failed bridge ends with. A decline reads as
# busy, as a phone's reject button does at Twilio.
_DIAL_STATUS: dict[int, p.DialCallStatus] = {
    486: "busy",
    600: "busy",
    603: "busy",
    408: "no-answer",
    480: "no-answer",
    487: "canceled",
}

Then = Callable[[app.AppEvent], list[app.Command]]


@dataclass(frozen=True, slots=True)
class FromUrl:
    """Start by fetching ``url`` (a number's VoiceUrl, Calls.create's Url)."""

    url: str
    method: v.Method = "POST"
    fallback_url: str | None = None
    fallback_method: v.Method = "POST"


@dataclass(frozen=True, slots=True)
class FromTwiml:
    """Start with this document (Calls.create's Twiml=): it has no URL, so a Gather or
    Record without ``action`` goes on to the next verb."""

    document: str


StartFrom = FromUrl | FromTwiml


@dataclass(frozen=True, slots=True)
class _Expect:
    kind: type
    task: object | None
    then: Then


@dataclass(slots=True)
class TwimlApplication:
    """The TwiML interpreter for one call: ``call`` holds its Twilio parameters,
    ``first`` how it starts. ``record_prefix`` names ``<Record>``'s files
    (``<prefix>-<n>.wav``; None: the call's own message file)."""

    call: p.CallParams
    first: StartFrom
    record_prefix: str | None = None
    _answered: bool = field(init=False, default=False)
    _hung_up: bool = field(init=False, default=False)
    _done: bool = field(init=False, default=False)
    _started: bool = field(init=False, default=False)
    _failing: bool = field(init=False, default=False)
    _expect: _Expect | None = field(init=False, default=None)
    _verbs: list[v.VoiceVerb] = field(init=False, default_factory=list)
    _doc_url: str | None = field(init=False, default=None)
    _prepared: Mapping[Speech | str, str] = field(init=False, default_factory=dict)
    _prompts: list[app.Command] = field(init=False, default_factory=list)
    _quiet_fetches: int = field(init=False, default=0)
    _idle_fetches: int = field(init=False, default=0)
    _records: int = field(init=False, default=0)
    _refused_with: int | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        # A call placed over the API runs its document once the callee has answered.
        self._answered = self.call.direction != "inbound"

    # -- the application interface ------------------------------------------------------

    def on_event(self, event: app.AppEvent) -> Sequence[app.Command]:
        """Events in, commands out (call/application.py)."""
        if isinstance(event, app.FarEndHungUp):
            self._hung_up = True
            self._expect = None
            self._done = True
            return []
        if isinstance(event, app.Started):
            if self._started:
                return []
            self._started = True
            return self._begin(self.first)
        expect = self._expect
        if expect is None or not isinstance(event, expect.kind):
            return []
        if isinstance(event, app.TaskDone) and event.task != expect.task:
            return []
        self._expect = None
        return expect.then(event)

    def update(self, first: StartFrom) -> list[app.Command]:
        """Calls.update with Url or Twiml: drop the document and start again from
        ``first``. The runtime ends whatever command runs now; its event is ignored."""
        if self._done or self._hung_up:
            return []
        self._expect = None
        self._verbs = []
        self._prompts = []
        self._failing = False
        return self._begin(first)

    @property
    def done(self) -> bool:
        """The application has nothing more to do on this call."""
        return self._done

    # -- documents ----------------------------------------------------------------------

    def _begin(self, first: StartFrom) -> list[app.Command]:
        if isinstance(first, FromTwiml):
            try:
                verbs = parse_voice(first.document).verbs
            except TwimlError as error:
                return self._fail(error.code, error.message, None)
            self._doc_url = None
            return self._start_document(verbs)
        return self._fetch(
            first.url,
            first.method,
            {},
            fallback_url=first.fallback_url,
            fallback_method=first.fallback_method,
        )

    def _status(self) -> p.CallStatus:
        if self._hung_up:
            return "completed"
        return "in-progress" if self._answered else "ringing"

    def _resolve(self, url: str) -> str:
        return urljoin(self._doc_url, url) if self._doc_url else url

    def _fetch(
        self,
        url: str,
        method: v.Method,
        extra: Mapping[str, str],
        *,
        fallback_url: str | None = None,
        fallback_method: v.Method = "POST",
    ) -> list[app.Command]:
        self._quiet_fetches += 1
        self._idle_fetches += 1
        target = self._resolve(url)
        if self._quiet_fetches > MAX_FETCHES_WITHOUT_MEDIA:
            return self._fail(
                errors.TOO_MANY_REDIRECTS,
                f"{MAX_FETCHES_WITHOUT_MEDIA} documents in a row played nothing",
                target,
            )
        if self._idle_fetches > MAX_FETCHES_WITHOUT_CALLER:
            return self._fail(
                errors.TOO_MANY_REDIRECTS,
                f"{MAX_FETCHES_WITHOUT_CALLER} documents in a row asked nothing of the caller",
                target,
            )
        params = {**p.voice_request(self.call, self._status()), **extra}
        task = FetchTwiml(
            url=target,
            method=method,
            params=tuple(params.items()),
            fallback_url=self._resolve(fallback_url) if fallback_url else None,
            fallback_method=fallback_method,
        )
        return self._run(task, lambda event: self._on_fetched(task, event))

    def _on_fetched(self, task: FetchTwiml, event: app.AppEvent) -> list[app.Command]:
        assert isinstance(event, app.TaskDone)
        if self._hung_up:
            # An action requested after the caller left (a <Record>'s): its document
            # has no call to run on.
            self._done = True
            return []
        if event.error is not None:
            return self._fail(errors.HTTP_RETRIEVAL_FAILURE, f"{event.error}", task.url)
        fetched = event.result
        if not isinstance(fetched, Fetched):
            return self._fail(errors.INTERNAL_FAILURE, "the fetch gave no document", task.url)
        if not 200 <= fetched.status < 300:
            return self._fail(
                errors.HTTP_RETRIEVAL_FAILURE, f"the answer was HTTP {fetched.status}", fetched.url
            )
        try:
            verbs = _document(fetched)
        except TwimlError as error:
            if task.fallback_url and fetched.url != task.fallback_url:
                # Twilio's fallback also covers a document that cannot be run.
                retry = FetchTwiml(task.fallback_url, task.fallback_method, task.params)
                report = app.RunTask(ReportError(error.code, error.message, fetched.url))
                return [report, *self._run(retry, lambda e: self._on_fetched(retry, e))]
            return self._fail(error.code, error.message, fetched.url)
        self._doc_url = fetched.url
        return self._start_document(verbs)

    def _start_document(self, verbs: Sequence[v.VoiceVerb]) -> list[app.Command]:
        self._verbs = list(verbs)
        says, plays = self._media_of(verbs)
        if not says and not plays:
            self._prepared = {}
            return self._next()
        return self._run(Prepare(says, plays), self._on_prepared)

    def _media_of(self, verbs: Sequence[v.VoiceVerb]) -> tuple[tuple[Speech, ...], tuple[str, ...]]:
        says: dict[Speech, None] = {}
        plays: dict[str, None] = {}
        for verb in verbs:
            for prompt in verb.children if isinstance(verb, v.Gather) else (verb,):
                if isinstance(prompt, v.Say):
                    says[_speech(prompt)] = None
                elif isinstance(prompt, v.Play) and prompt.url is not None:
                    plays[self._resolve(prompt.url)] = None
        return tuple(says), tuple(plays)

    def _on_prepared(self, event: app.AppEvent) -> list[app.Command]:
        assert isinstance(event, app.TaskDone)
        if event.error is not None or not isinstance(event.result, Mapping):
            why = event.error or "no files"
            return self._fail(errors.INTERNAL_FAILURE, f"speech and audio not ready: {why}", None)
        self._prepared = event.result
        return self._next()

    def _next(self) -> list[app.Command]:
        out: list[app.Command] = []
        while self._verbs and not self._failing:
            out.extend(self._verb(self._verbs.pop(0)))
            if self._expect is not None or self._done:
                return out
        if self._failing or self._done:
            return out
        # The end of the document: Twilio hangs up. A caller never answered because a
        # <Dial answerOnBridge> failed hears how it failed (busy, no answer).
        if not self._answered and self._refused_with is not None:
            return [*out, *self._finish([app.HangUp(status=self._refused_with)])]
        return [*out, *self._finish([*self._answer(), app.HangUp()])]

    def _after(self, _event: app.AppEvent) -> list[app.Command]:
        return self._next()

    # -- verbs --------------------------------------------------------------------------

    def _verb(self, verb: v.VoiceVerb) -> list[app.Command]:
        if isinstance(verb, v.Say | v.Play):
            self._quiet_fetches = 0
            return self._prompt_verb(verb)
        if isinstance(verb, v.Pause):
            self._quiet_fetches = 0
            return self._wait([app.Pause(float(verb.length))], app.Paused, self._after)
        if isinstance(verb, v.Gather):
            return self._gather(verb)
        if isinstance(verb, v.Dial):
            return self._dial(verb)
        if isinstance(verb, v.Record):
            return self._record(verb)
        if isinstance(verb, v.Hangup):
            return self._finish([*self._answer(), app.HangUp()])
        if isinstance(verb, v.Reject):
            if self._answered:
                return self._finish([app.HangUp()])
            return self._finish([app.HangUp(status=486 if verb.reason == "busy" else 603)])
        if isinstance(verb, v.Redirect):
            return self._fetch(verb.url, verb.method, {})
        if isinstance(verb, v.Connect):
            return self._connect(verb)
        if isinstance(verb, v.Start):
            stream = _stream(verb.stream, connect=False)
            return [*self._answer(), stream]
        assert isinstance(verb, v.Stop)
        return [app.StopStream(verb.name)]

    def _prompt_verb(self, verb: v.Say | v.Play) -> list[app.Command]:
        commands, warnings = self._prompt(verb, barge_in=False)
        if not commands:
            return warnings
        self._prompts = commands[1:]
        return self._wait([*warnings, *self._answer(), commands[0]], app.PlayDone, self._more)

    def _more(self, _event: app.AppEvent) -> list[app.Command]:
        if not self._prompts:
            return self._next()
        command = self._prompts.pop(0)
        return self._wait([command], app.PlayDone, self._more)

    def _prompt(
        self, verb: v.Prompt, *, barge_in: bool
    ) -> tuple[list[app.Command], list[app.Command]]:
        """The commands that play one prompt, and the notices of what could not be."""
        if isinstance(verb, v.Pause):
            return [app.Pause(float(verb.length))], []
        if isinstance(verb, v.Say):
            path = self._prepared.get(_speech(verb))
            if path is None:
                return [], [self._warn(errors.INTERNAL_FAILURE, f"no speech for {verb.text!r}")]
            return [app.Play(path, beep=False, loop=_loop(verb.loop), barge_in=barge_in)], []
        commands: list[app.Command] = []
        warnings: list[app.Command] = []
        if verb.digits:
            commands.append(app.SendDigits(verb.digits))
        if verb.url is not None:
            url = self._resolve(verb.url)
            path = self._prepared.get(url)
            if path is None:
                warnings.append(self._warn(errors.HTTP_RETRIEVAL_FAILURE, f"<Play> {url}"))
            else:
                commands.append(
                    app.Play(path, beep=False, loop=_loop(verb.loop), barge_in=barge_in)
                )
        return commands, warnings

    def _gather(self, verb: v.Gather) -> list[app.Command]:
        self._quiet_fetches = 0
        prompts: list[app.Command] = []
        warnings: list[app.Command] = []
        for child in verb.children:
            commands, notices = self._prompt(child, barge_in=verb.barge_in)
            prompts.extend(commands)
            warnings.extend(notices)
        if verb.barge_in and all(isinstance(c, app.Play | app.Pause) for c in prompts):
            # The Gather plays its prompts itself: input counts (and speech is heard)
            # from the first one, and stops them.
            nested = tuple(c for c in prompts if isinstance(c, app.Play | app.Pause))
            return [*warnings, *self._answer(), *self._gather_prompts(verb, nested)]
        # bargeIn="false" (or digits to send): the prompts play whole, then the Gather.
        self._prompts = prompts
        return [*warnings, *self._answer(), *self._gather_prompts(verb)]

    def _gather_prompts(
        self, verb: v.Gather, nested: tuple[app.Play | app.Pause, ...] = ()
    ) -> list[app.Command]:
        if self._prompts:
            command = self._prompts.pop(0)
            done = app.Paused if isinstance(command, app.Pause) else app.PlayDone
            return self._wait([command], done, lambda e: self._prompted(verb, e))
        listen = None
        if "speech" in verb.input:
            listen = app.Listen(verb.language, verb.speech_timeout, verb.hints)
        command = app.Gather(
            count=verb.num_digits or UNLIMITED_DIGITS,
            timeout=float(verb.timeout),
            # Speech alone: no key ends the listening (the interface cannot turn the
            # keypad off; the digits are dropped below).
            finish_key=(verb.finish_on_key or None) if "dtmf" in verb.input else None,
            speech=listen,
            prompts=nested,
        )
        return self._wait([command], app.Gathered, lambda e: self._gathered(verb, e))

    def _prompted(self, verb: v.Gather, event: app.AppEvent) -> list[app.Command]:
        if isinstance(event, app.PlayDone) and not event.completed:
            # The caller barged in: the other prompts are not played (the key pressed
            # is kept for the Gather by the call).
            self._prompts = []
        return self._gather_prompts(verb)

    def _gathered(self, verb: v.Gather, event: app.AppEvent) -> list[app.Command]:
        assert isinstance(event, app.Gathered)
        self._idle_fetches = 0
        digits = event.digits if "dtmf" in verb.input else ""
        speech = event.speech if "speech" in verb.input and event.speech else None
        action = verb.action or self._doc_url
        if action is not None and (digits or speech):
            result = p.gather_result(digits, speech, event.confidence)
            return self._fetch(action, verb.method, result)
        if action is not None and verb.action_on_empty_result:
            return self._fetch(action, verb.method, {})
        return self._next()

    def _dial(self, verb: v.Dial) -> list[app.Command]:
        self._quiet_fetches = 0
        self._idle_fetches = 0
        # Several nouns would ring in parallel at Twilio; Bridge rings one target, the
        # first (docs/twiml.md).
        noun = verb.nouns[0]
        target = _target(noun)
        bridge = app.Bridge(
            target=target,
            timeout=float(verb.timeout),
            caller_id=verb.caller_id,
            record=verb.record,
            keep_caller=True,
        )
        answer = [] if verb.answer_on_bridge else self._answer()
        notices = self._leg_notice(verb, noun, "initiated", "initiated")
        return self._wait(
            [*answer, *notices, bridge], app.BridgeResult, lambda e: self._bridged(verb, noun, e)
        )

    def _bridged(self, verb: v.Dial, noun: v.Noun, event: app.AppEvent) -> list[app.Command]:
        assert isinstance(event, app.BridgeResult)
        if 200 <= event.status < 300:
            # answerOnBridge: the call answered the caller with the callee.
            self._answered = True
            notices = self._leg_notice(verb, noun, "answered", "in-progress")
            return self._wait(notices, app.BridgeEnded, lambda e: self._dialled(verb, noun, e))
        status = _DIAL_STATUS.get(event.status, "failed")
        self._refused_with = event.status
        return self._dial_done(verb, noun, status, 0.0)

    def _dialled(self, verb: v.Dial, noun: v.Noun, event: app.AppEvent) -> list[app.Command]:
        assert isinstance(event, app.BridgeEnded)
        return self._dial_done(verb, noun, "completed", event.seconds)

    def _dial_done(
        self, verb: v.Dial, noun: v.Noun, status: p.DialCallStatus, seconds: float
    ) -> list[app.Command]:
        notices = self._leg_notice(verb, noun, "completed", status, seconds)
        if verb.action is not None:
            return [
                *notices,
                *self._fetch(verb.action, verb.method, p.dial_result(status, seconds)),
            ]
        return [*notices, *self._next()]

    def _leg_notice(
        self,
        verb: v.Dial,
        noun: v.Noun,
        event: str,
        status: str,
        seconds: float | None = None,
    ) -> list[app.Command]:
        """A Dial noun's statusCallback, for the events it asked for (default:
        completed). The dialled leg has no SID the application knows: ``CallSid`` is
        left out, ``ParentCallSid`` names the call."""
        if noun.status_callback is None:
            return []
        if event not in (noun.status_callback_event or {"completed"}):
            return []
        params = p.dial_leg_status(
            self.call, _target(noun), verb.caller_id, status, seconds=seconds
        )
        notify = Notify(
            self._resolve(noun.status_callback), noun.status_callback_method, tuple(params.items())
        )
        return [app.RunTask(notify)]

    def _record(self, verb: v.Record) -> list[app.Command]:
        self._quiet_fetches = 0
        self._idle_fetches = 0
        self._records += 1
        path = f"{self.record_prefix}-{self._records}.wav" if self.record_prefix else None
        command = app.Record(
            max_seconds=float(verb.max_length),
            finish_key=verb.finish_on_key or None,
            silence=float(verb.timeout) or None,
            beep=verb.play_beep,
            path=path,
        )
        return self._wait(
            [*self._answer(), command], app.RecordDone, lambda e: self._recorded(verb, e)
        )

    def _recorded(self, verb: v.Record, event: app.AppEvent) -> list[app.Command]:
        assert isinstance(event, app.RecordDone)
        # The call gives RecordDone(digit="hangup") when the caller hangs up during the
        # recording, then FarEndHungUp; what is asked then still runs, but no answer
        # comes back.
        hung_up = self._hung_up or event.digit == "hangup"
        if event.path is None or event.seconds <= 0:
            # Twilio: an empty recording requests no action; the document goes on.
            notices = self._recording_notice(verb, "absent")
            return self._finish(notices) if hung_up else [*notices, *self._next()]
        action = verb.action or self._doc_url
        after_hangup = None
        if hung_up and action is not None:
            # Twilio still requests the action; its document has no call to run on.
            params = {
                **p.voice_request(self.call, "completed"),
                "RecordingDuration": str(round(event.seconds)),
                "Digits": "hangup",
            }
            after_hangup = FetchTwiml(self._resolve(action), verb.method, tuple(params.items()))
        task = SaveRecording(
            path=event.path,
            seconds=event.seconds,
            call_sid=self.call.call_sid,
            trim=verb.trim == "trim-silence",
            transcribe=verb.transcribe,
            transcribe_callback=(
                self._resolve(verb.transcribe_callback) if verb.transcribe_callback else None
            ),
            status_callback=self._recording_callback(verb, "completed", seconds=event.seconds),
            action=after_hangup,
        )
        if hung_up:
            return self._finish([app.RunTask(task)])
        return self._run(task, lambda e: self._saved(verb, event, e))

    def _saved(
        self, verb: v.Record, recorded: app.RecordDone, event: app.AppEvent
    ) -> list[app.Command]:
        assert isinstance(event, app.TaskDone)
        saved = event.result
        if event.error is not None or not _is_saved(saved):
            return self._fail(errors.INTERNAL_FAILURE, f"recording not saved: {event.error}", None)
        sid, url = cast(SavedRecording, saved)
        action = verb.action or self._doc_url
        if action is None:
            return self._next()
        result = p.record_result(url, sid, recorded.seconds, recorded.digit or None)
        return self._fetch(action, verb.method, result)

    def _recording_notice(self, verb: v.Record, status: str) -> list[app.Command]:
        notify = self._recording_callback(verb, status)
        return [app.RunTask(notify)] if notify is not None else []

    def _recording_callback(
        self, verb: v.Record, status: str, *, seconds: float | None = None
    ) -> Notify | None:
        """The recordingStatusCallback for ``status`` when asked for. For "completed"
        it rides on SaveRecording, which adds RecordingSid and RecordingUrl."""
        callback = verb.recording_status_callback
        if callback is None or status not in verb.recording_status_callback_event:
            return None
        params = p.recording_status(
            self.call, "completed" if status == "completed" else "absent", seconds=seconds
        )
        return Notify(
            self._resolve(callback), verb.recording_status_callback_method, tuple(params.items())
        )

    def _connect(self, verb: v.Connect) -> list[app.Command]:
        self._quiet_fetches = 0
        self._idle_fetches = 0
        stream = _stream(verb.stream, connect=True)

        def ended(_event: app.AppEvent) -> list[app.Command]:
            if verb.action is not None:
                return self._fetch(verb.action, verb.method, {})
            return self._next()

        return self._wait([*self._answer(), stream], app.StreamEnded, ended)

    # -- plumbing -----------------------------------------------------------------------

    def _answer(self) -> list[app.Command]:
        if self._answered:
            return []
        self._answered = True
        return [app.Answer()]

    def _wait(self, commands: list[app.Command], kind: type, then: Then) -> list[app.Command]:
        self._expect = _Expect(kind, None, then)
        return commands

    def _run(self, task: object, then: Then) -> list[app.Command]:
        self._expect = _Expect(app.TaskDone, task, then)
        return [app.RunTask(task)]

    def _finish(self, commands: list[app.Command]) -> list[app.Command]:
        self._done = True
        self._expect = None
        self._verbs = []
        return commands

    def _warn(self, code: int, message: str) -> app.Command:
        return app.RunTask(ReportError(code, message, self._doc_url))

    def _fail(self, code: int, message: str, url: str | None) -> list[app.Command]:
        """The application-error path: report, say so, hang up."""
        report = app.RunTask(ReportError(code, message, url))
        if self._hung_up or self._failing:
            return self._finish([report])
        self._failing = True
        self._verbs = []
        self._prompts = []
        return [report, *self._run(Prepare(says=(ERROR_SPEECH,)), self._error_prepared)]

    def _error_prepared(self, event: app.AppEvent) -> list[app.Command]:
        assert isinstance(event, app.TaskDone)
        result = event.result
        path = result.get(ERROR_SPEECH) if isinstance(result, Mapping) else None
        if path is None:
            # Not even the error can be said: hang up (a caller not answered gets 500).
            return self._finish([app.HangUp(status=500)])
        play = app.Play(path, beep=False)
        return self._wait(
            [*self._answer(), play], app.PlayDone, lambda _e: self._finish([app.HangUp()])
        )


def _document(fetched: Fetched) -> tuple[v.VoiceVerb, ...]:
    """A fetched answer's verbs, as Twilio reads each Content-Type: TwiML; plain text
    said, then the end; audio played, then the end."""
    kind = content_kind(fetched.content_type)
    if kind == "twiml":
        return parse_voice(fetched.body).verbs
    if kind == "audio":
        return (v.Play(url=fetched.url),)
    body = fetched.body
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    words = " ".join(text.split())[:MAX_SAY_CHARS]
    return (v.Say(words),) if words else ()


def _speech(say: v.Say) -> Speech:
    return Speech(say.text, say.voice, say.language)


def _loop(loop: int) -> int:
    """TwiML's loop="0" (until the caller hangs up), bounded as Twilio bounds it."""
    return MAX_LOOP if loop == 0 else loop


def _target(noun: v.Noun) -> str:
    """Bridge's target: the number as written, the SIP URI, ``client:<identity>``."""
    if isinstance(noun, v.Number):
        return noun.number
    if isinstance(noun, v.Sip):
        return noun.uri
    return f"client:{noun.identity}"


def _stream(stream: v.Stream, *, connect: bool) -> app.Stream:
    assert stream.url is not None
    return app.Stream(
        url=stream.url,
        name=stream.name,
        track=stream.track,
        parameters=stream.parameters,
        connect=connect,
    )


def _is_saved(result: object) -> bool:
    return (
        isinstance(result, tuple)
        and len(result) == 2
        and all(isinstance(part, str) and part for part in result)
    )


def _conforms(application: TwimlApplication) -> app.Application:
    """mypy checks here that the interpreter is a call application."""
    return application
