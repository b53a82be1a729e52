"""./sync_dags.sh: check the test gate, build the bundle, plan against the target, lock it, apply in phases
(environment files, MWAA update and wait, DAG folder, deletes), record the release, unlock. `--releases`
lists the recorded releases; `--rollback [N]` restores one (no gate, no bundle: the target keeps the bytes).

Exit codes: 0 synced (or nothing to do, or a dry run), 1 the sync failed (or another sync holds the target),
2 bad usage, 3 refused by the gate or the mass-delete guard.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from deploy import bundle as bundling
from deploy import mwaa, preflight, releases, stamp, variables
from deploy import verify as verification
from deploy.airflow_api import AirflowApi, ApiError
from deploy.apply import ApplyError, Result, apply
from deploy.bundle import ENVIRONMENT_KEYS
from deploy.plan import Plan, compare, human_bytes, render
from deploy.targets import BadTarget, DirectoryTarget, Holder, S3Target, TargetError, open_target
from gate import inventory as dag_inventory

DEFAULT_TARGET = Path("build") / "mwaa-bucket"
OK, FAILED, USAGE, REFUSED = 0, 1, 2, 3
LOCK_MARGIN_MINUTES = 30  # a lock outlives the longest environment wait by this much (uploads, deletes)


class Refused(RuntimeError):
    """The gate refuses this tree (the message says why and how to get through)."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="./sync_dags.sh",
        description="Sync the tested bundle (dags/, sql/ as dags/sql/, plugins.zip, requirements.txt) "
        "to the MWAA bucket, uploading only what changed.",
        epilog="Exit codes: 0 synced or nothing to do, 1 failed (or another sync holds the target), 2 bad "
        "usage, 3 refused by the gate or the mass-delete guard.",
    )
    parser.add_argument(
        "--target",
        help="s3://bucket[/prefix] (boto3 configuration: AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL) or a "
        f"folder; default: {DEFAULT_TARGET}/ in the repository, laid out as the bucket",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.add_argument("--allow-dirty", action="store_true", help="sync uncommitted changes (still gated)")
    parser.add_argument(
        "--environment",
        metavar="NAME",
        help="MWAA environment to keep in step: updated whenever the versions of requirements.txt, "
        "plugins.zip or startup.sh it runs are not the bucket's, and waited for before the DAG files go up",
    )
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="start the environment update and upload the DAG files without waiting for it",
    )
    parser.add_argument(
        "--wait-minutes",
        type=float,
        default=mwaa.DEFAULT_WAIT_MINUTES,
        metavar="N",
        help=f"give up waiting for the environment after N minutes (default {mwaa.DEFAULT_WAIT_MINUTES:g})",
    )
    parser.add_argument(
        "--no-verify-deploy",
        action="store_true",
        help="with --environment: do not wait for the DAG processor to parse the release and check import "
        "errors (the verification is on by default)",
    )
    parser.add_argument(
        "--verify-minutes",
        type=float,
        default=verification.DEFAULT_VERIFY_MINUTES,
        metavar="N",
        help=f"give the verification N minutes (default {verification.DEFAULT_VERIFY_MINUTES:g})",
    )
    parser.add_argument(
        "--rollback-on-failure",
        action="store_true",
        help="when the verification fails, roll back to the release before (and still exit 1)",
    )
    parser.add_argument(
        "--worker-replacement",
        choices=mwaa.WORKER_REPLACEMENT,
        default=mwaa.WORKER_REPLACEMENT[0],
        help="how an environment update replaces workers: GRACEFUL (default) lets running tasks finish, "
        "FORCED stops them",
    )
    parser.add_argument(
        "--allow-mass-delete",
        action="store_true",
        help="allow deleting more than half of the target's DAG files (or all of them) in one sync",
    )
    parser.add_argument(
        "--skip-gate-run",
        action="store_true",
        help="never run the tests here: refuse unless a green ./run_tests.sh already stamped this tree",
    )
    parser.add_argument(
        "--allow-large-file",
        metavar="PATH",
        action="append",
        default=[],
        help=f"ship this repository file although over {bundling.MAX_FILE_BYTES >> 20} MiB (repeatable)",
    )
    parser.add_argument(
        "--releases",
        nargs="?",
        type=int,
        const=releases.LISTED,
        metavar="N",
        help=f"list the last N releases of the target (default {releases.LISTED}), newest first, and exit",
    )
    parser.add_argument(
        "--rollback",
        nargs="?",
        const="",
        metavar="RELEASE",
        help="restore the target to release RELEASE (default: the one before the live one) by S3 object "
        "version, without a build; recorded as a release itself",
    )
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _output_to(out) -> dict:
    """subprocess arguments that send a child's output to `out` (streamed when it is a real file)."""
    try:
        out.flush()
        return {"stdout": out.fileno(), "stderr": subprocess.STDOUT}
    except (AttributeError, OSError, ValueError):
        return {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT}


def check_gate(repo: Path, allow_dirty: bool, run_tests: bool, out) -> str:
    """The tree hash the tests passed on; raises Refused when they did not (or the tree is dirty)."""
    dirty = stamp.dirty_paths(repo)
    if dirty and not allow_dirty:
        listed = "\n".join(f"    {line}" for line in dirty[:10]) + ("\n    ..." if len(dirty) > 10 else "")
        raise Refused(
            f"the working tree has uncommitted changes:\n{listed}\n"
            "  Fix: commit them (a sync should ship a commit), or pass --allow-dirty to sync them anyway."
        )
    tree = stamp.tree_hash(repo)
    passed = stamp.read(repo)
    if passed.get("tree") == tree:
        print(
            f"gate: tree {tree[:12]} passed ./run_tests.sh ({passed.get('mode')}, {passed.get('at')})",
            file=out,
        )
        return tree
    if not run_tests:
        raise Refused(
            f"no green ./run_tests.sh run recorded for this tree ({tree[:12]}; {stamp.STAMP_FILE} "
            f"{'holds ' + passed['tree'][:12] if passed else 'does not exist'}).\n"
            "  Fix: run ./run_tests.sh (or ./run_tests.sh --fast --all), then sync; or drop --skip-gate-run."
        )
    print(
        f"gate: no green run recorded for tree {tree[:12]}; running ./run_tests.sh --fast --all",
        file=out,
        flush=True,
    )
    # --all: every fast test, not only the DAGs changed since the last green run (that run stamps nothing).
    done = subprocess.run([str(repo / "run_tests.sh"), "--fast", "--all"], cwd=repo, **_output_to(out))
    if done.stdout:
        out.write(done.stdout.decode(errors="replace"))
    if done.returncode == USAGE:  # stopped before testing anything: another run, a bad checkout
        raise Refused(
            f"./run_tests.sh --fast --all did not run (exit {USAGE}) on tree {tree[:12]}; nothing synced.\n"
            "  Fix: what its error above says, then sync again."
        )
    if done.returncode != 0:
        raise Refused(
            f"./run_tests.sh --fast --all failed (exit {done.returncode}) on tree {tree[:12]}; "
            "nothing synced.\n  Fix: make ./run_tests.sh --fast --all pass (its summary above names what "
            "failed), then sync again."
        )
    if stamp.read(repo).get("tree") != tree:
        raise Refused(
            "the tests passed, but files changed while they ran, so no stamp matches this tree.\n"
            "  Fix: sync again once nothing is being edited."
        )
    return tree


def sync(
    repo: Path,
    target,
    dry_run: bool = False,
    out=None,
    progress=None,
    tested_tree: str | None = None,
    environment: mwaa.Environment | None = None,
    allow_mass_delete: bool = False,
    allow_large: tuple[str, ...] = (),
    commit: str | None = None,
    before_changes=None,
) -> tuple[Plan, Result | None]:
    """Bundle -> plan -> preflight -> apply -> release record; the gate is check_gate's job, the lock main's.
    Returns the plan and what was done (None: a dry run, or nothing to do). `before_changes()` runs once every
    check has passed, just before the first file goes up (the Variables step: a refused sync changes nothing).

    The bundle is the git tree `tested_tree` (default: the working tree's), whatever changes after the gate.
    With `environment`, brings it to the bucket's environment files between the first phase and the DAG files.
    """
    out = out or sys.stdout
    bundle = bundling.build(repo, tree=tested_tree, allow_large=allow_large)
    dags = dag_files(repo, tested_tree)  # before any change: an inventory it cannot read refuses the sync
    plan = compare(bundle, target.managed_objects(bundle))
    print(render(plan, str(target)), file=out, flush=True)
    too_much = plan.mass_delete()
    if too_much and not allow_mass_delete:
        raise Refused(
            f"{too_much} ({', '.join(item.key for item in plan.deleted[:5])}"
            f"{', ...' if len(plan.deleted) > 5 else ''}); nothing was changed.\n"
            "  Fix: check that this checkout is the branch meant to be live (not a sparse or partial "
            "checkout); if the deletion is intended, rerun with --allow-mass-delete."
        )
    if plan.environment_changes:
        try:
            preflight.check(bundle, plan.environment_changes)
        except preflight.PreflightError as error:
            raise Refused(str(error)) from None
        print(f"preflight: {', '.join(plan.environment_changes)} pass", file=out, flush=True)
    if dry_run:
        return plan, None
    previous = releases.latest(target)  # under the lock: no other sync records meanwhile
    unrecorded = not releases.describes(previous, bundle)
    if plan.empty and environment is None and not unrecorded:
        return plan, None
    if plan.environment_changes and target.keeps_versions and not target.versioning_enabled():
        raise TargetError(
            f"{target}: bucket versioning is off, and MWAA reads {', '.join(plan.environment_changes)} by "
            "object version. Nothing was changed. Fix: enable versioning (aws s3api put-bucket-versioning "
            f"--bucket {target.bucket} --versioning-configuration Status=Enabled)."
        )

    def converge_environment(uploaded: dict[str, str | None]) -> dict[str, str] | None:
        in_bundle = [key for key in ENVIRONMENT_KEYS if key in bundle]
        current = target.current_versions([key for key in in_bundle if key not in uploaded])
        return environment.converge(target.prefix, {**current, **uploaded})

    if before_changes is not None:
        before_changes()
    result = apply(plan, target, progress, converge_environment if environment is not None else None)
    if result.empty and not unrecorded:
        return plan, None
    if result.empty:
        print(stopped_before_recording(target), file=out)
    release = releases.record(
        target,
        releases.from_bundle(bundle, result.versions),
        tested_tree or stamp.tree_hash(repo),
        commit or head_commit(repo),
        environment_record(environment, result),
        previous,
        dags=dags,
    )
    print(f"recorded release {release.number} ({target}{release.key})", file=out)
    new_dags = sorted(set(release.dags) - set(previous.dags if previous else ()))
    if new_dags:
        print(paused_at_creation(new_dags, environment.name if environment else None), file=out)
    result.release = release
    return plan, result


def paused_at_creation(dag_ids: list[str], environment: str | None, shown: int = 5) -> str:
    """What a release's new DAGs need on MWAA: Airflow creates a DAG it has not seen before paused."""
    names = ", ".join(dag_ids[:shown]) + (f" and {len(dag_ids) - shown} more" if len(dag_ids) > shown else "")
    return (
        f"new DAGs in this release: {names}. MWAA creates a DAG it has not seen before paused (Airflow's "
        "[core] dags_are_paused_at_creation), unless the DAG sets is_paused_upon_creation=False.\n"
        "  To start one once it is parsed: unpause it in the Airflow UI, or aws mwaa invoke-rest-api --name "
        f"{environment or '<the MWAA environment>'} --method PATCH --path /dags/{dag_ids[0]} "
        """--body '{"is_paused": false}'"""
    )


def stopped_before_recording(target) -> str:
    return (
        f"{target} holds these files, but its live release record does not (a run stopped before recording "
        "them): recording them"
    )


def environment_record(environment: mwaa.Environment | None, result: Result) -> dict:
    """What a release says about the environment: its name and the versions it was updated to (or None)."""
    return {"name": environment.name if environment else None, "updated_to": result.environment_update}


def tree_file(repo: Path, tree: str | None, path: str) -> bytes | None:
    """The bytes of `path` in git tree `tree` (default: the working tree's), or None when it has none."""
    done = subprocess.run(
        ["git", "show", f"{tree or stamp.tree_hash(repo)}:{path}"], cwd=repo, capture_output=True
    )
    return done.stdout if done.returncode == 0 else None


def dag_files(repo: Path, tree: str | None) -> dict[str, str]:
    """{dag_id: DAG file key} of the tree's DAG inventory, as the gate writes it (empty when the tree has
    none). An inventory it cannot read is refused: the release's verification checks these DAGs."""
    text = tree_file(repo, tree, dag_inventory.RECORDED_PATH)
    try:
        entries = dag_inventory.parse((text or b"").decode())
        return {dag_id: bundling.DAGS_PREFIX + entry["file"] for dag_id, entry in entries.items()}
    except (ValueError, AttributeError, KeyError, TypeError) as error:
        raise Refused(
            f"{dag_inventory.RECORDED_PATH} is not a DAG inventory as the gate writes it "
            f"({type(error).__name__}: {error}); nothing was changed.\n"
            f"  Fix: {dag_inventory.REFRESH}, commit the file, and sync again."
        ) from None


def plan_variables(repo: Path, tree: str, api: AirflowApi, out) -> variables.VariablesPlan | None:
    """The Variables plan for the environment from the tested tree's files, printed; None when the tree has
    no values for it."""
    source = variables.ENVIRONMENT_VALUES.format(name=api.environment)
    values = tree_file(repo, tree, source)
    if values is None:
        print(
            f"Variables: {source} does not exist, so no Variable is set on MWAA {api.environment}. "
            f"Fix: create it with the values for that environment ({{key: value}}, keys of "
            f"{variables.DEFINITIONS}).",
            file=out,
        )
        return None
    definitions = tree_file(repo, tree, variables.DEFINITIONS) or b"{}"
    wanted = variables.wanted_values(definitions, values, api.environment)
    planned = variables.plan(api, wanted, source, variables.defined_keys(definitions))
    print(planned.render(api.environment), file=out, flush=True)
    return planned


def rollback(
    target,
    requested: str | None,
    dry_run: bool,
    out,
    environment: mwaa.Environment | None,
    allow_mass_delete: bool,
) -> tuple[Plan, Result | None, "releases.Release"]:
    """Restore release `requested` (None: the one before the live one) by version: one copy per key that
    differs, deletes under dags/ of what it did not have, the environment brought to the restored
    environment files; recorded as a release. Returns (plan, what was done or None, the restored release)."""
    live, wanted = releases.rollback_target(target, requested)
    plan = releases.rollback_plan(target, wanted, live)
    print(
        f"rollback of {target} from release {live.number} to release {wanted.number} "
        f"(commit {wanted.commit[:12]}, {wanted.created})",
        file=out,
    )
    print(render(plan, str(target)), file=out, flush=True)
    too_much = plan.mass_delete()
    if too_much and not allow_mass_delete:
        raise Refused(
            f"the rollback to release {wanted.number}: {too_much}; nothing was changed.\n"
            "  Fix: check the release number (./sync_dags.sh --releases); if intended, rerun with "
            "--allow-mass-delete."
        )
    if dry_run:
        return plan, None, wanted
    unrecorded = not releases.describes(live, wanted.objects)
    if plan.empty and environment is None and not unrecorded:
        return plan, None, wanted

    def converge_environment(restored: dict[str, str | None]) -> dict[str, str] | None:
        unchanged = [key for key in wanted.objects if key in ENVIRONMENT_KEYS and key not in restored]
        return environment.converge(target.prefix, {**target.current_versions(unchanged), **restored})

    result = apply(
        plan,
        target,
        None,
        converge_environment if environment is not None and target.keeps_versions else None,
        send=releases.restorer(target),
    )
    if result.empty and not unrecorded:
        return plan, None, wanted
    if result.empty:
        print(stopped_before_recording(target), file=out)
    objects = {
        key: dataclasses.replace(item, version=result.versions[key]) if key in result.versions else item
        for key, item in wanted.objects.items()
    }
    release = releases.record(
        target,
        objects,
        wanted.tree,
        wanted.commit,
        environment_record(environment, result),
        live,
        kind=releases.ROLLBACK,
        restores=wanted.number,
        dags=wanted.dags,
    )
    print(f"recorded release {release.number} ({target}{release.key})", file=out)
    result.release = release
    return plan, result, wanted


def report_environment(plan: Plan, result: Result, target, options, out) -> None:
    """Without --environment: say that MWAA runs the old environment files, and how to update it (with the
    --worker-replacement given)."""
    changed = plan.environment_changes
    if not changed or options.environment:
        return
    if not isinstance(target, S3Target):
        print(
            f"environment files changed ({', '.join(changed)}); a folder target has no MWAA environment",
            file=out,
        )
        return
    versions = {key: result.versions[key] for key in changed}
    print(
        f"environment files changed ({', '.join(changed)}): MWAA runs the old ones until updated. Run\n"
        f"  {mwaa.cli_command('ENVIRONMENT_NAME', target.prefix, versions, options.worker_replacement)}\n"
        "or sync with --environment NAME (which also waits for the update before uploading the DAG files).",
        file=out,
    )


def head_commit(repo: Path) -> str:
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else "no commit"


class Verifier:
    """--environment without --no-verify-deploy: the post-deploy verification, and --rollback-on-failure."""

    def __init__(self, api: AirflowApi, minutes: float, roll_back: bool, clock: mwaa.Clock, out) -> None:
        self.api, self.minutes, self.roll_back, self.clock, self.out = api, minutes, roll_back, clock, out

    @classmethod
    def for_options(cls, options, api: AirflowApi | None, clock, out) -> "Verifier | None":
        if not options.environment or options.no_verify_deploy:
            return None
        if options.no_wait:
            print("not verifying the deploy: --no-wait leaves the environment updating", file=out)
            return None
        return cls(
            api,
            options.verify_minutes,
            options.rollback_on_failure,
            clock or mwaa.Clock(),
            out,
        )

    def before(self) -> set:
        """The import errors the environment reports before anything changes."""
        return set(verification.import_errors(self.api))

    def verify_or_roll_back(self, target, environment, release, before: set) -> None:
        """Verify `release`; on failure with --rollback-on-failure, restore the release before it (under the
        lock already held) and raise VerifyError all the same."""
        deployed_at = datetime.now(timezone.utc)
        try:
            verification.verify(
                self.api,
                release.dags,
                deployed_at,
                before,
                self.minutes,
                self.clock.now,
                self.clock.sleep,
                self.out,
            )
        except verification.VerifyError as error:
            if not self.roll_back:
                raise
            earlier = [number for number in releases.numbers(target) if number < release.number]
            if not earlier:
                raise verification.VerifyError(f"{error} No release before {release.number} to roll back to.")
            print(f"verification failed; rolling back to release {earlier[-1]}", file=self.out, flush=True)
            _, result, wanted = rollback(target, str(earlier[-1]), False, self.out, environment, True)
            raise verification.VerifyError(
                f"{error} Rolled back to release {wanted.number} (recorded as release "
                f"{result.release.number if result else wanted.number})."
            ) from None


def run_rollback(
    options, target, environment: mwaa.Environment | None, verifier: "Verifier | None", out, started: float
) -> int:
    """--rollback: under the lock unless a dry run; no gate and no bundle (the target keeps the bytes)."""
    requested = options.rollback or None
    if options.dry_run:
        rollback(target, requested, True, out, environment, options.allow_mass_delete)
        print("dry run: nothing was changed", file=out)
        return OK
    ttl = options.wait_minutes + LOCK_MARGIN_MINUTES + (verifier.minutes if verifier else 0)
    with target.lock(Holder.for_rollback(requested, ttl * 60)) as taken_over:
        if taken_over is not None:
            print(f"took over an expired lock ({taken_over.describe()})", file=out)
        before = verifier.before() if verifier else None
        plan, result, wanted = rollback(target, requested, False, out, environment, options.allow_mass_delete)
        if result is None:
            print(f"nothing to do: {target} already holds release {wanted.number}'s objects", file=out)
            return OK
        print(
            f"rolled back {target} to release {wanted.number} (commit {wanted.commit[:12]}): "
            f"{len(result.uploaded)} restored, {len(result.deleted)} deleted, {len(plan.unchanged)} unchanged"
            + (
                f", MWAA {options.environment} updated to {', '.join(sorted(result.environment_update))}"
                if result.environment_update
                else ""
            )
            + f" in {time.monotonic() - started:.1f}s",
            file=out,
        )
        report_environment(plan, result, target, options, out)
        if verifier:
            verifier.roll_back = False  # a failed rollback is reported, never rolled back in turn
            verifier.verify_or_roll_back(target, environment, result.release, before)
    return OK


def main(
    argv: list[str] | None = None, s3_client=None, mwaa_client=None, out=None, clock: mwaa.Clock | None = None
) -> int:
    import botocore.exceptions

    out = out or sys.stdout
    options = parse_args(sys.argv[1:] if argv is None else argv)
    repo = options.repo.resolve()
    started = time.monotonic()
    try:
        spec = str(repo / DEFAULT_TARGET) if options.target is None else options.target
        target = open_target(spec, repo, s3_client=s3_client)
        if options.environment and isinstance(target, DirectoryTarget):
            print(
                "error: --environment needs an s3:// --target (a folder has no MWAA environment)",
                file=sys.stderr,
            )
            return USAGE
        if options.releases is not None:
            print(releases.listing(target, max(options.releases, 1)), file=out)
            return OK
        environment = None
        if options.environment:
            if mwaa_client is None:
                import boto3

                mwaa_client = boto3.session.Session().client("mwaa")
            environment = mwaa.Environment(
                mwaa_client,
                options.environment,
                options.worker_replacement,
                wait=not options.no_wait,
                wait_minutes=options.wait_minutes,
                clock=clock or mwaa.Clock(),
                out=out,
            )
        api = AirflowApi(mwaa_client, options.environment) if environment else None
        verifier = None if options.dry_run else Verifier.for_options(options, api, clock, out)
        if options.rollback is not None:
            return run_rollback(options, target, environment, verifier, out, started)
        tree = check_gate(repo, options.allow_dirty, not options.skip_gate_run, out)
        allow_large = tuple(options.allow_large_file)
        if options.dry_run:
            if api:
                plan_variables(repo, tree, api, out)
            sync(
                repo,
                target,
                True,
                out,
                tested_tree=tree,
                allow_mass_delete=options.allow_mass_delete,
                allow_large=allow_large,
            )
            print("dry run: nothing was changed", file=out)
            return OK
        ttl = options.wait_minutes + LOCK_MARGIN_MINUTES + (verifier.minutes if verifier else 0)
        with target.lock(Holder.here(head_commit(repo), ttl * 60)) as taken_over:
            if taken_over is not None:
                print(f"took over an expired lock ({taken_over.describe()})", file=out)
            before = verifier.before() if verifier else None
            planned = plan_variables(repo, tree, api, out) if api else None

            def apply_variables() -> None:
                if planned is not None and not planned.empty:
                    variables.apply(api, planned)
                    print(f"Variables applied on MWAA {api.environment}", file=out, flush=True)

            plan, result = sync(
                repo,
                target,
                False,
                out,
                None,
                tree,
                environment,
                options.allow_mass_delete,
                allow_large,
                commit=head_commit(repo),
                before_changes=apply_variables,
            )
            if result is None:
                print(f"nothing to do: {target} already holds tree {tree[:12]}", file=out)
                return OK
            print(
                f"synced tree {tree[:12]} to {target}: {len(result.uploaded)} uploaded "
                f"({human_bytes(result.uploaded_bytes)}), {len(result.deleted)} deleted, "
                f"{len(plan.unchanged)} unchanged"
                + (
                    f", MWAA {options.environment} updated to {', '.join(sorted(result.environment_update))}"
                    if result.environment_update
                    else ""
                )
                + f" in {time.monotonic() - started:.1f}s",
                file=out,
            )
            report_environment(plan, result, target, options, out)
            if verifier:
                verifier.verify_or_roll_back(target, environment, result.release, before)
        return OK
    except (BadTarget, bundling.NameNotUtf8) as error:
        print(f"error: {error}", file=sys.stderr)
        return USAGE
    except Refused as error:
        print(f"refused: {error}", file=sys.stderr)
        return REFUSED
    except stamp.GitError as error:
        print(f"refused: {error}. Fix: sync from a git checkout of the repository.", file=sys.stderr)
        return REFUSED
    except botocore.exceptions.NoCredentialsError:
        print(
            f"error: no AWS credentials for {options.target}; nothing was changed. Fix: set AWS_PROFILE (or "
            "run in the deploy workflow, which assumes its role through OIDC), or omit --target to sync to "
            f"{DEFAULT_TARGET}/.",
            file=sys.stderr,
        )
        return FAILED
    except (
        bundling.BundleError,
        TargetError,
        ApplyError,
        mwaa.UpdateError,
        releases.ReleaseError,
        ApiError,
        verification.VerifyError,
        variables.VariablesError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return FAILED
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        print(f"error: {options.target}: {error}", file=sys.stderr)
        return FAILED
    except OSError as error:
        where = error.filename if error.filename is not None else "a local file"
        print(
            f"error: {where}: {error.strerror or error}. The sync stopped there; fix the cause (permissions, "
            "free space, the path) and rerun: it picks up where it stopped.",
            file=sys.stderr,
        )
        return FAILED


if __name__ == "__main__":
    sys.exit(main())
