"""Finish, in moto's in-memory backends, the work AWS would finish on its own.

moto 5.1.10 accepts a Redshift Data statement, an EMR step or a Glue crawl and then reports it as running
forever. `PendingWork` closes that gap the way AWS behaves: the
first status request after submission sees the work in progress, the next one sees it finished, so
operators, sensors and waiters go through their real polling code. With `failing=True` the work ends
FAILED instead (Glue job runs and Athena queries too, which moto otherwise finishes at once), which is
how a broken statement, step, crawl, job or query reaches a DAG on AWS.

The ThreadedMotoServer runs in this process, so the backends are patched directly; `PendingWork` is a
context manager that installs the patches and removes them on exit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from moto.athena.models import AthenaBackend
from moto.core.utils import utcnow
from moto.emr.models import ElasticMapReduceBackend
from moto.glue.models import GlueBackend
from moto.moto_api import state_manager
from moto.redshiftdata.models import RedshiftDataAPIServiceBackend

from local_aws.moto_gaps import copy_source_error
from local_aws.patches import Patches

_POLLS = "_local_aws_polls"  # how often a piece of work has been asked for its status
_IN_PROGRESS_POLLS = 1  # status requests that still see the work running

REDSHIFT_RUNNING = ("SUBMITTED", "PICKED", "STARTED")
EMR_RUNNING = ("PENDING", "RUNNING")
FAILURE_MESSAGE = "failed in the local AWS (injected failure)"


def _poll(work) -> bool:
    """Count one status request; True once the work has been seen running long enough to finish."""
    polls = getattr(work, _POLLS, 0) + 1
    setattr(work, _POLLS, polls)
    return polls > _IN_PROGRESS_POLLS


@dataclass
class PendingWork:
    """Completes pending Redshift Data statements, EMR steps and Glue crawls; `failing` makes them fail."""

    failing: bool = False
    completing: bool = True  # False: work stays pending forever, as in plain moto
    _patches: Patches = field(default_factory=Patches)

    def __enter__(self) -> PendingWork:
        self._patches.after(RedshiftDataAPIServiceBackend, "describe_statement", self._finish_statement)
        self._patches.after(ElasticMapReduceBackend, "describe_step", self._finish_step)
        self._patches.after(GlueBackend, "get_crawler", self._finish_crawl)
        self._patches.after(GlueBackend, "get_job_run", self._finish_job_run)
        self._patches.after(AthenaBackend, "get_query_execution", self._finish_query)
        # moto advances a crawl only when crawls are listed; the crawler hook below ticks it on every
        # get_crawler, and the state manager completes it after the in-progress polls.
        state_manager.set_transition(
            "glue::crawl", {"progression": "manual", "times": _IN_PROGRESS_POLLS + 1}
        )
        self._patches.callback(state_manager.unset_transition, "glue::crawl")
        return self

    def __exit__(self, *exc) -> None:
        self._patches.undo()

    def _finish_statement(self, backend, statement) -> None:
        if not self.completing or statement.status not in REDSHIFT_RUNNING or not _poll(statement):
            return
        statement.status = "FAILED" if self.failing else "FINISHED"
        if self.failing:
            statement.error = f"statement {statement.id} {FAILURE_MESSAGE}"
        for sub in statement.sub_statements:
            sub["Status"] = statement.status
        if not self.failing:
            self._fail_what_redshift_refuses(backend, statement)

    def _fail_what_redshift_refuses(self, backend, statement) -> None:
        """A batch runs as one transaction: the first refused statement fails it, the rest are aborted."""
        sqls = getattr(statement, "sqls", None) or [statement.query_string]
        for number, sql in enumerate(sqls):
            error = copy_source_error(sql, backend.account_id)
            if error is None:
                continue
            statement.status, statement.error = "FAILED", error
            for later, sub in enumerate(statement.sub_statements):
                sub["Status"] = "FINISHED" if later < number else "FAILED" if later == number else "ABORTED"
            return

    def _finish_step(self, backend, step) -> None:
        if not self.completing or step is None or step.state not in EMR_RUNNING:
            return
        cluster = next(c for c in backend.clusters.values() if step in c.steps)
        for earlier in cluster.steps[: cluster.steps.index(step)]:
            if earlier.state in EMR_RUNNING:
                earlier.state = "COMPLETED"
        if not _poll(step):
            step.state = "RUNNING"
            step.start()
            return
        step.state = "FAILED" if self.failing else "COMPLETED"
        if self.failing:
            step.last_state_change_reason = f"step {step.id} {FAILURE_MESSAGE}"
        step.end_date_time = utcnow()

    def _finish_crawl(self, backend, crawler) -> None:
        if not self.completing or not crawler.crawls or crawler.crawls[-1].status != "RUNNING":
            return
        crawl = crawler.crawls[-1]
        crawl.advance()
        if self.failing and _poll(crawl):
            crawl.status = "FAILED"

    def _finish_job_run(self, backend, job_run) -> None:
        # moto's state manager runs a Glue job immediately to SUCCEEDED; only a failure needs doing here.
        if self.completing and self.failing and job_run.status != "FAILED":
            job_run.status = "FAILED"

    def _finish_query(self, backend, execution) -> None:
        # moto starts every Athena query as SUCCEEDED; only a failure needs doing here.
        if self.completing and self.failing and execution.status == "SUCCEEDED":
            execution.status = "FAILED"
