"""./sync_dags.sh: check the test gate, build the bundle, plan against the target, apply, update MWAA.

Exit codes: 0 synced (or nothing to do, or a dry run), 1 the sync failed, 2 bad usage, 3 refused by the gate.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from deploy import bundle as bundling
from deploy import mwaa, stamp
from deploy.apply import ApplyError, Result, apply
from deploy.plan import Plan, compare, human_bytes, render
from deploy.targets import DirectoryTarget, S3Target, TargetError, open_target

DEFAULT_TARGET = Path("build") / "mwaa-bucket"
OK, FAILED, USAGE, REFUSED = 0, 1, 2, 3


class Refused(RuntimeError):
    """The gate refuses this tree (the message says why and how to get through)."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="./sync_dags.sh",
        description="Sync the tested bundle (dags/, sql/ as dags/sql/, plugins.zip, requirements.txt) "
        "to the MWAA bucket, uploading only what changed.",
        epilog="Exit codes: 0 synced or nothing to do, 1 failed, 2 bad usage, 3 refused by the gate.",
    )
    parser.add_argument(
        "--target",
        help="s3://bucket[/prefix] (boto3 configuration: AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL) or a "
        f"folder; default: {DEFAULT_TARGET}/ in the repository, laid out as the bucket",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.add_argument("--allow-dirty", action="store_true", help="sync uncommitted changes (still gated)")
    parser.add_argument("--environment", metavar="NAME", help="MWAA environment to update when needed")
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
            "  Fix: run ./run_tests.sh (or ./run_tests.sh --fast), then sync; or drop --skip-gate-run."
        )
    print(
        f"gate: no green run recorded for tree {tree[:12]}; running ./run_tests.sh --fast",
        file=out,
        flush=True,
    )
    done = subprocess.run([str(repo / "run_tests.sh"), "--fast"], cwd=repo, **_output_to(out))
    if done.stdout:
        out.write(done.stdout.decode(errors="replace"))
    if done.returncode != 0:
        raise Refused(
            f"./run_tests.sh --fast failed (exit {done.returncode}) on tree {tree[:12]}; nothing synced.\n"
            "  Fix: make ./run_tests.sh --fast pass (its summary above names what failed), then sync again."
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
    allow_large: tuple[str, ...] = (),
) -> tuple[Plan, Result | None]:
    """Bundle -> plan -> apply; the gate is check_gate's job. Returns the plan and what was done.

    The bundle is the git tree `tested_tree` (default: the working tree's), whatever changes after the gate.
    """
    out = out or sys.stdout
    bundle = bundling.build(repo, tree=tested_tree, allow_large=allow_large)
    plan = compare(bundle, target.managed_objects({key: item.md5 for key, item in bundle.items()}))
    print(render(plan, str(target)), file=out, flush=True)
    if dry_run or plan.empty:
        return plan, None
    if plan.environment_changes and target.keeps_versions and not target.versioning_enabled():
        raise TargetError(
            f"{target}: bucket versioning is off, and MWAA reads {', '.join(plan.environment_changes)} by "
            "object version. Nothing was changed. Fix: enable versioning (aws s3api put-bucket-versioning "
            f"--bucket {target.bucket} --versioning-configuration Status=Enabled)."
        )
    return plan, apply(plan, target, progress)


def report_environment(plan: Plan, result: Result, target, environment: str | None, mwaa_client, out) -> None:
    """After the upload: update the MWAA environment to the new file versions, or say how to."""
    changed = plan.environment_changes
    if not changed:
        return
    if not isinstance(target, S3Target):
        print(
            f"environment files changed ({', '.join(changed)}); a folder target has no MWAA environment",
            file=out,
        )
        return
    versions = {key: result.versions[key] for key in changed}
    if environment:
        if mwaa_client is None:
            import boto3

            mwaa_client = boto3.session.Session().client("mwaa")
        try:
            mwaa.update_environment(mwaa_client, environment, target.prefix, versions)
        except Exception:
            print(
                "the files are uploaded but the environment update failed; once the cause is fixed, run\n"
                f"  {mwaa.cli_command(environment, target.prefix, versions)}",
                file=out,
            )
            raise
        print(
            f"MWAA: UpdateEnvironment {environment} started for {', '.join(changed)} (takes 10-30 min)",
            file=out,
        )
    else:
        print(
            f"environment files changed ({', '.join(changed)}): MWAA runs the old ones until updated. Run\n"
            f"  {mwaa.cli_command('ENVIRONMENT_NAME', target.prefix, versions)}\n"
            "or sync with --environment NAME.",
            file=out,
        )


def main(argv: list[str] | None = None, s3_client=None, mwaa_client=None, out=None) -> int:
    import botocore.exceptions

    out = out or sys.stdout
    options = parse_args(sys.argv[1:] if argv is None else argv)
    repo = options.repo.resolve()
    started = time.monotonic()
    try:
        target = open_target(options.target or str(repo / DEFAULT_TARGET), s3_client=s3_client)
        if options.environment and isinstance(target, DirectoryTarget):
            print(
                "error: --environment needs an s3:// --target (a folder has no MWAA environment)",
                file=sys.stderr,
            )
            return USAGE
        tree = check_gate(repo, options.allow_dirty, not options.skip_gate_run, out)
        plan, result = sync(
            repo, target, options.dry_run, out, tested_tree=tree, allow_large=tuple(options.allow_large_file)
        )
        if options.dry_run:
            print("dry run: nothing was changed", file=out)
            return OK
        if result is None:
            print(f"nothing to do: {target} already holds tree {tree[:12]}", file=out)
            return OK
        print(
            f"synced tree {tree[:12]} to {target}: {len(result.uploaded)} uploaded "
            f"({human_bytes(result.uploaded_bytes)}), {len(result.deleted)} deleted, {len(plan.unchanged)} "
            f"unchanged in {time.monotonic() - started:.1f}s",
            file=out,
        )
        report_environment(plan, result, target, options.environment, mwaa_client, out)
        return OK
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
    except (bundling.BundleError, TargetError, ApplyError, mwaa.UpdateError) as error:
        print(f"error: {error}", file=sys.stderr)
        return FAILED
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        print(f"error: {options.target}: {error}", file=sys.stderr)
        return FAILED


if __name__ == "__main__":
    sys.exit(main())
