"""TwiML's errors, numbered as Twilio numbers them so a Twilio user reads them as usual.

The application-error path (``interpreter``) reports each with ``ReportError(code,
message, url)``; the codes are Twilio's own except where noted.
"""

from __future__ import annotations

# The document could not be fetched: a transport error or an answer that is not 2xx.
HTTP_RETRIEVAL_FAILURE = 11200
# Twilio's "too many redirects"; dialtone also uses it for a document chain that loops
# (Redirect or action fetches without a verb that waits for the caller, see interpreter).
TOO_MANY_REDIRECTS = 11215
# The document is larger than TwiML allows (64 KiB, as Twilio).
BODY_TOO_LARGE = 11750
# Not XML, or the root is not <Response>.
DOCUMENT_PARSE_FAILURE = 12100
# Well-formed, but not TwiML as the schema has it: unknown or unsupported verb, bad
# nesting, an attribute value out of range.
SCHEMA_VALIDATION = 12200
# The answer's Content-Type is neither XML nor a type TwiML knows (text, audio).
INVALID_CONTENT_TYPE = 12300
# Something on our side failed (speech could not be synthesised, a task without handler).
INTERNAL_FAILURE = 12400

TITLES: dict[int, str] = {
    HTTP_RETRIEVAL_FAILURE: "HTTP retrieval failure",
    TOO_MANY_REDIRECTS: "Too many redirects",
    BODY_TOO_LARGE: "TwiML response body too large",
    DOCUMENT_PARSE_FAILURE: "Document parse failure",
    SCHEMA_VALIDATION: "Schema validation warning",
    INVALID_CONTENT_TYPE: "Invalid Content-Type",
    INTERNAL_FAILURE: "Internal failure",
}


class TwimlError(Exception):
    """A document TwiML cannot run: ``code`` is Twilio's error number, ``message``
    Twilio's title followed by what exactly was wrong."""

    def __init__(self, code: int, detail: str) -> None:
        self.code = code
        self.detail = detail
        self.message = f"{TITLES.get(code, 'Error')}: {detail}"
        super().__init__(self.message)


def schema(detail: str) -> TwimlError:
    return TwimlError(SCHEMA_VALIDATION, detail)


def unsupported(element: str) -> TwimlError:
    """A verb or noun Twilio has and dialtone does not run: said, never skipped."""
    return TwimlError(SCHEMA_VALIDATION, f"<{element}> is not supported by dialtone")
