"""``dialtone lifecycle``: the number lifecycle job (N6-N8)."""

from __future__ import annotations

from typing import Annotated

import typer

from dialtone.cli import support
from dialtone.cli.support import (
    Commands,
    remove_files,
)
from dialtone.services.accounts import account_data
from dialtone.services.accounts import error_log as error_log_service
from dialtone.services.compliance import fair_use as fair_use_service
from dialtone.services.messaging import consents as consent_service
from dialtone.services.messaging import mobile_limits
from dialtone.services.numbering import kyc as kyc_service
from dialtone.services.numbering import lifecycle as lifecycle_service
from dialtone.services.numbering import renumbering as renumbering_service

lifecycle_app = typer.Typer(
    cls=Commands, help="The number lifecycle job (N6-N8).", no_args_is_help=True
)


@lifecycle_app.command("run")
def lifecycle_run(
    now: Annotated[
        str | None, typer.Option(help="Run as of this moment (ISO); default now.")
    ] = None,
) -> None:
    """Do the lifecycle actions due; idempotent: run it as often as you like (cron).

    TERMS N6 revocation, N7 quarantine, N8 idle notice and reclaim, F5 termination of a
    plan suspended 7 days unremedied, M3 proofs of consent overdue, M8 mobile-number
    limits flagged, V15 purge of accounts closed longer than the retention."""
    moment = support.moment(now)
    settings = support.settings_or_exit()
    with support.session(settings, action="lifecycle run") as session:
        taken = lifecycle_service.run(session, moment)
        terminated = fair_use_service.review(session, moment)
        renumbered = renumbering_service.run(session, moment)
        uncorrected = kyc_service.review_corrections(session, moment)
        unproved = consent_service.review_proof_requests(session, moment)
        flagged = mobile_limits.review(session, moment)
        forgotten = error_log_service.prune(
            session, moment, keep=settings.error_log_entries, days=settings.error_log_days
        )
        purged = account_data.purge_due(
            session,
            moment,
            recordings_dir=settings.recordings_dir,
            greetings_dir=settings.greetings_dir,
            years=settings.record_retention_years,
        )
    for done in purged:
        remove_files(done)
    for t in taken:
        typer.echo(f"{t.number}  {t.account_id}  {t.action}  [{t.rule}]  due {t.due_at:%Y-%m-%d}")
    for account_id in terminated:
        typer.echo(f"{account_id}  unlimited plan terminated  [F5]")
    for number in renumbered:
        typer.echo(f"{number}  released after its renumbering notice  [N14]")
    for account_id in uncorrected:
        typer.echo(f"{account_id}  closed: false declaration not corrected in 8 days  [N3]")
    for account_id in unproved:
        typer.echo(f"{account_id}  messaging suspended: proof of consent overdue  [M3]")
    for flag in flagged:
        typer.echo(
            f"{flag.number}  {flag.account_id}  flagged: {flag.measure.replace('_', ' ')} "
            f"{flag.value} over 30 days (limit {flag.limit})  [M8]"
        )
    for done in purged:
        typer.echo(f"{done.account_id}  purged after retention  [V15]")
    if forgotten:
        typer.echo(f"{forgotten} error log entr(ies) older than the D4 limit deleted")
    actions = (
        len(taken)
        + len(terminated)
        + len(renumbered)
        + len(uncorrected)
        + len(unproved)
        + len(flagged)
        + len(purged)
    )
    typer.echo(f"{actions} action(s)")
