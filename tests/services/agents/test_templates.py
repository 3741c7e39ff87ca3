"""Templates' placeholders, and the CSV reader against Python's own writer."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialtone.services.agents import knowledge, templates

_PLAIN = st.text(st.characters(blacklist_characters="{}", blacklist_categories=("Cs",)))
_NAMES = st.sampled_from(["name", "business_name", "caller_name", "offer"])


@given(st.lists(st.tuples(_PLAIN, _NAMES)), _PLAIN)
def test_fill_replaces_what_it_knows_and_keeps_the_rest(
    pieces: list[tuple[str, str]], tail: str
) -> None:
    text = "".join(f"{literal}{{{name}}}" for literal, name in pieces) + tail
    values = {"name": "Ava", "business_name": "{Acme}"}
    filled = templates.fill(text, values)
    expected = (
        "".join(literal + values.get(name, "{" + name + "}") for literal, name in pieces) + tail
    )
    assert filled == expected
    assert templates.placeholders(text) == [name for _, name in pieces]


@pytest.mark.parametrize("text", ["{", "}", "a { b", "{{name}}", "x}{"])
def test_a_stray_brace_does_not_parse(text: str) -> None:
    with pytest.raises(ValueError, match="brace"):
        templates.placeholders(text)


_CELL = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)


@given(st.lists(st.tuples(_CELL, _CELL), max_size=20))
def test_every_row_python_writes_is_read_back_or_refused_by_its_line(
    rows: list[tuple[str, str]],
) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["question", "answer"])
    writer.writerows(rows)
    read, errors = knowledge.parse_csv(out.getvalue())
    good = [
        (q.strip(), a.strip())
        for q, a in rows
        if q.strip() and a.strip() and len(q.strip()) <= 500 and len(a.strip()) <= 2000
    ]
    assert read == good
    blank = sum(1 for q, a in rows if not q.strip() and not a.strip())
    assert len(errors) == len(rows) - len(good) - blank
