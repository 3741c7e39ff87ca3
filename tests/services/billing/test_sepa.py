"""SEPA direct debit export (TERMS B7): the pain.008 file, its checks, and the pre-notice."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from dialtone.services.billing.sepa import (
    Creditor,
    Debit,
    Mandate,
    SepaError,
    debit_cents,
    normalise_creditor_id,
    normalise_iban,
    pain008,
    prenotification_text,
)

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"}
CREATED = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
COLLECT = date(2026, 11, 10)

CREDITOR = Creditor(
    name="Dialtone SAS",
    iban="DE89 3704 0044 0532 0130 00",
    bic="COBADEFFXXX",
    creditor_id="DE98ZZZ09999999999",
)
JEAN = Mandate(
    "Jean Dupont", "FR1420041010050500013M02606", "PSSTFRPPPAR", "MD-0001", date(2026, 1, 5)
)
ANNA = Mandate("Anna Müller", "DE89370400440532013000", "COBADEFFXXX", "MD-0002", date(2025, 6, 30))


def _debit(
    e2e: str = "INV-1", mandate: Mandate = JEAN, amount: str = "12.50", **kw: object
) -> Debit:
    fields: dict[str, object] = {
        "end_to_end_id": e2e,
        "mandate": mandate,
        "amount": Decimal(amount),
        "description": f"Invoice {e2e}",
        "collection_date": COLLECT,
        "sequence": "RCUR",
    }
    fields.update(kw)
    return Debit(**fields)  # type: ignore[arg-type]


def _two() -> list[Debit]:
    return [_debit("INV-1", JEAN, "12.5"), _debit("INV-2", ANNA, "1234")]


def _texts(root: ET.Element, path: str) -> list[str]:
    return [el.text or "" for el in root.findall(path, NS)]


def test_two_debit_file_has_namespace_counts_sums_and_mandates() -> None:
    out = pain008(CREDITOR, _two(), message_id="MSG-2026-11-02", created_at=CREATED)
    root = ET.fromstring(out)

    assert root.tag == "{urn:iso:std:iso:20022:tech:xsd:pain.008.001.08}Document"
    header = "p:CstmrDrctDbtInitn/p:GrpHdr"
    assert _texts(root, f"{header}/p:MsgId") == ["MSG-2026-11-02"]
    assert _texts(root, f"{header}/p:CreDtTm") == ["2026-11-02T09:30:00Z"]
    assert _texts(root, f"{header}/p:NbOfTxs") == ["2"]
    assert _texts(root, f"{header}/p:CtrlSum") == ["1246.50"]

    [block] = root.findall("p:CstmrDrctDbtInitn/p:PmtInf", NS)
    assert _texts(block, "p:PmtInfId") == ["MSG-2026-11-02-1"]
    assert _texts(block, "p:ReqdColltnDt") == ["2026-11-10"]
    assert _texts(block, "p:PmtTpInf/p:SeqTp") == ["RCUR"]
    assert _texts(block, "p:CdtrAcct/p:Id/p:IBAN") == ["DE89370400440532013000"]
    assert _texts(block, "p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id") == ["DE98ZZZ09999999999"]

    txs = block.findall("p:DrctDbtTxInf", NS)
    assert len(txs) == 2
    assert [tx.findtext("p:PmtId/p:EndToEndId", namespaces=NS) for tx in txs] == ["INV-1", "INV-2"]
    assert [tx.findtext("p:DrctDbtTx/p:MndtRltdInf/p:MndtId", namespaces=NS) for tx in txs] == [
        "MD-0001",
        "MD-0002",
    ]
    amounts = [tx.find("p:InstdAmt", NS) for tx in txs]
    assert [(a.get("Ccy"), a.text) for a in amounts if a is not None] == [
        ("EUR", "12.50"),
        ("EUR", "1234.00"),
    ]
    # Names are transliterated to the SEPA character set by sepaxml.
    assert txs[1].findtext("p:Dbtr/p:Nm", namespaces=NS) == "Anna Muller"


def test_the_same_input_gives_the_same_bytes() -> None:
    first = pain008(CREDITOR, _two(), message_id="MSG-1", created_at=CREATED)
    second = pain008(CREDITOR, _two(), message_id="MSG-1", created_at=CREATED)
    assert first == second


def test_debits_are_grouped_by_sequence_and_date() -> None:
    debits = [
        _debit("A", JEAN, sequence="FRST"),
        _debit("B", ANNA, "1.00"),
        _debit("C", ANNA, "2.00", collection_date=COLLECT + timedelta(days=30)),
    ]
    root = ET.fromstring(pain008(CREDITOR, debits, message_id="M", created_at=CREATED))
    blocks = root.findall("p:CstmrDrctDbtInitn/p:PmtInf", NS)
    assert [
        (
            b.findtext("p:PmtTpInf/p:SeqTp", namespaces=NS),
            b.findtext("p:ReqdColltnDt", namespaces=NS),
            b.findtext("p:CtrlSum", namespaces=NS),
            b.findtext("p:PmtInfId", namespaces=NS),
        )
        for b in blocks
    ] == [
        ("FRST", "2026-11-10", "12.50", "M-1"),
        ("RCUR", "2026-11-10", "1.00", "M-2"),
        ("RCUR", "2026-12-10", "2.00", "M-3"),
    ]
    assert _texts(root, "p:CstmrDrctDbtInitn/p:GrpHdr/p:CtrlSum") == ["15.50"]


def test_created_at_is_written_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    out = pain008(
        CREDITOR, _two(), message_id="M", created_at=datetime(2026, 11, 2, 10, 30, tzinfo=paris)
    )
    assert b"<CreDtTm>2026-11-02T09:30:00Z</CreDtTm>" in out


def test_the_older_schema_still_validates() -> None:
    out = pain008(CREDITOR, _two(), message_id="M", created_at=CREATED, schema="pain.008.001.02")
    assert ET.fromstring(out).tag == "{urn:iso:std:iso:20022:tech:xsd:pain.008.001.02}Document"


@pytest.mark.parametrize(
    ("mandate", "match"),
    [
        (dataclasses.replace(JEAN, iban="FR1520041010050500013M02606"), "check digits"),
        (dataclasses.replace(JEAN, iban="not an iban"), "not an IBAN"),
        (dataclasses.replace(JEAN, bic="PSST"), "not a BIC"),
        (dataclasses.replace(JEAN, mandate_id="M" * 36), "1 to 35"),
        (dataclasses.replace(JEAN, mandate_id="MD_1"), "characters"),
    ],
)
def test_bad_debtor_details_raise_naming_the_debit(mandate: Mandate, match: str) -> None:
    with pytest.raises(SepaError, match=match) as caught:
        pain008(CREDITOR, [_debit("INV-9", mandate)], message_id="M", created_at=CREATED)
    assert "INV-9" in str(caught.value)


def test_bad_creditor_details_raise() -> None:
    bad_iban = dataclasses.replace(CREDITOR, iban="DE88370400440532013000")
    with pytest.raises(SepaError, match="creditor IBAN"):
        pain008(bad_iban, _two(), message_id="M", created_at=CREATED)
    bad_ci = dataclasses.replace(CREDITOR, creditor_id="DE97ZZZ09999999999")
    with pytest.raises(SepaError, match="creditor id"):
        pain008(bad_ci, _two(), message_id="M", created_at=CREATED)


@pytest.mark.parametrize(
    ("amount", "match"),
    [
        ("12.345", "more than 2 decimals"),
        ("0", "positive"),
        ("-1", "positive"),
        ("1000000000.00", "over the limit"),
    ],
)
def test_bad_amounts_raise(amount: str, match: str) -> None:
    with pytest.raises(SepaError, match=match):
        pain008(CREDITOR, [_debit(amount=amount)], message_id="M", created_at=CREATED)


@pytest.mark.parametrize(
    ("amount", "cents"), [("12.5", 1250), ("0.01", 1), ("7", 700), ("999999999.99", 99999999999)]
)
def test_amount_conversion_to_cents(amount: str, cents: int) -> None:
    assert debit_cents(_debit(amount=amount)) == cents


def test_a_non_euro_debit_is_refused() -> None:
    with pytest.raises(SepaError, match="EUR only"):
        pain008(CREDITOR, [_debit(currency="GBP")], message_id="M", created_at=CREATED)


def test_file_level_mistakes_raise() -> None:
    with pytest.raises(SepaError, match="at least one"):
        pain008(CREDITOR, [], message_id="M", created_at=CREATED)
    with pytest.raises(SepaError, match="twice"):
        pain008(CREDITOR, [_debit("X"), _debit("X", ANNA)], message_id="M", created_at=CREATED)
    with pytest.raises(SepaError, match="timezone"):
        pain008(CREDITOR, _two(), message_id="M", created_at=datetime(2026, 11, 2))
    with pytest.raises(SepaError, match="past"):
        pain008(
            CREDITOR,
            [_debit(collection_date=date(2026, 11, 1))],
            message_id="M",
            created_at=CREATED,
        )
    with pytest.raises(SepaError, match="message id"):
        pain008(CREDITOR, _two(), message_id="", created_at=CREATED)


def test_check_digit_helpers() -> None:
    assert normalise_iban("gb82 west 1234 5698 7654 32") == "GB82WEST12345698765432"
    assert normalise_creditor_id("FR72ZZZ123456") == "FR72ZZZ123456"
    # The business code is not covered by the check digits.
    assert normalise_creditor_id("DE98ABC09999999999") == "DE98ABC09999999999"


def test_prenotification_names_amount_date_mandate_and_creditor() -> None:
    text = prenotification_text(_debit("INV-1", JEAN, "12.5"), CREDITOR)
    assert "EUR 12.50" in text
    assert "2026-11-10" in text
    assert "Mandate reference: MD-0001" in text
    assert "Creditor identifier: DE98ZZZ09999999999" in text
    assert "ending 2606" in text
    assert "Jean Dupont" in text


def test_prenotification_refuses_a_debit_that_could_not_be_collected() -> None:
    with pytest.raises(SepaError, match="EUR only"):
        prenotification_text(_debit(currency="USD"), CREDITOR)
