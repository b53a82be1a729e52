"""What a schedule change does, before it merges: the runs Airflow's own timetables would create.

A DAG is reviewed when its schedule-related settings (timetable, start date, end date, catch-up, asset
condition: the `timetable`, `start_date`, `end_date`, `catchup` of its structure snapshot) differ from the
base's snapshot, or it is new. For each, with the timetable Airflow serialized (decoded as the scheduler
decodes it) and its `next_dagrun_info`, as SchedulerJobRunner creates runs:

- runs at unpause: the scheduled runs a DAG with no run yet gets at once (every interval since the start
  date with catch-up on, the latest one with it off);
- runs per day: the runs whose logical date falls in the next 7 days, divided by 7;
- for an asset-scheduled DAG: which assets trigger it and which DAGs update them.

The gate refuses, unless acknowledged in tools/gate/acknowledged_schedule_changes.toml, a change that would
create more runs at unpause than `schedule_max_runs_at_unpause`, more runs per day than
`schedule_max_runs_per_day` (tools/gate/policy.toml), or an asset condition no DAG of the repository can
satisfy (also when only the producer side changed: an asset renamed where it is updated).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from gate import inventory

ACKNOWLEDGED_FILE = Path(__file__).with_name("acknowledged_schedule_changes.toml")
# The base commit to compare with (CI: the pull request's base, or the commit before a push).
BASE_REF = "GATE_BASE_REF"
DAYS_AHEAD = 7


class AcknowledgementError(ValueError):
    """acknowledged_schedule_changes.toml cannot be read (the message names the file, entry and fix)."""


def settings_words(entry: dict) -> str:
    """The schedule-related settings of a snapshot entry, as the report prints them and an
    acknowledgement names them."""
    if entry is None or "timetable" not in entry:
        return "not recorded"
    words = (
        f"{entry['schedule']}; start {entry['start_date']}; catch-up {'on' if entry['catchup'] else 'off'}"
    )
    return words + (f"; end {entry['end_date']}" if entry.get("end_date") else "")


def schedule_settings(entry: dict | None) -> list | None:
    if entry is None or "timetable" not in entry:
        return None
    return [entry.get(key) for key in inventory.SCHEDULE_KEYS]


def _moment(text: str | None):
    import pendulum

    return None if text is None else pendulum.parse(text)


def timetable_of(entry: dict):
    """The entry's timetable, decoded by Airflow from its serialized form (as the scheduler reads it)."""
    from airflow.serialization.serialized_objects import decode_timetable

    return decode_timetable(entry["timetable"])


@dataclass(frozen=True)
class Runs:
    """Scheduled runs, each count made up to a cap (Airflow's cron timetable costs milliseconds per run: the
    counts stop once they decide the verdict)."""

    at_unpause: int  # unpause_cap + 1: more than unpause_cap
    next_days: int  # runs whose logical date is in [now, now + DAYS_AHEAD days); ahead_cap + 1: more
    unpause_cap: int
    ahead_cap: int

    @property
    def per_day(self) -> float:
        return self.next_days / DAYS_AHEAD

    def unpause_words(self) -> str:
        return f"more than {self.unpause_cap}" if self.at_unpause > self.unpause_cap else str(self.at_unpause)

    def per_day_words(self) -> str:
        if self.next_days > self.ahead_cap:
            return f"more than {self.ahead_cap / DAYS_AHEAD:.3g}"  # as a count is shown
        return f"{self.per_day:.3g}"


def caps(policy) -> tuple[int, int]:
    """(runs at unpause, runs over DAYS_AHEAD days) worth counting: ten times the limit, and the limit."""
    return 10 * policy.schedule_max_runs_at_unpause, int(DAYS_AHEAD * policy.schedule_max_runs_per_day)


def runs(entry: dict, now: datetime, unpause_cap: int, ahead_cap: int) -> Runs:
    """The scheduled runs of a snapshot entry's timetable: at unpause, and over the next DAYS_AHEAD days."""
    import pendulum
    from airflow.timetables.base import TimeRestriction

    timetable = timetable_of(entry)
    start, end = _moment(entry["start_date"]), _moment(entry["end_date"])
    restriction = TimeRestriction(earliest=start, latest=end, catchup=bool(entry["catchup"]))
    # With catch-up off the timetable picks the latest interval by its own clock, read after `now`.
    clock = max(now, pendulum.now("UTC"))
    at_unpause, last = 0, None
    while at_unpause <= unpause_cap:
        info = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        if info is None or info.run_after > clock:
            break
        at_unpause, last = at_unpause + 1, info.data_interval
    horizon = now + timedelta(days=DAYS_AHEAD)
    window_start = max(start, now) if start else now
    window_end = min(end, horizon) if end else horizon
    ahead = TimeRestriction(earliest=window_start, latest=window_end, catchup=True)
    next_days, last = 0, None
    while next_days <= ahead_cap:
        info = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=ahead)
        if info is None or info.logical_date is None or info.logical_date >= window_end:
            break
        next_days, last = next_days + 1, info.data_interval
    return Runs(at_unpause, next_days, unpause_cap, ahead_cap)


def satisfiable(entry: dict, produced: set[str]) -> bool:
    """Whether the DAGs that update `produced` can satisfy the entry's asset condition (True for a schedule
    without one; an alias resolves only at run time, so it counts as satisfiable)."""
    from airflow.sdk import AssetAlias
    from airflow.sdk.definitions.asset import AssetRef

    condition = getattr(timetable_of(entry), "asset_condition", None)

    def met(node) -> bool:
        if hasattr(node, "objects"):
            return node.agg_func(met(part) for part in node.objects)
        if isinstance(node, AssetAlias):
            return True
        if isinstance(node, AssetRef):
            return (getattr(node, "name", None) or getattr(node, "uri", None)) in produced
        return inventory.asset_label(node) in produced

    return condition is None or type(condition).__name__ == "_NullAsset" or met(condition)


def producers(entries: dict[str, dict]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for dag_id, entry in sorted(entries.items()):
        for asset in entry.get("produces", []):
            found.setdefault(asset, []).append(dag_id)
    return found


@dataclass
class ScheduleChange:
    dag_id: str
    before: str  # settings_words of the base ("not recorded": new, or an older snapshot)
    after: str
    runs_before: Runs | None
    runs_after: Runs
    triggers: list[str] = field(default_factory=list)  # "`asset` (updated by `dag`)" for asset schedules
    problems: list[str] = field(default_factory=list)
    acknowledged: str = ""  # the reviewer's reason

    @property
    def refused(self) -> bool:
        return bool(self.problems) and not self.acknowledged

    @property
    def verdict(self) -> str:
        return "REFUSED" if self.refused else ("acknowledged" if self.problems else "ok")

    def unpause_words(self) -> str:
        before = self.runs_before.unpause_words() if self.runs_before else "-"
        return f"{before} -> {self.runs_after.unpause_words()}"

    def per_day_words(self) -> str:
        before = self.runs_before.per_day_words() if self.runs_before else "-"
        return f"{before} -> {self.runs_after.per_day_words()}"

    def lines(self) -> list[str]:
        lines = [
            f"{self.dag_id} [{self.verdict}]: {self.before} -> {self.after}",
            f"  runs at unpause: {self.unpause_words()}; runs per day: {self.per_day_words()}",
        ]
        lines += [f"  triggered by {', '.join(self.triggers)}"] if self.triggers else []
        lines += [f"  {problem}" for problem in self.problems]
        if self.acknowledged:
            lines.append(f"  acknowledged: {self.acknowledged}")
        elif self.problems:
            lines.append(
                f"  Fix: change the schedule, or acknowledge it: add to {ACKNOWLEDGED_FILE.name} [[change]] "
                f'dag_id = "{self.dag_id}", settings = "{self.after}", reason = "..."'
            )
        return lines


@dataclass
class Review:
    changes: list[ScheduleChange]

    @property
    def refused(self) -> list[ScheduleChange]:
        return [change for change in self.changes if change.refused]

    def report(self) -> str:
        if not self.changes:
            return "schedule changes: none"
        return "\n".join(["schedule changes:"] + [line for c in self.changes for line in c.lines()])

    def markdown(self) -> str:
        """The pull-request summary's table of schedule changes."""
        if not self.changes:
            return "No schedule changes."
        rows = [
            "| DAG | settings (before -> after) | runs at unpause | runs per day | verdict |",
            "|---|---|---|---|---|",
        ]
        for change in self.changes:
            notes = [*change.problems]
            notes += [f"triggered by {', '.join(change.triggers)}"] if change.triggers else []
            notes += [f"acknowledged: {change.acknowledged}"] if change.acknowledged else []
            verdict = "<br>".join([f"**{change.verdict}**", *notes]).replace("|", "\\|")
            rows.append(
                f"| `{change.dag_id}` | {change.before} -> {change.after} | {change.unpause_words()} | "
                f"{change.per_day_words()} | {verdict} |"
            )
        return "\n".join(rows)


def acknowledgements(path: Path = ACKNOWLEDGED_FILE) -> dict[tuple[str, str], str]:
    """{(dag_id, settings): reason} from the acknowledgements file (empty when it does not exist)."""
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise AcknowledgementError(f"{path}: not valid TOML ({error}). Fix: correct the file.") from error
    found = {}
    for number, entry in enumerate(data.get("change", []), 1):
        missing = [key for key in ("dag_id", "settings", "reason") if not str(entry.get(key, "")).strip()]
        if missing:
            raise AcknowledgementError(
                f"{path}: [[change]] number {number} lacks {', '.join(missing)}. Fix: give dag_id, settings "
                "(as the gate's report prints them) and the reason the reviewer accepts the change."
            )
        found[(entry["dag_id"], entry["settings"])] = entry["reason"]
    return found


def gate_base() -> tuple[str, dict[str, dict]]:
    """(what the DAGs are compared with, its snapshot): the GATE_BASE_REF commit's recorded snapshot, else
    the recorded snapshot of this tree (tools/gate/inventory.json)."""
    ref = os.environ.get(BASE_REF)
    commit = inventory.commit_of(ref)
    if commit:
        return f"the base commit {ref} ({commit[:12]})", inventory.recorded_at(commit)
    unknown = f" ({BASE_REF}={ref} is not a commit here)" if ref else ""
    return f"the recorded snapshot {inventory.INVENTORY_FILE.name}{unknown}", inventory.read_snapshot()


def review(
    base: dict[str, dict],
    head: dict[str, dict],
    now: datetime | None = None,
    policy=None,
    acknowledged: dict[tuple[str, str], str] | None = None,
    unparsed: dict[str, dict] | None = None,
) -> Review:
    """Every DAG of `head` whose schedule-related settings differ from `base` (or that is new), and every
    asset-scheduled DAG whose condition no DAG of `head` can satisfy any more, with its consequences.

    `unparsed`: the recorded entries of the DAGs this run did not parse (`./run_tests.sh --dag`): they
    update assets for the DAGs of `head`, and are not reviewed themselves."""
    import pendulum

    if policy is None:
        from gate.policy import load_policy

        policy = load_policy()
    now = now or pendulum.now("UTC")
    acknowledged = acknowledgements() if acknowledged is None else acknowledged
    changed = [d for d, e in head.items() if schedule_settings(e) != schedule_settings(base.get(d))]
    updated_by = producers({**(unparsed or {}), **head})
    produced_now, produced_before = set(updated_by), set(producers(base))
    if produced_now != produced_before:  # an asset renamed or dropped where it is updated
        changed += [
            d
            for d, e in head.items()
            if d not in changed
            and e.get("consumes")
            and not satisfiable(e, produced_now)
            and satisfiable(e, produced_before)
        ]
    counted = caps(policy)
    changes = []
    for dag_id in sorted(changed):
        entry, old = head[dag_id], base.get(dag_id)
        recorded = old is not None and "timetable" in old
        change = ScheduleChange(
            dag_id,
            settings_words(old),
            settings_words(entry),
            runs(old, now, *counted) if recorded else None,
            runs(entry, now, *counted),
        )
        for asset in entry.get("consumes", []):
            who = updated_by.get(asset)
            change.triggers.append(
                f"`{asset}` (" + (f"updated by {', '.join(who)})" if who else "no DAG updates it)")
            )
        after = change.runs_after
        if after.at_unpause > policy.schedule_max_runs_at_unpause:
            change.problems.append(
                f"{after.unpause_words()} runs at unpause, more than schedule_max_runs_at_unpause = "
                f"{policy.schedule_max_runs_at_unpause} (catch-up from the start date?)"
            )
        if after.per_day > policy.schedule_max_runs_per_day:
            change.problems.append(
                f"{after.per_day_words()} runs per day, more than schedule_max_runs_per_day = "
                f"{policy.schedule_max_runs_per_day:g}"
            )
        if entry.get("consumes") and not satisfiable(entry, produced_now):
            change.problems.append(
                f"no DAG updates the assets its condition needs ({entry['schedule']}): it would never run"
            )
        change.acknowledged = acknowledged.get((dag_id, change.after), "") if change.problems else ""
        changes.append(change)
    return Review(changes)
