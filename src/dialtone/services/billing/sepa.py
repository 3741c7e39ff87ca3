"""SEPA direct debit export: a pain.008 file for the bank, and the debtor's pre-notice.

TERMS B7: a direct debit is one of the payment methods, and the customer gets notice at
least 3 days before each debit (:func:`prenotification_text`; whether a debit may be
taken yet is :func:`dialtone.rating.dunning.debit_allowed`). B8/B10 act on what the bank
later reports back (a rejected debit the customer caused adds the €10 fee at the next
attempt and counts towards suspension); this module only writes the collection file.

The XML is built and checked against the ISO 20022 schema by ``sepaxml``. Everything in
the file comes from the arguments: ``sepaxml`` would stamp the creation time from the
clock and draw random payment-information ids, so :class:`_DeterministicDD` replaces
those with ``created_at`` and ids derived from ``message_id``. The same input gives the
same bytes, which makes an export reproducible and testable.

Inputs are checked before ``sepaxml`` sees them (IBAN and creditor-identifier check
digits, BIC shape, amount, currency, id lengths) so that a mistake is reported as
:class:`SepaError` naming the debit and the field, not as a schema error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from sepaxml import SepaDD  # type: ignore[import-untyped]
from sepaxml.validation import ValidationError  # type: ignore[import-untyped]

from dialtone.outside.payments import AmountError, to_minor_units

SequenceType = Literal["FRST", "RCUR", "OOFF", "FNAL"]
SEQUENCE_TYPES: frozenset[str] = frozenset({"FRST", "RCUR", "OOFF", "FNAL"})

# pain.008.001.08 is the ISO 20022 2019 message the EPC SDD rulebook has required since
# November 2023; sepaxml validates it. Banks still on the 2009 format take "001.02".
DEFAULT_SCHEMA = "pain.008.001.08"
SCHEMAS: frozenset[str] = frozenset({"pain.008.001.02", "pain.008.001.08"})

CURRENCY = "EUR"  # SEPA direct debits are in euro only
MAX_AMOUNT = Decimal("999999999.99")  # EPC rulebook ceiling for one collection
MAX_ID = 35  # Max35Text: message, end-to-end and mandate ids
# EPC restricts ids to these characters; "/" may not start or end one or appear twice.
_ID_CHARS = re.compile(r"[A-Za-z0-9/\-?:().,'+ ]+")
_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_BIC = re.compile(r"[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?")
_CREDITOR_ID = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{3}[A-Z0-9]{1,28}")


class SepaError(ValueError):
    """The collection cannot be exported as given; the message says which debit and why."""


@dataclass(frozen=True, slots=True)
class Creditor:
    """Us: the account collected into, and the SEPA creditor identifier (e.g.
    ``DE98ZZZ09999999999``) that the bank and the debtor know us by."""

    name: str
    iban: str
    bic: str
    creditor_id: str


@dataclass(frozen=True, slots=True)
class Mandate:
    """The debtor's signed authorisation: its reference and date go into every debit."""

    debtor_name: str
    iban: str
    bic: str
    mandate_id: str
    signed_on: date


@dataclass(frozen=True, slots=True)
class Debit:
    """One collection from one mandate.

    ``sequence`` is FRST for a mandate's first recurring debit, RCUR after it, FNAL for
    the last, OOFF for a one-off mandate. ``currency`` is only there so that a debit
    built from a GBP or USD invoice is refused instead of being collected as euros.
    """

    end_to_end_id: str
    mandate: Mandate
    amount: Decimal
    description: str
    collection_date: date
    sequence: SequenceType
    currency: str = CURRENCY


# --- checks ---------------------------------------------------------------------------------


def _mod97(text: str) -> int:
    # ISO 7064 MOD 97-10 over letters read as 10..35, as IBANs and creditor ids use.
    return int("".join(str(int(ch, 36)) for ch in text)) % 97


def normalise_iban(iban: str, what: str = "IBAN") -> str:
    """``iban`` without spaces, upper case, if its shape and check digits are right."""
    compact = re.sub(r"\s+", "", iban).upper()
    if not _IBAN.fullmatch(compact):
        raise SepaError(f"{what} {iban!r} is not an IBAN")
    if _mod97(compact[4:] + compact[:4]) != 1:
        raise SepaError(f"{what} {iban!r} has wrong check digits")
    return compact


def normalise_bic(bic: str, what: str = "BIC") -> str:
    """``bic`` upper case, if it has a BIC's shape (8 or 11 characters)."""
    compact = bic.strip().upper()
    if not _BIC.fullmatch(compact):
        raise SepaError(f"{what} {bic!r} is not a BIC")
    return compact


def normalise_creditor_id(creditor_id: str) -> str:
    """The SEPA creditor identifier, if its shape and check digits are right.

    The check digits cover the national part and the country, not the 3-character
    business code (EPC262-08), which is why it is skipped.
    """
    compact = re.sub(r"\s+", "", creditor_id).upper()
    if not _CREDITOR_ID.fullmatch(compact):
        raise SepaError(f"creditor id {creditor_id!r} is not a SEPA creditor identifier")
    if _mod97(compact[7:] + compact[:2] + compact[2:4]) != 1:
        raise SepaError(f"creditor id {creditor_id!r} has wrong check digits")
    return compact


def _check_id(value: str, what: str) -> str:
    if not 1 <= len(value) <= MAX_ID:
        raise SepaError(f"{what} {value!r} must be 1 to {MAX_ID} characters")
    if not _ID_CHARS.fullmatch(value) or value.startswith("/") or value.endswith("/"):
        raise SepaError(f"{what} {value!r} has characters SEPA does not allow")
    if "//" in value:
        raise SepaError(f"{what} {value!r} contains '//'")
    return value


def debit_cents(debit: Debit) -> int:
    """The debit's amount in euro cents; :class:`SepaError` if it cannot be collected."""
    if debit.currency.upper() != CURRENCY:
        raise SepaError(
            f"debit {debit.end_to_end_id!r} is in {debit.currency}: SEPA debits are in EUR only"
        )
    try:
        cents = to_minor_units(debit.amount)
    except AmountError as exc:
        raise SepaError(f"debit {debit.end_to_end_id!r}: {exc}") from exc
    if debit.amount > MAX_AMOUNT:
        raise SepaError(f"debit {debit.end_to_end_id!r}: amount {debit.amount} is over the limit")
    return cents


def _euros(amount: Decimal) -> str:
    # "1234.50": the schema's decimal form, always two places, never exponent notation.
    return f"{amount.quantize(Decimal('0.01')):f}"


# --- the file -------------------------------------------------------------------------------


class _DeterministicDD(SepaDD):  # type: ignore[misc]
    """sepaxml's builder with the clock and randomness replaced by given values.

    Relies on two hooks of ``SepaPaymentInitn`` (``_create_header``, ``_finalize_batch``)
    and its ``_xml`` tree; the tests pin the output, so a sepaxml change that breaks this
    shows up there.
    """

    def __init__(
        self, config: dict[str, Any], *, schema: str, message_id: str, created_at: str
    ) -> None:
        # Set before the base constructor, which builds the header.
        self._message_id = message_id
        self._created_at = created_at
        super().__init__(config, schema=schema, clean=True)

    def _create_header(self) -> None:
        super()._create_header()
        header = self._xml.find("CstmrDrctDbtInitn/GrpHdr")
        header.find("MsgId").text = self._message_id
        header.find("CreDtTm").text = self._created_at
        self.msg_id = self._message_id

    def _finalize_batch(self) -> None:
        super()._finalize_batch()
        # One payment-information block per (sequence, collection date), in the order the
        # debits came; the ids only need to be unique within the message (ISO 20022).
        blocks = self._xml.find("CstmrDrctDbtInitn").findall("PmtInf")
        for number, block in enumerate(blocks, start=1):
            suffix = f"-{number}"
            block.find("PmtInfId").text = self._message_id[: MAX_ID - len(suffix)] + suffix


def pain008(
    creditor: Creditor,
    debits: Sequence[Debit],
    *,
    message_id: str,
    created_at: datetime,
    schema: str = DEFAULT_SCHEMA,
) -> bytes:
    """A SEPA Core direct debit initiation (pain.008) collecting ``debits`` for ``creditor``.

    Debits are grouped by sequence type and collection date, as banks require; the file's
    control sum and count cover them all. ``created_at`` must be timezone-aware and is
    written in UTC. Raises :class:`SepaError` on a bad IBAN, BIC, creditor id, amount,
    currency or id, on duplicate end-to-end ids, or if the result fails schema validation.
    The B7 pre-notice must have gone out at least 3 days before each collection date;
    that is the caller's to check (``dunning.debit_allowed``), as it needs the send time.
    """
    if schema not in SCHEMAS:
        raise SepaError(f"schema {schema!r} is not one of {sorted(SCHEMAS)}")
    if created_at.tzinfo is None or created_at.utcoffset() is None:
        # A naive time would be read as the bank's local time, whatever we meant.
        raise SepaError("created_at must be a timezone-aware datetime")
    if not debits:
        raise SepaError("a pain.008 file needs at least one debit")
    _check_id(message_id, "message id")

    config = {
        "name": _nonblank(creditor.name, "creditor name"),
        "IBAN": normalise_iban(creditor.iban, "creditor IBAN"),
        "BIC": normalise_bic(creditor.bic, "creditor BIC"),
        "creditor_id": normalise_creditor_id(creditor.creditor_id),
        "currency": CURRENCY,
        "batch": True,
    }
    created = created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    builder = _DeterministicDD(config, schema=schema, message_id=message_id, created_at=created)

    seen: set[str] = set()
    for debit in debits:
        e2e = _check_id(debit.end_to_end_id, "end-to-end id")
        if e2e in seen:
            # The bank reports returns by end-to-end id; two alike could not be told apart.
            raise SepaError(f"end-to-end id {e2e!r} appears twice")
        seen.add(e2e)
        builder.add_payment(_payment(debit, created_at.date()))

    try:
        out: bytes = builder.export(validate=True)
    except ValidationError as exc:
        cause = exc.__cause__ or exc
        raise SepaError(f"the pain.008 file does not validate against {schema}: {cause}") from exc
    return out


def _payment(debit: Debit, created_on: date) -> dict[str, Any]:
    """One debit as the dict ``SepaDD.add_payment`` takes."""
    where = f"debit {debit.end_to_end_id!r}"
    mandate = debit.mandate
    if debit.sequence not in SEQUENCE_TYPES:
        raise SepaError(f"{where}: sequence {debit.sequence!r} is not FRST, RCUR, OOFF or FNAL")
    if debit.collection_date < created_on:
        raise SepaError(f"{where}: collection date {debit.collection_date} is in the past")
    if mandate.signed_on > debit.collection_date:
        raise SepaError(f"{where}: mandate {mandate.mandate_id!r} is signed after collection")
    return {
        "name": _nonblank(mandate.debtor_name, f"{where}: debtor name"),
        "IBAN": normalise_iban(mandate.iban, f"{where}: debtor IBAN"),
        "BIC": normalise_bic(mandate.bic, f"{where}: debtor BIC"),
        "amount": debit_cents(debit),
        "type": debit.sequence,
        "collection_date": debit.collection_date,
        "mandate_id": _check_id(mandate.mandate_id, f"{where}: mandate id"),
        "mandate_date": mandate.signed_on,
        "description": _nonblank(debit.description, f"{where}: description"),
        "endtoend_id": debit.end_to_end_id,
    }


def _nonblank(value: str, what: str) -> str:
    if not value.strip():
        raise SepaError(f"{what} is empty")
    return value


# --- B7 pre-notice --------------------------------------------------------------------------


def prenotification_text(debit: Debit, creditor: Creditor) -> str:
    """The pre-notice for one debit (TERMS B7), to send at least 3 days before it.

    It names what the debtor needs to recognise and, if need be, contest the debit: the
    amount, the collection date, the mandate reference and our creditor identifier, and
    the last digits of the account debited.
    """
    debit_cents(debit)  # refuse to announce a debit that could not be collected
    iban = normalise_iban(debit.mandate.iban, "debtor IBAN")
    return (
        f"Dear {debit.mandate.debtor_name},\n"
        f"\n"
        f"{creditor.name} will collect EUR {_euros(debit.amount)} by SEPA direct debit "
        f"on {debit.collection_date.isoformat()} from your account ending "
        f"{iban[-4:]}.\n"
        f"\n"
        f"Reference: {debit.description}\n"
        f"Mandate reference: {debit.mandate.mandate_id}\n"
        f"Creditor identifier: {normalise_creditor_id(creditor.creditor_id)}\n"
        f"\n"
        f"Please make sure the account is funded on that date. A debit rejected for lack "
        f"of funds adds a fee at the next attempt.\n"
    )
