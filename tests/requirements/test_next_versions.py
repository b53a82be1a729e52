"""requirements/next/VERSION/: the next MWAA image's pins, vendored for the upgrade check and nothing else."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import constraints
import repository
from deploy import bundle

NEXT = repository.REQUIREMENTS / "next"
VERSIONS = constraints.next_versions()
# Where each file's header says it was copied from (the Airflow constraints) or what it is part of (MWAA's).
HEADER_VERSION = re.compile(r"apache/airflow/constraints-(?P<version>[\d.]+)/constraints-3\.12\.txt")
SOURCE_LINES = ("aws/amazon-mwaa-docker-images", "commit:", "images/airflow/{version}/etc/")


def header_version(path: Path) -> str | None:
    match = HEADER_VERSION.search("\n".join(path.read_text().splitlines()[:10]))
    return match.group("version") if match else None


def test_there_is_a_next_version_and_each_folder_has_both_files_and_a_source():
    assert VERSIONS, "requirements/next/ holds no version folder"
    for version in VERSIONS:
        folder = NEXT / version
        assert sorted(p.name for p in folder.iterdir()) == [
            "SOURCE",
            "airflow_constraints.txt",
            "mwaa_essential_constraints.txt",
        ], f"requirements/next/{version}/"


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", ["airflow_constraints.txt", "mwaa_essential_constraints.txt"])
def test_the_version_in_each_header_is_its_folder(version, name):
    assert header_version(NEXT / version / name) == version


@pytest.mark.parametrize("version", VERSIONS)
def test_the_pinned_airflow_is_the_folder_version_and_source_names_the_image_folder(version):
    target = constraints.next_version(version)
    assert constraints.pins(target.essential)["apache-airflow"] == version
    source = (NEXT / version / "SOURCE").read_text()
    for expected in SOURCE_LINES:
        assert expected.format(version=version) in source


def test_a_header_of_another_version_is_caught(tmp_path):
    copied = tmp_path / "airflow_constraints.txt"
    text = (NEXT / VERSIONS[-1] / "airflow_constraints.txt").read_text()
    copied.write_text(text.replace(f"constraints-{VERSIONS[-1]}/", "constraints-3.2.0/", 1))
    assert header_version(copied) == "3.2.0"


def test_the_next_version_is_newer_than_today():
    def as_tuple(version: str) -> tuple[int, ...]:
        return tuple(int(part) for part in version.split("."))

    assert as_tuple(VERSIONS[0]) > as_tuple(constraints.current().version)


def test_the_bundle_ships_nothing_from_requirements_next():
    built = bundle.build(repository.ROOT)
    shipped = {key: file.data for key, file in built.items()}
    for version in VERSIONS:
        for path in (NEXT / version).iterdir():
            assert path.read_bytes() not in shipped.values(), f"the bundle ships {path}"
    assert not [key for key in shipped if "next" in key.split("/")]


def requirements_hash(root: Path) -> str:
    done = subprocess.run(
        ["bash", "-c", 'source "$0/tools/venv.sh"; requirements_hash "$1"', root, sys.executable],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_tools_venv_sh_reinstalls_for_a_top_level_file_but_not_for_requirements_next(tmp_path):
    root = tmp_path / "project"
    (root / "tools").mkdir(parents=True)
    shutil.copy2(repository.TOOLS / "venv.sh", root / "tools" / "venv.sh")
    shutil.copytree(repository.REQUIREMENTS, root / "requirements")
    before = requirements_hash(root)
    with (root / "requirements" / "next" / VERSIONS[-1] / "airflow_constraints.txt").open("a") as f:
        f.write("changed==1.0\n")
    assert requirements_hash(root) == before
    with (root / "requirements" / "dev.txt").open("a") as f:
        f.write("# changed\n")
    assert requirements_hash(root) != before
