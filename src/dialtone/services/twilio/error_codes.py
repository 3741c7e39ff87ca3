"""Reason codes as Twilio's error numbers (issue 16): one table, the rest by default.

A refusal through the Twilio-compatible API carries Twilio's number (``code``) so a
client written for Twilio branches as it always did, and dialtone's own reason code
(``reason``) and rule (``rule``) so the terms engine's answer is never lost.

``TWILIO_CODES`` maps the codes with a close Twilio counterpart. Every other code falls
back to ``20000 + its HTTP status`` (20400, 20403, 20404, 20409, 20429, 20500, 20503…,
the pattern of Twilio's own 20404, 20429, 20500 and 20503), except 401, which is
Twilio's 20003 ("Authenticate").

A number refused as a parameter depends on which parameter it was (To of a message is
21211, To of a call 21217, a bought PhoneNumber 21421): the API names it with
:func:`for_parameter` where it reads the parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from dialtone.core.errors import DialtoneError
from dialtone.policy.codes import REGISTRY

AUTHENTICATE = 20003
NOT_FOUND = 20404
MORE_INFO = "https://www.twilio.com/docs/errors/{code}"

TWILIO_CODES: Mapping[str, int] = MappingProxyType(
    {
        # Who is asking.
        "auth.missing": AUTHENTICATE,
        "auth.invalid_key": AUTHENTICATE,
        "auth.invalid_credentials": AUTHENTICATE,
        "credentials.rotated": AUTHENTICATE,
        "account.closed": 20005,  # Account not active
        "billing.suspended": 20005,
        "http.method_not_allowed": 20004,  # Method not allowed
        "api.busy": 20429,  # Too many requests
        # Messages (M1, M3, M4, M5, M6, M7).
        "sms.sender_not_owned": 21606,  # From is not a number of the account
        "sms.opted_out": 21610,  # the recipient unsubscribed
        "sms.do_not_disturb": 21610,
        "sms.international": 21408,  # permission to send to the region not enabled
        "sms.premium": 21612,  # To cannot be reached by SMS
        "sms.too_long": 21617,  # the body exceeds the length allowed
        "sms.invalid_encoding": 21618,  # the body cannot be sent
        "sms.content_restricted": 30007,  # message filtered
        "sms.age_restricted": 30007,
        "sms.outside_daytime": 30007,
        "sms.campaign_unregistered": 30034,  # US A2P 10DLC: unregistered number
        "message.in_flight": 20009,  # a message being delivered cannot be deleted
        # Calls (V5, V6, V10, N13).
        "call.destination_invalid": 21217,  # the number does not appear valid
        "destination.invalid": 21217,
        "destination.premium_rate": 21216,  # the account may not call this number
        "destination.operator_assisted": 21216,
        "destination.x11_unsupported": 21216,
        "destination.high_cost": 21215,  # geo permissions do not allow the call
        "destination.denied": 21215,
        "caller_id.not_held": 21210,  # the caller ID is not the account's number
        "caller_id.inbound_only": 21210,
        # Numbers (N1, N2, N7).
        "number.invalid": 21421,  # PhoneNumber is invalid
        "number.held": 21422,  # the number is not available
        "number.quarantined": 21422,
        "inventory.empty": 21452,  # no numbers found
    }
)

# Where a number given as a parameter is refused for what it is (number.invalid).
PARAMETER_CODES: Mapping[tuple[str, str], int] = MappingProxyType(
    {
        ("Messages", "To"): 21211,  # invalid To
        ("Messages", "From"): 21212,  # invalid From
        ("Calls", "To"): 21217,
        ("Calls", "From"): 21212,
        ("IncomingPhoneNumbers", "PhoneNumber"): 21421,
    }
)


def twilio_code(code: str, status: int) -> int:
    """Twilio's number for the reason ``code`` answered with HTTP ``status``."""
    mapped = TWILIO_CODES.get(code)
    if mapped is not None:
        return mapped
    return AUTHENTICATE if status == 401 else 20000 + status


def default_code(code: str) -> int:
    """The number a registered code gets (its registry status for the default)."""
    return twilio_code(code, REGISTRY[code].http_status)


def for_parameter(resource: str, parameter: str) -> int | None:
    """The number of an invalid ``parameter`` of ``resource``, when Twilio has one."""
    return PARAMETER_CODES.get((resource, parameter))


def more_info(code: int) -> str:
    """The ``more_info`` link of a Twilio error number."""
    return MORE_INFO.format(code=code)


class ParameterError(DialtoneError):
    """A parameter refused with the Twilio number of that parameter (21211 for a bad
    ``To`` of a message…): ``twilio_code`` wins over the reason code's mapping."""

    def __init__(
        self, code: str, message: str, *, twilio_code: int | None, rule: str | None = None
    ) -> None:
        super().__init__(code, message, rule=rule)
        self.twilio_code = twilio_code


def invalid(
    resource: str, parameter: str, message: str, *, twilio_code: int | None = None
) -> ParameterError:
    """``request.invalid`` naming ``parameter`` (with its Twilio number, if any)."""
    number = twilio_code if twilio_code is not None else for_parameter(resource, parameter)
    return ParameterError("request.invalid", f"{parameter}: {message}", twilio_code=number)
