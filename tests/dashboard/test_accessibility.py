"""Accessibility of the console's foundation, read from the HTML the server sends (issue
18: labels, keyboard, contrast): every field has a label, every table header its scope,
the page its language and one title, images and charts a text; and console.css's text
colours meet WCAG AA (4.5:1) on their backgrounds, computed from its variables."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from dialtone.dashboard import i18n
from dialtone.services.accounts import console_access
from dialtone.store.db import transaction
from dialtone.store.models import CallRecord
from tests.dashboard.conftest import new_account, new_operator, new_person, sign_in

CSS = Path(i18n.__file__).parent / "static" / "console.css"
AA = 4.5  # WCAG 2.x 1.4.3, normal text
# Shapes without text (a background, no characters): the live call's dot is aria-hidden
# beside the state written out (_live_calls.html), so no colour carries meaning alone.
NOT_TEXT = {".live-dot"}


# -- reading a page --------------------------------------------------------------------------


@dataclass
class Page(HTMLParser):
    """What the checks need of a page, gathered in one pass."""

    lang: str | None = None
    h1: int = 0
    fields: list[dict[str, str | None]] = field(default_factory=list)
    label_for: set[str] = field(default_factory=set)
    tables: list[dict[str, int]] = field(default_factory=list)
    graphics: list[tuple[str, dict[str, str | None]]] = field(default_factory=list)
    buttons: list[str] = field(default_factory=list)
    _button: list[str] | None = None
    _button_label: str | None = None

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.lang = values.get("lang")
        elif tag == "h1":
            self.h1 += 1
        elif tag in ("input", "select", "textarea"):
            if values.get("type") != "hidden":
                self.fields.append({"tag": tag, **values})
        elif tag == "label" and values.get("for"):
            self.label_for.add(str(values["for"]))
        elif tag == "table":
            self.tables.append({"th": 0, "scoped": 0})
        elif tag == "th" and self.tables:
            self.tables[-1]["th"] += 1
            if values.get("scope") in ("col", "row", "colgroup", "rowgroup"):
                self.tables[-1]["scoped"] += 1
        elif tag in ("img", "svg"):
            self.graphics.append((tag, values))
        elif tag == "button":
            self._button = []
            self._button_label = values.get("aria-label")

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None:
            self.buttons.append(self._button_label or "".join(self._button).strip())
            self._button = None


def read(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def problems(html: str) -> list[str]:
    """Every failure of the page, said plainly (empty: the page passes)."""
    page = read(html)
    found: list[str] = []
    if page.lang not in i18n.LANGUAGES:
        found.append(f"<html lang> is {page.lang!r}")
    if page.h1 != 1:
        found.append(f"{page.h1} <h1> (one wanted)")
    for f in page.fields:
        if not (f.get("aria-label") or f.get("aria-labelledby") or f.get("id") in page.label_for):
            found.append(f"<{f['tag']} name={f.get('name')!r}> has no label")
    for n, table in enumerate(page.tables):
        if table["th"] == 0 or table["scoped"] != table["th"]:
            found.append(f"table {n}: {table['scoped']} of {table['th']} <th> have a scope")
    for tag, values in page.graphics:
        if tag == "img" and values.get("alt") is None and not values.get("aria-label"):
            found.append(f"<img src={values.get('src')!r}> has no text")
        if tag == "svg" and not (
            values.get("aria-hidden") == "true"
            or (values.get("role") and (values.get("aria-label") or values.get("aria-labelledby")))
        ):
            found.append("<svg> without role and aria-label")
    found += [f"a button has no text: {b!r}" for b in page.buttons if not b]
    return found


def test_the_checks_find_what_is_wrong() -> None:
    """Each check, on a page that breaks it (else a passing page proves nothing)."""
    bad = (
        '<!doctype html><html><body><h1>A</h1><h1>B</h1><input name="q">'
        '<input type="hidden" name="csrf"><label for="s">S</label><select id="s"></select>'
        '<table><tr><th>X</th><th scope="col">Y</th></tr></table><table><tr><td>1</td></tr>'
        '</table><img src="a.png"><svg></svg><svg role="img"></svg><button> </button>'
        '<button aria-label="Open Acme"></button></body></html>'
    )
    assert problems(bad) == [
        "<html lang> is None",
        "2 <h1> (one wanted)",
        "<input name='q'> has no label",
        "table 0: 1 of 2 <th> have a scope",
        "table 1: 0 of 0 <th> have a scope",
        "<img src='a.png'> has no text",
        "<svg> without role and aria-label",
        "<svg> without role and aria-label",
        "a button has no text: ''",
    ]
    good = (
        '<html lang="fr"><h1>A</h1><input id="q"><label for="q">Q</label>'
        '<textarea aria-label="Note"></textarea><table><tr><th scope="col">X</th></tr></table>'
        '<img src="a.png" alt=""><svg role="img" aria-label="Chart"></svg>'
        '<svg aria-hidden="true"></svg><button>Go</button></html>'
    )
    assert problems(good) == []


# -- the pages ---------------------------------------------------------------------------------


def _calls(sessions: sessionmaker[Session], account_id: str, user_id: str) -> str:
    """Two records of the account (one with a leg chain); the first one's id."""
    now = datetime.now(UTC)
    with transaction(sessions) as session:
        for n, status in enumerate(("completed", "no-answer")):
            started = now - timedelta(hours=n + 1)
            session.add(
                CallRecord(
                    id=f"CA{n:032d}",
                    account_id=account_id,
                    direction="inbound",
                    from_number="+33100000000",
                    to_number="+33184000001",
                    started_at=started,
                    answered_at=started + timedelta(seconds=4) if n == 0 else None,
                    ended_at=started + timedelta(seconds=64),
                    duration=Decimal(60 if n == 0 else 0),
                    billed_seconds=60 if n == 0 else 0,
                    billing_increment="60/60",
                    status=status,
                    hangup_cause="normal",
                    sip_call_id=f"a11y-{n}",
                    sip_local_tag="t",
                    legs='[{"kind": "trunk", "id": "TR1", "source": "192.0.2.1",'
                    ' "user_agent": "carrier"}]',
                    user_id=user_id,
                )
            )
    return "CA" + "0" * 32


@pytest.fixture
def signed_in(client: TestClient, sessions: sessionmaker[Session]) -> dict[str, str]:
    """An administrator signed in, with calls; the paths of their pages."""
    account_id, _ = new_account(sessions, "Acme")
    person = new_person(sessions, account_id, "administrator", "ada@acme.test")
    assert person.user_id is not None
    call = _calls(sessions, account_id, person.user_id)
    sign_in(client, "ada@acme.test")
    return {
        "overview": "/console/",
        "calls": "/console/calls",
        "calls filtered": "/console/calls?direction=inbound&status=completed",
        "call": f"/console/calls/{call}",
        "error (unknown call)": "/console/calls/CA" + "f" * 32,
    }


PAGES = ("overview", "calls", "calls filtered", "call", "error (unknown call)")


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("name", PAGES)
def test_a_signed_in_page_is_accessible(
    client: TestClient, signed_in: dict[str, str], name: str, language: str
) -> None:
    client.cookies.set("dt_lang", language)
    answer = client.get(signed_in[name])
    assert answer.status_code in (200, 404), answer.text
    assert f'<html lang="{language}">' in answer.text
    assert problems(answer.text) == []


def test_the_overview_charts_are_described(client: TestClient, signed_in: dict[str, str]) -> None:
    """The charts are the page's only graphics: each has its text (the values)."""
    page = read(client.get(signed_in["overview"]).text)
    charts = [v for tag, v in page.graphics if tag == "svg"]
    assert len(charts) >= 2
    assert all(str(v.get("aria-label", "")).count(":") >= 2 for v in charts)


def test_the_operator_accounts_page_is_accessible(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    new_account(sessions, "Acme")
    new_account(sessions, "Globex")
    new_operator(sessions)
    sign_in(client, "op@example.net")
    answer = client.get("/console/accounts")
    assert answer.status_code == 200, answer.text
    assert problems(answer.text) == []


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_pages_before_sign_in_are_accessible(
    client: TestClient, sessions: sessionmaker[Session], language: str
) -> None:
    account_id, _ = new_account(sessions, "Acme")
    person = new_person(sessions, account_id, "user", "uma@acme.test")
    assert person.user_id is not None
    with transaction(sessions) as session:
        token = console_access.invite(session, account_id, person.user_id, now=datetime.now(UTC))
    client.cookies.set("dt_lang", language)
    for path in ("/console/sign-in", f"/console/invitation/{token}", "/console/invitation/x"):
        answer = client.get(path)
        assert answer.status_code in (200, 404), (path, answer.text)
        assert problems(answer.text) == [], path


# -- contrast ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    selectors: tuple[str, ...]
    values: dict[str, str]


def css_rules(css: str) -> Iterator[Rule]:
    """The rules of a stylesheet without nesting (@media blocks are read as their rules)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    css = re.sub(r"@media[^{]*\{", "", css)
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        values = {}
        for declaration in body.split(";"):
            name, _, value = declaration.partition(":")
            if value.strip():
                values[name.strip()] = value.strip()
        yield Rule(tuple(s.strip() for s in selectors.split(",")), values)


def colour(value: str, variables: dict[str, str]) -> str | None:
    """A declaration's colour as #rrggbb (None: not a plain colour, e.g. inherit)."""
    value = value.strip()
    found = re.fullmatch(r"var\((--[\w-]+)\)", value)
    if found:
        return colour(variables[found.group(1)], variables)
    if re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        return value.lower()
    if re.fullmatch(r"#[0-9a-fA-F]{3}", value):
        return "#" + "".join(c * 2 for c in value[1:]).lower()
    return {"white": "#ffffff", "black": "#000000"}.get(value)


def luminance(hex_colour: str) -> float:
    """WCAG relative luminance of an sRGB colour."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize(
    ("a", "b", "ratio"),
    [("#000000", "#ffffff", 21.0), ("#ffffff", "#ffffff", 1.0), ("#777777", "#ffffff", 4.48)],
)
def test_contrast_is_computed_as_wcag_says(a: str, b: str, ratio: float) -> None:
    assert contrast(a, b) == pytest.approx(ratio, abs=0.01)
    assert contrast(b, a) == pytest.approx(ratio, abs=0.01)


def text_pairs(css: str) -> list[tuple[str, str, str]]:
    """(where, text colour, background) of every text the stylesheet colours.

    A rule with both a colour and a background is one pair. A rule colouring text only
    is checked on the background of its first selector's ancestor when the stylesheet
    gives that one a background (``.top a`` on ``.top``), else on both page backgrounds
    (the paper of cards, the wash of the page). A rule giving a background only is
    checked with the ink that text inherits."""
    rules = list(css_rules(css))
    variables = {k: v for r in rules if ":root" in r.selectors for k, v in r.values.items()}
    page_backgrounds = [colour("var(--paper)", variables), colour("var(--wash)", variables)]
    ink = colour(variables["--ink"], variables)
    backgrounds: dict[str, str] = {}
    for rule in rules:
        found = colour(
            rule.values.get("background", rule.values.get("background-color", "")), variables
        )
        if found:
            for selector in rule.selectors:
                backgrounds[selector] = found
    colours: dict[str, str] = {}
    for rule in rules:
        found = colour(rule.values.get("color", ""), variables)
        if found:
            for selector in rule.selectors:
                colours[selector] = found
    pairs: list[tuple[str, str, str]] = []
    for rule in rules:
        if ":root" in rule.selectors:
            continue
        for selector in rule.selectors:
            text = rule.values.get("color")
            if text is None and "text" in selector.split():
                text = rule.values.get("fill")  # SVG text
            fg = colour(text, variables) if text else None
            bg = backgrounds.get(selector)
            if fg and bg:
                pairs.append((selector, fg, bg))
            elif fg:
                ancestor = selector.split()[0] if " " in selector else None
                if ancestor in backgrounds:
                    pairs.append((selector, fg, backgrounds[ancestor]))
                else:
                    pairs += [(selector, fg, b) for b in page_backgrounds if b]
            elif bg and text is None and ink:
                pairs.append((selector, _inherited(selector, colours) or ink, bg))
    return pairs


def _inherited(selector: str, colours: dict[str, str]) -> str | None:
    """The text colour a selector's element has from a broader rule: ``button.danger``
    from ``button``, ``.menu a:hover`` from ``.menu a``."""
    while True:
        broader = re.sub(r"(\.[\w-]+|:[\w-]+|\[[^\]]*\])$", "", selector)
        if broader in (selector, ""):
            return None
        if broader in colours:
            return colours[broader]
        selector = broader


def test_the_pairs_are_read_from_the_stylesheet() -> None:
    css = (
        ":root { --ink: #111111; --paper: #ffffff; --wash: #eeeeee; --brand: #0000aa; }"
        ".top { background: var(--brand); color: #ffffff; }"
        ".top a { color: #fff; } .muted { color: #999999; } .box { background: #ffffcc; }"
        ".link { color: inherit; } button { background: #0000aa; color: #ffffff; }"
        "button.danger { background: #aa0000; } .top a:hover { background: #000088; }"
    )
    assert text_pairs(css) == [
        (".top", "#ffffff", "#0000aa"),
        (".top a", "#ffffff", "#0000aa"),
        (".muted", "#999999", "#ffffff"),
        (".muted", "#999999", "#eeeeee"),
        (".box", "#111111", "#ffffcc"),
        ("button", "#ffffff", "#0000aa"),
        ("button.danger", "#ffffff", "#aa0000"),
        (".top a:hover", "#ffffff", "#000088"),
    ]


def test_the_live_dot_is_decoration() -> None:
    rows = (Path(i18n.__file__).parent / "templates" / "_live_calls.html").read_text()
    assert '<span class="live-dot" aria-hidden="true"></span>{{ t(call.status) }}' in rows


def test_the_console_text_colours_meet_wcag_aa() -> None:
    pairs = text_pairs(CSS.read_text(encoding="utf-8"))
    assert len(pairs) > 15  # the stylesheet was read
    low = [
        f"{where}: {fg} on {bg} is {contrast(fg, bg):.2f}:1"
        for where, fg, bg in pairs
        if contrast(fg, bg) < AA and where not in NOT_TEXT
    ]
    assert low == []
