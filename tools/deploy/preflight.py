"""Preflight of the environment files: refuse what an MWAA environment update would fail on, before the
20-30 minute update. Fails closed: whatever it cannot show to be fine is refused, with the reason.

    requirements.txt  resolved against the constraints shipped beside it, offline: no pip, no index. Refused:
                      apache-airflow (and its core / task-sdk), a version a constraint excludes, anything pip
                      would have to fetch or build (URLs, VCS, local paths, editable installs, other
                      indexes, -r includes), and a package the constraints do not pin unless plugins.zip
                      carries a wheel of it for MWAA's platform (CPython 3.12, manylinux x86_64, or a pure
                      Python wheel) and requirements.txt points pip there (--find-links).
    plugins.zip       imported as MWAA would: a fresh interpreter (-I: no PYTHONPATH, no user site, not the
                      repository) with the zip first on sys.path and nothing else added imports every
                      top-level package and module of the zip.
    startup.sh        run by `bash -e` under `env -i` (PATH, a temporary HOME, MWAA_AIRFLOW_COMPONENT) with a
                      time limit, once per MWAA component; any non-zero exit refuses it, naming the
                      command that failed (bash -x's trace).

What offline cannot show: that the constraints' own pins have wheels for MWAA's platform (Airflow publishes
and tests them), that a pure Python wheel's dependencies resolve, and what startup.sh does with the network
or with files outside its HOME (the shell is a clean environment, not a security sandbox).
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from deploy.bundle import (
    CONSTRAINTS_KEY,
    CONSTRAINTS_SOURCE,
    PLUGINS_KEY,
    REQUIREMENTS_KEY,
    REQUIREMENTS_SOURCE,
    STARTUP_KEY,
    BundleFile,
)

REFUSED_PACKAGES = ("apache-airflow", "apache-airflow-core", "apache-airflow-task-sdk")
MWAA_PYTHON_TAGS = {"py3", "cp312", "py312"}
MWAA_ABI_TAGS = {"none", "abi3", "cp312"}
MWAA_PLATFORM = re.compile(r"^(any|manylinux\w*_x86_64)$")
MWAA_COMPONENTS = (
    "scheduler",
    "worker",
    "webserver",
)  # MWAA runs startup.sh on each (MWAA_AIRFLOW_COMPONENT)
STARTUP_SECONDS = 60
IMPORT_SECONDS = 120
# requirements.txt options that need no download or build; anything else starting with '-' is refused.
ALLOWED_OPTIONS = ("--constraint", "-c", "--find-links", "-f", "--no-index")


class PreflightError(RuntimeError):
    """An environment file MWAA would fail on (the message names the file, the line or module, the fix)."""


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Wheel:
    name: str
    version: str
    python: set
    abi: set
    platform: set

    @classmethod
    def parse(cls, filename: str) -> "Wheel | None":
        parts = PurePosixPath(filename).name[: -len(".whl")].split("-")
        if len(parts) not in (5, 6):
            return None
        name, version, *_, python, abi, platform = parts
        return cls(
            _normalize(name), version, set(python.split(".")), set(abi.split(".")), set(platform.split("."))
        )

    def fits_mwaa(self) -> bool:
        return bool(
            self.python & MWAA_PYTHON_TAGS
            and self.abi & MWAA_ABI_TAGS
            and any(MWAA_PLATFORM.match(tag) for tag in self.platform)
        )


def constraints_pins(text: str) -> dict[str, str]:
    """{normalized name: pinned version} of a constraints file."""
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, _, version = line.partition("==")
            pins[_normalize(name.split("[", 1)[0].strip())] = version.split(";", 1)[0].strip()
    return pins


def check_requirements(requirements: str, constraints: str | None, wheels: list[str]) -> list[str]:
    """The problems of requirements.txt, one line each (empty: it installs from the constraints offline)."""
    from packaging.requirements import InvalidRequirement, Requirement

    pins = constraints_pins(constraints or "")
    available = [wheel for wheel in (Wheel.parse(name) for name in wheels) if wheel]
    problems = []
    finds_links = any(line.strip().startswith(("--find-links", "-f ")) for line in requirements.splitlines())
    for number, raw in enumerate(requirements.splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        where = f"{REQUIREMENTS_KEY}:{number}: {line}"
        if line.startswith("-"):
            option = line.split()[0].split("=", 1)[0]
            if option not in ALLOWED_OPTIONS:
                problems.append(f"{where}: {option} makes pip download or build at install time")
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            problems.append(f"{where}: not a package requirement (a URL, path or VCS link needs a build)")
            continue
        if requirement.url:
            problems.append(f"{where}: a direct URL needs a download and possibly a build")
            continue
        name = _normalize(requirement.name)
        if name in REFUSED_PACKAGES:
            problems.append(f"{where}: MWAA installs {name} itself; requirements.txt must never change it")
        elif name in pins:
            if pins[name] not in requirement.specifier:
                problems.append(
                    f"{where}: the constraints pin {name}=={pins[name]}, which {requirement.specifier} "
                    "excludes (pip refuses the conflict and the update fails)"
                )
        else:
            fitting = [wheel for wheel in available if wheel.name == name and wheel.fits_mwaa()]
            fitting = [
                wheel
                for wheel in fitting
                if wheel.version in requirement.specifier or not requirement.specifier
            ]
            if not fitting or not finds_links:
                problems.append(
                    f"{where}: {name} is not pinned by the constraints, and plugins.zip carries no wheel "
                    "of it for MWAA (CPython 3.12, manylinux x86_64 or pure Python) that requirements.txt "
                    "points pip to (--find-links /usr/local/airflow/plugins)"
                )
    return problems


def check_plugins(data: bytes, python: str = sys.executable) -> list[str]:
    """Import every top-level package and module of plugins.zip in a fresh interpreter, the zip first on
    sys.path and nothing else added. One problem per module that fails."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
    modules = sorted(
        {
            PurePosixPath(name).parts[0].removesuffix(".py")
            for name in names
            if (name.endswith(".py") and "/" not in name)
            or (len(PurePosixPath(name).parts) == 2 and PurePosixPath(name).name == "__init__.py")
        }
    )
    if not modules:
        return []
    with tempfile.TemporaryDirectory(prefix="preflight-plugins-") as scratch:
        archive_path = Path(scratch) / PLUGINS_KEY
        archive_path.write_bytes(data)
        script = (
            "import importlib, sys, traceback\n"
            "sys.path.insert(0, sys.argv[1])\n"
            "failed = 0\n"
            "for name in sys.argv[2:]:\n"
            "    try:\n"
            "        importlib.import_module(name)\n"
            "    except BaseException as error:\n"
            "        failed = 1\n"
            "        line = traceback.format_exception_only(type(error), error)[-1].strip()\n"
            "        print(f'{name}\\t{line}', flush=True)\n"
            "sys.exit(failed)\n"
        )
        home = Path(scratch) / "home"
        home.mkdir()
        environment = {"PATH": "/usr/bin:/bin", "HOME": str(home), "AIRFLOW_HOME": str(home / "airflow")}
        try:
            done = subprocess.run(
                [python, "-I", "-c", script, str(archive_path), *modules],
                cwd=scratch,
                env=environment,
                capture_output=True,
                text=True,
                timeout=IMPORT_SECONDS,
            )
        except subprocess.TimeoutExpired:
            return [f"{PLUGINS_KEY}: importing {', '.join(modules)} took over {IMPORT_SECONDS} s"]
    if done.returncode == 0:
        return []
    reported = [line.split("\t", 1) for line in done.stdout.splitlines() if "\t" in line]
    if not reported:
        return [f"{PLUGINS_KEY}: the import exited {done.returncode}: {done.stderr.strip()[-300:]}"]
    return [f"{PLUGINS_KEY}: import {name} fails with zip-only sys.path: {error}" for name, error in reported]


def check_startup(script: bytes) -> list[str]:
    """Run startup.sh by `bash -e` in a clean environment, once per MWAA component; any non-zero exit."""
    with tempfile.TemporaryDirectory(prefix="preflight-startup-") as scratch:
        path = Path(scratch) / STARTUP_KEY
        path.write_bytes(script)
        home = Path(scratch) / "home"
        home.mkdir()
        for component in MWAA_COMPONENTS:
            command = [
                "env",
                "-i",
                "PATH=/usr/local/bin:/usr/bin:/bin",
                f"HOME={home}",
                f"MWAA_AIRFLOW_COMPONENT={component}",
                "bash",
                "-e",
                "-x",  # the trace's last command is the one that failed
                str(path),
            ]
            try:
                done = subprocess.run(
                    command, cwd=home, capture_output=True, text=True, timeout=STARTUP_SECONDS
                )
            except subprocess.TimeoutExpired:
                return [
                    f"{STARTUP_KEY}: still running after {STARTUP_SECONDS} s "
                    f"(MWAA_AIRFLOW_COMPONENT={component})"
                ]
            if done.returncode != 0:
                traced = [line for line in done.stderr.splitlines() if line.startswith("+")]
                last = traced[-1].lstrip("+ ") if traced else "no command ran"
                return [
                    f"{STARTUP_KEY}: exited {done.returncode} under bash -e "
                    f"(MWAA_AIRFLOW_COMPONENT={component}) at: {last}"
                ]
    return []


def pip_text(file: BundleFile, source: str, problems: list[str]) -> str | None:
    """The text of a file pip reads (as UTF-8: no BOM or coding line here); None, with the problem added,
    when it is not UTF-8."""
    try:
        return file.data.decode()
    except UnicodeDecodeError as error:
        line = file.data.count(b"\n", 0, error.start) + 1
        problems.append(
            f"{source}:{line}: not UTF-8 text (byte 0x{file.data[error.start]:02x}), and pip reads it as "
            "UTF-8. Fix: save the file as UTF-8"
        )
        return None


def check(bundle: dict[str, BundleFile], changed: list[str]) -> None:
    """Preflight the environment files among `changed`; PreflightError listing every problem."""
    problems = []
    plugins = bundle.get(PLUGINS_KEY)
    if REQUIREMENTS_KEY in changed or PLUGINS_KEY in changed:
        wheels = []
        if plugins is not None:
            with zipfile.ZipFile(io.BytesIO(plugins.data)) as archive:
                wheels = [name for name in archive.namelist() if name.endswith(".whl")]
        requirements = pip_text(bundle[REQUIREMENTS_KEY], REQUIREMENTS_SOURCE, problems)
        constraints_file = bundle.get(CONSTRAINTS_KEY)
        constraints = pip_text(constraints_file, CONSTRAINTS_SOURCE, problems) if constraints_file else ""
        if requirements is not None and constraints is not None:  # None: not UTF-8, named in problems
            problems += check_requirements(requirements, constraints, wheels)
    if PLUGINS_KEY in changed and plugins is not None:
        problems += check_plugins(plugins.data)
    if STARTUP_KEY in changed and STARTUP_KEY in bundle:
        problems += check_startup(bundle[STARTUP_KEY].data)
    if problems:
        raise PreflightError(
            "the environment files would fail the MWAA environment update; nothing was uploaded:\n"
            + "\n".join(f"  {problem}" for problem in problems)
            + "\n  Fix: correct them (docs/deploy-releases.md, Preflight), run ./run_tests.sh --fast, "
            "then sync again."
        )


def main(argv: list[str] | None = None) -> int:
    """python -m deploy.preflight [REPO]: preflight the repository's environment files as they stand."""
    from deploy import bundle as bundling

    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) > 1:
        print(
            "error: python -m deploy.preflight takes one folder, the repository (or none: the current "
            f"folder); got {len(arguments)} arguments",
            file=sys.stderr,
        )
        return 2
    repo = Path(arguments[0] if arguments else ".").resolve()
    try:
        built = bundling.build(repo)
    except bundling.BundleError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        check(built, [key for key in (REQUIREMENTS_KEY, PLUGINS_KEY, STARTUP_KEY) if key in built])
    except PreflightError as error:
        print(f"refused: {error}", file=sys.stderr)
        return 3
    print("preflight: requirements.txt, plugins.zip and startup.sh pass", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
