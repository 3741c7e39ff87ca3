"""Drive a TwimlApplication by hand: events in, commands out, tasks answered with fakes
(no runtime, no HTTP)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dialtone.call import application as app
from dialtone.twiml.interpreter import FromTwiml, FromUrl, StartFrom, TwimlApplication
from dialtone.twiml.params import CallParams, Direction
from dialtone.twiml.tasks import Fetched, FetchTwiml, Prepare, Speech

URL = "https://app.example.com/voice"


def call(direction: Direction = "inbound") -> CallParams:
    return CallParams(
        account_sid="AC" + "a" * 32,
        call_sid="CA" + "b" * 32,
        from_="+33612345678",
        to="+33187654321",
        direction=direction,
        from_country="FR",
        to_country="FR",
    )


def wav(key: Speech | str) -> str:
    return f"/wav/{key.text if isinstance(key, Speech) else key.rsplit('/', 1)[-1]}"


@dataclass
class Driver:
    app: TwimlApplication
    log: list[app.Command] = field(default_factory=list)
    tasks: list[object] = field(default_factory=list)

    @classmethod
    def make(
        cls,
        first: StartFrom | None = None,
        direction: Direction = "inbound",
        record_prefix: str | None = None,
    ) -> Driver:
        start = first or FromUrl(URL)
        return cls(TwimlApplication(call(direction), start, record_prefix=record_prefix))

    def send(self, event: app.AppEvent) -> list[app.Command]:
        out = list(self.app.on_event(event))
        self.log.extend(out)
        self.tasks.extend(c.task for c in out if isinstance(c, app.RunTask))
        return out

    def last(self, kind: type) -> Any:
        for task in reversed(self.tasks):
            if isinstance(task, kind):
                return task
        raise AssertionError(f"no {kind.__name__} asked")

    def done(
        self, task: object, result: object = None, error: str | None = None
    ) -> list[app.Command]:
        return self.send(app.TaskDone(task, result, error))

    def fetched(
        self,
        body: str | bytes,
        *,
        status: int = 200,
        content_type: str | None = "text/xml",
        url: str | None = None,
    ) -> list[app.Command]:
        task = self.last(FetchTwiml)
        return self.done(task, Fetched(url or task.url, status, content_type, body))

    def prepare(self, missing: tuple[Speech | str, ...] = ()) -> list[app.Command]:
        task = self.last(Prepare)
        files = {key: wav(key) for key in (*task.says, *task.plays) if key not in missing}
        return self.done(task, files)

    def document(self, twiml: str, **fetched: Any) -> list[app.Command]:
        """Answer the pending fetch with ``twiml``; its media prepared when asked."""
        out = self.fetched(twiml, **fetched)
        if out and isinstance(out[-1], app.RunTask) and isinstance(out[-1].task, Prepare):
            return self.prepare()
        return out


def response(*verbs: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?><Response>' + "".join(verbs) + "</Response>"


def started(
    twiml: str, direction: Direction = "inbound", **kw: Any
) -> tuple[Driver, list[app.Command]]:
    """A call whose first document is ``twiml``, fetched and prepared."""
    driver = Driver.make(direction=direction, **kw)
    driver.send(app.Started())
    return driver, driver.document(twiml)


def inline(twiml: str) -> tuple[Driver, list[app.Command]]:
    driver = Driver.make(FromTwiml(twiml))
    out = driver.send(app.Started())
    if out and isinstance(out[-1], app.RunTask) and isinstance(out[-1].task, Prepare):
        out = driver.prepare()
    return driver, out


def param(task: FetchTwiml, name: str) -> str | None:
    return dict(task.params).get(name)
