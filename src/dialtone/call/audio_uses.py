"""What an application asks of a call's audio besides playing to it: the caller's speech
recognised (``Listen``, a ``Gather``'s), the audio streamed to a WebSocket (``Stream``).

Values of their own, imported by both ``application`` (the commands) and ``actions``
(what the runtime is asked): ``application`` imports the dialer, which imports
``actions``, so ``actions`` must not import ``application`` (the compiled build loads
what its annotations name).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Listen:
    """Speech input for a ``Gather``: recognised in ``language`` (BCP 47) by the
    speech-to-text engine once the caller has been silent ``end_silence`` seconds after
    speaking (None: the engine's own end-of-turn detection, TwiML's ``auto``);
    ``hints`` are words to expect."""

    language: str = "en-US"
    end_silence: float | None = None
    hints: tuple[str, ...] = ()
    # A conversation's turn (the AI receptionist): heard by the recogniser tuned for
    # short turns, recognition starting in the caller's first pause.
    conversation: bool = False


@dataclass(frozen=True, slots=True)
class Stream:
    """Send the call's audio to a WebSocket at ``url`` (Twilio's media-stream protocol:
    ``track`` "inbound_track", "outbound_track" or "both_tracks"; ``parameters`` go in
    its ``start`` message). ``connect``: the socket also speaks to the caller and the
    queue waits until it closes (``<Connect><Stream>``: ``StreamEnded`` follows);
    otherwise it is forked alongside what runs next (``<Start><Stream>``) until
    ``StopStream(name)`` or the end of the call."""

    url: str
    name: str = ""
    track: str = "inbound_track"
    parameters: tuple[tuple[str, str], ...] = ()
    connect: bool = False
