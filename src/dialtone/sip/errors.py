"""Parse errors of the SIP and SDP cores: the only exceptions their parsers let escape."""

from __future__ import annotations


class SipParseError(ValueError):
    """A message (or part of one) that does not follow the grammar of RFC 3261 §25."""


class SdpParseError(SipParseError):
    """A session description that does not follow RFC 4566."""
