"""English and French: every text the console says has its French; the language chosen
from the user, the cookie or Accept-Language (q-values); numbers and money in each
language's way."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import jinja2
import pytest
from jinja2 import nodes

from dialtone.dashboard import i18n
from dialtone.dashboard.locale import fr_core
from dialtone.dashboard.pages.calls import DIRECTIONS
from dialtone.dashboard.render import environment
from dialtone.policy.permissions import ROLES
from dialtone.services.telephony.calls import LIVE_STATUSES, STATUSES

DASHBOARD = Path(i18n.__file__).parent
TEMPLATES = DASHBOARD / "templates"
# Calls whose first (t) or second (notice, MenuEntry) argument is an English text.
_TEXT_ARGUMENT = {"t": 0, "notice": 1, "MenuEntry": 1}


def template_texts(path: Path) -> Iterator[str]:
    """Every ``t("literal")`` of a template, read with Jinja's own parser (so quoting,
    line breaks and keyword arguments do not matter)."""
    source = path.read_text(encoding="utf-8")
    tree = environment().parse(source, path.name, str(path))
    for call in tree.find_all(nodes.Call):
        if (
            isinstance(call.node, nodes.Name)
            and call.node.name == "t"
            and call.args
            and isinstance(call.args[0], nodes.Const)
            and isinstance(call.args[0].value, str)
        ):
            yield call.args[0].value


def python_texts(path: Path) -> Iterator[str]:
    """Every English literal of a module: ``t("…")`` and ``viewer.t("…")``, the text of
    ``notice(key, "…")`` and of a ``MenuEntry(href, "…", permission)``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        func = call.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        index = _TEXT_ARGUMENT.get(name or "")
        if index is None or len(call.args) <= index:
            continue
        argument = call.args[index]
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            yield argument.value


def every_text() -> dict[str, set[str]]:
    """English text → the files (relative to the dashboard package) that say it."""
    found: dict[str, set[str]] = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        for text in template_texts(path):
            found.setdefault(text, set()).add(str(path.relative_to(DASHBOARD)))
    for path in sorted(DASHBOARD.rglob("*.py")):
        if "locale" in path.parts:
            continue
        for text in python_texts(path):
            found.setdefault(text, set()).add(str(path.relative_to(DASHBOARD)))
    return found


def test_the_collectors_find_what_a_page_says(tmp_path: Path) -> None:
    """The collection itself: a template's and a module's texts, whatever their quoting."""
    page = tmp_path / "x.html"
    page.write_text(
        '{{ t("Alpha") }} {{ t(\'Beta\', n=2) }} {{ t(row.status) }} {{ other("Gamma") }}'
        '<a title="{{ t(\n  "Delta") }}">',
        encoding="utf-8",
    )
    module = tmp_path / "x.py"
    module.write_text(
        'A = t("One")\nB = viewer.t("Two {n}", n=1)\nC = notice("k", "Three")\n'
        'D = MenuEntry("/x", "Four", "p")\nE = t(variable)\nF = other("Five")\n',
        encoding="utf-8",
    )
    assert sorted(template_texts(page)) == ["Alpha", "Beta", "Delta"]
    assert sorted(python_texts(module)) == ["Four", "One", "Three", "Two {n}"]


def test_the_foundation_is_collected() -> None:
    """The collection reaches the frame, the pages and the menu (a broken collector
    would let every other check pass on nothing)."""
    texts = every_text()
    for text in ("Skip to the content", "Calls today", "Leg chain (V11)", "Audit log"):
        assert text in texts, text
    assert "templates/base.html" in texts["Skip to the content"]
    assert "render.py" in texts["Audit log"]
    assert len(texts) > 80


def test_every_text_of_the_console_has_its_french() -> None:
    """Each t("…") of every template and every module of the dashboard, each notice and
    menu label, is in one of the French catalogues (locale/fr_*.py). What is missing is
    listed with the files that say it: an area's helper adds it to its own catalogue."""
    french = i18n.french()
    missing = {
        text: sorted(files) for text, files in sorted(every_text().items()) if text not in french
    }
    listing = "\n".join(f"  {text!r}  ({', '.join(files)})" for text, files in missing.items())
    assert not missing, f"{len(missing)} texts without French:\n{listing}"


@pytest.mark.parametrize(
    "words",
    [
        pytest.param(STATUSES, id="call outcomes"),
        pytest.param(LIVE_STATUSES, id="live states"),
        pytest.param(DIRECTIONS, id="directions"),
        pytest.param((*ROLES, "operator"), id="roles"),
    ],
)
def test_the_words_of_records_have_their_french(words: tuple[str, ...]) -> None:
    """Values shown as ``t(row.status)`` are not literals in a template: listed here."""
    french = i18n.french()
    assert [w for w in words if w not in french] == []


def test_the_core_catalogue_is_french_not_a_copy() -> None:
    """A French entry is not the English left in place (except for words both languages
    write alike), and the placeholders survive the translation."""
    same = {"Code", "Source", "SLA", "Messages", "Action", "agent", "trunk", "Trunks"}
    for english, french in fr_core.FRENCH.items():
        if english not in same:
            assert french != english, english
        assert sorted(_fields(english)) == sorted(_fields(french)), english


def _fields(text: str) -> list[str]:
    import string

    return [name for _, name, _, _ in string.Formatter().parse(text) if name]


def test_a_page_in_french_says_it_in_french() -> None:
    t = i18n.translator("fr")
    assert t("Calls today") == "Appels aujourd’hui"
    assert t("Welcome, {name}", name="Ada") == "Bienvenue, Ada"
    assert t("A text nobody translated") == "A text nobody translated"
    assert i18n.translator("en")("Calls today") == "Calls today"


def test_every_template_parses() -> None:
    for path in TEMPLATES.rglob("*.html"):
        try:
            environment().parse(path.read_text(encoding="utf-8"))
        except jinja2.TemplateSyntaxError as exc:  # pragma: no cover - the failure's message
            pytest.fail(f"{path.name}: {exc}")


@pytest.mark.parametrize(
    ("preferred", "cookie", "accept", "chosen"),
    [
        (None, None, None, "en"),
        (None, None, "", "en"),
        (None, None, "fr", "fr"),
        (None, None, "fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        (None, None, "en-GB,en;q=0.9,fr;q=0.8", "en"),
        (None, None, "de-DE,de;q=0.9,fr;q=0.7,en;q=0.5", "fr"),  # the best we speak
        (None, None, "en;q=0.5,fr;q=0.8", "fr"),  # quality, not order
        (None, None, "fr;q=0.8,en;q=0.8", "fr"),  # a tie: the first listed
        (None, None, "en;q=0.8, fr;q=0.8", "en"),
        (None, None, "fr;q=0,en;q=0.1", "en"),  # q=0: not acceptable
        (None, None, "fr;q=0", "en"),
        (None, None, "de,es", "en"),  # nothing we speak
        (None, None, "*", "en"),
        (None, None, "FR-ca", "fr"),  # tags are case-insensitive
        (None, None, "fr;q=abc,en;q=0.2", "en"),  # a broken q counts as 0
        (None, None, "fr ; q=0.9 , en ; q=0.3", "fr"),
        (None, "fr", "en", "fr"),  # the browser's cookie before Accept-Language
        (None, "de", "fr", "fr"),  # a cookie we do not speak is ignored
        ("en", None, "fr", "en"),  # the user's saved choice before Accept-Language
        ("en", "fr", "en", "fr"),  # the header's switch (the cookie) before the saved one
        ("fr", None, "en", "fr"),
        ("xx", None, None, "en"),
    ],
)
def test_the_language_is_chosen(
    preferred: str | None, cookie: str | None, accept: str | None, chosen: str
) -> None:
    assert i18n.choose(preferred, cookie, accept) == chosen


NNBSP = "\u202f"  # narrow no-break space: French thousands
NBSP = "\u00a0"  # no-break space: before the French currency sign


@pytest.mark.parametrize(
    ("amount", "currency", "english", "french"),
    [
        (Decimal("0"), "EUR", "€0.00", f"0,00{NBSP}€"),
        (Decimal("1234.5"), "EUR", "€1,234.50", f"1{NNBSP}234,50{NBSP}€"),
        (Decimal("1234567.891"), "USD", "$1,234,567.89", f"1{NNBSP}234{NNBSP}567,89{NBSP}$"),
        (Decimal("-42.1"), "EUR", "-€42.10", f"-42,10{NBSP}€"),
        (Decimal("-1234.5"), "GBP", "-£1,234.50", f"-1{NNBSP}234,50{NBSP}£"),
        (Decimal("0.005"), "EUR", "€0.01", f"0,01{NBSP}€"),  # half up, as invoices
        (Decimal("0.015"), "EUR", "€0.02", f"0,02{NBSP}€"),
        (Decimal("999.999"), "EUR", "€1,000.00", f"1{NNBSP}000,00{NBSP}€"),
        (Decimal("12"), "CHF", "CHF 12.00", f"12,00{NBSP}CHF"),
    ],
)
def test_money_in_each_language(amount: Decimal, currency: str, english: str, french: str) -> None:
    assert i18n.money(amount, currency, "en") == english
    assert i18n.money(amount, currency, "fr") == french


@pytest.mark.parametrize(
    ("value", "places", "english", "french"),
    [
        (0, None, "0", "0"),
        (999, None, "999", "999"),
        (1000, None, "1,000", f"1{NNBSP}000"),
        (1234567, None, "1,234,567", f"1{NNBSP}234{NNBSP}567"),
        (-1234, None, "-1,234", f"-1{NNBSP}234"),
        (Decimal("1234.5"), None, "1,234.5", f"1{NNBSP}234,5"),
        (Decimal("1234.5"), 0, "1,234", f"1{NNBSP}234"),  # half to even
        (Decimal("1235.5"), 0, "1,236", f"1{NNBSP}236"),
        (Decimal("0.25"), 1, "0.2", "0,2"),
        (Decimal("100"), 2, "100.00", "100,00"),
        (Decimal("12.3"), 1, "12.3", "12,3"),
    ],
)
def test_numbers_in_each_language(
    value: int | Decimal, places: int | None, english: str, french: str
) -> None:
    assert i18n.number(value, "en", places) == english
    assert i18n.number(value, "fr", places) == french
