"""`make bench`: run every benchmark script; each prints its figures as a JSON last line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> int:
    results = []
    for script in sorted(HERE.glob("*.py")):
        if script.name == "run_all.py" or script.name.startswith("_"):
            continue
        print(f"== {script.name}", flush=True)
        done = subprocess.run(
            [sys.executable, str(script), *sys.argv[1:]],
            capture_output=True,
            text=True,
            check=False,
        )
        sys.stderr.write(done.stderr)
        lines = done.stdout.strip().splitlines()
        print("\n".join(lines), flush=True)
        if done.returncode != 0 or not lines:
            results.append({"benchmark": script.stem, "error": done.returncode})
            continue
        results.append(json.loads(lines[-1]))
    print(json.dumps({"benchmarks": results}))
    return 0 if all("error" not in r for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
