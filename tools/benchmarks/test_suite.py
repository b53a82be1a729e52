"""Where the test suite's time goes: pytest's --durations=0 report summed per test module.

    tools/venv.sh python tools/benchmarks/test_suite.py LOG [LOG2]   sum a log (two: side by side, ratios)
    tools/venv.sh python tools/benchmarks/test_suite.py --run [PYTEST ARGS...]   run pytest, then sum it

The sums are setup + call + teardown per module (session fixtures count where they are first set up), so
they add up to more than the wall time under pytest-xdist. Targets and measurements: the commit history,
never timed assertions.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import repository

LINE = re.compile(r"^(\d+(?:\.\d+)?)s (setup|call|teardown)\s+(\S+?)::")
TOTAL = re.compile(r"in (\d+(?:\.\d+)?)s")


def per_module(text: str) -> tuple[dict[str, float], float | None]:
    seconds: dict[str, float] = defaultdict(float)
    for line in text.splitlines():
        match = LINE.match(line.strip())
        if match:
            seconds[match.group(3)] += float(match.group(1))
    wall = [float(m.group(1)) for m in TOTAL.finditer(text.splitlines()[-1])] if text.strip() else []
    return dict(seconds), (wall[-1] if wall else None)


def report(logs: list[Path], top: int = 25) -> None:
    tables = [per_module(log.read_text()) for log in logs]
    first = tables[0][0]
    names = sorted(set().union(*(t for t, _ in tables)), key=lambda n: -first.get(n, 0.0))
    for name in names[:top]:
        values = [t.get(name, 0.0) for t, _ in tables]
        ratio = f"  x{values[1] / values[0]:.2f}" if len(values) == 2 and values[0] else ""
        print(f"{name:60} " + " ".join(f"{v:7.2f}" for v in values) + ratio)
    sums = [sum(t.values()) for t, _ in tables]
    print(f"{'sum of test times':60} " + " ".join(f"{v:7.2f}" for v in sums))
    print(f"{'pytest wall time':60} " + " ".join(f"{w or 0:7.2f}" for _, w in tables))


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--run":
        root = repository.ROOT
        log = root / "build" / "test-logs" / "durations.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "deploy.selection", "--durations=0", *argv[1:]]
        result = subprocess.run(command, cwd=root, capture_output=True, text=True)
        log.write_text(result.stdout + result.stderr)
        report([log])
        return result.returncode
    if not argv:
        print(__doc__)
        return 2
    report([Path(arg) for arg in argv])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
