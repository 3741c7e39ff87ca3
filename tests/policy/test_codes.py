"""The reason-code registry: complete, consistent with the source and TERMS.md, documented."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from dialtone.policy.codes import REGISTRY, markdown, reason
from dialtone.policy.decision import ALLOWED, allow, refuse

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "src" / "dialtone"
TERMS = ROOT.parent / "shared" / "spec" / "TERMS.md"
CODE = re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*")
RAISERS = {"DialtoneError", "NotFound", "Conflict", "Unauthorized", "refuse"}


def _code_uses() -> dict[str, set[str | None]]:
    """Every code the source raises or refuses with, and the rules it cites there."""
    uses: dict[str, set[str | None]] = {}
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            first = node.args[0] if node.args else None
            if name not in RAISERS or not isinstance(first, ast.Constant):
                continue
            if not isinstance(first.value, str) or not CODE.fullmatch(first.value):
                continue
            rule = next(
                (
                    kw.value.value
                    for kw in node.keywords
                    if kw.arg == "rule" and isinstance(kw.value, ast.Constant)
                ),
                None,
            )
            uses.setdefault(first.value, set()).add(rule)
    return uses


def test_the_scan_finds_the_codes_it_should() -> None:
    # Guards the scan itself: a scan that found nothing would pass every test below.
    uses = _code_uses()
    assert {"concurrency.user_limit", "number.held", "user.not_found"} <= uses.keys()
    assert uses["number.held"] == {"N2"}


def test_every_code_the_source_raises_is_registered_with_the_rules_it_cites() -> None:
    for code, rules in _code_uses().items():
        assert code in REGISTRY, f"{code} is raised but not in dialtone.policy.codes"
        cited = {r for r in rules if r is not None}
        assert cited <= set(REGISTRY[code].rules), f"{code} cites {cited}"


def test_every_registered_code_is_used_somewhere() -> None:
    text = "\n".join(
        p.read_text(encoding="utf-8") for p in SOURCE.rglob("*.py") if p.name != "codes.py"
    )
    unused = [code for code in REGISTRY if f'"{code}"' not in text]
    assert unused == []


def test_every_rule_the_registry_cites_is_in_terms() -> None:
    if not TERMS.exists():
        pytest.skip("../shared/spec/TERMS.md is not beside the project")
    ids = set(re.findall(r"^\| ([A-Z]\d+) \|", TERMS.read_text(encoding="utf-8"), re.M))
    assert len(ids) > 50
    cited = {rule for entry in REGISTRY.values() for rule in entry.rules}
    assert cited <= ids


def test_codes_are_well_formed() -> None:
    for code, entry in REGISTRY.items():
        assert CODE.fullmatch(code)
        assert entry.code == code
        assert 400 <= entry.http_status <= 599
        assert entry.sip_status is None or 400 <= entry.sip_status <= 699
        assert entry.summary.endswith(".")
        assert len(entry.summary) <= 120


def test_reason_codes_doc_is_current() -> None:
    doc = ROOT / "docs" / "reason-codes.md"
    assert doc.read_text(encoding="utf-8") == markdown(), (
        "docs/reason-codes.md is stale: python -m dialtone.policy.codes > docs/reason-codes.md"
    )


def test_refuse_takes_its_rule_from_the_registry() -> None:
    decision = refuse("number.held", "taken", number="+33123456789")
    assert (decision.allowed, decision.rule, decision.code) == (False, "N2", "number.held")
    assert decision.details == {"number": "+33123456789"}
    assert decision.as_payload() == {
        "allowed": False,
        "code": "number.held",
        "rule": "N2",
        "message": "taken",
        "details": {"number": "+33123456789"},
    }


def test_a_code_with_several_rules_names_the_one_it_cites() -> None:
    assert refuse("caller_id.not_held", "x", rule="N13").rule == "N13"
    with pytest.raises(ValueError, match="several rules"):
        refuse("caller_id.not_held", "x")


def test_refuse_rejects_unknown_codes_and_foreign_rules() -> None:
    with pytest.raises(KeyError):
        refuse("no.such_code", "x")
    with pytest.raises(ValueError, match="does not apply rule"):
        refuse("number.held", "x", rule="V2")
    with pytest.raises(KeyError):
        reason("no.such_code")


def test_allow() -> None:
    assert allow() is ALLOWED
    assert ALLOWED.as_payload() == {"allowed": True}
    checked = allow("V5", "not premium-rate")
    assert (checked.allowed, checked.rule, checked.refused) == (True, "V5", False)
