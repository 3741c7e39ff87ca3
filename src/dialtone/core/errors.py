"""The error every layer raises when a request is refused for a reason a client can act on."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

_NO_DETAILS: Mapping[str, Any] = MappingProxyType({})


class DialtoneError(Exception):
    """A refusal with a stable machine-readable ``code`` and, where a term applies, its ``rule``.

    ``status`` is the HTTP status the API answers with; the SIP edge maps codes to its own
    statuses. Codes are stable API; messages are for people.
    """

    status: int = 400

    def __init__(
        self,
        code: str,
        message: str,
        *,
        rule: str | None = None,
        status: int | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.rule = rule
        self.details: Mapping[str, Any] = details if details is not None else _NO_DETAILS
        if status is not None:
            self.status = status

    def as_payload(self) -> dict[str, Any]:
        """The JSON error body: ``code``, ``message``, ``rule`` when a term applies and
        ``details`` (the inputs that mattered) when there are any."""
        payload: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.rule is not None:
            payload["rule"] = self.rule
        if self.details:
            payload["details"] = dict(self.details)
        return payload


class NotFound(DialtoneError):
    status = 404


class Conflict(DialtoneError):
    status = 409


class Unauthorized(DialtoneError):
    status = 401
