"""The SIP edge's configuration as ``dialtone edge config`` writes it (issue 19): the
shipped ``kamailio.cfg`` with a deployment's values put before it, and the dispatcher's
list of workers. Text in, text out; the command does the files."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

LISTEN_PROTOCOLS = ("udp", "tcp")
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\Z")
DS_SET = 1


def shipped_cfg() -> str:
    """The kamailio.cfg dialtone ships and tests (package data)."""
    return (resources.files("dialtone") / "assets" / "edge" / "kamailio.cfg").read_text()


def shipped_cfg_path() -> Path:
    """Where the shipped kamailio.cfg is, for ``kamailio -f`` with ``-A`` defines."""
    return Path(str(resources.files("dialtone") / "assets" / "edge" / "kamailio.cfg"))


def host_port(text: str, *, what: str, default_port: int | None = None) -> tuple[str, int]:
    """``host:port`` (an IP, IPv6 in brackets, or a name); raises ValueError naming ``what``."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
        if rest and not rest.startswith(":"):
            raise ValueError(f"{what} {text!r}: not host:port")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    elif ":" not in text:
        host, port_text = text, ""
    else:
        raise ValueError(f"{what} {text!r}: write an IPv6 address in brackets")
    if not port_text and default_port is not None:
        port_text = str(default_port)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{what} {text!r}: a port 1-65535 is needed")
    try:
        host = ipaddress.ip_address(host).compressed
    except ValueError:
        if not _NAME.match(host):
            raise ValueError(f"{what} {text!r}: not an address or a host name") from None
    return host, int(port_text)


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@dataclass(frozen=True)
class Listen:
    """One socket of the edge: ``proto:ip:port``."""

    proto: str
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Listen:
        proto, sep, rest = text.strip().partition(":")
        proto = proto.lower()
        if not sep:
            raise ValueError(f"--listen {text!r}: write proto:IP:port, e.g. udp:192.0.2.1:5060")
        if proto == "tls":
            raise ValueError(
                "--listen tls: TLS at the edge is not in the shipped configuration "
                "(phones use TLS to a worker directly, or add Kamailio's tls module yourself)"
            )
        if proto not in LISTEN_PROTOCOLS:
            raise ValueError(f"--listen {text!r}: the protocol is udp or tcp")
        host, port = host_port(rest, what="--listen")
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(f"--listen {text!r}: the edge listens on an IP address") from None
        return cls(proto, host, port)

    def __str__(self) -> str:
        return f"{self.proto}:{_bracketed(self.host)}:{self.port}"


@dataclass(frozen=True)
class EdgeConfig:
    """A deployment's values (``dialtone edge config``'s options)."""

    workers: tuple[tuple[str, int], ...]
    listens: tuple[Listen, ...]
    dispatcher_list: Path
    advertise: tuple[str, int] | None = None
    pike_density: int = 64
    probe_interval: int = 2
    fr_timer_ms: int = 2000
    ctl_socket: str = "unix:/run/kamailio/kamailio_ctl"

    def __post_init__(self) -> None:
        if not self.workers:
            raise ValueError("at least one --worker is needed")
        if not self.listens:
            raise ValueError("at least one --listen is needed")
        if len(set(self.workers)) != len(self.workers):
            raise ValueError("a --worker is listed twice")
        if not any(listen.proto == "udp" for listen in self.listens):
            # The workers are reached, probed and recognised over UDP.
            raise ValueError("one --listen must be udp (the edge talks to workers over UDP)")
        if self.pike_density < 1:
            raise ValueError("--pike-density must be at least 1")
        if not 1 <= self.probe_interval <= 3600:
            raise ValueError("--probe-interval must be 1-3600 s")
        if not 100 <= self.fr_timer_ms <= 60_000:
            raise ValueError("--fr-timer-ms must be 100-60000")

    @property
    def worker_facing(self) -> Listen:
        """The UDP socket the edge sends to workers from: what their ``edge_addresses``
        names (the first UDP --listen)."""
        return next(listen for listen in self.listens if listen.proto == "udp")


def dispatcher_list(config: EdgeConfig) -> str:
    """The dispatcher's list: every worker in set 1."""
    lines = [
        "# dialtone workers behind the edge (written by `dialtone edge config`).",
        "# setid destination flags priority",
    ]
    lines += [f"{DS_SET} sip:{_bracketed(h)}:{p} 0 0" for h, p in config.workers]
    return "\n".join(lines) + "\n"


def kamailio_cfg(config: EdgeConfig) -> str:
    """The shipped cfg with the deployment's defines and listen lines before it; each
    define stays inside ``#!ifndef`` so ``kamailio -A`` still overrides it."""
    defines = {
        "DS_LIST": f'"{config.dispatcher_list}"',
        "CTL_SOCK": f'"{config.ctl_socket}"',
        "DS_SET": str(DS_SET),
        "DS_PING_INTERVAL": str(config.probe_interval),
        "FR_TIMER": str(config.fr_timer_ms),
        "PIKE_DENSITY": str(config.pike_density),
    }
    head = [
        "#!KAMAILIO",
        "# Written by `dialtone edge config`, before the cfg dialtone ships and tests.",
    ]
    for name, value in defines.items():
        head += [f"#!ifndef {name}", f"#!define {name} {value}", "#!endif"]
    advertise = ""
    if config.advertise is not None:
        advertise = f" advertise {_bracketed(config.advertise[0])}:{config.advertise[1]}"
    head += [f"listen={listen}{advertise}" for listen in config.listens]
    body = shipped_cfg().split("\n", 1)[1]  # its own #!KAMAILIO line is above
    return "\n".join(head) + "\n" + body


def start_hint(config: EdgeConfig, cfg: Path) -> str:
    """What the command prints: how to start Kamailio and what the workers need."""
    edge = config.worker_facing
    address = f"{_bracketed(edge.host)}:{edge.port}"
    if ipaddress.ip_address(edge.host).is_unspecified:
        address = f"<the edge's IP as the workers see it>:{edge.port}"
    return "\n".join(
        [
            f"wrote {cfg} and {config.dispatcher_list}",
            f"check it:   dialtone edge check {cfg.parent}",
            f"run it:     kamailio -f {cfg} -DD -E      (foreground; or Debian's unit with "
            f"CFGFILE={cfg} in /etc/default/kamailio)",
            f"each worker: DIALTONE_EDGE_ADDRESSES={address}  (its SIP port as in --worker)",
            f"workers:    kamcmd -s {config.ctl_socket} dispatcher.list   "
            "(dispatcher.reload after editing the list)",
        ]
    )
