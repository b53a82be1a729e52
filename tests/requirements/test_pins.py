"""requirements/: MWAA's requirements.txt, the image constraints, and a local environment matching them."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REQ = Path(__file__).resolve().parents[2] / "requirements"
CONSTRAINT_URL = re.compile(
    r'^--constraint "https://raw\.githubusercontent\.com/apache/airflow/constraints-(?P<v>[\d.]+)/'
    r'constraints-3\.12\.txt"$'
)


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            req = Requirement(line)
            specs = [s for s in req.specifier if s.operator == "=="]
            if specs:
                found[canonicalize_name(req.name)] = specs[0].version
    return found


def mwaa_version() -> str:
    first = (REQ / "requirements.txt").read_text().splitlines()[0]
    match = CONSTRAINT_URL.match(first)
    assert match, f"requirements/requirements.txt line 1 must be MWAA's --constraint URL, found: {first!r}"
    return match.group("v")


def test_the_version_is_named_once_and_everything_agrees():
    version = mwaa_version()
    assert pins(REQ / "mwaa_essential_constraints.txt")["apache-airflow"] == version
    assert f"constraints-{version}/constraints-3.12.txt" in (REQ / "constraints.txt").read_text()
    assert metadata.version("apache-airflow") == version


def test_every_extra_mwaa_requirement_says_why():
    lines = (REQ / "requirements.txt").read_text().splitlines()[1:]
    bare = [line for line in lines if line.strip() and not line.lstrip().startswith("#") and "#" not in line]
    assert not bare, f"requirements/requirements.txt: add a '# why' comment to {bare}"


def test_dev_tools_not_in_the_image_constraints_are_pinned():
    image = pins(REQ / "constraints.txt")
    unpinned = []
    for line in (REQ / "dev.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            req = Requirement(line)
            if canonicalize_name(req.name) not in image and not any(
                s.operator == "==" for s in req.specifier
            ):
                unpinned.append(req.name)
    assert not unpinned, f"requirements/dev.txt: pin {unpinned} with == (the image constraints do not)"


@pytest.mark.parametrize(
    "constraints,at_least", [("constraints.txt", 100), ("mwaa_essential_constraints.txt", 5)]
)
def test_installed_versions_are_the_mwaa_versions(constraints, at_least):
    image = pins(REQ / constraints)
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    shared = {name for name in image if name in installed} - {"pip"}
    assert len(shared) >= at_least, "too few shared packages: is the venv built from requirements/?"
    drift = {name: (installed[name], image[name]) for name in shared if installed[name] != image[name]}
    assert not drift, f"local (installed, MWAA) versions differ: {drift}. Fix: rerun ./run_tests.sh"
