"""``dialtone agents``: AI agent profiles (TERMS A1), their knowledge, their call
reports (A4), as ``/v1/agents`` and ``/v1/agent-reports``. A number is routed to an
agent with ``dialtone numbers route NUMBER --kind agent --target AG…``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from dialtone.cli import support
from dialtone.cli.support import Commands, Json
from dialtone.core.errors import DialtoneError
from dialtone.services.agents import knowledge, profiles, reports
from dialtone.services.agents.profiles import ProfileChanges, Target, Window

agents_app = typer.Typer(
    cls=Commands, help="AI agents that answer calls (A1, A4).", no_args_is_help=True
)
knowledge_app = typer.Typer(
    cls=Commands, help="An agent's questions and answers.", no_args_is_help=True
)
reports_app = typer.Typer(
    cls=Commands, help="Reports of the calls agents answered.", no_args_is_help=True
)
agents_app.add_typer(knowledge_app, name="knowledge")
agents_app.add_typer(reports_app, name="reports")

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Fields --clear may empty: the optional ones (None) and the lists (empty).
CLEARABLE = (
    "sms_template",
    "calendar",
    "model",
    "hours",
    "targets",
    "extra",
)

Account = Annotated[str, typer.Option("--account", help="The account (AC…).")]
AgentId = Annotated[str, typer.Argument(help="The agent id (AG…).")]
Name = Annotated[str | None, typer.Option(help="The agent's name.")]
Business = Annotated[str | None, typer.Option(help="The business it answers for.")]
PurposeOpt = Annotated[
    str | None,
    typer.Option(
        help="sales, marketing, customer_service, technical_support or custom (the template)."
    ),
]
Greeting = Annotated[str | None, typer.Option(help="Said after the fixed AI disclosure (A2).")]
Instructions = Annotated[str | None, typer.Option(help="The behaviour prompt.")]
Language = Annotated[
    list[str] | None, typer.Option("--language", help="A language tag; repeat, first first.")
]
Voice = Annotated[str | None, typer.Option(help="The text-to-speech voice.")]
Timezone = Annotated[str | None, typer.Option(help="IANA name, e.g. Europe/Paris.")]
Hours = Annotated[
    list[str] | None,
    typer.Option("--hours", help="An opening window, e.g. 'mon 09:00-17:00'; repeat."),
]
Targets = Annotated[
    list[str] | None,
    typer.Option(
        "--target",
        help="A transfer target KIND:REF[:LABEL] (user:US…, group:RI…, number:+33…); repeat.",
    ),
]
CalendarUrl = Annotated[str | None, typer.Option(help="A CalDAV collection URL.")]
CalendarUser = Annotated[str | None, typer.Option(help="The calendar's username.")]
CalendarPassword = Annotated[
    str | None, typer.Option(help="The calendar's password (kept sealed).")
]
Minutes = Annotated[int | None, typer.Option(help="An appointment's length, 5 to 480.")]
Messages = Annotated[
    bool | None, typer.Option("--messages/--no-messages", help="Whether it takes messages.")
]
Sms = Annotated[str | None, typer.Option(help="The follow-up SMS template.")]
MaxCall = Annotated[int | None, typer.Option(help="The longest call, 30 to 3600 seconds.")]
Silence = Annotated[int | None, typer.Option(help="End of a turn after this silence (ms).")]
Dialog = Annotated[str | None, typer.Option(help="rules or llm.")]
ModelUrl = Annotated[str | None, typer.Option(help="An OpenAI-compatible endpoint.")]
Model = Annotated[str | None, typer.Option(help="The model's name.")]
ModelKey = Annotated[str | None, typer.Option(help="The model's API key (kept sealed).")]
Extra = Annotated[
    list[str] | None, typer.Option("--extra", help="A placeholder NAME=TEXT; repeat.")
]


def _window(text: str) -> Window:
    try:
        day, span = text.split()
        opens, closes = span.split("-")
    except ValueError:
        raise DialtoneError(
            "agent.invalid", f"--hours {text!r}: write e.g. 'mon 09:00-17:00'."
        ) from None
    key = day.lower()[:3]
    weekday = _DAYS.index(key) if key in _DAYS else int(day) if day.isdigit() else -1
    return Window(weekday, opens, closes)


def _target(text: str) -> Target:
    kind, _, rest = text.partition(":")
    ref, _, label = rest.partition(":")
    return Target(kind, ref, label)


def _extra(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise DialtoneError("agent.invalid", f"--extra {pair!r}: write NAME=TEXT.")
        out[name] = value
    return out


def _changes(options: dict[str, Any], clear: list[str]) -> ProfileChanges:
    """The changes the options given make (an option not given changes nothing)."""
    values: dict[str, Any] = {}
    renamed = {"target": "transfer_targets", "language": "languages", "model": "model_name"}
    readers: dict[str, Any] = {
        "hours": lambda given: [_window(v) for v in given],
        "target": lambda given: [_target(v) for v in given],
        "extra": _extra,
    }
    for name, given in options.items():
        if given is not None:
            values[renamed.get(name, name)] = readers.get(name, lambda v: v)(given)
    for name in clear:
        if name not in CLEARABLE:
            raise DialtoneError("agent.invalid", f"--clear takes {', '.join(CLEARABLE)}.")
        if name == "calendar":
            values.update(calendar_url=None, calendar_username=None, calendar_password=None)
        elif name == "model":
            values.update(model_url=None, model_name=None, model_api_key=None, dialog="rules")
        elif name == "targets":
            values["transfer_targets"] = []
        elif name == "hours":
            values["hours"] = []
        elif name == "extra":
            values["extra"] = {}
        else:
            values[name] = None
    return ProfileChanges(**values)


def _changes_or_exit(options: dict[str, Any], clear: list[str]) -> ProfileChanges:
    try:
        return _changes(options, clear)
    except DialtoneError as exc:
        raise support.fail(exc) from None


def _show(row: Any) -> None:
    typer.echo(json.dumps(profiles.described(row), indent=2, default=str, ensure_ascii=False))


def _needs_key(changes: ProfileChanges) -> bool:
    return isinstance(changes.calendar_password, str) or isinstance(changes.model_api_key, str)


@agents_app.command("create")
def agents_create(
    *,
    account: Account,
    name: Annotated[str, typer.Option(help="The agent's name.")],
    business_name: Business = None,
    purpose: PurposeOpt = None,
    greeting: Greeting = None,
    instructions: Instructions = None,
    language: Language = None,
    voice: Voice = None,
    timezone: Timezone = None,
    hours: Hours = None,
    target: Targets = None,
    calendar_url: CalendarUrl = None,
    calendar_username: CalendarUser = None,
    calendar_password: CalendarPassword = None,
    appointment_minutes: Minutes = None,
    messages: Messages = None,
    sms_template: Sms = None,
    max_call_seconds: MaxCall = None,
    end_silence_ms: Silence = None,
    dialog: Dialog = None,
    model_url: ModelUrl = None,
    model: Model = None,
    model_api_key: ModelKey = None,
    extra: Extra = None,
) -> None:
    """Create an agent from its purpose's template (A1); prints its id. Secrets are kept
    sealed with the platform's key and never shown."""
    options = dict(locals())
    options.pop("account")
    options["take_messages"] = options.pop("messages")
    changes = _changes_or_exit(options, [])
    settings = support.settings_or_exit()
    with support.session(settings, "agents create") as session:
        row = profiles.create_profile(
            session,
            account,
            changes,
            now=datetime.now(UTC),
            key=settings.sealing_key() if _needs_key(changes) else None,
        )
    typer.echo(f"agent_id: {row.id}")


@agents_app.command("update")
def agents_update(
    agent_id: AgentId,
    *,
    account: Account,
    name: Name = None,
    business_name: Business = None,
    purpose: PurposeOpt = None,
    greeting: Greeting = None,
    instructions: Instructions = None,
    language: Language = None,
    voice: Voice = None,
    timezone: Timezone = None,
    hours: Hours = None,
    target: Targets = None,
    calendar_url: CalendarUrl = None,
    calendar_username: CalendarUser = None,
    calendar_password: CalendarPassword = None,
    appointment_minutes: Minutes = None,
    messages: Messages = None,
    sms_template: Sms = None,
    max_call_seconds: MaxCall = None,
    end_silence_ms: Silence = None,
    dialog: Dialog = None,
    model_url: ModelUrl = None,
    model: Model = None,
    model_api_key: ModelKey = None,
    extra: Extra = None,
    clear: Annotated[
        list[str] | None,
        typer.Option(help=f"Empty one of: {', '.join(CLEARABLE)}; repeat."),
    ] = None,
) -> None:
    """Change what the options give (the rest stays); --clear empties a field."""
    options = dict(locals())
    for taken in ("agent_id", "account", "clear"):
        options.pop(taken)
    options["take_messages"] = options.pop("messages")
    changes = _changes_or_exit(options, clear or [])
    settings = support.settings_or_exit()
    with support.session(settings, "agents update") as session:
        row = profiles.update_profile(
            session,
            account,
            agent_id,
            changes,
            now=datetime.now(UTC),
            key=settings.sealing_key() if _needs_key(changes) else None,
        )
        _show(row)


@agents_app.command("show")
def agents_show(agent_id: AgentId, *, account: Account) -> None:
    """One agent as JSON (secrets only as whether they are set)."""
    with support.session(action="agents show") as session:
        _show(profiles.get_profile(session, account, agent_id))


@agents_app.command("list")
def agents_list(*, account: Account, as_json: Json = False) -> None:
    """The account's agents."""
    with support.session(action="agents list") as session:
        rows = profiles.list_profiles(session, account)
        if as_json:
            typer.echo(
                json.dumps(
                    [profiles.described(r) for r in rows], indent=2, default=str, ensure_ascii=False
                )
            )
            return
        for row in rows:
            typer.echo(f"{row.id}  {row.purpose:17}  {row.dialog:5}  {row.name}")


@agents_app.command("delete")
def agents_delete(agent_id: AgentId, *, account: Account) -> None:
    """Delete an agent and its knowledge; numbers routed to it go back to their greeting
    (N10); its call reports stay."""
    with support.session(action="agents delete") as session:
        released = profiles.delete_profile(session, account, agent_id)
    typer.echo(f"deleted {agent_id}")
    for number in released:
        typer.echo(f"{number} -> greeting")


@knowledge_app.command("import")
def knowledge_import(
    agent_id: AgentId,
    file: Annotated[Path, typer.Argument(help="A CSV file with a question,answer header.")],
    *,
    account: Account,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace the agent's entries.")
    ] = False,
) -> None:
    """Import a CSV file, all or nothing: a bad row refuses the file, and each bad row
    is listed with its line."""
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise support.fail(DialtoneError("agent.csv_invalid", f"{file}: {exc}")) from None
    with support.session(action="agents knowledge import") as session:
        rows = knowledge.import_csv(
            session, account, agent_id, text, now=datetime.now(UTC), replace=replace
        )
    typer.echo(f"imported {len(rows)} entries")


@knowledge_app.command("list")
def knowledge_list(agent_id: AgentId, *, account: Account, as_json: Json = False) -> None:
    """The agent's questions and answers, in order."""
    with support.session(action="agents knowledge list") as session:
        rows = knowledge.list_entries(session, account, agent_id)
        if as_json:
            support.print_json(rows)
            return
        for row in rows:
            typer.echo(f"{row.id}  {row.question}  ->  {row.answer}")


@knowledge_app.command("add")
def knowledge_add(
    agent_id: AgentId,
    *,
    account: Account,
    question: Annotated[str, typer.Option(help="What a caller may ask.")],
    answer: Annotated[str, typer.Option(help="What the agent answers.")],
) -> None:
    """Add one question and its answer."""
    with support.session(action="agents knowledge add") as session:
        row = knowledge.add_entry(
            session, account, agent_id, question=question, answer=answer, now=datetime.now(UTC)
        )
    typer.echo(f"entry_id: {row.id}")


@knowledge_app.command("delete")
def knowledge_delete(
    agent_id: AgentId,
    entry_id: Annotated[str, typer.Argument(help="The entry id (AK…).")],
    *,
    account: Account,
) -> None:
    """Delete one entry."""
    with support.session(action="agents knowledge delete") as session:
        knowledge.delete_entry(session, account, agent_id, entry_id)
    typer.echo(f"deleted {entry_id}")


@reports_app.command("list")
def reports_list(
    *,
    account: Account,
    agent: Annotated[str | None, typer.Option(help="One agent's (AG…).")] = None,
    outcome: Annotated[
        str | None, typer.Option(help="booked, message, transferred, answered or abandoned.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    as_json: Json = False,
) -> None:
    """The account's agent call reports, newest call first."""
    with support.session(action="agents reports list") as session:
        rows, _ = reports.list_reports(
            session, account, agent_id=agent, outcome=outcome, limit=limit
        )
        if as_json:
            typer.echo(
                json.dumps(
                    [reports.described(r) for r in rows], indent=2, default=str, ensure_ascii=False
                )
            )
            return
        for row in rows:
            typer.echo(
                f"{row.id}  {row.started_at:%Y-%m-%d %H:%M}  {row.agent_id}  "
                f"{row.outcome:11}  {row.summary}"
            )


@reports_app.command("show")
def reports_show(
    report_id: Annotated[str, typer.Argument(help="The report id (AR…).")],
    *,
    account: Account,
) -> None:
    """One report as JSON: transcript, summary, outcome, latencies (labelled, A4)."""
    with support.session(action="agents reports show") as session:
        row = reports.get_report(session, account, report_id)
        typer.echo(json.dumps(reports.described(row), indent=2, default=str, ensure_ascii=False))
