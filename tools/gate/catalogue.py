"""docs/dags.md, generated from the DAGs themselves: the lake as a Mermaid graph (DAGs chained by assets),
a table of every DAG, and per DAG what it does, when it runs, what it reads and a graph of its tasks.

Written by `./run_tests.sh --update-inventory` with the inventory; the gate fails when it differs from what
the DAGs give (tests/dags/test_dags_load.py).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import repository
from gate import inventory

DOCS_FILE = repository.ROOT / "docs" / "dags.md"
NODE_ID = re.compile(r"\W")


def docs_file(folder: Path) -> Path | None:
    """Where the catalogue of `folder` lives: docs/dags.md for the repository's DAGs, GATE_DAGS_DOC_FILE for
    another folder (None: another folder has no catalogue)."""
    if os.environ.get("GATE_DAGS_DOC_FILE"):
        return Path(os.environ["GATE_DAGS_DOC_FILE"])
    return DOCS_FILE if Path(folder).resolve() == repository.DAGS.resolve() else None


def _doc_line(dag) -> str:
    for line in (dag.doc_md or dag.description or "").splitlines():
        if line.strip():
            return line.strip().lstrip("#").strip()
    return ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _label(text: str) -> str:
    return '"' + text.replace('"', "#quot;").replace("`", "") + '"'


def _node(prefix: str, name: str) -> str:
    return prefix + NODE_ID.sub("_", name)


def lake_graph(entries: dict[str, dict]) -> list[str]:
    """DAGs as nodes, assets as the edges from the DAGs that produce them to the DAGs scheduled on them. An
    asset no DAG produces (or none consumes) is drawn as its own node, so it is not lost."""
    lines = ["```mermaid", "flowchart LR"]
    for dag_id, entry in entries.items():
        lines.append(f"    {_node('dag_', dag_id)}[{_label(dag_id + '<br/>' + entry['schedule'])}]")
    producers: dict[str, list[str]] = {}
    consumers: dict[str, list[str]] = {}
    for dag_id, entry in entries.items():
        for asset in entry["produces"]:
            producers.setdefault(asset, []).append(dag_id)
        for asset in entry["consumes"]:
            consumers.setdefault(asset, []).append(dag_id)
    for asset in sorted(producers.keys() | consumers.keys()):
        sources = [_node("dag_", d) for d in producers.get(asset, [])]
        targets = [_node("dag_", d) for d in consumers.get(asset, [])]
        if not sources or not targets:
            node = _node("asset_", asset)
            lines.append(f"    {node}{{{{{_label(asset + ('' if sources else ' (no producer)'))}}}}}")
            sources, targets = sources or [node], targets or [node]
            lines += [f"    {s} --> {t}" for s in sources for t in targets]
            continue
        lines += [f"    {s} -->|{_label(asset)}| {t}" for s in sources for t in targets]
    return lines + ["```"]


def task_graph(dag) -> list[str]:
    """The DAG's tasks, each top-level task group collapsed to one node."""
    top: dict[str, str] = {}  # task_id -> node
    lines = ["```mermaid", "flowchart LR"]
    for name, child in dag.task_group.children.items():
        node = _node("n_", name)
        if hasattr(child, "iter_tasks"):
            members = list(child.iter_tasks())
            top.update((task.task_id, node) for task in members)
            lines.append(f"    {node}[[{_label(f'{name} ({len(members)} tasks)')}]]")
        else:
            top[child.task_id] = node
            lines.append(f"    {node}[{_label(name)}]")
    edges = {
        (top[task.task_id], top[down])
        for task in dag.tasks
        for down in task.downstream_task_ids
        if top[task.task_id] != top[down]
    }
    return lines + [f"    {a} --> {b}" for a, b in sorted(edges)] + ["```"]


def _names(items, empty: str = "none") -> str:
    return ", ".join(f"`{item}`" for item in items) or empty


def render(loaded, entries: dict[str, dict] | None = None) -> str:
    """The whole of docs/dags.md for the DAGs of `loaded` (`entries`: their snapshot, when already made)."""
    entries = entries if entries is not None else inventory.snapshot(loaded)
    dags = loaded.dags
    out = [
        "# The DAGs",
        "",
        f"Generated from the DAGs by `{inventory.REFRESH}` (`tools/gate/catalogue.py`): do not edit by",
        "hand; the gate fails when this file and the DAGs disagree.",
        "",
        "## The lake",
        "",
        "Each box is a DAG with its schedule; an arrow is an asset, from the DAG that updates it to the DAG",
        "scheduled on it (a hexagon: an asset that no DAG here updates, or that no DAG here waits for).",
        "",
        *lake_graph(entries),
        "",
        "| DAG | schedule | what it does |",
        "|---|---|---|",
    ]
    out += [
        f"| [`{dag_id}`](#{dag_id}) | {_cell(entry['schedule'])} | {_cell(_doc_line(dags[dag_id]))} |"
        for dag_id, entry in entries.items()
    ]
    for dag_id, entry in entries.items():
        dag = dags[dag_id]
        owners = sorted({task.owner for task in dag.tasks})
        out += [
            "",
            f"## {dag_id}",
            "",
            _doc_line(dag),
            "",
            f"- file: `dags/{entry['file']}`",
            f"- schedule: {entry['schedule']}; catch-up {'on' if entry['catchup'] else 'off'}, "
            f"start {entry['start_date']}" + (f", end {entry['end_date']}" if entry["end_date"] else ""),
            f"- consumes: {_names(entry['consumes'])}; produces: {_names(entry['produces'])}",
            f"- owner: {_names(owners)}; tags: {_names(sorted(dag.tags))}",
            f"- tasks: {len(entry['tasks'])}",
            f"- Variables: {_names(entry['variables'])}",
            f"- templates (SQL): {_names(entry['templates'])}",
            "",
            *task_graph(dag),
        ]
    return "\n".join(out) + "\n"
