"""A call recorded by rtpengine, turned into dialtone's sealed stereo WAV (issue 19,
TERMS V8, D5).

rtpengine (``--recording-method=pcap``) writes what it receives from each party to
``<recording dir>/pcaps/<call-id>-<16 hex>.pcap``. :class:`PcapRecording` reads that
file as it grows (:meth:`drain`, every few seconds while the call lasts: the call's end
then converts only its last seconds, and the record, which waits for the recording,
is not held up by a long call), places both directions with ``rtp.stereo`` and writes
the frames through the call's :class:`AudioFile` (sealed as written, its crash note
beside it). :meth:`finish` reads the rest once rtpengine has written the file out
(``stop recording``), closes the WAV and deletes the pcap and rtpengine's metadata.
:meth:`drain` and :meth:`finish` run off the event loop (file reads, decoding); a lock
keeps them from running at once.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from dialtone.codecs.g711 import decoder_for
from dialtone.rtp.pcap import PcapError, PcapReader
from dialtone.rtp.stereo import StereoPlacer

from .sealing import AudioFile, CallFacts

log = logging.getLogger("dialtone.rtpengine")

_CHUNK = 1 << 16
# The random part rtpengine puts after the call id in its file names: "-" and 16 hex.
_SUFFIX = 17


def pcaps_of(recording_dir: Path, call_id: str) -> list[Path]:
    """The pcaps rtpengine wrote for ``call_id`` (``pcaps/<call-id>-<16 hex>.pcap``)."""
    return sorted(
        p
        for p in (recording_dir / "pcaps").glob(f"{call_id}-*.pcap")
        if len(p.stem) == len(call_id) + _SUFFIX
    )


def metadata_of(recording_dir: Path, call_id: str) -> list[Path]:
    """rtpengine's metadata files for ``call_id`` (written when the call is destroyed)."""
    prefix = "rtpengine-meta-"
    return [
        p
        for p in (recording_dir / "metadata").glob(f"{prefix}{call_id}-*.txt")
        if len(p.stem) == len(prefix) + len(call_id) + _SUFFIX
    ]


class PcapRecording:
    """One call's pcap becoming its WAV at ``path``: the caller's packets are those sent
    to ``ports[0]`` (rtpengine's port facing it), the callee's those sent to ``ports[1]``.
    The WAV (and its crash note, from ``facts``) exists from construction."""

    def __init__(
        self,
        path: Path,
        *,
        recording_dir: Path,
        call_id: str,
        codec: str,
        payload_type: int,
        ports: tuple[int, int],
        key: bytes | None,
        facts: CallFacts | None,
    ) -> None:
        self.path = path
        self.recording_dir = recording_dir
        self.call_id = call_id
        self.file = AudioFile(path, channels=2, key=key, facts=facts)
        self.placer = StereoPlacer(decoder_for(codec), payload_type, ports)
        self.discarded = False
        self.finished = False
        self.bad = False  # the pcap could not be read: the rest of it is left
        self._reader = PcapReader()
        self._pcap: Path | None = None
        self._offset = 0
        self._lock = threading.Lock()

    def note(self, facts: CallFacts) -> None:
        """Keep ``facts`` beside the recording (D5)."""
        with self._lock:
            if not self.discarded and not self.finished:
                self.file.note(facts)

    def drain(self) -> None:
        """Convert what rtpengine has written since the last drain (off the loop)."""
        with self._lock:
            if not self.discarded and not self.finished:
                self._read()

    def _read(self) -> None:
        if self.bad:
            return
        if self._pcap is None:
            found = pcaps_of(self.recording_dir, self.call_id)
            if not found:
                return
            self._pcap = found[0]
        try:
            with self._pcap.open("rb") as source:
                source.seek(self._offset)
                while chunk := source.read(_CHUNK):
                    self._offset += len(chunk)
                    for datagram in self._reader.feed(chunk):
                        frames = self.placer.push(datagram)
                        if frames:
                            self.file.write(frames)
        except PcapError as exc:
            self.bad = True
            log.warning("rtpengine call %s: pcap %s not read: %s", self.call_id, self._pcap, exc)
        except OSError as exc:
            log.warning("rtpengine call %s: pcap %s: %s", self.call_id, self._pcap, exc)

    def discard(self) -> None:
        """Delete what was recorded (TERMS V8: a party objected); the pcap goes at
        :meth:`finish`."""
        with self._lock:
            if not self.discarded and not self.finished:
                self.discarded = True
                self.file.discard()

    def finish(self) -> None:
        """The rest of the pcap (written out by ``stop recording``) into the WAV, the WAV
        closed, the pcap and rtpengine's metadata deleted (off the loop)."""
        with self._lock:
            if self.finished:
                return
            self.finished = True
            try:
                if not self.discarded:
                    self._read()
                    self._reader.close()
                    if self._reader.truncated:
                        log.warning("rtpengine call %s: pcap ends inside a packet", self.call_id)
                    if self._pcap is None:
                        log.warning(
                            "rtpengine call %s: no pcap under %s/pcaps: recording %s is empty "
                            "(is the recording dir rtpengine's --recording-dir?)",
                            self.call_id,
                            self.recording_dir,
                            self.path.name,
                        )
                    tail = self.placer.finish()
                    if tail:
                        self.file.write(tail)
                    self.file.close()
                    placer = self.placer
                    log.info(
                        "rtpengine call %s: recording %s: %.1f s from %d+%d packets (%d late)",
                        self.call_id,
                        self.path.name,
                        placer.frames / 8000,
                        placer.packets[0],
                        placer.packets[1],
                        placer.late,
                    )
            finally:
                for leftover in (
                    *pcaps_of(self.recording_dir, self.call_id),
                    *metadata_of(self.recording_dir, self.call_id),
                ):
                    leftover.unlink(missing_ok=True)
