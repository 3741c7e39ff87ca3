"""Billing profiles: who an account's invoices are made out to (issue 13, item 20)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.services.billing import billing_profiles

from ..conftest import T0


def test_a_profile_is_set_normalised_and_read_back(session: Session, account: str) -> None:
    assert billing_profiles.get_profile(session, account) is None
    billing_profiles.set_profile(
        session, account, legal_name="  Acme   Industries SARL ",
        address="4 avenue des Champs\r\n\n69002 Lyon \nFrance", vat_number="fr 12.345-678 901",
        now=T0,
    )  # fmt: skip
    assert billing_profiles.get_profile(session, account) == billing_profiles.Profile(
        "Acme Industries SARL", "4 avenue des Champs\n69002 Lyon\nFrance", "FR12345678901"
    )
    # Setting it again replaces it; a customer may have no VAT number.
    billing_profiles.set_profile(session, account, legal_name="Acme SA", address="",
                                 vat_number="", now=T0)  # fmt: skip
    assert billing_profiles.get_profile(session, account) == billing_profiles.Profile(
        "Acme SA", "", ""
    )


@pytest.mark.parametrize(
    ("legal_name", "address", "vat", "field"),
    [
        ("", "", "", "legal_name"),
        ("x" * 201, "", "", "legal_name"),
        ("Acme", "\n".join(["line"] * 7), "", "address"),
        ("Acme", "y" * 101, "", "address"),
        ("Acme", "", "123456789", "vat_number"),  # no country prefix
        ("Acme", "", "FR1", "vat_number"),
        ("Acme", "", "bogus", "vat_number"),  # no digits
        ("Acme", "", "FR12345678901234", "vat_number"),  # 16 characters
    ],
)
def test_a_bad_profile_is_refused_naming_the_field(  # noqa: PLR0917 - the table's columns
    session: Session, account: str, legal_name: str, address: str, vat: str, field: str
) -> None:
    with pytest.raises(DialtoneError) as refused:
        billing_profiles.set_profile(session, account, legal_name=legal_name, address=address,
                                     vat_number=vat, now=T0)  # fmt: skip
    assert refused.value.code == "billing.profile_invalid"
    assert refused.value.message.startswith(field)


def test_an_unknown_account_has_no_profile(session: Session) -> None:
    with pytest.raises(DialtoneError) as refused:
        billing_profiles.get_profile(session, "ACnone")
    assert refused.value.code == "account.not_found"
