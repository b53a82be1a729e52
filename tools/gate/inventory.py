"""The checked-in DAG inventory: every dag_id the repository ships, its file, and its structure.

Per DAG the snapshot records the file, the schedule (in words, and Airflow's own serialized timetable with
start date, end date and catch-up), the assets it consumes and produces, its tasks and the edges between
them. Its diff is the structural review of a pull request; docs/dags.md is generated from the same DAGs.
Regenerate both after changing a DAG (then review the diff):

    ./run_tests.sh --update-inventory
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import repository

# GATE_INVENTORY_FILE points the gate at another inventory (with GATE_DAGS_FOLDER, another DAG folder).
INVENTORY_FILE = Path(os.environ.get("GATE_INVENTORY_FILE") or Path(__file__).with_name("inventory.json"))
RECORDED_PATH = "tools/gate/inventory.json"  # in the repository, for `git show <commit>:<path>`
REFRESH = "./run_tests.sh --update-inventory"
# The settings that decide when a DAG runs (what a schedule change is).
SCHEDULE_KEYS = ("timetable", "start_date", "end_date", "catchup")
# What the drift message lists, added and removed, per DAG.
LISTED_KEYS = ("tasks", "edges", "consumes", "produces", "variables", "templates")


def parse(text: str) -> dict[str, dict]:
    """{dag_id: entry} from an inventory file's text; an entry of the older format (a bare file name) becomes
    {"file": name}, so a base branch written before the structure was recorded still compares."""
    data = json.loads(text) if text.strip() else {}
    return {dag_id: entry if isinstance(entry, dict) else {"file": entry} for dag_id, entry in data.items()}


def read_snapshot(path: Path = INVENTORY_FILE) -> dict[str, dict]:
    """{dag_id: entry}; empty when the file does not exist yet."""
    return parse(path.read_text()) if path.exists() else {}


def commit_of(ref: str | None, root: Path = repository.ROOT) -> str | None:
    """The commit id `ref` names in the repository at `root`; None for no ref, git's all-zero id (a first
    push) or a ref git does not know."""
    if not ref or ref == "0" * 40:
        return None
    done = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return done.stdout.strip() if done.returncode == 0 else None


def recorded_at(commit: str, root: Path = repository.ROOT) -> dict[str, dict]:
    """The repository's snapshot as recorded at `commit` (git show, nothing parsed); empty if it had none."""
    done = _git(root, "show", f"{commit}:{RECORDED_PATH}")
    return parse(done.stdout) if done.returncode == 0 else {}


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)


# Set by ./run_tests.sh --dag ID (space-separated ids): the gate parses and tests only these DAGs.
SELECTED_DAGS = "LAKEHOUSE_GATE_DAGS"


def read_all(path: Path = INVENTORY_FILE) -> dict[str, str]:
    """{dag_id: file relative to the dags folder}; empty when the file does not exist yet."""
    return {dag_id: entry["file"] for dag_id, entry in read_snapshot(path).items()}


def selected() -> list[str] | None:
    """The DAG ids of a `./run_tests.sh --dag` run, or None (every DAG)."""
    ids = os.environ.get(SELECTED_DAGS, "").split()
    return ids or None


def read(path: Path = INVENTORY_FILE) -> dict[str, str]:
    """The inventory the tests check: every DAG, or those of `./run_tests.sh --dag` (a new DAG not listed
    yet keeps its conventional file, `<dag_id>.py`)."""
    everything = read_all(path)
    chosen = selected()
    if chosen is None:
        return everything
    return {dag_id: everything[dag_id] for dag_id in chosen if dag_id in everything}


def selected_files(folder: Path) -> list[Path] | None:
    """The DAG files of a `--dag` run under `folder` (the listed file, else `<dag_id>.py`), or None."""
    chosen = selected()
    if chosen is None:
        return None
    everything = read_all()
    return sorted({folder / everything.get(dag_id, f"{dag_id}.py") for dag_id in chosen})


def check_ids(ids: list[str], folder: Path) -> list[str]:
    """One error line per id that is neither listed nor a file `<id>.py` of `folder`, with the closest."""
    from gate.suggest import closest

    known = set(read_all()) | {path.stem for path in folder.glob("*.py")}
    errors = []
    for dag_id in ids:
        if dag_id in known:
            continue
        close = closest(dag_id, known)
        hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
        fix = f"./run_tests.sh --dag {close[0]}" if close else f"one of the dag_ids of {INVENTORY_FILE.name}"
        errors.append(
            f"error: no DAG '{dag_id}' in {INVENTORY_FILE.name} or {folder.name}/; {hint}Fix: {fix}"
        )
    return errors


def current(loaded) -> dict[str, str]:
    return {
        dag_id: str(Path(dag.fileloc).relative_to(loaded.folder))
        for dag_id, dag in sorted(loaded.dags.items())
    }


def asset_label(asset) -> str:
    """An asset's name (an alias as `alias:<name>`, a reference by URI as its URI)."""
    from airflow.sdk import AssetAlias

    if isinstance(asset, AssetAlias):
        return f"alias:{asset.name}"
    return getattr(asset, "name", None) or getattr(asset, "uri", None) or str(asset)


def condition_assets(condition) -> list[str]:
    """Every asset a schedule's condition names (empty for a schedule without assets)."""
    labels = []
    stack = [condition]
    while stack:
        node = stack.pop()
        if hasattr(node, "objects"):  # AssetAll / AssetAny
            stack.extend(node.objects)
        elif node is not None and type(node).__name__ != "_NullAsset":
            labels.append(asset_label(node))
    return sorted(set(labels))


def condition_words(condition, nested: bool = False) -> str:
    """`a and (b or c)` for an asset condition."""
    from airflow.sdk.definitions.asset import AssetAll

    if hasattr(condition, "objects"):
        joiner = " and " if isinstance(condition, AssetAll) else " or "
        words = joiner.join(condition_words(part, True) for part in condition.objects)
        return f"({words})" if nested and len(condition.objects) > 1 else words
    return f"`{asset_label(condition)}`"


def schedule_words(timetable) -> str:
    """The schedule as a reader wants it: cron with its timezone, 'on assets ...', manual."""
    from airflow.timetables.assets import AssetOrTimeSchedule
    from airflow.timetables.interval import CronDataIntervalTimetable, DeltaDataIntervalTimetable
    from airflow.timetables.simple import AssetTriggeredTimetable, NullTimetable, OnceTimetable
    from airflow.timetables.trigger import CronTriggerTimetable, DeltaTriggerTimetable

    from compat import airflow as airflow_compat

    # The conditions are read from the DAG's own timetable (SDK assets on every version), the rest from the
    # scheduler's: its classes and their description are the same on every version.
    condition = getattr(timetable, "asset_condition", None)
    timetable = airflow_compat.as_core_timetable(timetable)
    if isinstance(timetable, AssetOrTimeSchedule):
        return f"on assets {condition_words(condition)}, or {schedule_words(timetable.timetable)}"
    if isinstance(timetable, AssetTriggeredTimetable):
        return f"on assets {condition_words(condition)}"
    if isinstance(timetable, NullTimetable):
        return "manual (no schedule)"
    if isinstance(timetable, OnceTimetable):
        return "once, at the start date"
    if isinstance(timetable, (CronDataIntervalTimetable, CronTriggerTimetable)):
        kind = "data intervals" if isinstance(timetable, CronDataIntervalTimetable) else "at the time"
        return f"{timetable.description} (cron `{timetable.summary}` {timetable._timezone}, {kind})"
    if isinstance(timetable, (DeltaDataIntervalTimetable, DeltaTriggerTimetable)):
        kind = "data intervals" if isinstance(timetable, DeltaDataIntervalTimetable) else "at the time"
        return f"every {timetable.summary} ({kind})"
    description = f"{timetable.description} " if timetable.description else ""
    return f"{description}({type(timetable).__name__}: {timetable.summary})"


def _iso(moment) -> str | None:
    return None if moment is None else moment.isoformat()


def entry(dag, folder: Path, files) -> dict:
    """One DAG's record in the snapshot (`files`: a dag_uses.TemplateFiles shared by the DAGs of a folder)."""
    from airflow.serialization.serialized_objects import encode_timetable

    from gate.dag_uses import uses

    variables, templates = uses(dag, files)
    edges = sorted(f"{task.task_id} -> {down}" for task in dag.tasks for down in task.downstream_task_ids)
    produces = {asset_label(outlet) for task in dag.tasks for outlet in task.outlets}
    return {
        "file": str(Path(dag.fileloc).relative_to(folder)),
        "schedule": schedule_words(dag.timetable),
        "timetable": encode_timetable(dag.timetable),
        "start_date": _iso(dag.start_date),
        "end_date": _iso(dag.end_date),
        "catchup": bool(dag.catchup),
        "consumes": condition_assets(getattr(dag.timetable, "asset_condition", None)),
        "produces": sorted(produces),
        "tasks": sorted(dag.task_dict),
        "edges": edges,
        "variables": variables,
        "templates": templates,
    }


_SNAPSHOTS: dict[int, tuple[object, dict[str, dict]]] = {}


def snapshot(loaded) -> dict[str, dict]:
    """{dag_id: entry} of the DAGs that loaded, made once per parsed folder (the structure, catalogue and
    schedule checks share it: treat it as read-only)."""
    from gate.dag_uses import TemplateFiles

    known = _SNAPSHOTS.get(id(loaded))
    if known is None or known[0] is not loaded:
        files = TemplateFiles()
        entries = {dag_id: entry(dag, loaded.folder, files) for dag_id, dag in sorted(loaded.dags.items())}
        known = _SNAPSHOTS[id(loaded)] = (loaded, entries)
    return known[1]


def render(entries: dict[str, dict]) -> str:
    return json.dumps(entries, indent=2, sort_keys=True) + "\n"


def drift(recorded: dict[str, dict], found: dict[str, dict]) -> list[str]:
    """One line per DAG whose structure differs from its record, naming what was added and removed.

    DAGs present on one side only are the inventory's other checks (listed / loaded), not drift."""
    lines = []
    for dag_id in sorted(recorded.keys() & found.keys()):
        old, new = recorded[dag_id], found[dag_id]
        changes = []
        for key in LISTED_KEYS:
            added = sorted(set(new.get(key, [])) - set(old.get(key, [])))
            removed = sorted(set(old.get(key, [])) - set(new.get(key, [])))
            changes += [f"{key} added: {', '.join(added)}"] if added else []
            changes += [f"{key} removed: {', '.join(removed)}"] if removed else []
        if old.get("schedule") != new.get("schedule"):
            changes.append(f"schedule: {old.get('schedule')} -> {new.get('schedule')}")
        for key in SCHEDULE_KEYS:
            if key != "timetable" and old.get(key) != new.get(key):
                changes.append(f"{key}: {old.get(key)} -> {new.get(key)}")
        if not changes and old.get("timetable") != new.get("timetable"):
            changes.append("timetable settings changed")
        if not changes and old != new:
            changes.append("recorded in an older format")
        if changes:
            lines.append(f"{dag_id}: " + "; ".join(changes))
    return lines


def drift_message(recorded: dict[str, dict], found: dict[str, dict], path: Path = INVENTORY_FILE) -> str:
    """The gate's failure when the DAGs and the recorded structure disagree ('' when they agree)."""
    lines = drift(recorded, found)
    if not lines:
        return ""
    return (
        f"inventory: the DAGs differ from the structure recorded in {path}:\n  "
        + "\n  ".join(lines)
        + f"\nFix: {REFRESH} (rewrites it and docs/dags.md), then review and commit the diff."
    )


def write(loaded, path: Path = INVENTORY_FILE) -> dict[str, str]:
    """Write the snapshot of `loaded` to `path`; returns {dag_id: file}."""
    entries = snapshot(loaded)
    path.write_text(render(entries))
    return {dag_id: value["file"] for dag_id, value in entries.items()}


def main(argv: list[str]) -> int:
    from airflow_home import prepare

    if argv[:1] == ["--check-ids"]:  # ./run_tests.sh --dag ID...: refuse an unknown id before any test
        folder = prepare()
        errors = check_ids(argv[1:], folder)
        for line in errors:
            print(line, file=sys.stderr)
        if not errors:  # the DAGs' files, for flake8 and black
            os.environ[SELECTED_DAGS] = " ".join(argv[1:])
            print("\n".join(str(path.relative_to(folder.parent)) for path in selected_files(folder)))
        return 2 if errors else 0
    if selected() is not None:
        print("error: --update-inventory writes every DAG; run it without --dag", file=sys.stderr)
        return 2
    from gate import catalogue
    from gate.loader import load
    from gate.rules import shown_path

    # Airflow's INFO lines ("Filling up the DagBag from ...") are not this command's output.
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    folder = prepare()
    loaded = load(folder)
    if loaded.bag.import_errors:
        for path, error in loaded.bag.import_errors.items():
            print(
                f"error: {shown_path(path, folder)} does not load; fix it before writing the "
                f"inventory:\n{error}",
                file=sys.stderr,
            )
        return 1
    before = read_snapshot()
    inventory = write(loaded)
    changed = drift(before, read_snapshot())
    print(f"wrote {shown_path(INVENTORY_FILE)} with {len(inventory)} DAGs" + (":" if changed else ""))
    for line in changed:
        print(f"  {line}")
    docs = catalogue.docs_file(folder)
    if docs is not None:
        docs.write_text(catalogue.render(loaded))
        print(f"wrote {shown_path(docs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
