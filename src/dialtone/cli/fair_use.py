"""``dialtone fair-use``: the fair-use report (F5)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from dialtone.cli import support
from dialtone.cli.support import (
    Account,
)
from dialtone.services.compliance import fair_use as fair_use_service


def fair_use_report(
    account: Account,
    month: Annotated[str, typer.Option(help="YYYY-MM (UTC days).")],
) -> None:
    """Very short outbound calls day by day (TERMS F1, V13), the month's calling
    patterns (F3 redial, F4 autodialing) and what is registered behind each user (V3);
    exit 1 when any of them is found."""
    month = support.month(month, "--month")
    with support.session(action="fair-use") as session:
        report = fair_use_service.short_call_report(session, account, month)
        findings = fair_use_service.pattern_report(session, account, month, now=datetime.now(UTC))
    for day in report.days:
        flag = "  COUNTS" if day.counts else ""
        typer.echo(f"{day.day}  short_calls={day.short_calls}  users={day.users}{flag}")
    checks = [("short_calls", report.decision)] + [(f.check, f.decision) for f in findings]
    for name, decision in checks:
        outcome = (
            "ok" if decision.allowed else f"{decision.code} [{decision.rule}]: {decision.message}"
        )
        typer.echo(f"{name:16} {outcome}")
    if any(decision.refused for _, decision in checks):
        raise typer.Exit(1)
