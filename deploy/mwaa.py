"""MWAA UpdateEnvironment for new versions of requirements.txt, plugins.zip or the startup script.

MWAA reads these three files by S3 object version, so uploading them changes nothing until the environment
is updated to the new versions (which restarts its schedulers and workers).
"""

from __future__ import annotations

import shlex

from deploy.bundle import PLUGINS_KEY, REQUIREMENTS_KEY, STARTUP_KEY

# bundle key -> (UpdateEnvironment path parameter, version parameter, aws CLI option stem)
PARAMETERS = {
    REQUIREMENTS_KEY: ("RequirementsS3Path", "RequirementsS3ObjectVersion", "requirements-s3"),
    PLUGINS_KEY: ("PluginsS3Path", "PluginsS3ObjectVersion", "plugins-s3"),
    STARTUP_KEY: ("StartupScriptS3Path", "StartupScriptS3ObjectVersion", "startup-script-s3"),
}


class UpdateError(RuntimeError):
    """The environment update cannot be made (the message says why and what to do)."""


def update_parameters(name: str, prefix: str, versions: dict[str, str]) -> dict:
    """UpdateEnvironment's arguments for the changed environment files: {bundle key: new version id}."""
    params = {"Name": name}
    for key, version in sorted(versions.items()):
        path_param, version_param, _ = PARAMETERS[key]
        params[path_param] = prefix + key
        params[version_param] = version
    return params


def cli_command(name: str, prefix: str, versions: dict[str, str]) -> str:
    """The same update as an `aws mwaa update-environment` command line, for whoever has the rights."""
    words = ["aws", "mwaa", "update-environment", "--name", name]
    for key, version in sorted(versions.items()):
        *_, option = PARAMETERS[key]
        words += [f"--{option}-path", prefix + key, f"--{option}-object-version", version]
    return shlex.join(words)


def update_environment(client, name: str, prefix: str, versions: dict[str, str]) -> dict:
    """Call UpdateEnvironment on `client` (a boto3 'mwaa' client); returns the response."""
    missing = [key for key, version in versions.items() if not version]
    if missing:
        raise UpdateError(
            f"no S3 object version for {', '.join(missing)}: the bucket does not keep versions. "
            "Fix: enable versioning on the bucket (MWAA requires it)."
        )
    return client.update_environment(**update_parameters(name, prefix, versions))
