"""A pytest plugin for ./run_tests.sh's summary: the modules of the DAG gate proper (marker dag_gate), ranked.

./run_tests.sh loads it (`-p gate.summary`) and names a file in LAKEHOUSE_DAG_GATE_RANKS; each line is
`rank<TAB>module`, and the summary lists the failures of those modules first, in rank order.
"""

from __future__ import annotations

import os
from pathlib import Path

RANKS = "LAKEHOUSE_DAG_GATE_RANKS"


def pytest_collection_modifyitems(items) -> None:
    target = os.environ.get(RANKS)
    if not target:
        return
    ranks = {}
    for item in items:
        marker = item.get_closest_marker("dag_gate")
        if marker is not None:
            ranks[item.nodeid.split("::")[0]] = marker.kwargs["rank"]
    # Every xdist worker collects the same items: each writes the same lines, replaced in one step.
    partial = Path(f"{target}.{os.getpid()}")
    partial.write_text("".join(sorted(f"{rank}\t{module}\n" for module, rank in ranks.items())))
    os.replace(partial, target)
