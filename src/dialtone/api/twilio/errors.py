"""Errors of the Twilio-compatible API in Twilio's shape (issue 16).

``{"code": 21211, "message": …, "more_info": "https://www.twilio.com/docs/errors/21211",
"status": 400}`` plus dialtone's ``reason`` (the reason code) and ``rule`` (the TERMS
rule, where one applies) and ``details``: a Twilio client reads what it always read,
and the terms engine's answer is still there.
"""

from __future__ import annotations

from typing import Any

from dialtone.api.errors import ErrorShape
from dialtone.api.twilio.wire import PREFIX
from dialtone.core.errors import DialtoneError
from dialtone.services.twilio.error_codes import more_info, twilio_code


def body(exc: DialtoneError) -> dict[str, Any]:
    """The Twilio-shaped payload of ``exc``."""
    number = getattr(exc, "twilio_code", None)
    if not isinstance(number, int):
        number = twilio_code(exc.code, exc.status)
    payload: dict[str, Any] = {
        "code": number,
        "message": exc.message,
        "more_info": more_info(number),
        "status": exc.status,
        "reason": exc.code,
    }
    if exc.rule is not None:
        payload["rule"] = exc.rule
    if exc.details:
        payload["details"] = dict(exc.details)
    return payload


SHAPE = ErrorShape(prefix=f"{PREFIX}/", body=body, challenge='Basic realm="dialtone"')
