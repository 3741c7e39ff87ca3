"""A number's Twilio-compatible settings (issue 16): its friendly name, the TwiML and
status-callback URLs it keeps, and their methods.

One code path for ``POST …/IncomingPhoneNumbers/{Sid}.json`` and the console's Twilio
settings page: the same checks (http or https, 500 characters, GET or POST) and the same
SSRF guard on every URL (a private or loopback address is refused,
``webhook.target_refused``, unless the operator allows them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from dialtone.core.errors import DialtoneError
from dialtone.services.accounts.webhook_targets import TargetPolicy, check_url
from dialtone.services.twilio.error_codes import invalid
from dialtone.store.models import PhoneNumber

RESOURCE = "IncomingPhoneNumbers"
# Parameter → column, for the URLs and methods a number keeps.
URLS: Mapping[str, str] = {
    "VoiceUrl": "voice_url",
    "VoiceFallbackUrl": "voice_fallback_url",
    "StatusCallback": "status_callback",
    "SmsUrl": "sms_url",
    "SmsFallbackUrl": "sms_fallback_url",
}
METHODS: Mapping[str, str] = {
    "VoiceMethod": "voice_method",
    "VoiceFallbackMethod": "voice_fallback_method",
    "StatusCallbackMethod": "status_callback_method",
    "SmsMethod": "sms_method",
    "SmsFallbackMethod": "sms_fallback_method",
}
UNSUPPORTED = (
    "VoiceApplicationSid",
    "SmsApplicationSid",
    "TrunkSid",
    "AddressSid",
    "IdentitySid",
    "BundleSid",
    "EmergencyAddressSid",
)
MAX_FRIENDLY_NAME = 64
MAX_URL = 500


class Given(Protocol):
    """What a request gives, by Twilio's parameter names (the API's ``Params``)."""

    def get(self, name: str) -> str | None: ...

    def has(self, name: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class Fields:
    """Parameters from a mapping (the console's form, named as Twilio names them)."""

    values: Mapping[str, str]

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def has(self, name: str) -> bool:
        return name in self.values


def _url(given: Given, name: str) -> str | None:
    """A URL parameter: http(s), 500 characters at most; empty clears it."""
    value = given.get(name)
    if value is None:
        return None
    value = value.strip()
    if value and (not value.startswith(("http://", "https://")) or len(value) > MAX_URL):
        raise invalid(RESOURCE, name, f"an http or https URL of {MAX_URL} characters at most.")
    return value


def apply(row: PhoneNumber, given: Given, policy: TargetPolicy) -> None:
    """Set what ``given`` holds of the number's name, URLs and methods (an empty URL
    clears it). A URL the SSRF guard refuses is refused now (``webhook.target_refused``),
    and again whenever it is requested. Nothing is set unless every parameter passes."""
    for name in UNSUPPORTED:
        if given.get(name):
            raise DialtoneError("twilio.unsupported", f"{name} is not supported.")
    changes: dict[str, str | None] = {}
    if given.has("FriendlyName"):
        friendly = (given.get("FriendlyName") or "").strip()
        if len(friendly) > MAX_FRIENDLY_NAME:
            raise invalid(RESOURCE, "FriendlyName", f"at most {MAX_FRIENDLY_NAME} characters.")
        changes["friendly_name"] = friendly or None
    for parameter, column in URLS.items():
        url = _url(given, parameter)
        if url is not None:
            if url:
                check_url(url, policy)
            changes[column] = url or None
    for parameter, column in METHODS.items():
        method = given.get(parameter)
        if method is not None:
            if method.upper() not in ("GET", "POST"):
                raise invalid(RESOURCE, parameter, "GET or POST.")
            changes[column] = method.upper()
    for column, value in changes.items():
        setattr(row, column, value)
