"""``dialtone sla``: incidents and health checks for SLA credits (S1, S4)."""

from __future__ import annotations

from typing import Annotated

import typer

from dialtone.cli.support import (
    Commands,
    Json,
    Now,
    moment,
    print_json,
    session,
    settings_or_exit,
)
from dialtone.services.billing import sla as sla_service

sla_app = typer.Typer(
    cls=Commands, help="Incidents and health checks for SLA credits (S1, S4).", no_args_is_help=True
)


@sla_app.command("incident")
def sla_incident(
    location: str,
    start: Annotated[str, typer.Option(help="ISO")],
    end: Annotated[str | None, typer.Option(help="ISO; none while it lasts")] = None,
    cause: Annotated[str, typer.Option(help="platform, maintenance, third_party_carrier…")] = (
        "platform"
    ),
    note: Annotated[str, typer.Option()] = "",
    now: Now = None,
) -> None:
    """Record downtime at a location (S4: incidents are reported 24/7)."""
    with session(action="sla incident") as s:
        row = sla_service.report_incident(
            s, location=location, start=moment(start, "--start"),
            end=moment(end, "--end") if end else None, cause=cause, now=moment(now), note=note,
        )  # fmt: skip
        typer.echo(f"{row.id}  {row.location}  {row.start}  {row.end or 'open'}  {row.cause}")


@sla_app.command("incidents")
def sla_incidents(
    location: Annotated[str | None, typer.Option()] = None, as_json: Json = False
) -> None:
    """The latest incidents, newest first."""
    with session() as s:
        rows = sla_service.list_incidents(s, location=location)
        if as_json:
            print_json(rows)
            return
        for row in rows:
            typer.echo(
                f"{row.id}  {row.location}  {row.start}  {row.end or 'open'}  {row.cause}  "
                f"{row.source}"
            )


@sla_app.command("close")
def sla_close(incident_id: str, end: Now = None) -> None:
    """End an open incident."""
    with session(action="sla close") as s:
        row = sla_service.close_incident(s, incident_id, moment(end, "--end"))
        typer.echo(f"{row.id}  closed {row.end}")


@sla_app.command("check")
def sla_check(
    location: Annotated[str, typer.Option(help="This site's name, e.g. paris-1")],
    timeout: Annotated[float, typer.Option()] = 2.0,
) -> None:
    """Probe this platform (SIP OPTIONS over UDP, the API's /healthz) and record the
    result for the location: a failure opens an incident, a success closes it (S1, S4).
    Run it every minute from cron. Exit 1 when the check failed."""
    from dialtone.outside import health_probe

    settings = settings_or_exit()
    result = health_probe.NetworkHealthProbe().probe(
        settings.advertised_host, settings.sip_port,
        f"http://{settings.http_host}:{settings.http_port}/healthz", timeout,
    )  # fmt: skip
    with session(settings, action="sla check") as s:
        sla_service.record_health(s, location, result.ok, moment(None))
    typer.echo(f"{location}  {'ok' if result.ok else 'DOWN'}  {result.detail}")
    if not result.ok:
        raise typer.Exit(1)
