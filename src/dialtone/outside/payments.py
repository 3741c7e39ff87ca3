"""Card payments (TERMS B7, B8, B10): one small interface, a real adapter and a fake.

- :class:`CardProvider` charges a customer's saved card off-session and says whether the
  money came in (``"paid"``) or the card was refused (``"rejected"``, with a reason).
- :class:`StripeCardProvider` speaks Stripe's PaymentIntents API over httpx.
- :class:`FakeCardProvider` plays scripted outcomes, for tests and demos.

How the result is used lies outside this module:

* B7: card is one of the payment methods; invoices are in EUR, USD or GBP, so those are
  the only currencies accepted here (all three have 2 decimals, which keeps minor units
  simple and exact).
* B10: a ``"rejected"`` result is a rejected payment for dunning
  (:func:`dialtone.rating.dunning.next_step`): retry 72 h later, then 72 h after that,
  suspend on the third rejection.
* B8: the rejected-debit fee is not charged for card declines (decision "Late fees"), so
  the caller needs to know a rejection came from a card; that is why this interface is
  separate from the direct-debit export (:mod:`dialtone.services.billing.sepa`).

A rejection is an answer; anything else that goes wrong (network, auth, rate limit, a
server error, an answer we cannot read) raises :class:`PaymentProviderError`: the outcome
is unknown, and the caller may retry with the same idempotency key without charging twice.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Protocol

import httpx

ChargeStatus = Literal["paid", "rejected"]

# B7: invoices are in EUR, USD or GBP. Each has 2 decimals; a zero-decimal currency (JPY)
# would need a different minor-unit rule, so it is refused rather than charged 100x.
CURRENCIES: frozenset[str] = frozenset({"EUR", "USD", "GBP"})
MINOR_UNIT_DIGITS = 2

# Stripe rejects idempotency keys longer than this.
MAX_IDEMPOTENCY_KEY = 255


class PaymentProviderError(Exception):
    """The provider gave no usable answer: the charge's outcome is unknown."""


class AmountError(ValueError):
    """An amount or currency that cannot be charged as given (a bug, not a decline)."""


@dataclass(frozen=True, slots=True)
class ChargeResult:
    """What became of one charge.

    ``provider_ref`` is the provider's id for it (a Stripe PaymentIntent ``pi_...``), kept
    with the payment for reconciliation; ``reason`` is the provider's short code for a
    rejection (``"card_declined"``, ``"insufficient_funds"``...), empty when paid.
    """

    status: ChargeStatus
    provider_ref: str
    reason: str = ""


class CardProvider(Protocol):
    """Charges a customer's saved card, off-session (the customer is not there)."""

    def charge(
        self,
        *,
        customer_ref: str,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
        description: str,
    ) -> ChargeResult: ...


def check_currency(currency: str) -> str:
    """``currency`` as an upper-case ISO code, if B7 allows it; else :class:`AmountError`."""
    code = currency.upper()
    if code not in CURRENCIES:
        raise AmountError(f"currency {currency!r} is not accepted (TERMS B7: EUR, USD or GBP)")
    return code


def to_minor_units(amount: Decimal) -> int:
    """``amount`` in minor units (cents, pence), exactly.

    Refuses rather than rounds: an amount with a third decimal that is not zero is a
    rating bug, and silently charging a rounded figure would hide it. ``Decimal("12.500")``
    is fine (it is exactly 1250 cents). Zero and negative amounts are refused too: a
    charge takes money, refunds are another operation.
    """
    # A float here would already carry binary rounding error; make the caller decide.
    if not isinstance(amount, Decimal):
        raise AmountError(f"amount must be a Decimal, not {type(amount).__name__}")
    if not amount.is_finite():
        raise AmountError(f"amount {amount} is not a number")
    scaled = amount.scaleb(MINOR_UNIT_DIGITS)
    if scaled != scaled.to_integral_value():
        raise AmountError(f"amount {amount} has more than {MINOR_UNIT_DIGITS} decimals")
    cents = int(scaled)
    if cents <= 0:
        raise AmountError(f"amount {amount} must be positive")
    return cents


def _check_key(idempotency_key: str) -> None:
    # Without a key a retried charge after a timeout could take the money twice.
    if not idempotency_key or len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
        raise ValueError(f"idempotency_key must be 1 to {MAX_IDEMPOTENCY_KEY} characters")


# --- the fake -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordedCharge:
    """One call to :meth:`FakeCardProvider.charge`, as it was made and answered.

    ``replayed`` is true when the idempotency key had been seen and the stored result was
    returned without charging again.
    """

    customer_ref: str
    amount: Decimal
    currency: str
    idempotency_key: str
    description: str
    result: ChargeResult
    replayed: bool


@dataclass(frozen=True, slots=True)
class _Scripted:
    status: ChargeStatus | Literal["error"]
    reason: str


@dataclass
class FakeCardProvider:
    """A card provider that plays a script, for tests and demos.

    Each customer has a queue of outcomes (:meth:`will_pay`, :meth:`will_reject`,
    :meth:`will_fail`); a charge takes the next one, and once the queue is empty every
    charge is paid. Like Stripe, a repeated idempotency key returns the first result
    without taking another outcome from the script, and raises if the parameters differ.
    Every call is recorded in :attr:`charges`.
    """

    charges: list[RecordedCharge] = field(default_factory=list)
    _scripts: dict[str, deque[_Scripted]] = field(default_factory=dict, repr=False)
    _by_key: dict[str, tuple[tuple[str, Decimal, str, str], ChargeResult]] = field(
        default_factory=dict, repr=False
    )
    _counter: int = field(default=0, repr=False)

    def will_pay(self, customer_ref: str, times: int = 1) -> FakeCardProvider:
        """Queue ``times`` successful charges for ``customer_ref``."""
        return self._queue(customer_ref, _Scripted("paid", ""), times)

    def will_reject(
        self, customer_ref: str, reason: str = "card_declined", times: int = 1
    ) -> FakeCardProvider:
        """Queue ``times`` declines with ``reason`` for ``customer_ref``."""
        return self._queue(customer_ref, _Scripted("rejected", reason), times)

    def will_fail(
        self, customer_ref: str, message: str = "provider unavailable", times: int = 1
    ) -> FakeCardProvider:
        """Queue ``times`` :class:`PaymentProviderError` for ``customer_ref``.

        A failure is not remembered against its key, so a retry with the same key takes
        the next outcome: that is the transient error a retry is for.
        """
        return self._queue(customer_ref, _Scripted("error", message), times)

    def _queue(self, customer_ref: str, outcome: _Scripted, times: int) -> FakeCardProvider:
        self._scripts.setdefault(customer_ref, deque()).extend([outcome] * times)
        return self

    def pending(self, customer_ref: str) -> int:
        """How many scripted outcomes ``customer_ref`` still has."""
        return len(self._scripts.get(customer_ref, ()))

    def charge(
        self,
        *,
        customer_ref: str,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
        description: str,
    ) -> ChargeResult:
        """Validate like the real adapter, then answer from the script."""
        # Same checks as Stripe's adapter, so a test using the fake catches the same bugs.
        to_minor_units(amount)
        code = check_currency(currency)
        _check_key(idempotency_key)
        params = (customer_ref, amount, code, description)

        seen = self._by_key.get(idempotency_key)
        if seen is not None:
            if seen[0] != params:
                # Stripe answers 400 idempotency_error: reusing a key for another charge is
                # a bug in the caller, and the outcome of the new charge is unknown.
                raise PaymentProviderError(
                    f"idempotency key {idempotency_key!r} was used with other parameters"
                )
            self._record(params, idempotency_key, seen[1], replayed=True)
            return seen[1]

        queue = self._scripts.get(customer_ref)
        outcome = queue.popleft() if queue else _Scripted("paid", "")
        if outcome.status == "error":
            raise PaymentProviderError(outcome.reason)
        self._counter += 1
        result = ChargeResult(outcome.status, f"fake_pi_{self._counter}", outcome.reason)
        self._by_key[idempotency_key] = (params, result)
        self._record(params, idempotency_key, result, replayed=False)
        return result

    def _record(
        self,
        params: tuple[str, Decimal, str, str],
        idempotency_key: str,
        result: ChargeResult,
        *,
        replayed: bool,
    ) -> None:
        customer_ref, amount, currency, description = params
        self.charges.append(
            RecordedCharge(
                customer_ref, amount, currency, idempotency_key, description, result, replayed
            )
        )


# --- Stripe -------------------------------------------------------------------------------


class StripeCardProvider:
    """Stripe's PaymentIntents API: one confirmed, off-session intent per charge.

    ``customer_ref`` is a Stripe customer (``cus_...``) whose default card Stripe charges.
    Pass ``client`` to share a connection pool or, in tests, an ``httpx.Client`` over an
    ``httpx.MockTransport``; a client passed in is not closed by :meth:`close`.
    """

    def __init__(
        self,
        api_key: str,
        base_url: str = "https://api.stripe.com",
        client: httpx.Client | None = None,
        *,
        timeout: float = 80.0,
    ) -> None:
        if not api_key:
            raise ValueError("a Stripe secret key is required")
        self._api_key = api_key
        self._url = base_url.rstrip("/") + "/v1/payment_intents"
        # 80 s is what Stripe's own libraries allow a request: a charge that times out
        # sooner is not known to have failed, only to be unknown.
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=timeout)

    def close(self) -> None:
        """Close the HTTP client, if this adapter made it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> StripeCardProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        # Never show the secret key in logs or tracebacks.
        return f"StripeCardProvider(url={self._url!r})"

    def charge(
        self,
        *,
        customer_ref: str,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
        description: str,
    ) -> ChargeResult:
        """Create and confirm a PaymentIntent; ``succeeded`` is paid, a card error rejected."""
        cents = to_minor_units(amount)
        code = check_currency(currency)
        _check_key(idempotency_key)
        if not customer_ref:
            raise ValueError("customer_ref is required")
        form = {
            "amount": str(cents),
            "currency": code.lower(),
            "customer": customer_ref,
            "confirm": "true",
            "off_session": "true",
            # Card only: with Stripe's default automatic payment methods, a server-side
            # confirm without a return_url is refused in case a redirect method is picked.
            "payment_method_types[]": "card",
            "description": description,
        }
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            # The same key on a retry makes Stripe replay the first answer, not charge again.
            "Idempotency-Key": idempotency_key,
        }
        try:
            response = self._client.post(self._url, data=form, headers=headers)
        except httpx.HTTPError as exc:
            raise PaymentProviderError(f"Stripe unreachable: {exc}") from exc
        return _read_answer(response)


def _read_answer(response: httpx.Response) -> ChargeResult:
    """Map Stripe's answer to a result, or raise :class:`PaymentProviderError`."""
    try:
        body: Any = response.json()
    except ValueError as exc:
        raise PaymentProviderError(
            f"Stripe answered {response.status_code} with no JSON body"
        ) from exc
    if not isinstance(body, dict):
        raise PaymentProviderError(f"Stripe answered {response.status_code} with no object")

    if response.status_code == 200:
        return _read_intent(body)

    error = body.get("error")
    error = error if isinstance(error, dict) else {}
    # Only a card_error is the bank's "no"; a 402 of another type, or any other status, is
    # a failure of ours or Stripe's and must not count as a rejection towards suspension.
    if response.status_code == 402 and error.get("type") == "card_error":
        reason = _text(error.get("decline_code")) or _text(error.get("code")) or "card_error"
        intent = error.get("payment_intent")
        ref = _text(intent.get("id")) if isinstance(intent, dict) else ""
        return ChargeResult("rejected", ref or _text(error.get("charge")), reason)

    detail = _text(error.get("message")) or response.text[:200]
    kind = _text(error.get("type")) or "error"
    raise PaymentProviderError(f"Stripe answered {response.status_code} {kind}: {detail}")


def _read_intent(intent: dict[str, Any]) -> ChargeResult:
    ref = _text(intent.get("id"))
    status = _text(intent.get("status"))
    if not ref or not status:
        raise PaymentProviderError("Stripe answered 200 without a PaymentIntent")
    if status == "succeeded":
        return ChargeResult("paid", ref)
    if status == "requires_payment_method":
        # The attempt failed on the card; Stripe keeps the reason on the intent.
        last = intent.get("last_payment_error")
        last = last if isinstance(last, dict) else {}
        reason = _text(last.get("decline_code")) or _text(last.get("code")) or status
        return ChargeResult("rejected", ref, reason)
    if status == "requires_action":
        # Off-session the customer cannot complete 3-D Secure: for dunning this is a
        # refused payment, and the customer must authenticate before the next retry.
        return ChargeResult("rejected", ref, "authentication_required")
    # processing, requires_capture, canceled...: neither paid nor refused as far as we
    # know, so the invoice stays due and a person or a later sync decides.
    raise PaymentProviderError(f"Stripe PaymentIntent {ref} is {status!r}, not settled")


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
