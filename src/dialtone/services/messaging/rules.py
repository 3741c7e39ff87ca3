"""The operator's values for the messaging rules (the settings' messaging section, as
the services take them: services do not read settings)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from dialtone.policy.messaging import BULK_RECIPIENTS


@dataclass(frozen=True, slots=True)
class MessagingRules:
    """What the terms leave to the operator, with the terms' values as defaults."""

    business_plans: tuple[str, ...] = ("professional", "business", "enterprise")
    max_parts: int = 10  # M1
    bulk_recipients: int = BULK_RECIPIENTS  # M7
    free_plan_quota: int = 100  # M11, per billing period
    validity: timedelta = timedelta(hours=48)
    default_country: str = "FR"
    help_text: str = "Reply STOP to stop receiving messages."
