"""``python -m dialtone.native [build|clean|status]``: build, remove or describe the
compiled modules (see :mod:`dialtone.native`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from dialtone.native import build_in_place, inspect, remove


def main(argv: Sequence[str]) -> int:
    """``python -m dialtone.native [build|clean|status]``."""
    command = argv[0] if argv else "status"
    if command == "build":
        return build_in_place()
    if command == "clean":
        for path in remove():
            print(f"removed {path}")
        return 0
    if command != "status":
        print(f"unknown command {command!r}: use build, clean or status", file=sys.stderr)
        return 2
    found = inspect()
    print(f"{found.mode}: {found.why}")
    return 0


raise SystemExit(main(sys.argv[1:]))
