"""README.md and docs/*.md say what works: every command they print runs as printed, every repository path
they name exists, every link lands, and the README's layout block lists every folder.

Commands are read from ```bash blocks and from inline code spans that start with one of the repository's
entry points; `[...]` around optional arguments is dropped, so every optional flag is checked too.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import repository
from deploy import cli
from gate import inventory
from local_aws.__main__ import _parser as run_local_parser

DOCS = sorted((repository.ROOT / "docs").glob("*.md"))
README = repository.ROOT / "README.md"
DOCUMENTS = [README, *DOCS]
FENCED_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`([^`]+)`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# A repository path as the documents write it: a tracked top-level folder, then at least one more segment.
REPOSITORY_PATH = re.compile(r"^(?:\./)?([\w.-]+)/[\w./-]*$")
# Names the documents give that are not repository paths although they start like one: keys of the bucket
# (tools/deploy/bundle.py lays out the upload) and what the commands make under build/.
NOT_IN_THE_REPOSITORY = ("dags/sql/", "dags/constraints.txt", "build/")


@dataclass(frozen=True)
class Command:
    document: Path
    line: int
    argv: tuple[str, ...]

    def __str__(self) -> str:
        return f"{_shown(self.document)}:{self.line}: {shlex.join(self.argv)}"


def _shown(document: Path) -> str:
    return str(
        document.relative_to(repository.ROOT) if document.is_relative_to(repository.ROOT) else document
    )


def _tracked() -> list[str]:
    listing = subprocess.run(
        ["git", "ls-files"], cwd=repository.ROOT, capture_output=True, text=True, check=True
    ).stdout
    return listing.splitlines()


def _argv(text: str) -> tuple[str, ...] | None:
    """The command a line or code span prints, without environment assignments; None if it is none of ours."""
    try:
        words = shlex.split(text.replace("[", "").replace("]", ""), comments=True)
    except ValueError:
        return None
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", words[0]):
        words.pop(0)
    if words and words[0] in ENTRY_POINTS:
        return tuple(words)
    return None


def commands(document: Path, text: str | None = None) -> list[Command]:
    """Every command of ours the document prints: lines of ```bash blocks, then code spans of the prose."""
    text = document.read_text() if text is None else text
    found = []
    for block in FENCED_BLOCK.finditer(text):
        if block.group(1) not in ("bash", "sh", "shell"):
            continue
        first_line = text.count("\n", 0, block.start(2)) + 1
        for offset, line in enumerate(block.group(2).splitlines()):
            argv = _argv(line)
            if argv:
                found.append(Command(document, first_line + offset, argv))
    prose = FENCED_BLOCK.sub(lambda block: "\n" * block.group(0).count("\n"), text)
    for span in CODE_SPAN.finditer(prose):
        argv = _argv(span.group(1).replace("\n", " "))
        if argv:
            found.append(Command(document, prose.count("\n", 0, span.start()) + 1, argv))
    return found


def _declared_options(source: Path) -> set[str]:
    """The option strings a Python file declares with argparse's add_argument (but for help=SUPPRESS); a
    package's `__main__.py` also declares those of the package modules it imports (`from pkg.run import
    main`)."""
    options = set()
    tree = ast.parse(source.read_text())
    if source.name == "__main__.py":
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(f"{source.parent.name}."):
                imported = source.parent / (node.module.split(".", 1)[1].replace(".", "/") + ".py")
                options |= _declared_options(imported) if imported.is_file() else set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument":
            hidden = any(
                getattr(k.value, "attr", None) == "SUPPRESS" for k in node.keywords if k.arg == "help"
            )
            names = {arg.value for arg in node.args if isinstance(arg, ast.Constant)}
            options |= set() if hidden else {name for name in names if name.startswith("-")}
    return options


def _run_tests_options() -> set[str]:
    """The options run_tests.sh handles itself (the patterns of its `case`); the rest go to pytest."""
    script = (repository.ROOT / "run_tests.sh").read_text()
    return {
        option
        for pattern in re.findall(r"^\s+(-[-\w |]+)\)", script, re.MULTILINE)
        for option in re.split(r"\s*\|\s*", pattern.strip())
    }


def check_run_tests(argv: tuple[str, ...], pytest_parser) -> str | None:
    own = _run_tests_options()
    for_pytest = [word for word in argv[1:] if word not in own]
    # The session's own parser (pytestconfig._parser) knows every option of pytest and its plugins.
    _, unknown = pytest_parser.parse_known_and_unknown_args(for_pytest)
    return f"pytest does not know {unknown}" if unknown else None


def check_sync_dags(argv: tuple[str, ...], pytest_parser) -> str | None:
    try:
        cli.parse_args(list(argv[1:]))
    except SystemExit:
        return "./sync_dags.sh refuses these arguments (see ./sync_dags.sh --help)"
    return None


def check_run_local(argv: tuple[str, ...], pytest_parser) -> str | None:
    try:
        args = run_local_parser().parse_args(list(argv[1:]))
    except SystemExit:
        return "./run_local.sh refuses these arguments (see ./run_local.sh --help)"
    if args.dag_id and args.dag_id not in inventory.read():
        return f"{args.dag_id} is not a DAG of tools/gate/inventory.json"
    if bool(args.all) == bool(args.dag_id):
        return "give one DAG_ID, or --all"
    return None


def check_executable(argv: tuple[str, ...], pytest_parser) -> str | None:
    script = repository.ROOT / argv[0]
    return None if os.access(script, os.X_OK) else f"{argv[0]} is not an executable file"


def check_venv_python(argv: tuple[str, ...], pytest_parser) -> str | None:
    """`tools/venv.sh python -m MODULE ...` or `... python FILE.py ...`: it exists and takes the flags."""
    if len(argv) == 1:
        return check_executable(argv, pytest_parser)
    if argv[1] != "python":  # a console script of the venv, e.g. `tools/venv.sh black dags/x.py`
        script = Path(sys.executable).parent / argv[1]
        return None if script.is_file() else f"the venv has no command {argv[1]!r}"
    if len(argv) < 3:
        return "tools/venv.sh runs `python ...`"
    if argv[2] == "-m":
        module = argv[3].replace(".", "/")
        candidates = [root / f"{module}.py" for root in repository.IMPORT_ROOTS]
        candidates += [root / module / "__main__.py" for root in repository.IMPORT_ROOTS]
        source, arguments = next((path for path in candidates if path.is_file()), None), argv[4:]
    else:
        source, arguments = repository.ROOT / argv[2], argv[3:]
    if source is None or not source.is_file():
        return f"no such module or file: {' '.join(argv[2:4])}"
    unknown = {word.split("=")[0] for word in arguments if word.startswith("-")} - _declared_options(source)
    return f"{source.relative_to(repository.ROOT)} declares no {sorted(unknown)}" if unknown else None


ENTRY_POINTS = {
    "./run_tests.sh": check_run_tests,
    "./sync_dags.sh": check_sync_dags,
    "./run_local.sh": check_run_local,
    "hooks/install.sh": check_executable,
    "tools/venv.sh": check_venv_python,
}


def problems_with(found: list[Command], pytest_parser) -> list[str]:
    return [
        f"{command}: {problem}"
        for command in found
        if (problem := ENTRY_POINTS[command.argv[0]](command.argv, pytest_parser))
    ]


def missing_paths(document: Path, text: str | None = None) -> list[str]:
    """Repository paths named in code spans or links that do not exist (placeholders and globs skipped)."""
    text = document.read_text() if text is None else text
    roots = {path.split("/")[0] for path in _tracked() if "/" in path}
    # A span with an arrow shows a symbolic link's target, not a path of the repository.
    names = [span.split()[0] for span in CODE_SPAN.findall(text) if span.strip() and "->" not in span]
    names += [link.split("#")[0] for link in LINK.findall(text)]
    missing = []
    for name in names:
        match = REPOSITORY_PATH.match(name)
        if not match or match.group(1) not in roots or re.search(r"[<>*{}]", name):
            continue
        if name.startswith(NOT_IN_THE_REPOSITORY):
            continue
        if not (repository.ROOT / name).exists() and not (document.parent / name).exists():
            missing.append(f"{_shown(document)}: `{name}` does not exist")
    return missing


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def broken_links(document: Path, text: str | None = None) -> list[str]:
    text = document.read_text() if text is None else text
    broken = []
    for link in LINK.findall(text):
        if re.match(r"\w+://", link):
            continue
        target, _, anchor = link.partition("#")
        path = (document.parent / target).resolve() if target else document
        if not path.is_file():
            broken.append(f"{_shown(document)}: ({link}): no such file")
        elif anchor and anchor not in {slug(h) for h in re.findall(r"^#+ (.+)$", path.read_text(), re.M)}:
            broken.append(f"{_shown(document)}: ({link}): no heading #{anchor}")
    return broken


def layout_block(text: str) -> str:
    section = text.split("\n## Layout\n", 1)[1]
    return FENCED_BLOCK.search(section).group(2)


def unlisted_folders(block: str, tracked: list[str]) -> list[str]:
    """Top-level folders, and entries of tools/, that the layout block does not list."""
    listed = {line.split()[0] for line in block.splitlines() if line.strip()}
    folders = {path.split("/")[0] + "/" for path in tracked if "/" in path}
    tools = {
        path.split("/")[1] + ("/" if path.count("/") > 1 else "")
        for path in tracked
        if path.startswith("tools/")
    }
    return sorted(folders - listed) + sorted(f"tools/{entry}" for entry in tools - listed)


# --- the documents as they are ---


def test_every_document_prints_commands_of_every_entry_point():
    found = [command.argv[0] for document in DOCUMENTS for command in commands(document)]
    assert set(found) == set(ENTRY_POINTS), f"no command of {set(ENTRY_POINTS) - set(found)} found"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_printed_command_works_as_printed(document, pytestconfig):
    assert not problems_with(commands(document), pytestconfig._parser)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_repository_path_named_exists(document):
    assert not missing_paths(document)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_link_lands(document):
    assert not broken_links(document)


def test_the_readme_links_every_document_of_docs():
    links = {(README.parent / link.split("#")[0]).resolve() for link in LINK.findall(README.read_text())}
    assert DOCS, "docs/ holds no document"
    assert [doc.name for doc in DOCS if doc.resolve() not in links] == []


# Where each command's options are declared.
OPTIONS_OF = {
    "./run_tests.sh": lambda: _run_tests_options() - {"-h", "--help"},
    "./sync_dags.sh": lambda: _declared_options(repository.TOOLS / "deploy" / "cli.py"),
    "./run_local.sh": lambda: _declared_options(repository.TOOLS / "local_aws" / "__main__.py"),
}


def undocumented_options(found: list[Command]) -> list[str]:
    printed = {(command.argv[0], word) for command in found for word in command.argv[1:]}
    return [
        f"{entry} {option}"
        for entry, options in OPTIONS_OF.items()
        for option in sorted(options())
        if (entry, option) not in printed
    ]


def test_every_option_of_the_three_commands_is_printed_in_a_command():
    found = [command for document in DOCUMENTS for command in commands(document)]
    assert undocumented_options(found) == []


def test_the_layout_block_lists_every_folder():
    assert not unlisted_folders(layout_block(README.read_text()), _tracked())


# --- the checks catch what they are for ---


def test_a_flag_no_command_knows_is_reported(pytestconfig, tmp_path):
    document = tmp_path / "doc.md"
    document.write_text(
        "```bash\n./sync_dags.sh --dryrun   # a typo\n./run_local.sh no_such_dag\n```\n"
        "Then `./run_tests.sh --fastest` and `tools/venv.sh python tools/benchmarks/sync.py --file 5`.\n"
        "Also `./run_local.sh redshift__01_create_tables --all` and `./sync_dags.sh --wait-minutes forty`.\n"
    )
    problems = problems_with(commands(document), pytestconfig._parser)
    assert [problem.split(": ")[1] for problem in problems] == [
        "./sync_dags.sh --dryrun",
        "./run_local.sh no_such_dag",
        "./run_tests.sh --fastest",
        "tools/venv.sh python tools/benchmarks/sync.py --file 5",
        "./run_local.sh redshift__01_create_tables --all",
        "./sync_dags.sh --wait-minutes forty",
    ]


def test_optional_arguments_in_brackets_are_checked_too(pytestconfig, tmp_path):
    document = tmp_path / "doc.md"
    document.write_text(
        "`./sync_dags.sh --target s3://B[/P] [--environment N [--no-wait] [--wait-mins 4]]`\n"
    )
    (command,) = commands(document)
    assert command.argv == (
        "./sync_dags.sh",
        "--target",
        "s3://B/P",
        "--environment",
        "N",
        "--no-wait",
        "--wait-mins",
        "4",
    )
    assert problems_with([command], pytestconfig._parser)


def test_the_documented_commands_pass_the_checks(pytestconfig, tmp_path):
    document = tmp_path / "doc.md"
    document.write_text(
        "```bash\nLAKEHOUSE_TEST_WORKERS=0 ./run_tests.sh --fast -k hudi  # narrowed\n```\n"
        "`./run_local.sh redshift__03_incremental_load --manual --date 2024-05-01`, `hooks/install.sh`,\n"
        "`tools/venv.sh python -m sample_data.tickit --out build/sample --seed 7`\n"
    )
    found = commands(document)
    assert [command.argv[0] for command in found] == [
        "./run_tests.sh",
        "./run_local.sh",
        "hooks/install.sh",
        "tools/venv.sh",
    ]
    assert problems_with(found, pytestconfig._parser) == []


def test_an_option_no_document_prints_is_reported(tmp_path):
    document = tmp_path / "doc.md"
    document.write_text(
        "```bash\n./sync_dags.sh --dry-run\n./run_tests.sh --fast\n```\nSee `--allow-dirty`.\n"
    )
    missing = undocumented_options(commands(document))
    assert "./sync_dags.sh --allow-dirty" in missing  # named in prose, never printed in a command
    assert "./sync_dags.sh --repo" not in missing  # hidden from --help, not for users
    assert "./run_tests.sh --update-inventory" in missing and "./run_local.sh --all" in missing
    assert "./sync_dags.sh --dry-run" not in missing and "./run_tests.sh --fast" not in missing


def test_a_missing_path_and_a_broken_link_are_reported(tmp_path):
    document = repository.ROOT / "docs" / "example.md"  # resolved against docs/, never written
    text = (
        "`tools/gate/policy.toml`, `tools/gate/no_such_rules.toml`, `dags/<domain>__<nn>.py`, `raw/tickit/`\n"
        "[ok](../README.md#the-test-gate) [gone](deploy-old.md) [no heading](../README.md#no-such-section)\n"
    )
    assert missing_paths(document, text) == [
        "docs/example.md: `tools/gate/no_such_rules.toml` does not exist"
    ]
    assert broken_links(document, text) == [
        "docs/example.md: (deploy-old.md): no such file",
        "docs/example.md: (../README.md#no-such-section): no heading #no-such-section",
    ]


def test_an_unlisted_folder_is_reported():
    block = "dags/    the DAGs\ntools/   the tooling\n  gate/  the gate\n"
    tracked = ["dags/a.py", "docs/gate.md", "tools/gate/rules.py", "tools/repository.py", "README.md"]
    assert unlisted_folders(block, tracked) == ["docs/", "tools/repository.py"]


def test_slug_follows_github():
    assert slug("Deploy: ./sync_dags.sh") == "deploy-sync_dagssh"
    assert slug("Data-lake and Hudi DAGs") == "data-lake-and-hudi-dags"
