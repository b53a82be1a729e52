"""The repository's root and its well-known folders: the one module that knows where it sits in the tree.

tools/ and plugins/ are the import roots (tools/venv.sh exports them as PYTHONPATH; pyproject.toml gives
them to pytest), so everything imports this module as `repository`.
"""

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DAGS = ROOT / "dags"
PLUGINS = ROOT / "plugins"
SQL = ROOT / "sql"
CONFIG = ROOT / "config"
REQUIREMENTS = ROOT / "requirements"
TESTS = ROOT / "tests"
HOOKS = ROOT / "hooks"
WORKFLOWS = ROOT / ".github" / "workflows"
TOOLS = ROOT / "tools"
GATE = TOOLS / "gate"
IAM = TOOLS / "deploy" / "iam"
BUILD = ROOT / "build"
# The import roots, in the order tools/venv.sh puts them on PYTHONPATH (for subprocesses started bare).
IMPORT_ROOTS = (TOOLS, PLUGINS)
# What a copy of the repository needs for the git hooks to run (relative paths): the hooks, the shared secret
# scanner, the git blob reader, the venv locator and the lint configuration.
HOOK_FILES = (
    "hooks",
    "tools/gate/__init__.py",
    "tools/gate/secret_scan.py",
    "tools/git_blobs.py",
    "tools/venv.sh",
    "pyproject.toml",
    ".flake8",
)


def copy_hook_files(destination: Path, extra: tuple[str, ...] = ()) -> None:
    """HOOK_FILES (and `extra` paths) of this checkout into `destination`, replacing what is there."""
    for name in HOOK_FILES + extra:
        source, target = ROOT / name, destination / name
        if source.is_dir():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
