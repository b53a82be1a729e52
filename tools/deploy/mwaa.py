"""MWAA: bring an environment to the bucket's requirements.txt, plugins.zip and startup script, and wait.

MWAA reads these three files by S3 object version, so uploading them changes nothing until the environment
is updated to the new versions (which restarts its schedulers and workers, 10-30 minutes). The sync compares
the versions the environment runs (GetEnvironment) with the bucket's current ones on every run, so a rerun
retries an update that failed or was never made (a killed sync) even when nothing is left to upload.

Environment states (MWAA API reference, Environment.Status:
https://docs.aws.amazon.com/mwaa/latest/API/API_Environment.html): UpdateEnvironment is accepted when the
environment is AVAILABLE, or UPDATE_FAILED (the failed update was rolled back and the environment is ready
to use); it is refused (ValidationException) while an operation is in progress, which the sync waits out.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass, field
from typing import Callable

from deploy.bundle import PLUGINS_KEY, REQUIREMENTS_KEY, STARTUP_KEY

# bundle key -> (UpdateEnvironment path parameter, version parameter, aws CLI option stem)
PARAMETERS = {
    REQUIREMENTS_KEY: ("RequirementsS3Path", "RequirementsS3ObjectVersion", "requirements-s3"),
    PLUGINS_KEY: ("PluginsS3Path", "PluginsS3ObjectVersion", "plugins-s3"),
    STARTUP_KEY: ("StartupScriptS3Path", "StartupScriptS3ObjectVersion", "startup-script-s3"),
}
READY = ("AVAILABLE", "UPDATE_FAILED")  # UpdateEnvironment is accepted
IN_PROGRESS = ("CREATING", "CREATING_SNAPSHOT", "UPDATING", "ROLLING_BACK", "PENDING", "MAINTENANCE")
# How UpdateEnvironment replaces workers: GRACEFUL lets running tasks finish, FORCED stops them (the enum of
# botocore 1.39.11's model: FORCED | GRACEFUL; MWAA API reference, UpdateEnvironment).
WORKER_REPLACEMENT = ("GRACEFUL", "FORCED")
POLL_SECONDS = 30
PROGRESS_SECONDS = 300  # a line at least every 5 minutes while the state stays the same (CI logs stay alive)
DEFAULT_WAIT_MINUTES = 40


class UpdateError(RuntimeError):
    """The environment update cannot be made or did not succeed (the message says why and what to do)."""


@dataclass
class Clock:
    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


@dataclass
class Environment:
    """An MWAA environment the sync keeps in step with the bucket."""

    client: object  # boto3 'mwaa' client
    name: str
    worker_replacement: str  # one of WORKER_REPLACEMENT (the CLI's --worker-replacement)
    wait: bool = True
    wait_minutes: float = DEFAULT_WAIT_MINUTES
    clock: Clock = field(default_factory=Clock)
    out: object = None

    def _say(self, line: str) -> None:
        print(f"MWAA {self.name}: {line}", file=self.out, flush=True)

    def describe(self) -> dict:
        return self.client.get_environment(Name=self.name)["Environment"]

    def _await(self, described: dict, started: float, reason: str) -> dict:
        """Poll until the environment leaves the in-progress states; UpdateError at the time limit."""
        last, said_at = None, started
        while described["Status"] in IN_PROGRESS:
            waited = self.clock.now() - started
            if described["Status"] != last or self.clock.now() - said_at >= PROGRESS_SECONDS:
                self._say(f"{described['Status']} ({reason}; {waited / 60:.0f} min so far)")
                last, said_at = described["Status"], self.clock.now()
            if waited >= self.wait_minutes * 60:
                raise UpdateError(
                    f"MWAA environment {self.name} still {described['Status']} after "
                    f"{self.wait_minutes:g} min; "
                    "the operation goes on in AWS, and the DAG files were not uploaded. Fix: rerun this sync "
                    "(it waits for a running update and resumes), or raise --wait-minutes."
                )
            self.clock.sleep(POLL_SECONDS)
            described = self.describe()
        self._say(f"{described['Status']} after {(self.clock.now() - started) / 60:.0f} min")
        return described

    def converge(self, prefix: str, bucket_versions: dict[str, str | None]) -> dict[str, str] | None:
        """Update the environment to `bucket_versions` ({bundle key: version id now in the bucket}) where its
        configuration differs, and wait for the update (unless wait is off). Returns the versions updated
        to, or None when the environment already runs them."""
        started = self.clock.now()
        described = self.describe()
        if described["Status"] in IN_PROGRESS:
            if not self.wait:
                raise UpdateError(
                    f"MWAA environment {self.name} is {described['Status']}: it accepts no update until that "
                    "ends, and --no-wait does not wait. Fix: rerun once it is AVAILABLE, or drop --no-wait."
                )
            described = self._await(described, started, "an operation already in progress")
        changes = differences(described, prefix, bucket_versions)
        if not changes and described["Status"] == "UPDATE_FAILED":
            # Whether MWAA reports the failed versions or the ones it rolled back to, the environment does not
            # run the bucket's files: retry with all of them.
            changes = {key: version for key, version in bucket_versions.items() if version}
        if not changes:
            return None
        if described["Status"] not in READY:
            raise UpdateError(
                f"MWAA environment {self.name} is {described['Status']} and cannot be updated to "
                f"{', '.join(sorted(changes))}. Fix: repair the environment in the MWAA console, then rerun."
            )
        missing = [key for key, version in changes.items() if not version]
        if missing:
            raise UpdateError(
                f"no S3 object version for {', '.join(missing)}: the bucket does not keep versions. "
                "Fix: enable versioning on the bucket (MWAA requires it)."
            )
        try:
            self.client.update_environment(
                **update_parameters(self.name, prefix, changes, self.worker_replacement)
            )
        except Exception as error:
            raise UpdateError(
                f"UpdateEnvironment {self.name} failed: {error}. The environment files are uploaded; the DAG "
                "files were not. Fix the cause and rerun (it retries the update), or run\n  "
                + cli_command(self.name, prefix, changes, self.worker_replacement)
            ) from error
        self._say(f"UpdateEnvironment started for {', '.join(sorted(changes))} (10-30 min)")
        if not self.wait:
            self._say("not waiting (--no-wait): the DAG files go up while the environment updates")
            return changes
        described = self._await(self.describe(), self.clock.now(), "updating to the new files")
        last_update = described.get("LastUpdate") or {}
        if described["Status"] != "AVAILABLE" or last_update.get("Status") == "FAILED":
            error = last_update.get("Error") or {}
            code = error.get("ErrorCode", "no error code")
            raise UpdateError(
                f"MWAA environment {self.name} update {described['Status']}: {code}: "
                f"{error.get('ErrorMessage', 'no error message')}. The DAG files were not uploaded and "
                "nothing was deleted. Fix the cause (for plugins.zip and requirements.txt, ./run_local.sh "
                "shows most import errors), then rerun: it retries the update."
            )
        return changes


def differences(
    described: dict, prefix: str, bucket_versions: dict[str, str | None]
) -> dict[str, str | None]:
    """{key: bucket version} for each environment file whose path or version the environment does not run."""
    changes = {}
    for key, version in bucket_versions.items():
        path_param, version_param, _ = PARAMETERS[key]
        if described.get(path_param) != prefix + key or described.get(version_param) != version:
            changes[key] = version
    return changes


def update_parameters(name: str, prefix: str, versions: dict[str, str], worker_replacement: str) -> dict:
    """UpdateEnvironment's arguments for the changed environment files: {bundle key: new version id}."""
    params = {"Name": name, "WorkerReplacementStrategy": worker_replacement}
    for key, version in sorted(versions.items()):
        path_param, version_param, _ = PARAMETERS[key]
        params[path_param] = prefix + key
        params[version_param] = version
    return params


def cli_command(name: str, prefix: str, versions: dict[str, str], worker_replacement: str) -> str:
    """The same update as an `aws mwaa update-environment` command line, for whoever has the rights."""
    words = ["aws", "mwaa", "update-environment", "--name", name]
    words += ["--worker-replacement-strategy", worker_replacement]
    for key, version in sorted(versions.items()):
        *_, option = PARAMETERS[key]
        words += [f"--{option}-path", prefix + key, f"--{option}-object-version", version]
    return shlex.join(words)
