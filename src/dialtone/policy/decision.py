"""The value every check of the terms engine returns.

A decision says whether an action may go on and, when it may not, which rule of TERMS.md
refuses it (``rule``), the stable machine-readable reason (``code``), a sentence for
people (``message``) and the inputs that mattered (``details``). Checks are pure: the
facts come in as arguments, a decision comes out; services act on it and record it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from dialtone.core.errors import DialtoneError
from dialtone.policy.codes import reason

_EMPTY: Mapping[str, object] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Decision:
    """Allowed, or refused with a rule, a code, a message and the inputs that mattered."""

    allowed: bool
    rule: str | None = None
    code: str | None = None
    message: str = ""
    details: Mapping[str, object] = field(default_factory=lambda: _EMPTY)

    @property
    def refused(self) -> bool:
        return not self.allowed

    def sip_status(self) -> int:
        """The SIP status a refused call is answered with (the registry's, else 403)."""
        if self.code is None:
            raise ValueError("an allowed decision has no SIP status")
        return reason(self.code).sip_status or 403

    def http_status(self) -> int:
        """The HTTP status a refused API request is answered with (the registry's)."""
        if self.code is None:
            raise ValueError("an allowed decision has no HTTP status")
        return reason(self.code).http_status

    def as_error(self) -> DialtoneError:
        """A refusal as the error the API answers with (status from the registry)."""
        if self.code is None:
            raise ValueError("an allowed decision is not an error")
        return DialtoneError(
            self.code,
            self.message,
            rule=self.rule,
            status=self.http_status(),
            details=dict(self.details),
        )

    def as_payload(self) -> dict[str, object]:
        """The JSON shape of a refusal (the API's error body) or of an allowance."""
        payload: dict[str, object] = {"allowed": self.allowed}
        if self.code is not None:
            payload["code"] = self.code
        if self.rule is not None:
            payload["rule"] = self.rule
        if self.message:
            payload["message"] = self.message
        if self.details:
            payload["details"] = dict(self.details)
        return payload


ALLOWED = Decision(allowed=True)


def allow(rule: str | None = None, message: str = "") -> Decision:
    """An allowance; ``rule`` names the rule that was checked when one applies."""
    if rule is None and not message:
        return ALLOWED
    return Decision(allowed=True, rule=rule, message=message)


def refuse(code: str, message: str, *, rule: str | None = None, **details: object) -> Decision:
    """A refusal for ``code``, citing the rule the registry lists for it; a code listed
    with several rules names one of them in ``rule``. An unregistered code, or a rule the
    code is not listed with, raises ``KeyError``/``ValueError``: every code is documented
    and always cites its own rules."""
    entry = reason(code)
    cited = rule if rule is not None else entry.rule
    if cited is not None and cited not in entry.rules:
        raise ValueError(f"{code} does not apply rule {cited} (it applies {entry.rules})")
    if cited is None and entry.rules:
        raise ValueError(f"{code} applies several rules {entry.rules}: name the one cited")
    return Decision(
        allowed=False,
        rule=cited,
        code=code,
        message=message,
        details=MappingProxyType(dict(details)),
    )
