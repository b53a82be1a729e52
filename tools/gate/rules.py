"""The policy rules. Each rule returns a message naming the DAG, its file, what is wrong and the fix."""

from __future__ import annotations

import ast
import importlib
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Callable, Iterable

from gate.loader import LoadedBag, python_source
from gate.policy import Policy
import repository


@dataclass(frozen=True)
class Rule:
    name: str
    fix: str | Callable[[Policy], str]  # a callable when the fix names a number policy.toml owns
    check: Callable[[object, LoadedBag, Policy], str | None]  # (dag, loaded, policy) -> problem or None

    def fix_for(self, policy: Policy) -> str:
        return self.fix(policy) if callable(self.fix) else self.fix


def _tasks_where(dag, predicate) -> list[str]:
    return sorted(task.task_id for task in dag.tasks if predicate(task))


def _dag_id_matches_file(dag, loaded, policy):
    stem = Path(dag.fileloc).stem
    if dag.dag_id != stem:
        return f"dag_id '{dag.dag_id}' differs from the file name '{stem}'"


def _dag_id_domain(dag, loaded, policy):
    domain, sep, rest = dag.dag_id.partition("__")
    if not sep or not rest or domain not in policy.approved_domains:
        return f"dag_id '{dag.dag_id}' does not start with an approved domain and '__'"


def _owner(dag, loaded, policy):
    bad = _tasks_where(dag, lambda t: (t.owner or "").strip().lower() in policy.forbidden_owners)
    if bad:
        return f"tasks {bad} have owner {sorted({t.owner for t in dag.tasks})!r}"


def _description(dag, loaded, policy):
    if len((dag.description or "").strip()) < policy.min_description_chars:
        return f"description {dag.description!r} is shorter than {policy.min_description_chars} characters"


def _doc_md(dag, loaded, policy):
    if not (dag.doc_md or "").strip():
        return "doc_md is missing"


def _tags(dag, loaded, policy):
    tags = set(dag.tags or ())
    if not tags:
        return "the DAG has no tags"
    unknown = sorted(tags - policy.approved_tags)
    if unknown:
        return f"tags {unknown} are not in the approved set"


def _retries(dag, loaded, policy):
    bad = _tasks_where(dag, lambda t: not policy.min_retries <= (t.retries or 0) <= policy.max_retries)
    if bad:
        return f"tasks {bad} have retries outside {policy.min_retries}..{policy.max_retries}"


def _no_email(dag, loaded, policy):
    bad = _tasks_where(dag, lambda t: t.email_on_failure or t.email_on_retry)
    if bad:
        return f"tasks {bad} send e-mail on failure or retry"


def _explicit_schedule(dag, loaded, policy):
    if "schedule" not in loaded.dag_kwargs.get(dag.dag_id, frozenset()):
        return "schedule is not given explicitly"


def _catchup(dag, loaded, policy):
    if dag.catchup:
        return "catchup is on"


def _dagrun_timeout(dag, loaded, policy):
    if not isinstance(dag.dagrun_timeout, timedelta):
        return "dagrun_timeout is not set"


def _failure_callback(dag, loaded, policy):
    from airflow.providers.amazon.aws.notifications.sns import SnsNotifier

    callbacks = dag.on_failure_callback
    callbacks = callbacks if isinstance(callbacks, (list, tuple)) else [callbacks]
    if not any(isinstance(cb, SnsNotifier) for cb in callbacks):
        return "on_failure_callback has no SNS notifier"


CLOCK_CALLS = {"now", "utcnow", "today", "days_ago", "yesterday"}


def _parsed_if(path: Path, worth_parsing: Callable[[str], bool]) -> ast.Module | None:
    """The syntax tree of a DAG file read again, if its text is `worth_parsing` (a cheap prefilter); None
    when it is not, or when it can no longer be read or parsed (changed since the DagBag parsed it)."""
    text = python_source(path)
    if text is None or not worth_parsing(text):
        return None
    try:
        return ast.parse(text)
    except SyntaxError:
        return None


def _module_level_clock_calls(path: Path) -> list[int]:
    """Lines where module-level code (not inside a def or lambda) reads the clock."""
    # A call must name its function: a file naming none of them has nothing to parse.
    tree = _parsed_if(path, lambda text: any(name in text for name in CLOCK_CALLS))
    if tree is None:
        return []
    lines, stack = [], list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in CLOCK_CALLS:
                lines.append(node.lineno)
        stack.extend(ast.iter_child_nodes(node))
    return sorted(lines)


def _fixed_start_date(dag, loaded, policy):
    start = dag.start_date
    if start is None:
        return "start_date is not set"
    window = timedelta(hours=policy.clock_start_date_window_hours)
    if abs(loaded.loaded_at - start) < window:
        return f"start_date {start.isoformat()} is the time of parsing (computed from the clock)"
    lines = _module_level_clock_calls(Path(dag.fileloc))
    if lines:
        return f"module-level code reads the clock at lines {lines}"


_IMPORTED_MODULE = re.compile(r"^\s*(?:from|import)\s+(airflow(?:\.\w+)*)", re.MULTILINE)


def _within(name: str, package: str) -> bool:
    """`name` is `package` or lies inside it (airflow.operators.empty within airflow.operators)."""
    return name == package or name.startswith(package + ".")


def _may_import_airflow_2(text: str, policy: Policy) -> bool:
    """Whether an import line names an Airflow 2 path, or a package one lies in (`from airflow import DAG`):
    most DAG files import only airflow.sdk and the providers and need no parsing."""
    return any(
        _within(module, old) or _within(old, module)
        for module in _IMPORTED_MODULE.findall(text)
        for old, _ in policy.airflow_2_imports
    )


def airflow_2_imports(path: Path, policy: Policy) -> list[str]:
    """`line N: module (use ...)` for each import in `path` of an Airflow 2 path of policy.toml."""
    tree = _parsed_if(path, lambda text: _may_import_airflow_2(text, policy))
    if tree is None:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        matched = [
            (old, name, new) for old, new in policy.airflow_2_imports for name in names if _within(name, old)
        ]
        if matched:  # the most specific entry of the policy gives the hint, whatever their order
            _, name, new = max(matched, key=lambda match: len(match[0]))
            found.append(f"line {node.lineno}: {name} (use {new})")
    return found


def _airflow_3_imports(dag, loaded, policy):
    found = airflow_2_imports(Path(dag.fileloc), policy)
    if found:
        return "the file imports Airflow 2 paths: " + "; ".join(found)


def _templates_render(dag, loaded, policy):
    problems = loaded.render_problems(dag)
    if problems:
        more = f" (and {len(problems) - 1} more: {'; '.join(problems[1:4])})" if len(problems) > 1 else ""
        return f"{problems[0]}{more}"


RULES: tuple[Rule, ...] = (
    Rule(
        "dag-id-matches-file",
        "name the file <dag_id>.py or set dag_id to the file name",
        _dag_id_matches_file,
    ),
    Rule(
        "dag-id-domain",
        "prefix the dag_id with an approved domain from tools/gate/policy.toml and '__'",
        _dag_id_domain,
    ),
    Rule("owner", "set default_args owner to the owning team (lakehouse.defaults does)", _owner),
    Rule(
        "description",
        lambda policy: f"give the DAG a description of at least {policy.min_description_chars} characters",
        _description,
    ),
    Rule("doc-md", "set doc_md (lakehouse DAGs pass the module docstring: doc_md=__doc__)", _doc_md),
    Rule("tags", "tag the DAG with tags from approved_tags in tools/gate/policy.toml", _tags),
    Rule(
        "retries",
        lambda policy: f"set retries {policy.min_retries}..{policy.max_retries} "
        "(lakehouse.defaults.DEFAULT_ARGS does)",
        _retries,
    ),
    Rule(
        "no-email-alerts", "set email_on_failure and email_on_retry False; alerts go through SNS", _no_email
    ),
    Rule("explicit-schedule", "pass schedule= explicitly (None for triggered DAGs)", _explicit_schedule),
    Rule("catchup-off", "set catchup=False; backfill on purpose with the CLI", _catchup),
    Rule("dagrun-timeout", "set dagrun_timeout=timedelta(...) so a stuck run ends", _dagrun_timeout),
    Rule(
        "failure-callback-sns",
        "set on_failure_callback to lakehouse.defaults' SNS notifier",
        _failure_callback,
    ),
    Rule(
        "fixed-start-date",
        "use a literal start_date, e.g. pendulum.datetime(2024, 1, 1, tz='UTC')",
        _fixed_start_date,
    ),
    Rule(
        "airflow-3-imports",
        "import from airflow.sdk and the providers, as the message says "
        "(tools/gate/policy.toml lists the paths)",
        _airflow_3_imports,
    ),
    Rule(
        "templates-render",
        "render only what every run of the schedule has: an asset-triggered run, or a manual one without a "
        "logical date, has no ds, ts, logical_date or data_interval_*; use run_id or dag_run.run_after, "
        "guard with {{ ds | default('none') }}, or let a task that needs an interval refuse such a run at "
        "once ({{ require_data_interval() }} of lakehouse.defaults)",
        _templates_render,
    ),
)
RULES_BY_NAME = {rule.name: rule for rule in RULES}

PARSE_BUDGET = "parse-budget"
IMPORT_ERROR_RULES = {
    # (rule, pattern found in the import error text, fix), first match wins
    "parse-purity": (r"ParsePurityError", "see the message: defer the lookup to run time"),
    "syntax": (r"SyntaxError|IndentationError|TabError", "fix the Python syntax at the line shown"),
    "cycle": (r"AirflowDagCycleException|[Cc]ycle detected", "remove the dependency loop between the tasks"),
    "duplicate-dag-id": (
        r"AirflowDagDuplicatedIdException",
        "give each DAG a unique dag_id (= its file name)",
    ),
    "import": (r"ModuleNotFoundError|ImportError", "import only what MWAA has: requirements/ and plugins/"),
}


# A traceback names the raised class at the start of a line: `package.module.ClassName: message`.
_RAISED_CLASS = re.compile(r"^([A-Za-z_][\w.]*)\.([A-Za-z_]\w*): ", re.MULTILINE)


def declared_rule(text: str) -> tuple[str, str] | None:
    """(rule, fix) an exception class declares for itself (`gate_rule`, `gate_fix`), for the last such
    class an import error's text names: a plugin's errors name their rule without the gate knowing them."""
    for module_name, class_name in reversed(_RAISED_CLASS.findall(text)):
        try:
            error = getattr(importlib.import_module(module_name), class_name, None)
        except Exception:  # the text names a module that does not import here: not a declaring class
            continue
        if isinstance(error, type) and issubclass(error, BaseException) and hasattr(error, "gate_rule"):
            return error.gate_rule, getattr(error, "gate_fix", "see the message")
    return None


def classify_import_error(text: str) -> tuple[str, str]:
    """(rule, fix) for an import error's text: the rule the raised class declares, else the first of
    IMPORT_ERROR_RULES that matches, else 'import-error'."""
    declared = declared_rule(text)
    if declared:
        return declared
    for rule, (pattern, fix) in IMPORT_ERROR_RULES.items():
        if re.search(pattern, text):
            return rule, fix
    return "import-error", "run the file to see the exception: tools/venv.sh python {path}"


def shown_path(path: Path | str, folder: Path | None = None) -> str:
    """`path` as a message shows it: relative to the repository (or to the parent of the DAG folder under
    test), so it never names a temporary checkout."""
    path = Path(path)
    for base in (repository.ROOT, *((folder.parent,) if folder else ())):
        try:
            return str(path.resolve().relative_to(base.resolve()))
        except ValueError:
            continue
    return str(path)


def import_error_message(path: Path, text: str, folder: Path | None = None) -> str:
    """First line: rule, file, the exception's last line and a fix that works as printed; then the text."""
    rule, fix = classify_import_error(text)
    shown = shown_path(path, folder)
    last = text.strip().splitlines()[-1] if text.strip() else ""
    return f"{rule}: {shown} does not load: {last}. Fix: {fix.replace("{path}", shown)}.\n{text}"


def check(dag, rule: Rule, loaded: LoadedBag, policy: Policy) -> str | None:
    problem = rule.check(dag, loaded, policy)
    if problem:
        where = shown_path(dag.fileloc, loaded.folder if loaded else None)
        fix = (
            "" if " Fix: " in problem else f". Fix: {rule.fix_for(policy)}"
        )  # a problem may know its own fix
        return f"{rule.name}: DAG '{dag.dag_id}' ({where}): {problem}{fix}."
    return None


EVERY_DAG = "every-dag"
LOADS = "loads"  # the pseudo-rule of a listed DAG that did not load


def policy_test_cases(dag_ids: Iterable[str], loaded: LoadedBag, policy: Policy) -> list[tuple[str, str]]:
    """The policy tests a DAG folder gets, as (dag_id, rule) pairs; the test id is `<dag_id>-<rule>`.

    Up to `one_test_per_dag_and_rule_up_to` DAGs: every DAG x rule. Beyond: every DAG x broken rule, and
    (EVERY_DAG, rule) per rule for the DAGs that follow it (none when no DAG does). A DAG listed but not
    loaded gets (dag_id, "loads").
    """
    dag_ids = sorted(dag_ids)
    missing = [(dag_id, LOADS) for dag_id in dag_ids if dag_id not in loaded.dags]
    present = [dag_id for dag_id in dag_ids if dag_id in loaded.dags]
    if len(dag_ids) <= policy.one_test_per_dag_and_rule_up_to:
        return [(dag_id, rule.name) for dag_id in present for rule in RULES] + missing
    broken = [
        (dag_id, rule.name)
        for dag_id in present
        for rule in RULES
        if check(loaded.dags[dag_id], rule, loaded, policy)
    ]
    followed = [rule.name for rule in RULES if sum(name == rule.name for _, name in broken) < len(present)]
    return broken + missing + [(EVERY_DAG, name) for name in followed]


def parse_budget_message(path: Path, seconds: float, policy: Policy) -> str | None:
    if seconds > policy.parse_budget_seconds:
        return (
            f"{PARSE_BUDGET}: {shown_path(path)} took {seconds:.2f} s of CPU to parse beyond the shared "
            "imports "
            f"(budget {policy.parse_budget_seconds} s, tools/gate/policy.toml or DAG_PARSE_BUDGET_SECONDS). "
            "Fix: move work out of module level into tasks or plugins; never loop over remote listings."
        )
    return None


def violations(loaded: LoadedBag, policy: Policy) -> Iterable[tuple[str, Path, str]]:
    """Every (rule, file, message) the bag breaks: import errors, policy rules and parse budget.

    A file that failed to import is judged by its error alone: its parse time includes formatting the
    traceback, and the error is the cause to fix first.
    """
    failed = set()
    for path, text in sorted(loaded.import_errors().items()):
        failed.add(path.resolve())
        yield classify_import_error(text)[0], path, import_error_message(path, text, loaded.folder)
    for dag in loaded.dags.values():
        for rule in RULES:
            message = check(dag, rule, loaded, policy)
            if message:
                yield rule.name, Path(dag.fileloc), message
    for path, seconds in sorted(loaded.parse_seconds.items()):
        message = None if path.resolve() in failed else parse_budget_message(path, seconds, policy)
        if message:
            yield PARSE_BUDGET, path, message
