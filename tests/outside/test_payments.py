"""Card payments (TERMS B7, B10): the fake's script and idempotency, minor units, and the
Stripe adapter against a stand-in for Stripe (httpx.MockTransport), which we cannot reach."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from urllib.parse import parse_qs

import httpx
import pytest

from dialtone.outside.payments import (
    AmountError,
    CardProvider,
    ChargeResult,
    FakeCardProvider,
    PaymentProviderError,
    StripeCardProvider,
    check_currency,
    to_minor_units,
)


def _charge(
    provider: CardProvider,
    key: str = "inv-1-attempt-1",
    *,
    customer: str = "cus_1",
    amount: str = "12.50",
    currency: str = "EUR",
) -> ChargeResult:
    return provider.charge(
        customer_ref=customer,
        amount=Decimal(amount),
        currency=currency,
        idempotency_key=key,
        description="Invoice INV-1",
    )


# --- minor units ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "cents"),
    [
        ("12.50", 1250),
        ("12.5", 1250),
        ("12.500", 1250),
        ("0.01", 1),
        ("100", 10000),
        ("1E+2", 10000),
        ("999999.99", 99999999),
    ],
)
def test_amounts_become_exact_minor_units(amount: str, cents: int) -> None:
    assert to_minor_units(Decimal(amount)) == cents


@pytest.mark.parametrize("amount", ["12.345", "0.001", "0", "-5.00", "NaN", "Infinity"])
def test_amounts_that_cannot_be_charged_are_refused(amount: str) -> None:
    with pytest.raises(AmountError):
        to_minor_units(Decimal(amount))


def test_a_float_is_refused_not_rounded() -> None:
    with pytest.raises(AmountError, match="Decimal"):
        to_minor_units(12.5)  # type: ignore[arg-type]


def test_only_the_b7_currencies_are_accepted() -> None:
    assert check_currency("gbp") == "GBP"
    with pytest.raises(AmountError, match="B7"):
        check_currency("JPY")


# --- the fake ------------------------------------------------------------------------------


def test_fake_pays_by_default_and_records_the_charge() -> None:
    fake = FakeCardProvider()
    result = _charge(fake)
    assert result == ChargeResult("paid", "fake_pi_1", "")
    [recorded] = fake.charges
    assert (recorded.customer_ref, recorded.amount, recorded.currency) == (
        "cus_1",
        Decimal("12.50"),
        "EUR",
    )
    assert recorded.description == "Invoice INV-1"
    assert recorded.result == result
    assert not recorded.replayed


def test_fake_plays_each_customers_script_in_order_then_pays() -> None:
    fake = (
        FakeCardProvider()
        .will_reject("cus_1", "insufficient_funds")
        .will_reject("cus_1")
        .will_pay("cus_1")
        .will_reject("cus_2", "expired_card")
    )
    outcomes = [_charge(fake, f"k{n}") for n in range(4)]
    assert [(r.status, r.reason) for r in outcomes] == [
        ("rejected", "insufficient_funds"),
        ("rejected", "card_declined"),
        ("paid", ""),
        ("paid", ""),  # script used up: paid
    ]
    assert fake.pending("cus_1") == 0
    # cus_2's script was not touched by cus_1's charges.
    assert _charge(fake, "k9", customer="cus_2").reason == "expired_card"


def test_fake_replays_a_key_without_consuming_the_script() -> None:
    fake = FakeCardProvider().will_reject("cus_1", "insufficient_funds").will_pay("cus_1")
    first = _charge(fake, "same")
    again = _charge(fake, "same")
    assert first == again
    assert first.status == "rejected"
    assert fake.pending("cus_1") == 1
    assert [c.replayed for c in fake.charges] == [False, True]
    # A new key (the B10 retry) takes the next outcome.
    assert _charge(fake, "retry-1").status == "paid"


def test_fake_refuses_a_key_reused_for_another_charge() -> None:
    fake = FakeCardProvider()
    _charge(fake, "same", amount="12.50")
    with pytest.raises(PaymentProviderError, match="other parameters"):
        _charge(fake, "same", amount="13.00")


def test_fake_failure_is_transient_and_not_remembered_against_the_key() -> None:
    fake = FakeCardProvider().will_fail("cus_1", "timeout")
    with pytest.raises(PaymentProviderError, match="timeout"):
        _charge(fake, "k")
    assert _charge(fake, "k").status == "paid"


def test_fake_validates_like_the_real_adapter() -> None:
    fake = FakeCardProvider()
    with pytest.raises(AmountError):
        _charge(fake, amount="1.005")
    with pytest.raises(AmountError):
        _charge(fake, currency="CHF")
    with pytest.raises(ValueError, match="idempotency_key"):
        _charge(fake, "")
    assert fake.charges == []


# --- Stripe --------------------------------------------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


def _stripe(handler: Handler) -> StripeCardProvider:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return StripeCardProvider("sk_test_123", base_url="https://stripe.test/", client=client)


def _intent(status: str, **extra: object) -> dict[str, object]:
    return {"id": "pi_123", "object": "payment_intent", "status": status, **extra}


def test_stripe_request_has_form_fields_minor_units_key_and_auth() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=_intent("succeeded"))

    result = _charge(_stripe(handler), "inv-7-a1", amount="1234.5", currency="GBP")

    assert result == ChargeResult("paid", "pi_123", "")
    [request] = seen
    assert request.method == "POST"
    assert str(request.url) == "https://stripe.test/v1/payment_intents"
    assert request.headers["Authorization"] == "Bearer sk_test_123"
    assert request.headers["Idempotency-Key"] == "inv-7-a1"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
    assert form == {
        "amount": "123450",
        "currency": "gbp",
        "customer": "cus_1",
        "confirm": "true",
        "off_session": "true",
        "payment_method_types[]": "card",
        "description": "Invoice INV-1",
    }


def test_stripe_402_card_declined_is_a_rejection() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            402,
            json={
                "error": {
                    "type": "card_error",
                    "code": "card_declined",
                    "message": "Your card was declined.",
                    "payment_intent": _intent("requires_payment_method", id="pi_declined"),
                }
            },
        )

    assert _charge(_stripe(handler)) == ChargeResult("rejected", "pi_declined", "card_declined")


def test_stripe_decline_code_is_preferred_to_the_generic_code() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            402,
            json={
                "error": {
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "insufficient_funds",
                    "charge": "ch_9",
                }
            },
        )

    assert _charge(_stripe(handler)) == ChargeResult("rejected", "ch_9", "insufficient_funds")


def test_stripe_intent_left_needing_a_method_or_action_is_a_rejection() -> None:
    answers = iter(
        [
            _intent("requires_payment_method", last_payment_error={"code": "expired_card"}),
            _intent("requires_action"),
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=next(answers))

    stripe = _stripe(handler)
    assert _charge(stripe, "a").reason == "expired_card"
    assert _charge(stripe, "b").reason == "authentication_required"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, {"error": {"type": "api_error", "message": "Something went wrong"}}),
        (401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}}),
        (402, {"error": {"type": "invalid_request_error", "message": "not a card error"}}),
        (400, {"error": {"type": "idempotency_error", "message": "Keys for idempotent"}}),
        (429, {"error": {"type": "rate_limit_error"}}),
        (200, _intent("processing")),
        (200, {"object": "list"}),
    ],
)
def test_stripe_other_answers_raise_rather_than_count_as_rejections(
    status: int, body: dict[str, object]
) -> None:
    stripe = _stripe(lambda request: httpx.Response(status, json=body))
    with pytest.raises(PaymentProviderError):
        _charge(stripe)


def test_stripe_non_json_and_network_errors_raise() -> None:
    with pytest.raises(PaymentProviderError, match="502"):
        _charge(_stripe(lambda request: httpx.Response(502, text="<html>Bad gateway</html>")))

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    with pytest.raises(PaymentProviderError, match="unreachable"):
        _charge(_stripe(unreachable))


def test_stripe_refuses_bad_amounts_before_calling() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json=_intent("succeeded"))

    stripe = _stripe(handler)
    with pytest.raises(AmountError):
        _charge(stripe, amount="9.999")
    with pytest.raises(AmountError):
        _charge(stripe, currency="JPY")
    assert calls == []


def test_stripe_keeps_its_key_out_of_repr() -> None:
    stripe = _stripe(lambda request: httpx.Response(200, json=_intent("succeeded")))
    assert "sk_test" not in repr(stripe)
