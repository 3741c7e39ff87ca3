"""The error every layer raises when a request is refused for a reason a client can act on."""

from __future__ import annotations


class DialtoneError(Exception):
    """A refusal with a stable machine-readable ``code`` and, where a term applies, its ``rule``.

    ``status`` is the HTTP status the API answers with; the SIP edge maps codes to its own
    statuses. Codes are stable API; messages are for people.
    """

    status: int = 400

    def __init__(
        self, code: str, message: str, *, rule: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.rule = rule
        if status is not None:
            self.status = status

    def as_payload(self) -> dict[str, str]:
        """The JSON error body: ``code``, ``message`` and ``rule`` when a term applies."""
        payload = {"code": self.code, "message": self.message}
        if self.rule is not None:
            payload["rule"] = self.rule
        return payload


class NotFound(DialtoneError):
    status = 404


class Conflict(DialtoneError):
    status = 409


class Unauthorized(DialtoneError):
    status = 401
