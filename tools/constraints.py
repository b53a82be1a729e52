"""The MWAA image constraints an install applies: today's (requirements/) or a next version's
(requirements/next/VERSION/), as one file per venv.

Standard library only: tools/venv.sh runs it with the bare interpreter of a venv it is building.

    python tools/constraints.py write OUT [VERSION]
        write OUT: the Airflow constraints of today's image (or of VERSION under requirements/next/), less
        the packages requirements/lint.txt pins (our lint tools, not part of the image: Airflow's
        constraints pin Airflow's own), then MWAA's essential constraints. With VERSION, the test tools of
        requirements/dev.txt that VERSION's constraints do not pin are held at today's versions.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements"
NEXT = REQUIREMENTS / "next"
LINT = REQUIREMENTS / "lint.txt"
DEV = REQUIREMENTS / "dev.txt"
# What an install writes into its venv: the constraints it applied, which tests compare the venv with.
APPLIED = "lakehouse-constraints.txt"
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(==\s*([^\s;#]+))?")


@dataclass(frozen=True)
class ConstraintSet:
    """One MWAA image's pins: Airflow's constraints file and MWAA's essential (non-overridable) ones."""

    version: str
    airflow: Path
    essential: Path


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(path: Path) -> dict[str, str | None]:
    """{canonical name: the `==` version or None} of each requirement line (options and comments skipped)."""
    found: dict[str, str | None] = {}
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        match = _NAME.match(line) if line and not line.startswith("-") else None
        if match:
            found[canonical(match.group(1))] = match.group(4)
    return found


def pins(path: Path) -> dict[str, str]:
    """{canonical name: version} of the `name==version` lines of a requirements or constraints file."""
    return {name: version for name, version in requirement_names(path).items() if version}


def current() -> ConstraintSet:
    essential = REQUIREMENTS / "mwaa_essential_constraints.txt"
    return ConstraintSet(pins(essential)["apache-airflow"], REQUIREMENTS / "constraints.txt", essential)


def next_versions() -> list[str]:
    """The versions under requirements/next/, oldest first."""
    folders = [p.name for p in NEXT.iterdir() if p.is_dir()] if NEXT.is_dir() else []
    return sorted(folders, key=lambda v: tuple(int(part) if part.isdigit() else 0 for part in v.split(".")))


def next_version(version: str) -> ConstraintSet:
    folder = NEXT / version
    return ConstraintSet(
        version, folder / "airflow_constraints.txt", folder / "mwaa_essential_constraints.txt"
    )


def held_test_tools(target: ConstraintSet) -> dict[str, str]:
    """The test tools of dev.txt that `target` stops pinning, at today's versions (so a verdict on `target`
    is about Airflow, not about a newer pytest or moto)."""
    today, theirs, own = pins(current().airflow), pins(target.airflow), pins(LINT)
    tools = [name for name in requirement_names(DEV) if name not in own]
    return {name: today[name] for name in tools if name in today and name not in theirs}


def install_constraints(target: ConstraintSet) -> str:
    """The text of the one constraints file an install for `target` applies."""
    own = pins(LINT)
    lines = [f"# {target.airflow.relative_to(REQUIREMENTS.parent)}, less what requirements/lint.txt pins"]
    for line in target.airflow.read_text().splitlines():
        match = _NAME.match(line.split("#", 1)[0])
        if not (match and canonical(match.group(1)) in own):
            lines.append(line)
    lines.append(f"# {target.essential.relative_to(REQUIREMENTS.parent)}")
    lines.extend(target.essential.read_text().splitlines())
    if target != current():
        lines.append("# test tools these constraints no longer pin, held at today's versions")
        lines.extend(f"{name}=={version}" for name, version in sorted(held_test_tools(target).items()))
    return "\n".join(lines) + "\n"


def applied_in(prefix: Path) -> Path | None:
    """The constraints file the venv at `prefix` was installed with (None: a venv from before it was kept)."""
    path = Path(prefix) / APPLIED
    return path if path.is_file() else None


def main(argv: list[str]) -> int:
    if len(argv) in (2, 3) and argv[0] == "write":
        target = next_version(argv[2]) if len(argv) == 3 else current()
        if not target.airflow.is_file():
            known = ", ".join(next_versions()) or "none"
            print(
                f"error: no constraints for {target.version} ({target.airflow}). Known: {known}",
                file=sys.stderr,
            )
            return 2
        Path(argv[1]).write_text(install_constraints(target))
        return 0
    print(__doc__.split("\n\n", 1)[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
