"""tools/constraints.py: the one constraints file each install applies, today's and a next version's."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import pytest

import constraints
import repository

REQ = repository.REQUIREMENTS
NEXT_VERSIONS = constraints.next_versions()
LINT_TOOLS = constraints.pins(constraints.LINT)


def test_requirement_lines_are_read_with_extras_comments_and_options(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text(
        "-r local.txt\n-c x.txt\nmoto[server]\nsqlglot==30.15.0  # why\n# a==1\n"
        "Foo_Bar.baz == 2.0 ; python_version>'3'\n"
    )
    assert constraints.requirement_names(path) == {"moto": None, "sqlglot": "30.15.0", "foo-bar-baz": "2.0"}


def test_the_lint_tools_are_pinned_and_are_ours():
    assert set(LINT_TOOLS) == {"black", "ruff"}
    assert "-r lint.txt" in (REQ / "dev.txt").read_text().splitlines()


def install_pins(target, folder) -> dict[str, str]:
    path = folder / f"install-constraints-{target.version}.txt"
    path.write_text(constraints.install_constraints(target))
    return constraints.pins(path)


def test_today_s_install_applies_the_image_pins_less_exactly_the_lint_tools(tmp_path):
    today = constraints.current()
    image = {**constraints.pins(today.airflow), **constraints.pins(today.essential)}
    applied = install_pins(today, tmp_path)

    # The image pins Airflow's own lint tools (ruff 0.12.1, black 25.1.0): requirements/lint.txt decides.
    dropped = {name: version for name, version in image.items() if name not in applied}
    assert set(dropped) == set(LINT_TOOLS) and dropped["ruff"] != LINT_TOOLS["ruff"]
    assert {name: version for name, version in applied.items() if image.get(name) != version} == {}


@pytest.mark.parametrize("version", NEXT_VERSIONS)
def test_a_next_version_holds_the_test_tools_it_stops_pinning_at_today_s_versions(version, tmp_path):
    target = constraints.next_version(version)
    today, theirs = constraints.pins(constraints.current().airflow), constraints.pins(target.airflow)
    held = constraints.held_test_tools(target)
    applied = install_pins(target, tmp_path)

    for name, pinned in constraints.requirement_names(constraints.DEV).items():
        if name in LINT_TOOLS or name not in today:
            assert name not in held, name
        elif name in theirs:  # e.g. fastavro: the next image's own version
            assert name not in held and applied[name] == theirs[name], name
        else:  # e.g. pytest, moto: today's
            assert held[name] == today[name] == applied[name], name
    assert held, "the next constraints pin every test tool: nothing to hold"
    assert not set(LINT_TOOLS) & set(applied)


def test_311_holds_pytest_moto_and_duckdb():
    if "3.3.1" not in NEXT_VERSIONS:
        pytest.skip("requirements/next/3.3.1 is gone (the upgrade happened)")
    held = constraints.held_test_tools(constraints.next_version("3.3.1"))
    assert {"pytest", "pytest-xdist", "moto", "duckdb"} <= set(held)
    assert "fastavro" not in held and "sqlglot" not in held


@pytest.mark.parametrize("version", [None, *NEXT_VERSIONS])
def test_every_exact_dev_pin_agrees_with_the_image_constraints(version):
    """A dev pin the image also pins must be the image's version, or pip cannot resolve the install
    (sqlglot: 3.3.1 pins 30.15.0, 3.0.6 does not pin it)."""
    target = constraints.current() if version is None else constraints.next_version(version)
    image = {**constraints.pins(target.airflow), **constraints.pins(target.essential)}
    dev = {**constraints.pins(constraints.DEV), **constraints.pins(REQ / "local.txt")}
    clashes = {name: (pin, image[name]) for name, pin in dev.items() if name in image and image[name] != pin}
    assert clashes == {}, f"requirements/dev.txt (ours, the image's {target.version}): {clashes}"


def test_the_lint_tools_installed_are_ours():
    for name, version in LINT_TOOLS.items():
        assert metadata.version(name) == version, f"{name}: rerun ./run_tests.sh to reinstall"


def test_versions_sort_as_numbers(tmp_path, monkeypatch):
    for name in ("3.10.0", "3.3.1", "3.9.2"):
        (tmp_path / name).mkdir()
    (tmp_path / "README").write_text("not a version folder")
    monkeypatch.setattr(constraints, "NEXT", tmp_path)
    assert constraints.next_versions() == ["3.3.1", "3.9.2", "3.10.0"]


def test_an_unknown_version_is_refused_naming_the_known_ones(tmp_path):
    done = subprocess.run(
        [sys.executable, str(repository.TOOLS / "constraints.py"), "write", str(tmp_path / "c.txt"), "9.9.9"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: no constraints for 9.9.9")
    assert f"Known: {', '.join(NEXT_VERSIONS)}" in done.stderr
    assert not (tmp_path / "c.txt").exists()
