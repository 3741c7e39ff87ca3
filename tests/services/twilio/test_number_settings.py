"""A number's Twilio settings: one set of checks for the API and the console."""

from __future__ import annotations

import pytest

from dialtone.core.errors import DialtoneError
from dialtone.services.accounts.webhook_targets import TargetPolicy
from dialtone.services.twilio import number_settings
from dialtone.services.twilio.error_codes import ParameterError
from dialtone.store.models import PhoneNumber

STRICT = TargetPolicy()
PUBLIC = "https://93.184.216.34/voice"


def apply(values: dict[str, str], policy: TargetPolicy = STRICT) -> PhoneNumber:
    row = PhoneNumber(number="+33123456789", account_id="AC1")
    number_settings.apply(row, number_settings.Fields(values), policy)
    return row


def test_urls_and_methods_are_set_and_an_empty_url_clears() -> None:
    row = apply({"VoiceUrl": f" {PUBLIC} ", "VoiceMethod": "get", "SmsUrl": ""})
    assert (row.voice_url, row.voice_method, row.sms_url) == (PUBLIC, "GET", None)


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"VoiceUrl": "http://127.0.0.1/x"}, "webhook.target_refused"),
        ({"StatusCallback": "http://192.168.1.2/x"}, "webhook.target_refused"),
        ({"SmsUrl": "ftp://93.184.216.34/x"}, "request.invalid"),
        ({"VoiceUrl": "https://93.184.216.34/" + "a" * 500}, "request.invalid"),
        ({"VoiceMethod": "PUT"}, "request.invalid"),
        ({"FriendlyName": "x" * 65}, "request.invalid"),
        ({"TrunkSid": "TK1"}, "twilio.unsupported"),
    ],
)
def test_refusals_set_nothing(values: dict[str, str], code: str) -> None:
    row = PhoneNumber(number="+33123456789", account_id="AC1")
    given = number_settings.Fields({"SmsUrl": PUBLIC, **values})
    with pytest.raises(DialtoneError) as refused:
        number_settings.apply(row, given, STRICT)
    assert refused.value.code == code
    assert row.sms_url is None or "SmsUrl" in values  # nothing half-applied


def test_an_invalid_parameter_carries_twilio_s_number_when_it_has_one() -> None:
    with pytest.raises(ParameterError) as refused:
        apply({"VoiceMethod": "PUT"})
    assert refused.value.code == "request.invalid"
    assert "VoiceMethod" in refused.value.message


def test_the_operator_may_allow_private_targets() -> None:
    row = apply({"VoiceUrl": "http://10.0.0.5/voice"}, TargetPolicy(allow_private=True))
    assert row.voice_url == "http://10.0.0.5/voice"
