"""The web console in a real headless browser (issue 18), over a real ``dialtone serve``
taking real SIP calls from sipp: sign in; a call shows on the overview while it is live
(brought by the live feed, no reload) and moves to the history when it ends; a recording
plays; a route changed in the console is the one the next call follows; an invoice PDF
downloads and ``pdftotext`` reads its total; the audit log shows a premium-rate call
refused under V5; a guest cannot open billing; a second account sees nothing of the
first; and a screenshot of every main page at 1280×800 (artefacts, never committed).

One platform for the module (per pytest-xdist worker: ``make test`` may share the module's
tests between two); each test sets up what it relies on (a route, a call), whichever
tests ran before it on that platform.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from dialtone.services.billing import subscriptions, tariffs
from dialtone.store.db import open_database, transaction

from . import sippgen
from .browser import WAIT_MS, browser, context, new_context, page, screenshot
from .conftest import Platform, cli_here, require_sipp, serving
from .test_call_engine import PASSWORD as SIP_PASSWORD
from .test_call_engine import PCAP, Sipp, register_phone, route, run, wait_for

pytestmark = pytest.mark.interop

__all__ = ["browser", "context", "page"]  # fixtures, used by name

CONSOLE_PASSWORD = "console-pass-4417"
ADMIN = "ada@acme.example"
GUEST = "gus@acme.example"
OTHER_ADMIN = "olga@globex.example"
OTHER_NUMBER = "+33198765432"
DECK = "prefix,destination,rate_per_minute\n44,United Kingdom,0.05\n33,France,0.03\n"


@dataclass
class Console:
    """The platform, and what the tests learn of it as they go (call ids, …)."""

    platform: Platform
    tmp: Path
    other_account: str = ""
    other_key: str = ""
    calls: list[str] = field(default_factory=list)
    seen: dict[str, str] = field(default_factory=dict)

    def api(self, key: str | None = None) -> httpx.Client:
        return self.platform.http(key)

    @property
    def base(self) -> str:
        return self.platform.base_url


def _person(platform: Platform, key: str, account: str, *, name: str, role: str, email: str) -> str:
    """A user with ``role`` and a console password; their id."""
    with platform.http(key) as http:
        made = http.post("/v1/users", json={"name": name, "role": role, "email": email})
    assert made.status_code == 201, made.text
    user_id: str = made.json()["id"]
    cli_here(
        platform.env, "console", "password", "--account", account, "--user", user_id,
        "--password", CONSOLE_PASSWORD,
    )  # fmt: skip
    return user_id


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """``dialtone serve`` with account Acme (+33123456789, SIP user alice 201, administrator
    Ada and guest Gus in the console) and account Globex (its own number, administrator
    Olga). Look-ups are not cached: a route changed applies to the next call."""
    require_sipp()
    tmp = tmp_path_factory.mktemp("console")
    with serving(
        tmp,
        users=(("alice", "201"),),
        password=SIP_PASSWORD,
        ring_seconds="0.2",
        lookup_cache_seconds="0",
        digest_algorithms="MD5",
    ) as platform:
        made = Console(platform, tmp)
        acme = (platform.api_key, platform.account_id)
        _person(platform, *acme, name="Ada Admin", role="administrator", email=ADMIN)
        _person(platform, *acme, name="Gus Guest", role="guest", email=GUEST)
        out = cli_here(platform.env, "accounts", "create", "Globex", "--number", OTHER_NUMBER)
        values = dict(line.split(": ", 1) for line in out.strip().splitlines())
        made.other_account, made.other_key = values["account_id"], values["api_key"]
        globex = (made.other_key, made.other_account)
        _person(platform, *globex, name="Olga Other", role="administrator", email=OTHER_ADMIN)
        yield made


def sign_in(page: Page, base: str, email: str) -> None:
    """Sign in through the form, as a person does; lands on the overview."""
    page.goto(f"{base}/console/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(CONSOLE_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/console/")


def exists(context: BrowserContext, url: str) -> bool:
    """Whether the console has this page."""
    return context.request.get(url, max_redirects=0).status != 404


def require_page(context: BrowserContext, url: str) -> None:
    """Fail at once, saying which, when the console has no such page."""
    assert exists(context, url), f"{url} answers 404: the console has no such page"


def caller(console: Console, name: str, to: str, **kw: Any) -> Sipp:
    """A sipp calling ``to`` (digits of a number of the account), started now."""
    return Sipp(console.platform, console.tmp, name, sippgen.call(to, **kw), timeout=30)


def new_call(console: Console) -> dict[str, Any]:
    """The record of the call that just ended (the latest, not one an earlier test made:
    its record may be written a moment after the caller's BYE); kept in ``console.calls``."""

    def latest() -> dict[str, Any] | None:
        with console.api() as http:
            listed = http.get("/v1/calls", params={"limit": 1}).json()["calls"]
        return listed[0] if listed and listed[0]["id"] not in console.calls else None

    record = wait_for(latest)
    assert record is not None, "no record of the call"
    console.calls.append(record["id"])
    return record


def a_call(console: Console) -> str:
    """The id of a call of the first account: one an earlier test made, else a short call
    made now (to the number's greeting)."""
    if not console.calls:
        platform = console.platform
        route(platform, platform.number, kind="greeting")
        run(platform, console.tmp, "short", sippgen.call("33123456789", bye_after_ms=500))
        new_call(console)
    return console.calls[-1]


# -- 1. sign in ---------------------------------------------------------------------------


def test_sign_in_through_the_form_shows_the_account(console: Console, page: Page) -> None:
    page.goto(f"{console.base}/console/")  # not signed in: sent to the form
    page.wait_for_url(re.compile(r"/console/sign-in"))
    screenshot(page, "sign-in")
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#sign-in-error")).to_be_visible()
    sign_in(page, console.base, ADMIN)
    expect(page.locator("h1")).to_have_text("Overview")
    expect(page.locator("body")).to_contain_text("Acme")
    expect(page.locator("body")).to_contain_text("Ada Admin")


# -- 2. live calls --------------------------------------------------------------------------


def test_a_call_shows_live_on_the_overview_then_in_the_history(
    console: Console, page: Page
) -> None:
    # The number goes to alice's voicemail box: answered, the caller talks for 4 s.
    platform = console.platform
    route(platform, platform.number, kind="voicemail", target=platform.extra["alice"])
    sign_in(page, console.base, ADMIN)
    expect(page.locator("#live-calls .live-call")).to_have_count(0)
    # A mark on the loaded page: had anything reloaded it, the mark would be gone.
    page.evaluate("window.__loaded_once = true")
    call = caller(console, "live", "33123456789", pcap=PCAP, bye_after_ms=4000)
    try:
        live = page.locator("#live-calls .live-call[data-call-id]")
        expect(live).to_have_count(1, timeout=WAIT_MS)
        expect(live).to_contain_text("+14155550100")
        call_id = live.get_attribute("data-call-id")
        assert call_id
        screenshot(page, "overview-live-call")
    finally:
        call.wait(console.platform)
    expect(live).to_have_count(0, timeout=WAIT_MS)
    recent = page.locator(f'#recent-calls .call-record[data-call-id="{call_id}"]')
    expect(recent).to_have_count(1, timeout=WAIT_MS)
    assert page.evaluate("window.__loaded_once") is True, "the page was reloaded"
    assert new_call(console)["id"] == call_id


# -- 3. a recording plays -------------------------------------------------------------------


def test_a_recorded_call_plays_in_the_call_page(console: Console, page: Page) -> None:
    # TERMS V8 "notice": the notice plays, then the bridged call is recorded; the caller
    # sends 7 s of audio, the call lasts 4.5 s.
    platform = console.platform
    with console.api() as http:
        changed = http.patch("/v1/account", json={"recording_policy": "notice"})
    assert changed.status_code == 200, changed.text
    phone = Sipp(platform, console.tmp, "alice-phone", sippgen.phone(), server=True, timeout=30)
    register_phone(platform, console.tmp, "alice", phone.port)
    route(platform, platform.number, kind="user", target=platform.extra["alice"])
    run(platform, console.tmp, "recorded", sippgen.call("33123456789", pcap=PCAP,
        bye_after_ms=4500))  # fmt: skip
    phone.wait(platform)
    record = new_call(console)
    assert record["recording_url"], record
    assert [leg["kind"] for leg in record["legs"]] == ["public", "device"], record["legs"]
    console.seen["phone_port"] = str(phone.port)

    sign_in(page, console.base, ADMIN)
    page.goto(f"{console.base}/console/calls/{record['id']}")
    audio = page.locator("audio#recording")
    expect(audio).to_be_attached()
    duration = page.evaluate(
        """() => new Promise((resolve, reject) => {
            const audio = document.getElementById("recording");
            const done = () => resolve(audio.duration);
            if (audio.readyState >= 1) { done(); return; }
            audio.addEventListener("loadedmetadata", done, { once: true });
            audio.addEventListener("error", () => reject(new Error(
                "the recording did not load: " + (audio.error && audio.error.code))),
                { once: true });
            audio.load();
        })"""
    )
    assert duration > 0.5, duration
    screenshot(page, "call-detail")


# -- 4. a route changed in the console ---------------------------------------------------


def test_a_route_changed_in_the_console_is_followed_by_the_next_call(
    console: Console, context: BrowserContext, page: Page
) -> None:
    platform = console.platform
    with console.api() as http:
        [number] = [n for n in http.get("/v1/numbers").json()["numbers"]
                    if n["number"] == platform.number]  # fmt: skip
    url = f"{console.base}/console/numbers/{number['id']}"
    # From the number's greeting (whatever an earlier test left) to alice's voicemail box.
    route(platform, platform.number, kind="greeting")
    sign_in(page, console.base, ADMIN)
    require_page(context, url)
    page.goto(url)
    form = page.locator("#route-form")
    form.locator("select[name=kind]").select_option("voicemail")
    target = form.locator("[name=target]")
    if target.evaluate("e => e.tagName") == "SELECT":
        target.select_option(platform.extra["alice"])
    else:
        target.fill(platform.extra["alice"])
    form.get_by_role("button", name="Save the route").click()
    page.wait_for_load_state()
    with console.api() as http:
        routed = http.get(f"/v1/numbers/{platform.number}/route").json()
    assert (routed["kind"], routed["target"]) == ("voicemail", platform.extra["alice"]), routed
    with console.api() as http:
        before = len(http.get("/v1/voicemails").json()["voicemails"])
    run(platform, console.tmp, "to-voicemail", sippgen.call("33123456789", pcap=PCAP,
        bye_after_ms=3000))  # fmt: skip
    with console.api() as http:
        after = wait_for(
            lambda: len(got := http.get("/v1/voicemails").json()["voicemails"]) > before and got
        )
    assert after, "the call did not reach alice's voicemail box"
    new_call(console)


# -- 5. an invoice PDF ----------------------------------------------------------------------


def test_an_invoice_pdf_downloads_and_pdftotext_reads_its_total(
    console: Console, context: BrowserContext, page: Page
) -> None:
    platform = console.platform
    _, sessions = open_database(f"sqlite:///{platform.data_dir / 'dialtone.db'}")
    start = datetime.now(UTC) - timedelta(days=70)
    with transaction(sessions) as session:
        tariffs.import_csv(session, "calls", "EUR", DECK,
                           effective_from=start - timedelta(days=30), now=start)  # fmt: skip
        subscriptions.subscribe(
            session, platform.account_id, plan_code="essential", currency="EUR",
            country="FR", now=start, payment_method="invoice",
        )  # fmt: skip
    cli_here(platform.env, "billing", "run")
    with console.api() as http:
        invoices = http.get("/v1/invoices").json()
    assert invoices, "the billing run issued no invoice"
    invoice = invoices[0]

    sign_in(page, console.base, ADMIN)
    require_page(context, f"{console.base}/console/billing")
    page.goto(f"{console.base}/console/billing")
    link = page.locator(f'#invoices a[href="/console/billing/invoices/{invoice["id"]}.pdf"]')
    with page.expect_download() as downloading:
        link.click()
    pdf = console.tmp / "invoice.pdf"
    downloading.value.save_as(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    total = str(invoice["total"])
    figures = {total, f"{float(total):.2f}", f"{float(total):.2f}".replace(".", ",")}
    assert any(figure in text for figure in figures), (figures, text[-1500:])


# -- 6. the audit log shows V5 ---------------------------------------------------------------


def test_a_refused_premium_rate_call_is_on_the_audit_page_with_v5(
    console: Console, context: BrowserContext, page: Page
) -> None:
    platform = console.platform
    run(
        platform, console.tmp, "premium",
        sippgen.call("+33899123456", from_user="alice", auth=True, expect=403,
                     expect_header=("Reason", "destination.premium_rate")),
        user="alice",
    )  # fmt: skip
    with console.api() as http:
        events = http.get("/v1/audit").json()["events"]
    assert any((e["rule"], e["code"]) == ("V5", "destination.premium_rate") for e in events)

    sign_in(page, console.base, ADMIN)
    require_page(context, f"{console.base}/console/audit")
    page.goto(f"{console.base}/console/audit")
    row = page.locator("#audit tr", has_text="destination.premium_rate")
    expect(row.first).to_contain_text("V5")


# -- 7. a guest and billing --------------------------------------------------------------


def test_a_guest_cannot_open_the_billing_page(
    console: Console, context: BrowserContext, page: Page
) -> None:
    sign_in(page, console.base, GUEST)
    require_page(context, f"{console.base}/console/billing")
    answer = page.goto(f"{console.base}/console/billing")
    assert answer is not None
    assert answer.status == 403
    expect(page.locator(".error-code")).to_have_text("permission.denied")
    expect(page.locator(".error-rule")).to_have_text("D1")
    expect(page.locator("#invoices")).to_have_count(0)
    expect(page.get_by_role("navigation").get_by_role("link", name="Billing")).to_have_count(0)


# -- 8. a second account sees nothing of the first ------------------------------------------

MENU_PAGES = (
    "/console/", "/console/calls", "/console/voicemail", "/console/numbers", "/console/users",
    "/console/ring-groups", "/console/trunks", "/console/agents", "/console/messages",
    "/console/billing", "/console/sla", "/console/audit", "/console/settings",
)  # fmt: skip


def test_a_second_account_sees_none_of_the_first_accounts_data(
    console: Console, context: BrowserContext, page: Page
) -> None:
    platform = console.platform
    a_call(console)
    with console.api() as http:
        numbers = http.get("/v1/numbers").json()["numbers"]
        people = http.get("/v1/users").json()["users"]
    secrets = [
        platform.number, platform.number.removeprefix("+33"), "01 23 45 67 89",
        platform.account_id, "Acme",
        *console.calls, *(n["id"] for n in numbers), *(p["name"] for p in people),
        *(p["id"] for p in people), *(p["email"] for p in people if p.get("email")),
    ]  # fmt: skip
    sign_in(page, console.base, OTHER_ADMIN)
    expect(page.locator("body")).to_contain_text("Olga Other")
    visited = 0
    for path in MENU_PAGES:
        answer = page.goto(f"{console.base}{path}")
        assert answer is not None
        assert answer.status == 200, (path, answer.status)
        visited += 1
        html = page.content()
        leaked = [secret for secret in secrets if secret in html]
        assert not leaked, (path, leaked)
    assert visited == len(MENU_PAGES)
    # The first account's records by their ids: not found, and nothing of them shown.
    details = [f"/console/calls/{call_id}" for call_id in console.calls]
    details += [f"/console/calls/{call_id}/recording" for call_id in console.calls]
    details += [f"/console/numbers/{n['id']}" for n in numbers]
    details += [f"/console/users/{p['id']}" for p in people]
    for path in details:
        answer = page.goto(f"{console.base}{path}")
        assert answer is not None
        assert answer.status == 404, (path, answer.status)
        html = page.content()
        leaked = [secret for secret in secrets if secret in html and secret not in path]
        assert not leaked, (path, leaked)


# -- 9. screenshots -------------------------------------------------------------------------

MAIN_PAGES = (
    ("overview", "/console/"), ("calls", "/console/calls"), ("voicemail", "/console/voicemail"),
    ("numbers", "/console/numbers"), ("users", "/console/users"),
    ("ring-groups", "/console/ring-groups"), ("trunks", "/console/trunks"),
    ("messages", "/console/messages"), ("billing", "/console/billing"), ("sla", "/console/sla"),
    ("audit", "/console/audit"), ("settings", "/console/settings"),
    ("agents", "/console/agents"), ("twilio", "/console/settings/twilio"),
)  # fmt: skip


def test_screenshots_of_every_main_page(console: Console, browser: Any) -> None:
    # The administrator's view, with the calls the tests made; the operator's trunks page.
    made: list[str] = []
    admin = new_context(browser)
    try:
        page = admin.new_page()
        sign_in(page, console.base, ADMIN)
        pages = [*MAIN_PAGES, ("call-detail", f"/console/calls/{a_call(console)}")]
        for name, path in pages:
            answer = page.goto(f"{console.base}{path}")
            assert answer is not None
            assert answer.status == 200, (path, answer.status)
            page.wait_for_load_state("load")
            made.append(screenshot(page, name).name)
    finally:
        admin.close()
    assert len(made) == len(pages), made
