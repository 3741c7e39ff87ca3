"""Serving a recording (or an export of them): opened from its sealed file (TERMS D5) as
it streams."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.responses import StreamingResponse

from dialtone.api.deps import recording_key
from dialtone.core.errors import DialtoneError
from dialtone.store import sealed


def wav_response(
    request: Request,
    path: Path,
    filename: str,
    media_type: str = "audio/wav",
    *,
    inline: bool = False,
) -> StreamingResponse:
    """``path`` as ``media_type``, decrypted on the way out when it is sealed. The whole
    file is checked before the answer starts (AES-GCM runs at hundreds of MB/s: an
    hour of stereo is a tenth of a second), so a wrong key or an altered file is a clear
    500, never a download that breaks halfway."""
    key = recording_key(request)
    try:
        for _ in sealed.chunks(path, key):
            pass
    except sealed.SealError as exc:
        raise DialtoneError(
            "recording.unreadable",
            f"The recording cannot be opened: {exc}",
            rule="D5",
            status=500,
        ) from None
    # A recording was sealed as it was written: its WAV sizes are derived from its length.
    body = (
        sealed.recording_chunks(path, key)
        if media_type == "audio/wav"
        else sealed.chunks(path, key)
    )
    return StreamingResponse(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{filename}"'
        },
    )
