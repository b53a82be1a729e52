"""Post-deploy verification on MWAA: every DAG of the release parsed from the new files, no new import error.

Before the sync changes anything, the import errors the environment reports are noted. After the last phase
the verification polls (Airflow REST API through InvokeRestApi: GET /dags, GET /importErrors) until every
DAG of the release's inventory was parsed after the files went up plus MWAA's copy delay, or an import error
appears that was not there before (a file or a stack trace not seen before), or time runs out.

MWAA copies the bucket's dags/ to its containers about every 30 seconds ("Amazon MWAA automatically syncs new
and changed objects from your Amazon S3 bucket to Amazon MWAA scheduler and worker containers'
/usr/local/airflow/dags folder every 30 seconds", MWAA User Guide, Working with DAGs), so a parse counts only
when it started at least COPY_DELAY after the upload: one before could have read the old files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from deploy.airflow_api import AirflowApi

COPY_DELAY = timedelta(seconds=30)
POLL_SECONDS = 15
DEFAULT_VERIFY_MINUTES = 15


class VerifyError(RuntimeError):
    """The deploy did not verify (the message names the DAGs and files, and what to do)."""


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def import_errors(api: AirflowApi) -> dict[tuple[str, str], dict]:
    """{(filename, stack trace): the import error} the environment reports now."""
    return {
        (item.get("filename", ""), item.get("stack_trace", "")): item
        for item in api.items("/importErrors", "import_errors")
    }


@dataclass
class Outcome:
    parsed: dict[str, datetime] = field(default_factory=dict)  # dag_id -> parse time after the deploy
    waiting: dict[str, str] = field(default_factory=dict)  # dag_id -> why it is not verified
    new_errors: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.waiting and not self.new_errors

    def lines(self, dags: dict[str, str]) -> list[str]:
        lines = []
        for dag_id in sorted(dags):
            if dag_id in self.parsed:
                lines.append(f"  ok       {dag_id} (parsed {self.parsed[dag_id].isoformat()})")
            else:
                lines.append(
                    f"  FAILED   {dag_id} ({dags[dag_id]}): {self.waiting.get(dag_id, 'not checked')}"
                )
        for error in self.new_errors:
            last = (error.get("stack_trace") or "").strip().splitlines()[-1:] or ["no stack trace"]
            lines.append(f"  IMPORT ERROR (new) {error.get('filename')}: {last[0]}")
        return lines


def check(api: AirflowApi, dags: dict[str, str], deployed_at: datetime, before: set) -> Outcome:
    """One look: which DAGs of the release were parsed from the new files, which import errors are new."""
    outcome = Outcome()
    errors = import_errors(api)
    outcome.new_errors = [error for key, error in sorted(errors.items()) if key not in before]
    listed = {item["dag_id"]: item for item in api.items("/dags", "dags")}
    fresh_after = deployed_at + COPY_DELAY
    for dag_id in dags:
        dag = listed.get(dag_id)
        if dag is None:
            outcome.waiting[dag_id] = "not listed by the environment (not parsed yet, or its file fails)"
            continue
        parsed = _when(dag.get("last_parsed_time"))
        if parsed is not None and parsed >= fresh_after and not dag.get("is_stale"):
            outcome.parsed[dag_id] = parsed
        else:
            outcome.waiting[dag_id] = (
                f"last parsed {parsed.isoformat() if parsed else 'never'}, before the new files reached it "
                f"(the upload + MWAA's {COPY_DELAY.seconds} s copy delay)"
            )
    return outcome


def verify(
    api: AirflowApi,
    dags: dict[str, str],
    deployed_at: datetime,
    before: set,
    minutes: float,
    now: Callable[[], float],
    sleep: Callable[[float], None],
    out,
) -> Outcome:
    """Poll until the release verifies, a new import error appears, or `minutes` pass; print per DAG.
    Raises VerifyError when it does not verify."""
    started = now()
    while True:
        outcome = check(api, dags, deployed_at, before)
        if outcome.ok or outcome.new_errors or now() - started >= minutes * 60:
            break
        sleep(POLL_SECONDS)
    print(f"verification on MWAA {api.environment} ({len(dags)} DAGs of the release):", file=out)
    print("\n".join(outcome.lines(dags)), file=out, flush=True)
    if outcome.new_errors:
        files = ", ".join(sorted({error.get("filename", "?") for error in outcome.new_errors}))
        raise VerifyError(
            f"MWAA {api.environment}: new import error in {files} after the deploy. Fix: ./sync_dags.sh "
            "--rollback (or rerun with --rollback-on-failure), then reproduce with ./run_local.sh."
        )
    if outcome.waiting:
        raise VerifyError(
            f"MWAA {api.environment}: {len(outcome.waiting)} DAG(s) not parsed from the new files after "
            f"{minutes:g} min ({', '.join(sorted(outcome.waiting))}). Fix: look at the DAG processor log "
            "(CloudWatch, dag-processing), or ./sync_dags.sh --rollback; --verify-minutes gives it longer."
        )
    return outcome
