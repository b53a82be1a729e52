"""The bundle: exactly what MWAA needs, keyed by where it goes in the bucket.

    dags/**              the DAG folder (DAG files and everything they read at run time)
    dags/sql/**          the repository's sql/, beside the DAGs (lakehouse.paths.sql_folder finds it there)
    plugins.zip          plugins/, zipped deterministically
    requirements.txt     requirements/requirements.txt
    dags/constraints.txt requirements/constraints.txt (requirements.txt's --constraint, a path on MWAA)
    startup.sh           the MWAA startup script, when the repository has one

The files are the blobs of one git tree object (by default the working tree's, as deploy.stamp.tree_hash
records it; the sync passes the tree the tests passed on), read with `git ls-tree` and `git cat-file`, never
from the disk: a symbolic link is a path, not the file it points at, and nothing changes between the gate
and the upload. Caches and local configuration listed in .gitignore are not in the tree; EXCLUDED drops what
must not ship even when tracked. Refused, each path named: symbolic links and submodules in the shipped
folders, key material, and files over MAX_FILE_BYTES (unless allowed one by one).
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import io
import re
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import git_blobs

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
SOURCE_FOLDERS = ("dags", "sql", "plugins")
SOURCE_FILES = (REQUIREMENTS_SOURCE, CONSTRAINTS_SOURCE, STARTUP_SOURCE)

# Path-component and file-name patterns that never ship, whatever git tracks.
EXCLUDED_PARTS = ("__pycache__", ".pytest_cache", ".mypy_cache", ".ipynb_checkpoints", "tests")
EXCLUDED_NAMES = (
    "*.pyc",
    "*.pyo",
    "test_*.py",
    "*_test.py",
    "conftest.py",
    "airflow.cfg",
    "airflow.db",
    "webserver_config.py",
    "*.log",
    ".DS_Store",
)
KEPT_HIDDEN = (".airflowignore",)
# Keys, certificates with their keys, credential and environment files: refused anywhere in the shipped
# folders (every reader of the bucket and every worker would get them).
KEY_MATERIAL_NAMES = (
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.ppk",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    "credentials",
    ".netrc",
    ".pgpass",
    ".env",
    ".env.*",
    "*.env",
)
# Per file. MWAA copies dags/ to every container and sets no explicit limit on plugins.zip, but recommends
# keeping it well under 1 GB ("Custom plugins directory and size limits", MWAA User Guide): the larger it is,
# the longer every start. A data file belongs in a data bucket; --allow-large-file admits one by name.
MAX_FILE_BYTES = 5 << 20

# fnmatch.fnmatch per pattern and file costs more than the git reads for a 500-file bundle: one expression.
_EXCLUDED_NAME = re.compile("|".join(fnmatch.translate(pattern) for pattern in EXCLUDED_NAMES))
_KEY_MATERIAL_NAME = re.compile("|".join(fnmatch.translate(pattern) for pattern in KEY_MATERIAL_NAMES))

SYMLINK_MODE = "120000"
SUBMODULE_MODE = "160000"

# A fixed timestamp and mode for every plugins.zip entry: the bytes depend on content only.
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
ZIP_FILE_MODE = 0o100644


def _is_utf8(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class BundleError(RuntimeError):
    """The repository cannot be bundled as it is (the message names the file and the fix)."""


class NameNotUtf8(BundleError):
    """A shipped file's name is not UTF-8 (bad usage: the sync exits 2)."""


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


@dataclass(frozen=True)
class TreeEntry:
    path: str  # repository-relative, '/'-separated
    mode: str  # 100644, 100755, 120000 (symbolic link), 160000 (submodule)
    sha: str
    size: int  # 0 for a submodule


def is_shipped(relative: str) -> bool:
    """Whether a file (path relative to its source folder) belongs in the bundle."""
    path = PurePosixPath(relative)
    if any(part in EXCLUDED_PARTS for part in path.parts[:-1]):
        return False
    if any(part.startswith(".") for part in path.parts[:-1]):
        return False
    if path.name.startswith(".") and path.name not in KEPT_HIDDEN:
        return False
    return not _EXCLUDED_NAME.match(path.name)


def is_key_material(path: str) -> str | None:
    """The KEY_MATERIAL_NAMES pattern the file name matches, or None."""
    name = PurePosixPath(path).name
    if not _KEY_MATERIAL_NAME.match(name):
        return None
    return next(pattern for pattern in KEY_MATERIAL_NAMES if fnmatch.fnmatchcase(name, pattern))


def _in_shipped_area(path: str) -> bool:
    """A path in a source folder, a source file, or a folder on the way to one (a link there redirects it)."""
    if any(path == folder or path.startswith(folder + "/") for folder in SOURCE_FOLDERS):
        return True
    return any(source == path or source.startswith(path + "/") for source in SOURCE_FILES)


def _git(repo: Path, *args: str, stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=repo, input=stdin, capture_output=True)
    except OSError as error:
        raise BundleError(f"git cannot run ({error}). Fix: install git; the bundle is a git tree.") from error
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip()
        raise BundleError(f"{repo}: git {args[0]} failed: {detail}")
    return done.stdout


def tree_entries(repo: Path, tree: str) -> list[TreeEntry]:
    """Every entry of the tree object, recursively (`git ls-tree -r -l`)."""
    entries = []
    for record in _git(repo, "ls-tree", "-r", "-l", "-z", "--full-tree", tree).split(b"\0"):
        if not record:
            continue
        header, path = record.split(b"\t", 1)
        mode, _type, sha, size = header.decode().split()
        entries.append(
            TreeEntry(path.decode(errors="surrogateescape"), mode, sha, 0 if size == "-" else int(size))
        )
    return entries


def read_blobs(repo: Path, shas: list[str]) -> dict[str, bytes]:
    """Blob contents by SHA (git_blobs: one `git cat-file --batch`), git's failures as BundleError."""
    return git_blobs.read_blobs(functools.partial(_git, repo), shas)


def _refusals(repo: Path, entries: list[TreeEntry], allow_large: set[str]) -> list[str]:
    """One paragraph per kind of problem, naming every path and the fix."""
    paragraphs = []
    links = [entry for entry in entries if entry.mode == SYMLINK_MODE]
    if links:
        targets = read_blobs(repo, [entry.sha for entry in links])
        named = "\n".join(
            f"  {entry.path} is a symbolic link to {targets[entry.sha].decode(errors='replace')}"
            for entry in links
        )
        paragraphs.append(
            f"{named}\n  The bundle ships files, never what a link points at (on the machine that syncs, "
            "that could be anything, its credentials included).\n"
            "  Fix: commit the file itself in place of the link (git rm the link, copy the file there, "
            "git add), or remove the link."
        )
    submodules = [entry for entry in entries if entry.mode == SUBMODULE_MODE]
    if submodules:
        named = "\n".join(f"  {entry.path} is a git submodule" for entry in submodules)
        paragraphs.append(
            f"{named}\n  Its files are not in this repository's tree, so they were never tested here.\n"
            "  Fix: vendor the files into the repository, or install the package through requirements.txt."
        )
    keys = [
        (entry.path, is_key_material(entry.path))
        for entry in entries
        if entry.mode not in (SYMLINK_MODE, SUBMODULE_MODE)
    ]
    keys = [(path, pattern) for path, pattern in keys if pattern]
    if keys:
        named = "\n".join(f"  {path}: key material ({pattern}), never shipped" for path, pattern in keys)
        paragraphs.append(
            f"{named}\n  Fix: git rm --cached <file> and list it in .gitignore; credentials belong in "
            "Airflow connections or AWS Secrets Manager (rotate a key that was ever pushed)."
        )
    large = [
        entry
        for entry in entries
        if entry.mode not in (SYMLINK_MODE, SUBMODULE_MODE)
        and entry.size > MAX_FILE_BYTES
        and entry.path not in allow_large
        and _ships(entry.path)
    ]
    if large:
        named = "\n".join(
            f"  {entry.path}: {entry.size:,} bytes, over the {MAX_FILE_BYTES >> 20} MiB limit per file"
            for entry in large
        )
        allow = " ".join(f"--allow-large-file {entry.path}" for entry in large)
        paragraphs.append(
            f"{named}\n  Every MWAA container copies the DAG folder and plugins.zip at start.\n"
            f"  Fix: keep data in a data bucket; or ship it anyway: ./sync_dags.sh {allow}"
        )
    return paragraphs


def _ships(path: str) -> bool:
    if path in SOURCE_FILES:
        return True
    folder, _, relative = path.partition("/")
    return folder in SOURCE_FOLDERS and bool(relative) and is_shipped(relative)


def plugins_zip(files: dict[str, bytes]) -> bytes:
    """plugins/ ({name relative to plugins/: bytes}) as a zip whose bytes depend only on names and contents.

    Entries are sorted, timestamps and modes fixed, and stored uncompressed: deflate output can differ
    between zlib builds, and a changed plugins.zip makes MWAA restart every worker.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)
            info.external_attr = ZIP_FILE_MODE << 16
            info.create_system = 3  # unix, whatever the building machine: part of the bytes
            archive.writestr(info, files[name])
    return buffer.getvalue()


def build(repo: Path, tree: str | None = None, allow_large: tuple[str, ...] = ()) -> dict[str, BundleFile]:
    """The bundle of git tree `tree` (default: the working tree of `repo`): {bucket key: file}."""
    from deploy import stamp

    repo = Path(repo).resolve()
    if tree is None:
        try:
            tree = stamp.tree_hash(repo)
        except stamp.GitError as error:
            raise BundleError(
                f"{repo}: not a git checkout ({error}); the bundle is the git tree the tests passed on. "
                "Fix: sync from a clone of the repository."
            ) from error
    entries = [entry for entry in tree_entries(repo, tree) if _in_shipped_area(entry.path)]
    refusals = _refusals(repo, entries, set(allow_large))
    if refusals:
        raise BundleError(f"tree {tree[:12]} cannot ship as it is:\n" + "\n".join(refusals))
    shipped = {entry.path: entry for entry in entries if _ships(entry.path)}
    # S3 keys are UTF-8: git hands over a name stored in another encoding with surrogates (tree_entries)
    undecodable = [path for path in shipped if not _is_utf8(path)]
    if undecodable:
        shown = ", ".join(
            repr(path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")) for path in undecodable
        )
        raise NameNotUtf8(
            f"a file name is not valid UTF-8: {shown}. S3 keys and MWAA need UTF-8 names. "
            f"Fix: rename {'it' if len(undecodable) == 1 else 'them'} (git mv) to a UTF-8 name."
        )
    if not any(path.startswith(DAGS_PREFIX) for path in shipped):
        raise BundleError(f"{repo}: no dags/ folder in tree {tree[:12]}. Fix: run from the repository root.")
    collisions = [path for path in shipped if path.startswith(SQL_KEY_PREFIX)]
    if collisions:
        raise BundleError(
            f"{', '.join(collisions)}: dags/sql/ is where the bundle puts the repository's sql/. "
            f"Fix: move {'the file' if len(collisions) == 1 else 'these files'} to sql/ at the repository "
            "root."
        )
    if REQUIREMENTS_SOURCE not in shipped:
        raise BundleError(
            f"{REQUIREMENTS_SOURCE}: missing. Fix: restore requirements/requirements.txt (MWAA's)."
        )
    blobs = read_blobs(repo, [entry.sha for entry in shipped.values()])
    data = {path: blobs[entry.sha] for path, entry in shipped.items()}
    files: dict[str, BundleFile] = {}
    for path, content in data.items():
        if path.startswith(DAGS_PREFIX):
            files[path] = BundleFile(path, content)
        elif path.startswith("sql/"):
            files[DAGS_PREFIX + path] = BundleFile(DAGS_PREFIX + path, content)
    plugins = {
        path.removeprefix("plugins/"): content
        for path, content in data.items()
        if path.startswith("plugins/")
    }
    if plugins or any(entry.path == "plugins" or entry.path.startswith("plugins/") for entry in entries):
        files[PLUGINS_KEY] = BundleFile(PLUGINS_KEY, plugins_zip(plugins))
    files[REQUIREMENTS_KEY] = BundleFile(REQUIREMENTS_KEY, data[REQUIREMENTS_SOURCE])
    if CONSTRAINTS_SOURCE in data:
        files[CONSTRAINTS_KEY] = BundleFile(CONSTRAINTS_KEY, data[CONSTRAINTS_SOURCE])
    if STARTUP_SOURCE in data:
        files[STARTUP_KEY] = BundleFile(STARTUP_KEY, data[STARTUP_SOURCE])
    return dict(sorted(files.items()))


def write_to(bundle: dict[str, BundleFile], folder: Path) -> None:
    """Write the bundle into an empty folder, laid out as the bucket (for tests and inspection)."""
    for key, item in bundle.items():
        path = Path(folder) / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(item.data)
