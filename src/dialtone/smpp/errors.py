"""The exceptions of the SMPP core: decode lets only ``SmppDecodeError`` escape."""

from __future__ import annotations

from dialtone.smpp.constants import CommandStatus


class SmppDecodeError(ValueError):
    """Bytes that are not a valid SMPP 3.4 PDU.

    ``status`` is the command_status to answer with (in the command's own response, or a
    generic_nack). ``command_id`` and ``sequence_number`` are the header's, when the header
    was read. ``framing_lost`` says the stream cannot be read on: the command_length
    itself was wrong, so the next PDU's first octet is unknown and the connection must
    close after the generic_nack.
    """

    def __init__(
        self,
        message: str,
        status: CommandStatus,
        *,
        command_id: int | None = None,
        sequence_number: int | None = None,
        framing_lost: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.command_id = command_id
        self.sequence_number = sequence_number
        self.framing_lost = framing_lost


class SmppEncodeError(ValueError):
    """A PDU that cannot be put on the wire: a field over its SMPP 3.4 length or range."""
