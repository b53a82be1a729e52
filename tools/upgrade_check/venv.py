"""The upgrade check's own venv (never .venv): today's requirements under the next version's constraints.

Rebuilt only when its inputs change: the top-level requirements files, the version's constraints folder,
tools/constraints.py and the interpreter (the same rule as tools/venv.sh, stamped in the venv).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import constraints
import repository

STAMP = ".inputs.sha256"
# tools/venv.sh's stamp: a suite that runs ./run_tests.sh or a hook with LAKEHOUSE_VENV=this venv (the hook
# tests do) must find it current, or tools/venv.sh would reinstall today's pins into it.
VENV_SH_STAMP = ".requirements.sha256"
_VENV_SH_HASH = """import hashlib, sys
digest = hashlib.sha256()
for name in sys.argv[1:]:
    with open(name, "rb") as f:
        digest.update(f.read())
digest.update(("Python %s\\n" % sys.version).encode())
print(digest.hexdigest())"""


def inputs(version: str) -> list[Path]:
    req = repository.REQUIREMENTS
    folder = constraints.NEXT / version
    return [
        *sorted(req.glob("*.txt")),
        *sorted(p for p in folder.iterdir() if p.is_file()),
        repository.TOOLS / "constraints.py",
    ]


def inputs_hash(version: str, python: str) -> str:
    digest = hashlib.sha256()
    for path in inputs(version):
        digest.update(path.relative_to(repository.ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    interpreter = subprocess.run([python, "-VV"], capture_output=True, text=True, check=True).stdout
    digest.update(interpreter.encode())
    return digest.hexdigest()


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure(version: str, venv: Path, python: str = sys.executable) -> tuple[bool, float]:
    """Build `venv` for `version` unless its stamp matches the inputs: (rebuilt, seconds)."""
    start = time.monotonic()
    wanted = inputs_hash(version, python)
    stamp = venv / STAMP
    if stamp.is_file() and stamp.read_text().strip() == wanted and venv_python(venv).exists():
        mark_current_for_venv_sh(venv)  # requirements/*.txt may have been edited back and forth meanwhile
        return False, time.monotonic() - start
    print(f"== building {venv.relative_to(repository.ROOT)} (first run or its inputs changed) ==", flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    # MWAA's requirements.txt names the constraints by their path on MWAA; the install applies its own.
    lines = (repository.REQUIREMENTS / "requirements.txt").read_text().splitlines()
    requirements = [line for line in lines if not line.lstrip().startswith(("-c ", "--constraint "))]
    (venv / "mwaa-requirements.txt").write_text("\n".join(requirements) + "\n")
    (venv / constraints.APPLIED).write_text(
        constraints.install_constraints(constraints.next_version(version))
    )
    pip = [str(venv_python(venv)), "-m", "pip", "install", "--quiet"]
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    subprocess.run([*pip, "--upgrade", "pip"], check=True, env=env)
    subprocess.run(
        [
            *pip,
            "-r",
            str(venv / "mwaa-requirements.txt"),
            "-r",
            str(repository.REQUIREMENTS / "dev.txt"),
            "-c",
            str(venv / constraints.APPLIED),
        ],
        check=True,
        env=env,
    )
    stamp.write_text(wanted + "\n")
    mark_current_for_venv_sh(venv)
    return True, time.monotonic() - start


def mark_current_for_venv_sh(venv: Path) -> None:
    """Write tools/venv.sh's stamp (requirements_hash: requirements/*.txt and the interpreter) into `venv`."""
    files = [str(path) for path in sorted(repository.REQUIREMENTS.glob("*.txt"))]
    done = subprocess.run(
        [str(venv_python(venv)), "-c", _VENV_SH_HASH, *files], capture_output=True, text=True
    )
    (venv / VENV_SH_STAMP).write_text(done.stdout)
