"""TERMS A8 in the console: a customer may opt out of the operator's monitoring of its AI
calls. The one check every page that shows an account's AI reports or transcripts makes
(calls, AI agents): the customer's own people always read them; an operator acting in an
account that opted out does not."""

from __future__ import annotations

from dialtone.core.errors import DialtoneError
from dialtone.dashboard.viewer import Viewer


def monitoring_allowed(viewer: Viewer) -> None:
    """Refuse an operator the AI reports of an account that opted out (TERMS A8:
    ``ai_monitoring.opted_out``, 403); nothing for the account's own users."""
    if viewer.operator is not None and not viewer.account.ai_quality_monitoring:
        raise DialtoneError(
            "ai_monitoring.opted_out",
            "The customer opted out of the operator's monitoring of its AI calls.",
            rule="A8",
            status=403,
        )


def monitoring_refused(viewer: Viewer) -> bool:
    """Whether :func:`monitoring_allowed` would refuse ``viewer`` (to leave a link out)."""
    return viewer.operator is not None and not viewer.account.ai_quality_monitoring
