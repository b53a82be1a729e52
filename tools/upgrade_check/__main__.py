"""./run_tests.sh --upgrade-check [VERSION]: the repository's gate on the next MWAA version.

Builds build/upgrade-check/VERSION/venv (today's requirements under requirements/next/VERSION/'s
constraints; VERSION defaults to the newest folder there), runs flake8, black, ruff's AIR rules and the full
suite in it, and writes build/upgrade-check/VERSION/report.md. Exit 0 only when everything is green there.
It never stamps the tree for the deploy: that is ./run_tests.sh's on today's version.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import constraints
import repository
from deploy import REPORT_DEPRECATIONS_ENV
from upgrade_check import report, venv
from upgrade_check.plugin import FOLDER as WARNINGS_ENV

# ./run_tests.sh's variables that make a pytest run count for the gate stamp: never set here.
GATE_ENV = ("LAKEHOUSE_GATE_MODE", "LAKEHOUSE_GATE_SELECTION", "LAKEHOUSE_DAG_GATE_RANKS", "PYTEST_ADDOPTS")
RUFF_PATHS = ("dags", "plugins", "tools", "tests")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="./run_tests.sh --upgrade-check", description=__doc__.split("\n\n")[1]
    )
    parser.add_argument("version", nargs="?", help="a folder of requirements/next/ (default: the newest)")
    return parser.parse_args(argv)


def output_folder(version: str) -> Path:
    return repository.BUILD / "upgrade-check" / version


def lint_commands(bin_folder: Path) -> list[tuple[str, list[str]]]:
    return [
        ("flake8", [str(bin_folder / "flake8"), "."]),
        ("black --check", [str(bin_folder / "black"), "--check", "--quiet", "."]),
        (
            "ruff --select AIR",
            [str(bin_folder / "ruff"), "check", "--no-cache", "--select", "AIR", *RUFF_PATHS],
        ),
    ]


def pytest_command(python: Path, out: Path) -> list[str]:
    workers = os.environ.get("LAKEHOUSE_TEST_WORKERS", "auto")
    return [
        str(python),
        "-m",
        "pytest",
        "-q",
        "-rfE",
        "--continue-on-collection-errors",
        "-p",
        "upgrade_check.plugin",
        f"--junitxml={out / 'junit.xml'}",
        *(["-n", workers, "--dist", "loadgroup", "--no-loadscope-reorder"] if workers != "0" else []),
    ]


def run_env(bin_folder: Path, warnings_folder: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in GATE_ENV}
    env["PATH"] = f"{bin_folder}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(str(root) for root in repository.IMPORT_ROOTS)
    env[WARNINGS_ENV] = str(warnings_folder)
    # The scripts the suite runs (./run_local.sh, the nested ./run_tests.sh and hooks) use this venv too: the
    # next version's, never a .venv tools/venv.sh would build or reinstall.
    env["LAKEHOUSE_VENV"] = str(bin_folder.parent)
    # Deprecations are what the report lists for the upgrade, not errors: on the next version the project's
    # filters (pyproject.toml) would turn a provider's new deprecation into an import error of the DAGs.
    # An environment variable (tests/conftest.py reads it), so the gates the suite starts inherit it.
    env[REPORT_DEPRECATIONS_ENV] = "1"
    env.pop("VIRTUAL_ENV", None)
    return env


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    known = constraints.next_versions()
    version = args.version or (known[-1] if known else None)
    if version not in known:
        print(
            f"error: no constraints for MWAA {version or '(none given)'} under requirements/next/ "
            f"(known: {', '.join(known) or 'none'}). Fix: ./run_tests.sh --upgrade-check "
            f"{known[-1] if known else 'VERSION'} (or add requirements/next/VERSION/: docs/upgrade-check.md)",
            file=sys.stderr,
        )
        return 2
    if sys.version_info[:2] != (3, 12):
        print(f"warning: Python {sys.version_info[0]}.{sys.version_info[1]}, MWAA runs 3.12", file=sys.stderr)
    out = output_folder(version)
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        rebuilt, build_seconds = venv.ensure(version, out / "venv")
    except subprocess.CalledProcessError as error:
        print(f"error: building the {version} venv failed ({error}); see pip's output above", file=sys.stderr)
        return 1
    python = venv.venv_python(out / "venv")
    bin_folder = python.parent
    warnings_folder = out / "warnings"
    shutil.rmtree(warnings_folder, ignore_errors=True)
    warnings_folder.mkdir()
    env = run_env(bin_folder, warnings_folder)
    results = []
    for name, command in lint_commands(bin_folder):
        print(f"== {name} ==", flush=True)
        done = subprocess.run(command, cwd=repository.ROOT, env=env, capture_output=True, text=True)
        print(done.stdout + done.stderr, end="", flush=True)
        results.append(report.Step(name, done.returncode, done.stdout + done.stderr))
    print(f"== pytest on MWAA {version} ==", flush=True)
    (out / "junit.xml").unlink(missing_ok=True)
    with open(out / "pytest.log", "w") as log:
        process = subprocess.Popen(
            pytest_command(python, out),
            cwd=repository.ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for line in process.stdout:
            sys.stdout.write(line)
            log.write(line)
        returncode = process.wait()
    results.append(report.Step("pytest (full suite)", returncode, ""))
    text = report.render(
        version=version,
        steps=results,
        packages=report.package_changes(python),
        failures=report.failures(out / "junit.xml"),
        warnings=report.warnings(warnings_folder),
        venv_rebuilt=rebuilt,
        venv_seconds=build_seconds,
        total_seconds=time.monotonic() - started,
    )
    (out / "report.md").write_text(text)
    green = all(step.returncode == 0 for step in results)
    relative = (out / "report.md").relative_to(repository.ROOT)
    print(f"\nupgrade check on MWAA {version}: {'green' if green else 'RED'}; report: {relative}")
    return 0 if green else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
