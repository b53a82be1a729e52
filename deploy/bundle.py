"""The bundle: exactly what MWAA needs, keyed by where it goes in the bucket.

    dags/**              the DAG folder (DAG files and everything they read at run time)
    dags/sql/**          the repository's sql/, beside the DAGs (lakehouse.paths.sql_folder finds it there)
    plugins.zip          plugins/, zipped deterministically
    requirements.txt     requirements/requirements.txt
    dags/constraints.txt requirements/constraints.txt (requirements.txt's --constraint, a path on MWAA)
    startup.sh           the MWAA startup script, when the repository has one

Files come from git's view of the working tree (tracked, plus untracked files git does not ignore), so caches
and local configuration listed in .gitignore never ship; EXCLUDED drops what must not ship even when tracked.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import os
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

DAGS_PREFIX = "dags/"
SQL_KEY_PREFIX = DAGS_PREFIX + "sql/"
PLUGINS_KEY = "plugins.zip"
REQUIREMENTS_KEY = "requirements.txt"
STARTUP_KEY = "startup.sh"
# The objects an MWAA environment reads by S3 object version: a change needs UpdateEnvironment.
ENVIRONMENT_KEYS = (REQUIREMENTS_KEY, PLUGINS_KEY, STARTUP_KEY)

REQUIREMENTS_SOURCE = "requirements/requirements.txt"
# requirements.txt says --constraint "/usr/local/airflow/dags/constraints.txt": no download at install time.
CONSTRAINTS_SOURCE = "requirements/constraints.txt"
CONSTRAINTS_KEY = DAGS_PREFIX + "constraints.txt"
STARTUP_SOURCE = "startup.sh"

# Path-component and file-name patterns that never ship, whatever git tracks.
EXCLUDED_PARTS = ("__pycache__", ".pytest_cache", ".mypy_cache", ".ipynb_checkpoints", "tests")
EXCLUDED_NAMES = (
    "*.pyc",
    "*.pyo",
    "test_*.py",
    "*_test.py",
    "conftest.py",
    ".env",
    ".env.*",
    "airflow.cfg",
    "airflow.db",
    "webserver_config.py",
    "*.log",
    ".DS_Store",
)
KEPT_HIDDEN = (".airflowignore",)

# A fixed timestamp and mode for every plugins.zip entry: the bytes depend on content only.
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
ZIP_FILE_MODE = 0o100644


class BundleError(RuntimeError):
    """The repository cannot be bundled as it is (the message names the file and the fix)."""


@dataclass(frozen=True)
class BundleFile:
    key: str  # relative to the bucket prefix, '/'-separated
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def md5(self) -> str:
        return hashlib.md5(self.data, usedforsecurity=False).hexdigest()


def is_shipped(relative: str) -> bool:
    """Whether a file (path relative to its source folder) belongs in the bundle."""
    path = PurePosixPath(relative)
    if any(part in EXCLUDED_PARTS for part in path.parts[:-1]):
        return False
    if any(part.startswith(".") for part in path.parts[:-1]):
        return False
    if path.name.startswith(".") and path.name not in KEPT_HIDDEN:
        return False
    return not any(fnmatch.fnmatch(path.name, pattern) for pattern in EXCLUDED_NAMES)


def _git_files(repo: Path, folder: str) -> list[str] | None:
    """Tracked and untracked-but-not-ignored files under `folder`, or None outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", folder],
            cwd=repo,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    # --cached lists files deleted from the working tree too: only what exists now ships
    return sorted({name for name in out.decode().split("\0") if name and (repo / name).is_file()})


def source_files(repo: Path, folder: str) -> list[str]:
    """The shippable files under `folder` (repository-relative, '/'-separated, sorted)."""
    names = _git_files(repo, folder)
    if names is None:
        root = repo / folder
        names = sorted(
            str(PurePosixPath(*(Path(dirpath, f).relative_to(repo).parts)))
            for dirpath, _dirs, files in os.walk(root)
            for f in files
        )
    return [name for name in names if is_shipped(str(PurePosixPath(name).relative_to(folder)))]


def plugins_zip(repo: Path, folder: str = "plugins") -> bytes:
    """plugins/ as a zip whose bytes depend only on the file names and contents.

    Entries are sorted, timestamps and modes fixed, and stored uncompressed: deflate output can differ
    between zlib builds, and a changed plugins.zip makes MWAA restart every worker.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in source_files(repo, folder):
            info = zipfile.ZipInfo(str(PurePosixPath(name).relative_to(folder)), date_time=ZIP_DATE_TIME)
            info.external_attr = ZIP_FILE_MODE << 16
            info.create_system = 3  # unix, whatever the building machine: part of the bytes
            archive.writestr(info, (repo / name).read_bytes())
    return buffer.getvalue()


def build(repo: Path) -> dict[str, BundleFile]:
    """The bundle of the repository at `repo`: {bucket key: file}."""
    repo = Path(repo).resolve()
    if not (repo / "dags").is_dir():
        raise BundleError(f"{repo}: no dags/ folder. Fix: run from the repository root (or pass --repo).")
    files: dict[str, BundleFile] = {}
    for name in source_files(repo, "dags"):
        key = name  # already starts with dags/
        if key.startswith(SQL_KEY_PREFIX):
            raise BundleError(
                f"{repo / name}: dags/sql/ is where the bundle puts the repository's sql/. "
                "Fix: move the file to sql/ at the repository root."
            )
        files[key] = BundleFile(key, (repo / name).read_bytes())
    if (repo / "sql").is_dir():
        for name in source_files(repo, "sql"):
            key = DAGS_PREFIX + name
            files[key] = BundleFile(key, (repo / name).read_bytes())
    if (repo / "plugins").is_dir():
        files[PLUGINS_KEY] = BundleFile(PLUGINS_KEY, plugins_zip(repo))
    requirements = repo / REQUIREMENTS_SOURCE
    if not requirements.is_file():
        raise BundleError(f"{requirements}: missing. Fix: restore requirements/requirements.txt (MWAA's).")
    files[REQUIREMENTS_KEY] = BundleFile(REQUIREMENTS_KEY, requirements.read_bytes())
    if (repo / CONSTRAINTS_SOURCE).is_file():
        files[CONSTRAINTS_KEY] = BundleFile(CONSTRAINTS_KEY, (repo / CONSTRAINTS_SOURCE).read_bytes())
    if (repo / STARTUP_SOURCE).is_file():
        files[STARTUP_KEY] = BundleFile(STARTUP_KEY, (repo / STARTUP_SOURCE).read_bytes())
    return dict(sorted(files.items()))


def write_to(bundle: dict[str, BundleFile], folder: Path) -> None:
    """Write the bundle into an empty folder, laid out as the bucket (for tests and inspection)."""
    for key, item in bundle.items():
        path = Path(folder) / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(item.data)
