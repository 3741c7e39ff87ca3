"""``dialtone edge``: the SIP edge's configuration (issue 19: Kamailio in front of N
workers), written for a deployment and checked with ``kamailio -c``."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from dialtone.cli.edge_config import EdgeConfig, Listen, dispatcher_list, host_port, kamailio_cfg
from dialtone.cli.edge_config import start_hint as _start_hint
from dialtone.cli.support import Commands

edge_app = typer.Typer(
    cls=Commands,
    help="The SIP edge (Kamailio) in front of the workers: its configuration.",
    no_args_is_help=True,
)


def _bad(exc: ValueError) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(2)


@edge_app.command("config")
def edge_config(
    worker: Annotated[
        list[str], typer.Option(help="A worker's SIP address, host:port (repeat per worker).")
    ],
    listen: Annotated[
        list[str],
        typer.Option(help="A socket of the edge, udp:IP:port or tcp:IP:port (repeat)."),
    ],
    out: Annotated[Path, typer.Option(help="Directory the two files are written to.")],
    advertise: Annotated[
        str | None,
        typer.Option(help="host:port put in Record-Route and Path when behind NAT."),
    ] = None,
    pike_density: Annotated[
        int,
        typer.Option(help="Requests per 2 s one source IP may send before it is dropped."),
    ] = 64,
    probe_interval: Annotated[
        int, typer.Option(help="Seconds between the OPTIONS probes of each worker.")
    ] = 2,
    fr_timer_ms: Annotated[
        int,
        typer.Option(help="Milliseconds without any answer before a worker is given up."),
    ] = 2000,
    ctl_socket: Annotated[
        str, typer.Option(help="Kamailio's control socket (kamcmd -s).")
    ] = "unix:/run/kamailio/kamailio_ctl",
    list_path: Annotated[
        Path | None,
        typer.Option(help="Where Kamailio will read dispatcher.list; default: in --out."),
    ] = None,
) -> None:
    """Write kamailio.cfg and dispatcher.list for an edge in front of the workers.

    A dead worker is given up after --fr-timer-ms on the first request sent to it, and by
    the probes within --probe-interval + --fr-timer-ms without traffic."""
    try:
        config = EdgeConfig(
            workers=tuple(host_port(w, what="--worker", default_port=5060) for w in worker),
            listens=tuple(Listen.parse(text) for text in listen),
            dispatcher_list=(list_path or out / "dispatcher.list").absolute(),
            advertise=host_port(advertise, what="--advertise", default_port=5060)
            if advertise
            else None,
            pike_density=pike_density,
            probe_interval=probe_interval,
            fr_timer_ms=fr_timer_ms,
            ctl_socket=ctl_socket,
        )
    except ValueError as exc:
        raise _bad(exc) from None
    cfg = out / "kamailio.cfg"
    try:
        out.mkdir(parents=True, exist_ok=True)
        cfg.write_text(kamailio_cfg(config))
        (out / "dispatcher.list").write_text(dispatcher_list(config))
    except OSError as exc:
        # --out a file, or a directory this user may not write: one line, nothing half-made
        # that matters (Kamailio is started on the two files only once both are there).
        typer.echo(f"error: --out {out}: cannot write there ({exc.strerror})", err=True)
        raise typer.Exit(2) from None
    typer.echo(_start_hint(config, cfg.absolute()))


@edge_app.command("check")
def edge_check(
    directory: Annotated[Path, typer.Argument(help="Where `edge config` wrote the files.")],
) -> None:
    """Check the written kamailio.cfg with `kamailio -c` (when Kamailio is installed)."""
    cfg = directory / "kamailio.cfg"
    if not cfg.is_file():
        typer.echo(f"error: no {cfg}", err=True)
        raise typer.Exit(2)
    kamailio = shutil.which("kamailio")
    if kamailio is None:
        typer.echo("error: kamailio is not installed (Debian package kamailio)", err=True)
        raise typer.Exit(2)
    with tempfile.TemporaryDirectory() as run_dir:
        # -Y: a runtime directory of our own, as /run/kamailio belongs to its user.
        done = subprocess.run(
            [kamailio, "-c", "-f", str(cfg), "-Y", run_dir],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    output = done.stdout + done.stderr
    if done.returncode != 0 or "config file ok" not in output:
        typer.echo(output.strip(), err=True)
        typer.echo(f"error: kamailio refused {cfg}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{cfg}: config file ok")
