"""requirements/: MWAA's requirements.txt, the image constraints, and a local environment matching them."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import constraints
from deploy import bundle
import repository

REQ = repository.REQUIREMENTS
# MWAA copies the bucket's dags/ to /usr/local/airflow/dags before it runs pip, and AWS's guidance for an
# environment without internet access is a --constraint path there (MWAA User Guide, "Apache Airflow provider
# packages installed on Amazon MWAA environments", Constraints file:
# https://docs.aws.amazon.com/mwaa/latest/userguide/connections-packages.html#connections-packages-constraints).
MWAA_HOME = "/usr/local/airflow/"
CONSTRAINT_LINE = re.compile(r'^--constraint "(?P<path>/usr/local/airflow/dags/[^"]+)"$')
CONSTRAINTS_SOURCE = re.compile(
    r"https://raw\.githubusercontent\.com/apache/airflow/constraints-(?P<v>[\d.]+)/constraints-3\.12\.txt"
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


def constraint_path() -> str:
    first = (REQ / "requirements.txt").read_text().splitlines()[0]
    match = CONSTRAINT_LINE.match(first)
    assert match, (
        'requirements/requirements.txt line 1 must be --constraint "/usr/local/airflow/dags/<file>" (the '
        f"constraints shipped with the DAGs), found: {first!r}"
    )
    return match.group("path")


def mwaa_version() -> str:
    """The Airflow version of the image constraints, from the upstream file they were copied from."""
    match = CONSTRAINTS_SOURCE.search((REQ / "constraints.txt").read_text())
    assert match, "requirements/constraints.txt does not name the Airflow constraints file it was copied from"
    return match.group("v")


def installed_with() -> Path:
    """The constraints this venv was installed with (tools/constraints.py keeps them in the venv: today's
    image, or a next version's in the upgrade check); a venv from before that: requirements/constraints.txt.
    """
    return constraints.applied_in(Path(sys.prefix)) or REQ / "constraints.txt"


def installed_target() -> constraints.ConstraintSet:
    version = pins(installed_with())["apache-airflow"] if constraints.applied_in(Path(sys.prefix)) else None
    today = constraints.current()
    return today if version in (None, today.version) else constraints.next_version(version)


def test_requirements_reach_nothing_on_the_internet():
    lines = (REQ / "requirements.txt").read_text().splitlines()
    assert [line for line in lines if "://" in line] == []


def test_the_constraints_requirements_txt_names_ship_with_the_dags_byte_for_byte():
    key = constraint_path().removeprefix(MWAA_HOME)
    built = bundle.build(repository.ROOT)
    assert key in built, f"requirements.txt constrains with {constraint_path()}, the bundle has no {key}"
    assert built[key].data == (REQ / "constraints.txt").read_bytes()


def test_the_local_install_drops_exactly_the_mwaa_constraint_line():
    """tools/venv.sh installs requirements.txt without the MWAA path (-c requirements/constraints.txt)."""
    venv_sh = (repository.TOOLS / "venv.sh").read_text()
    grep = re.search(r"^\s*(grep -v .*?) \"\$REQ/requirements\.txt\"", venv_sh, re.MULTILINE)
    assert grep, "tools/venv.sh no longer filters requirements.txt with grep -v"
    kept = subprocess.run(
        ["bash", "-c", f'{grep.group(1)} "$0"', REQ / "requirements.txt"], capture_output=True, text=True
    ).stdout.splitlines()
    assert kept == (REQ / "requirements.txt").read_text().splitlines()[1:]


def test_the_version_is_named_once_and_everything_agrees():
    version = mwaa_version()
    assert pins(REQ / "mwaa_essential_constraints.txt")["apache-airflow"] == version
    assert f"constraints-{version}/constraints-3.12.txt" in (REQ / "constraints.txt").read_text()
    assert constraints.current().version == version
    assert metadata.version("apache-airflow") == installed_target().version


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


@pytest.mark.parametrize("which,at_least", [("airflow", 100), ("essential", 5)])
def test_installed_versions_are_the_mwaa_versions(which, at_least):
    image = pins(installed_with() if which == "airflow" else installed_target().essential)
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    shared = {name for name in image if name in installed} - {"pip"}
    assert len(shared) >= at_least, "too few shared packages: is the venv built from requirements/?"
    drift = {name: (installed[name], image[name]) for name in shared if installed[name] != image[name]}
    assert not drift, f"local (installed, MWAA) versions differ: {drift}. Fix: rerun ./run_tests.sh"
