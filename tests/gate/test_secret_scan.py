"""tools/gate/secret_scan.py: the scanner of the pre-commit hook and of ./run_tests.sh, on real git trees.

Every credential-shaped value is assembled at run time, so this file passes its own scan.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest

import repository
from gate import secret_scan

ACCESS_KEY_ID = "AKIA" + "QWERTYUIOPASDFGH"
GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
SLACK_WEBHOOK = "https://hooks.slack.com/services/" + "T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
PRIVATE_KEY = "-----BEGIN RSA " + "PRIVATE KEY-----"
PASSWORD_URI = "postgresql://etl:" + "s3cretPassw0rd" + "@db:5432/dw"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
ALLOW = "  # " + secret_scan.ALLOWLIST_COMMENT

CORPUS = "\n".join(
    [
        '"""Settings."""',
        f'KEY_ID = "{ACCESS_KEY_ID}"',
        "retries = 3",
        f'TOKEN = "{GITHUB_TOKEN}"',
        f'WEBHOOK = "{SLACK_WEBHOOK}"',
        f'EXAMPLE = "{ACCESS_KEY_ID}"{ALLOW}',
        PRIVATE_KEY,
        f'URI = "{PASSWORD_URI}"   ',
        "sha = 'f4632777824e7365cc580c530425cb9bfdfb0d9b'",
        "",
    ]
)


def detect_secrets_findings(path, tmp_path) -> list[tuple[int, str]]:
    """detect-secrets' own scan of a file, with the scanner's detectors."""
    from detect_secrets.core.scan import scan_file

    with secret_scan._detectors():
        return sorted({(secret.line_number, secret.type) for secret in scan_file(str(path))})


def test_the_scan_finds_exactly_what_detect_secrets_finds(tmp_path):
    path = tmp_path / "settings.py"
    path.write_text(CORPUS)

    found = [
        (finding.line, finding.kind)
        for finding in secret_scan.scan([("settings.py", path.read_bytes(), None)])
    ]

    assert found == detect_secrets_findings(path, tmp_path)
    assert [line for line, _ in found] == [2, 4, 5, 7, 8]  # line 6 is allow-listed


def test_only_the_wanted_lines_are_reported():
    data = CORPUS.encode()

    assert [f.line for f in secret_scan.scan([("settings.py", data, {4, 6, 9})])] == [4]


@pytest.mark.parametrize("line_break", ["\n", "\r\n", "\r"])
def test_line_numbers_follow_universal_newlines(line_break):
    data = line_break.join(["a = 1", "b = 2", f"key = {ACCESS_KEY_ID}", ""]).encode()

    assert [str(f) for f in secret_scan.scan([("x.cfg", data, None)])] == ["x.cfg:3: AWS Access Key"]


def test_a_one_line_file_without_a_line_break_and_an_empty_file_are_scanned():
    files = [("one.cfg", f"key = {ACCESS_KEY_ID}".encode(), None), ("empty.cfg", b"", None)]

    assert [str(f) for f in secret_scan.scan(files)] == ["one.cfg:1: AWS Access Key"]
    assert secret_scan.lines_of(b"") == [] and secret_scan.lines_of(b"a\n\n") == ["a", ""]


def test_a_key_inside_a_binary_file_is_found(tmp_path):
    data = b"\x89PNG\0\0\x01\xff\xfe binary\n" + f"key={ACCESS_KEY_ID}\n".encode() + b"\0\0\x02"
    (tmp_path / "image.png").write_bytes(data)

    assert [str(f) for f in secret_scan.scan([("image.png", data, None)])] == ["image.png:2: AWS Access Key"]
    assert detect_secrets_findings(tmp_path / "image.png", tmp_path) == []  # what scan_file would miss


def git(repo, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "dev@example.com")
    git(path, "config", "user.name", "Dev")
    (path / "dags").mkdir()
    (path / "dags/clean.py").write_text("VALUE = 1\n")
    (path / ".gitignore").write_text("build/\n")
    return path


def commit(repo) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", "change")
    return git(repo, "rev-parse", "HEAD^{tree}").strip()


def test_every_file_of_the_tree_is_scanned_and_named_with_its_line(repo, monkeypatch, capsys):
    (repo / "dags/settings.py").write_text(f'"""Settings."""\nKEY_ID = "{ACCESS_KEY_ID}"\n')
    (repo / "sample.bin").write_bytes(b"\0" * 100 + f"\n{PRIVATE_KEY}\n".encode())
    commit(repo)
    monkeypatch.chdir(repo)

    assert secret_scan.main([]) == 1

    out = capsys.readouterr().out
    assert "  dags/settings.py:2: AWS Access Key\n  sample.bin:2: Private Key\n" in out
    assert "Fix: remove the credential" in out and secret_scan.ALLOWLIST_COMMENT in out
    assert ACCESS_KEY_ID not in out  # the report does not repeat the secret


def test_the_scan_reads_the_given_tree_not_the_working_tree(repo, monkeypatch, capsys):
    clean = commit(repo)
    (repo / "dags/clean.py").write_text(f"VALUE = '{ACCESS_KEY_ID}'\n")
    monkeypatch.chdir(repo)

    assert secret_scan.main([clean]) == 0
    assert secret_scan.main([]) == 1  # the working tree's own tree (uncommitted edit included)
    assert "dags/clean.py:1: AWS Access Key" in capsys.readouterr().out


def test_a_symlink_is_not_followed(repo, tmp_path, monkeypatch):
    outside = tmp_path / "outside.txt"
    outside.write_text(f"{ACCESS_KEY_ID}\n")
    (repo / "dags/link.txt").symlink_to(outside)
    tree = commit(repo)
    monkeypatch.chdir(repo)

    assert secret_scan.main([tree]) == 0


def test_the_cache_keeps_findings_and_reads_only_changed_files(repo, monkeypatch, capsys):
    (repo / "dags/settings.py").write_text(f'KEY_ID = "{ACCESS_KEY_ID}"\n')
    first = commit(repo)
    monkeypatch.chdir(repo)
    assert secret_scan.main([first]) == 1

    scanned, real_scan = [], secret_scan.scan

    def recording_scan(files):
        files = list(files)
        scanned.extend(path for path, _data, _lines in files)
        return real_scan(files)

    monkeypatch.setattr(secret_scan, "scan", recording_scan)
    (repo / "dags/clean.py").write_text(f"VALUE = '{GITHUB_TOKEN}'\n")
    second = commit(repo)

    assert secret_scan.main([second]) == 1
    out = capsys.readouterr().out
    assert scanned == ["dags/clean.py"]  # settings.py's verdict came from the cache
    assert "  dags/clean.py:1: GitHub Token\n  dags/settings.py:1: AWS Access Key\n" in out


def test_in_random_binary_data_the_key_is_found_on_its_line():
    noise = os.urandom(1 << 20).replace(b"\r", b"\x01")
    data = noise + f" key={ACCESS_KEY_ID} ".encode() + noise

    line = noise.count(b"\n") + 1
    assert [str(f) for f in secret_scan.scan([("blob.bin", data, None)])] == [
        f"blob.bin:{line}: AWS Access Key"
    ]


@pytest.mark.parametrize(
    "pattern, required",
    [
        ("AKIA[0-9A-Z]{16}", {"AKIA"}),
        ("a(?:bc|de)f", {"bc", "de"}),  # the most selective element of the sequence
        ("(?:ab|)cd", {"cd"}),  # an empty alternative makes the group optional
        ("x?yz", {"yz"}),
        ("(?:key){2,}[0-9]", {"key"}),
        ("(?i:abc)def", {"def"}),  # a scoped flag changes case: not usable as an exact literal
        ("[a-z]+@[a-z]+", {"@"}),
        ("[a-z]+[0-9]?", None),
        ("(abc)[0-9]", {"abc"}),  # a capturing group's literals are required like the others
        ("(?-i:abc)d", {"d"}),  # so is removing one: the group's literals are not used
        ("(?:abc)?d", {"d"}),  # a repeat of minimum 0 requires nothing
        ("(?:abc)+d", {"abc"}),  # one of minimum 1 requires its literals
    ],
)
def test_required_literals_are_in_every_match(pattern, required):
    from re import _parser

    assert secret_scan._required_literals(_parser.parse(pattern)) == required


def test_a_clean_tree_is_named_by_its_short_hash_with_its_file_count(repo, monkeypatch, capsys):
    tree = commit(repo)
    files = len(git(repo, "ls-tree", "-r", "--name-only", tree).splitlines())
    monkeypatch.chdir(repo)

    assert secret_scan.main([tree]) == 0

    summary = rf"secret scan: {files} files of tree {tree[:12]}, no credentials \(\d+\.\ds\)\n"
    assert re.fullmatch(summary, capsys.readouterr().out)


def test_a_tree_git_does_not_have_fails_with_git_s_reason_and_the_fix(repo, monkeypatch, capsys):
    commit(repo)
    monkeypatch.chdir(repo)
    unknown = "0123456789abcdef0123456789abcdef01234567"

    assert secret_scan.main([unknown]) == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"secret scan: {repo}: git ls-tree failed: fatal: not a tree object")
    assert captured.err.endswith(". Fix: run from a git checkout of the repository.\n")


def test_the_command_scans_the_tree_it_is_given(repo):
    """The command as ./run_tests.sh runs it: a key in the working tree, none in the TREE given."""
    clean = commit(repo)
    (repo / "dags/clean.py").write_text(f"VALUE = '{ACCESS_KEY_ID}'\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(map(str, repository.IMPORT_ROOTS)))
    command = [sys.executable, "-m", "gate.secret_scan"]

    given = subprocess.run([*command, clean], cwd=repo, env=env, capture_output=True, text=True)
    own = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True)

    assert (given.returncode, own.returncode) == (0, 1), given.stderr + own.stderr
    assert given.stdout.startswith(f"secret scan: 2 files of tree {clean[:12]}, no credentials")
    assert "dags/clean.py:1: AWS Access Key" in own.stdout


def test_more_than_one_tree_is_refused_before_anything_is_scanned(repo, monkeypatch, capsys):
    """`python -m gate.secret_scan TREE` scans one tree: a second one would be ignored without a word."""
    first = commit(repo)
    monkeypatch.chdir(repo)

    assert secret_scan.main([first, first]) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"secret scan: one tree at most, got 2 ({first} {first}).")
    assert "Fix: python -m gate.secret_scan [TREE]" in captured.err


def test_a_text_is_read_line_by_line_and_a_binary_as_its_printable_runs_numbered_by_line():
    assert secret_scan.readable(b"a = 1\nb\n\xc3\xa9t\xc3\xa9\n") == (["a = 1", "b", "\u00e9t\u00e9"], None)
    binary = b"\nshort\0" + b"first run\r\n\x01\n" + b"second run\0"
    assert secret_scan.readable(binary) == (["first run", "second run"], [2, 4])


def test_a_key_after_a_leading_line_break_is_found_on_its_line():
    text = f"\nkey = {ACCESS_KEY_ID}\n".encode()
    binary = f"\nkey = {ACCESS_KEY_ID}\0".encode()

    assert secret_scan._lines_with_literals(text) == {2}
    found = secret_scan.scan([("a.cfg", text, None), ("b.bin", binary, None)])
    assert [str(f) for f in found] == ["a.cfg:2: AWS Access Key", "b.bin:2: AWS Access Key"]


def test_the_lines_with_literals_are_those_holding_one_in_its_case_or_any_case_when_the_pattern_ignores_it():
    data = b"retries = 3\nid = AKIA\r\nakia\r\n\rdb_PassWord = x\nsha = 'f463'\n"

    assert secret_scan._lines_with_literals(data) == {2, 5}  # AKIA needs its case; password any case


def test_the_literal_plan_holds_each_detector_s_literals_in_their_case_or_folded():
    plan = secret_scan._literal_plan()

    assert plan is not None
    exact, folded = plan
    assert {b"BEGIN RSA PRIVATE KEY", b"AccountKey=", b"://"} <= set(exact)
    assert {b"password", b"xox", b"https://hooks.slack.com/services/t"} <= set(folded)
    assert list(exact) == sorted(exact) and list(folded) == sorted(folded)
    assert all(literal == literal.lower() for literal in folded) and b"password" not in exact


def test_the_candidate_expression_matches_the_lines_a_detector_pattern_matches_and_no_other():
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    patterns = [
        pattern
        for cls in get_mapping_from_secret_type_to_class().values()
        if cls.__name__ not in secret_scan.SKIPPED_DETECTORS
        for pattern in cls().denylist
    ]
    candidates = secret_scan._candidate_pattern()
    lines = secret_scan.lines_of(CORPUS.encode())

    matched = [n for n, line in enumerate(lines, 1) if candidates.search(line)]
    assert matched == [n for n, line in enumerate(lines, 1) if any(p.search(line) for p in patterns)]
    assert matched == [2, 4, 5, 6, 7, 8]


def test_keys_in_another_case_are_found_where_the_detector_ignores_case(tmp_path):
    """The AWS secret and Slack webhook patterns ignore case: their upper-case forms are found too."""
    path = tmp_path / "settings.py"
    path.write_text(f'AWS_TOKEN = "{AWS_SECRET}"\nWEBHOOK = "{SLACK_WEBHOOK.upper()}"\n')

    found = [(f.line, f.kind) for f in secret_scan.scan([("settings.py", path.read_bytes(), None)])]

    assert found == detect_secrets_findings(path, tmp_path) == [(1, "AWS Access Key"), (2, "Slack Token")]


def test_an_allowlist_comment_on_the_line_before_accepts_the_next_line_only(tmp_path):
    path = tmp_path / "settings.py"
    key = f'KEY = "{ACCESS_KEY_ID}"'
    path.write_text(f"{key}\n# pragma: allowlist nextline secret\n{key}\n{key}\n")

    found = [(f.line, f.kind) for f in secret_scan.scan([("settings.py", path.read_bytes(), None)])]

    assert found == detect_secrets_findings(path, tmp_path) == [(1, "AWS Access Key"), (4, "AWS Access Key")]


def test_only_lines_of_the_text_are_scanned_neither_line_0_nor_one_past_the_last():
    texts = [f"a = '{ACCESS_KEY_ID}'", f"b = '{ACCESS_KEY_ID}'"]

    with secret_scan._detectors():
        assert secret_scan._scan_lines("x.cfg", texts, None, {0, 3}) == set()
        assert sorted(f.line for f in secret_scan._scan_lines("x.cfg", texts, None, {1, 2})) == [1, 2]


def test_the_cache_is_keyed_by_the_scanner_s_version(repo, monkeypatch):
    (repo / "dags/settings.py").write_text(f'KEY_ID = "{ACCESS_KEY_ID}"\n')
    tree = commit(repo)
    monkeypatch.chdir(repo)

    assert secret_scan.main([tree]) == 1

    cached = json.loads((repo / secret_scan.CACHE_FILE).read_text())
    assert cached["version"] == secret_scan._cache_version() and len(cached["version"]) == 64


def test_findings_are_headed_by_the_tree_s_short_hash(repo, monkeypatch, capsys):
    (repo / "dags/settings.py").write_text(f'KEY_ID = "{ACCESS_KEY_ID}"\n')
    tree = commit(repo)
    monkeypatch.chdir(repo)

    assert secret_scan.main([tree]) == 1

    assert capsys.readouterr().out.startswith(
        f"secret scan: possible credentials in tree {tree[:12]}:\n  dags/settings.py:1: AWS Access Key\n"
    )


def test_the_seconds_reported_are_those_the_scan_took(repo, monkeypatch, capsys):
    tree = commit(repo)
    monkeypatch.chdir(repo)

    started = time.monotonic()
    assert secret_scan.main([tree]) == 0
    took = time.monotonic() - started

    seconds = float(re.search(r"\((\d+\.\d)s\)", capsys.readouterr().out).group(1))
    assert 0 <= seconds <= round(took, 1)


def test_a_detector_pattern_without_a_literal_leaves_no_plan_every_line_is_read(tmp_path):
    """A custom detector (detect-secrets loads them from a file) whose pattern needs no literal."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.settings import transient_settings

    plugin = tmp_path / "hex_detector.py"
    plugin.write_text(
        "import re\nfrom detect_secrets.plugins.base import RegexBasedDetector\n\n\n"
        "class HexDetector(RegexBasedDetector):\n"
        "    secret_type = 'Hex'\n"
        "    denylist = [re.compile('[0-9a-f]{40}')]\n"
    )
    caches = [
        get_mapping_from_secret_type_to_class,
        secret_scan._literal_plan,
        secret_scan._candidate_pattern,
    ]
    for cache in caches:
        cache.cache_clear()
    try:
        with transient_settings({"plugins_used": [{"name": "HexDetector", "path": f"file://{plugin}"}]}):
            assert secret_scan._literal_plan() is None
            assert (
                secret_scan._lines_with_literals(b"sha = f4632777824e7365cc580c530425cb9bfdfb0d9b\n") is None
            )
            assert secret_scan._candidate_pattern().search("sha = f4632777824e7365cc580c530425cb9bfdfb0d9b")
    finally:
        for cache in caches:
            cache.cache_clear()


@pytest.mark.parametrize("committed", ["the cache", "a symlink to it"])
def test_a_cache_the_tree_carries_is_not_trusted_every_file_is_scanned(repo, monkeypatch, capsys, committed):
    """A fork's commit cannot mark its own file as scanned: `git add -f` of a forged cache, or a symlink
    for build/ to a forged one elsewhere in the tree, is ignored and named."""
    (repo / "dags/settings.py").write_text(f'KEY_ID = "{ACCESS_KEY_ID}"\n')
    sha = commit(repo) and git(repo, "rev-parse", "HEAD:dags/settings.py").strip()
    forged = {"version": secret_scan._cache_version(), "verdicts": {f"{sha} dags/settings.py": []}}
    cache = secret_scan.CACHE_FILE.as_posix()
    if committed == "the cache":
        (repo / cache).parent.mkdir(parents=True)
        (repo / cache).write_text(json.dumps(forged))
        carried = cache
    else:
        (repo / "docs/test-gate").mkdir(parents=True)
        (repo / "docs/test-gate/secret-scan.json").write_text(json.dumps(forged))
        (repo / "build").symlink_to("docs")
        carried = "docs/test-gate/secret-scan.json"
    git(repo, "add", "-f", "-A", ".", "build")
    git(repo, "commit", "-q", "--no-verify", "-m", "forged cache")
    monkeypatch.chdir(repo)
    before = (repo / carried).read_text()

    assert secret_scan.main([]) == 1

    out = capsys.readouterr().out
    tree = git(repo, "rev-parse", "HEAD^{tree}").strip()
    assert out.splitlines()[0] == (
        f"secret scan: {carried} is committed in tree {tree[:12]}; not trusted, every file scanned. "
        f"Fix: git rm --cached {carried}"
    )
    assert "  dags/settings.py:1: AWS Access Key\n" in out
    assert (repo / carried).read_text() == before
