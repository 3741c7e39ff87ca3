"""All configuration: environment (``DIALTONE_`` prefix), then ``dialtone.toml``, then defaults.

Every value the terms give is a default here (TERMS V1: RTP on 20000–22000/udp).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from dialtone.rating.increments import Increment


def _toml_file() -> Path:
    return Path(os.environ.get("DIALTONE_CONFIG", "dialtone.toml"))


class Settings(BaseSettings):
    """The platform's settings. Read once at start; passed down, never read globally."""

    model_config = SettingsConfigDict(env_prefix="DIALTONE_", extra="forbid")

    data_dir: Path = Field(
        default=Path("var"), description="Where the database, recordings and greetings live."
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default SQLite (WAL) in the data dir."
    )
    sip_host: str = Field(default="127.0.0.1", description="Address SIP listens on.")
    sip_port: int = Field(default=5060, ge=0, le=65535, description="SIP UDP port (TERMS V1).")
    sip_public_host: str | None = Field(
        default=None, description="Address put in Contact/SDP when it differs from sip_host."
    )
    http_host: str = Field(default="127.0.0.1", description="Address the HTTP API listens on.")
    http_port: int = Field(default=8000, ge=0, le=65535, description="HTTP API port.")
    rtp_port_min: int = Field(default=20000, ge=1024, le=65535, description="TERMS V1.")
    rtp_port_max: int = Field(default=22000, ge=1024, le=65535, description="TERMS V1.")
    codecs: Annotated[tuple[str, ...], NoDecode] = Field(
        default=("PCMA", "PCMU"), description="Codec preference (TERMS V1: G.711 A then µ)."
    )
    max_call_seconds: float = Field(
        default=3600.0, gt=0, description="A call longer than this is ended with BYE."
    )
    ring_seconds: float = Field(
        default=0.5, ge=0, le=60, description="How long a call rings before it is answered."
    )
    billing_increment: str = Field(
        default="60/60", description="Default plan increment first/next seconds (TERMS B2)."
    )
    log_level: str = Field(default="INFO")

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
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_toml_file())
        return (init_settings, env_settings, toml)

    @field_validator("billing_increment")
    @classmethod
    def _increment(cls, value: str) -> str:
        return str(Increment.parse(value))

    @field_validator("codecs", mode="before")
    @classmethod
    def _codecs(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        return tuple(v.upper() for v in value)

    @model_validator(mode="after")
    def _ranges(self) -> Settings:
        if self.rtp_port_min > self.rtp_port_max:
            raise ValueError("rtp_port_min must not exceed rtp_port_max")
        unknown = set(self.codecs) - {"PCMA", "PCMU"}
        if unknown:
            raise ValueError(f"unsupported codecs {sorted(unknown)}: PCMA and PCMU are built in")
        return self

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
    def greetings_dir(self) -> Path:
        """Where uploaded greetings are kept."""
        return self.data_dir / "greetings"

    @property
    def advertised_host(self) -> str:
        """The address peers should send SIP and RTP to."""
        if self.sip_public_host:
            return self.sip_public_host
        if self.sip_host in ("0.0.0.0", "::"):
            return "127.0.0.1"
        return self.sip_host
