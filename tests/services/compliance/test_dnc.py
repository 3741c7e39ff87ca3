"""Do-not-call lists (TERMS V12): CSV import (header, bad lines, duplicates), the
account's list before the operator's registers, removal, isolation between accounts."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from dialtone.core.errors import DialtoneError
from dialtone.services.compliance import dnc

from ..conftest import T0

CSV = """number,name
+33612345678,Jean
0033 6 12 34 56 79,Marie
not a number,x

+33612345678,again
+1 415 555 0100
"""


def test_import_reports_added_duplicates_and_bad_lines(session: Session, account: str) -> None:
    result = dnc.import_csv(session, account, CSV, now=T0)
    # 0033… is a French form: without a country, only international numbers are taken.
    assert (result.added, result.already_listed, result.invalid_lines) == (2, 0, [3, 4])
    result = dnc.import_csv(session, account, CSV, now=T0, region="FR")
    assert (result.added, result.already_listed, result.invalid_lines) == (1, 2, [4])
    again = dnc.import_csv(session, account, "+33612345678\n+33612345670\n", now=T0)
    assert (again.added, again.already_listed) == (1, 1)
    assert [e.number for e in dnc.list_numbers(session, account)] == [
        "+14155550100",
        "+33612345670",
        "+33612345678",
        "+33612345679",
    ]


def test_a_header_only_counts_on_the_first_line(session: Session, account: str) -> None:
    result = dnc.import_csv(session, account, "+33612345678\nphone\n", now=T0)
    assert (result.added, result.invalid_lines) == (1, [2])


def test_the_accounts_list_comes_before_a_register(
    session: Session, account: str, other_account: str
) -> None:
    dnc.import_csv(session, None, "+33612345678\n+33612345679\n", now=T0, list_name="bloctel")
    dnc.import_csv(session, account, "+33612345678\n", now=T0)
    assert dnc.listed_by(session, account, "+33612345678") == "account"
    assert dnc.listed_by(session, account, "+33612345679") == "bloctel"
    assert dnc.listed_by(session, other_account, "+33612345678") == "bloctel"
    assert dnc.listed_by(session, account, "+33612345670") is None


def test_remove_from_the_accounts_list_only(
    session: Session, account: str, other_account: str
) -> None:
    dnc.import_csv(session, account, "+33612345678\n", now=T0)
    with pytest.raises(DialtoneError, match="not on"):
        dnc.remove(session, other_account, "+33612345678")
    dnc.remove(session, account, "+33 6 12 34 56 78")
    assert dnc.listed_by(session, account, "+33612345678") is None
    with pytest.raises(DialtoneError) as info:
        dnc.remove(session, account, "+33612345678")
    assert (info.value.code, info.value.status) == ("dnc.not_found", 404)


@pytest.mark.parametrize(
    ("owner", "list_name"),
    [("account", "bloctel"), (None, "account"), (None, "Bloctel!"), (None, "")],
)
def test_list_names(session: Session, account: str, owner: str | None, list_name: str) -> None:
    with pytest.raises(DialtoneError) as info:
        dnc.import_csv(
            session, account if owner else None, "+33612345678\n", now=T0, list_name=list_name
        )
    assert info.value.code == "dnc.invalid"


def test_a_register_in_national_form(session: Session, account: str) -> None:
    text = "06 12 34 56 78\n01.23.45.67.89\n+44 20 7183 8750\n12\n"
    result = dnc.import_csv(session, None, text, now=T0, list_name="bloctel", region="FR")
    assert (result.added, result.invalid_lines) == (3, [4])
    assert dnc.listed_by(session, account, "+33123456789") == "bloctel"
