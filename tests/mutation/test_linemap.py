"""The line map of a mutation run (mutation.linemap and the recorder in mutation/site): which tests execute
each line, in the pytest process and in the processes its tests start, run on a small real project."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import repository
from mutation import run

MODULE = """\
import sys

LIMIT = 3


def add(a, b):
    return a + b


def shared():
    return "shared"


def never():
    return "never"


def command_line():
    print("from a subprocess")


if __name__ == "__main__":
    command_line()
"""

TESTS = """\
import os
import subprocess
import sys

import pytest

import calc


@pytest.fixture(scope="session")
def once():
    return calc.shared()


def test_in_process(once):
    assert calc.add(1, 2) == 3


def test_in_a_subprocess():
    done = subprocess.run([sys.executable, "calc.py"], capture_output=True, text=True, check=True)
    assert done.stdout == "from a subprocess\\n"


def test_in_a_subprocess_without_our_environment():
    subprocess.run([sys.executable, "-c", "pass"], env={"PATH": "/usr/bin"}, check=True)


def test_in_a_subprocess_with_its_own_import_path():
    env = dict(os.environ, PYTHONPATH=".")
    subprocess.run([sys.executable, "calc.py"], env=env, check=True)


def test_limit():
    assert calc.LIMIT == 3
"""


def line_of(text: str) -> int:
    return MODULE.splitlines().index(text) + 1


@pytest.fixture
def project(tmp_path):
    (tmp_path / "calc.py").write_text(MODULE)
    (tmp_path / "test_calc.py").write_text(TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    return tmp_path


def pytest_in(project, *args, lines=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    site = repository.TOOLS / "mutation" / "site"
    env["PYTHONPATH"] = os.pathsep.join(map(str, (site, repository.TOOLS, project)))
    env.pop("LAKEHOUSE_MUTATION_LINES", None)
    if lines:
        env["LAKEHOUSE_MUTATION_LINES"] = str(lines)
    command = [sys.executable, "-m", "pytest", "-p", "mutation.linemap", "-p", "no:cacheprovider", *args]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)


def test_each_line_is_filed_under_the_tests_that_execute_it_in_process_or_in_a_subprocess(project):
    lines = project / "map"
    lines.mkdir()
    (lines / "targets").write_text("calc.py\n")
    done = pytest_in(project, "test_calc.py", lines=lines)
    assert done.returncode == 0, done.stdout + done.stderr

    line_map = run.LineMap.read(lines)

    assert line_map.blind == {
        "test_calc.py::test_in_a_subprocess_without_our_environment",
        "test_calc.py::test_in_a_subprocess_with_its_own_import_path",
    }
    only = set(line_map.blind)
    assert line_map.tests_of("calc.py", [line_of("    return a + b")]) == only | {
        "test_calc.py::test_in_process"
    }
    assert line_map.tests_of("calc.py", [line_of('    print("from a subprocess")')]) == only | {
        "test_calc.py::test_in_a_subprocess"
    }
    # Run by no test: only the blind one may (it is run; without it the mutant would be "not covered")
    assert line_map.tests_of("calc.py", [line_of('    return "never"')]) == only
    # Run only by a session fixture: any test may depend on it
    assert line_map.tests_of("calc.py", [line_of('    return "shared"')]) is None
    # Run at import in the pytest process (any test) and by a test of its own (the subprocess imports the
    # module again): that test first (a mutant it passes still runs every test)
    assert line_map.by_line[("calc.py", line_of("LIMIT = 3"))] >= {"*", "test_calc.py::test_in_a_subprocess"}
    assert line_map.tests_of("calc.py", [line_of("LIMIT = 3")]) == only | {
        "test_calc.py::test_in_a_subprocess"
    }
    # Only these run outside one test: a mutant there runs the whole list even with --quick-survivors
    assert line_map.shared("calc.py", [line_of("LIMIT = 3")])
    assert line_map.shared("calc.py", [line_of("    return a + b"), line_of('    return "shared"')])
    assert not line_map.shared("calc.py", [line_of("    return a + b"), line_of('    return "never"')])


def test_a_line_no_test_executes_has_no_tests(project):
    lines = project / "map"
    lines.mkdir()
    (lines / "targets").write_text("calc.py\n")
    assert pytest_in(project, "test_calc.py::test_in_process", lines=lines).returncode == 0

    line_map = run.LineMap.read(lines)

    assert line_map.tests_of("calc.py", [line_of('    return "never"')]) == set()
    assert line_map.tests_of("calc.py", [line_of("    return a + b")]) == {"test_calc.py::test_in_process"}


def test_only_the_selected_tests_run_and_an_unknown_id_is_an_error(project):
    chosen = project / "chosen"
    chosen.write_text("test_calc.py::test_limit\n")
    done = pytest_in(project, "test_calc.py", "-v", "--mutation-select", str(chosen))
    assert done.returncode == 0 and "1 passed, 4 deselected" in done.stdout, done.stdout
    assert "test_calc.py::test_limit PASSED" in done.stdout

    # In the listed order, not the file's
    chosen.write_text("test_calc.py::test_limit\ntest_calc.py::test_in_process\n")
    done = pytest_in(project, "test_calc.py", "-v", "--mutation-select", str(chosen))
    ran = [line.split(" ")[0] for line in done.stdout.splitlines() if line.endswith("%]")]
    assert ran == ["test_calc.py::test_limit", "test_calc.py::test_in_process"], done.stdout

    chosen.write_text("test_calc.py::test_limit\ntest_calc.py::test_gone\n")
    done = pytest_in(project, "test_calc.py", "--mutation-select", str(chosen))
    assert done.returncode == 4, done.stdout + done.stderr
    assert "not collected: ['test_calc.py::test_gone']" in done.stderr


def test_the_mapping_pass_times_each_test(project):
    (project / "test_slow.py").write_text(
        "import time\n\n\ndef test_slow():\n    time.sleep(0.3)\n\n\ndef test_quick():\n    pass\n"
    )
    lines = project / "map"
    lines.mkdir()
    (lines / "targets").write_text("calc.py\n")
    assert pytest_in(project, "test_calc.py", "test_slow.py", lines=lines).returncode == 0

    seconds = run.LineMap.read(lines).seconds

    assert len(seconds) == 7
    assert seconds["test_slow.py::test_slow"] >= 0.3 > seconds["test_slow.py::test_quick"]


def test_a_mutant_runs_the_quickest_file_first_and_in_each_file_its_quickest_test_first():
    seconds = {"a.py::slow": 5.0, "a.py::quick": 1.0, "b.py::only": 2.0, "c.py::one": 1.0, "c.py::two": 1.0}
    line_map = run.LineMap({}, set(), set(seconds), seconds)

    # b.py (2 s) before a.py (6 s together), though a.py has the quickest test; ties by name
    assert line_map.quickest_first(["a.py::slow", "b.py::only", "a.py::quick"]) == [
        "b.py::only",
        "a.py::quick",
        "a.py::slow",
    ]
    assert line_map.quickest_first(["c.py::two", "c.py::one", "a.py::quick"]) == [
        "a.py::quick",
        "c.py::one",
        "c.py::two",
    ]
    # A test the unmutated run did not time goes last, and so does its file
    assert line_map.quickest_first(["a.py::new", "a.py::slow", "b.py::only"]) == [
        "b.py::only",
        "a.py::slow",
        "a.py::new",
    ]


SOURCE = textwrap.dedent(
    """\
    import os


    @decorate(
        1,
    )
    def f(a,
          b=2):
        if (a and
                b):
            return call(
                a,
            )
        try:
            g()
        except ValueError:
            pass
        return 0
    """
)


@pytest.mark.parametrize(
    "line, lines",
    [
        (1, [1]),  # a simple statement
        (5, [2, 3, 4, 5, 6]),  # a decorator: between the statements around it
        (8, [7, 8]),  # a default argument: the def's own lines
        (10, [9, 10]),  # a condition on two lines
        (12, [11, 12, 13]),  # an argument of a call
        (16, [16]),  # an except clause: between the try's statements
        (17, [17]),
        (18, [18]),
    ],
)
def test_a_mutated_line_stands_for_the_lines_of_its_statement_part(line, lines):
    assert list(run.statement_lines(SOURCE, line)) == lines
