"""Airflow Variables on MWAA: the values of one environment, applied through the REST API (InvokeRestApi).

    config/variables.json                    every Variable the DAGs read: {key: {description, value}}
                                             (the values are the local ones, for tests and ./run_local.sh)
    config/environments/NAME/variables.json  the values on MWAA environment NAME: {key: value}

Only the keys of the environment's file are managed: a Variable the file does not name (one set by hand,
or read from the secrets backend) is never read into the plan, changed or deleted. Nothing is ever deleted.
Secrets do not belong in either file: they go in the environment's secrets backend (AWS Secrets Manager,
`airflow/variables/<key>`), and a key Airflow would treat as sensitive is refused here.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field

from deploy.airflow_api import AirflowApi

DEFINITIONS = "config/variables.json"
ENVIRONMENT_VALUES = "config/environments/{name}/variables.json"
# Key names Airflow masks (DEFAULT_SENSITIVE_FIELDS of airflow.sdk.execution_time.secrets_masker):
# they come back as '***', so they can be neither planned nor kept here.
SENSITIVE = re.compile(
    r"access_token|api_key|apikey|authorization|keyfile_dict|passphrase|passwd|password|private_key|secret"
    r"|service_account|token",
    re.IGNORECASE,
)


class VariablesError(ValueError):
    """The Variables files are wrong (the message names the file, the key and the fix)."""


@dataclass
class VariablesPlan:
    source: str
    wanted: dict[str, dict] = field(default_factory=dict)  # key -> {"value", "description"}
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    unset: list[str] = field(default_factory=list)  # read by the DAGs, set neither by the file nor on MWAA

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed)

    def render(self, environment: str) -> str:
        lines = [
            f"Variables for MWAA {environment} ({self.source}): {len(self.added)} added, {len(self.changed)} "
            f"changed, {len(self.unchanged)} unchanged; Variables not in the file are left alone"
        ]
        lines += [f"    + {key}" for key in self.added] + [f"    ~ {key}" for key in self.changed]
        lines += [
            f"    ! {key}: the DAGs read it ({DEFINITIONS}), but neither {self.source} nor MWAA "
            f"{environment} has it: a task rendering it fails (Variable {key} does not exist) unless the "
            f"secrets backend holds airflow/variables/{key}. Fix: add it to {self.source}"
            for key in self.unset
        ]
        return "\n".join(lines)


def wanted_values(definitions_text: bytes, values_text: bytes | None, environment: str) -> dict[str, dict]:
    """{key: {"value", "description"}} for the environment; VariablesError naming the problem."""
    source = ENVIRONMENT_VALUES.format(name=environment)
    definitions = _json_object(definitions_text, DEFINITIONS)
    values = _json_object(values_text, source) if values_text is not None else {}
    wanted = {}
    for key, value in values.items():
        if key not in definitions:
            close = difflib.get_close_matches(key, list(definitions), n=1)
            raise VariablesError(
                f"{source}: {key!r} is no Variable of {DEFINITIONS}"
                + (f" (did you mean {close[0]!r}?)" if close else "")
                + ". Fix: use a key the DAGs read, or add it to "
                f"{DEFINITIONS} with a description."
            )
        if SENSITIVE.search(key):
            raise VariablesError(
                f"{source}: {key!r} names a secret, and secrets never go in the repository. Fix: remove it "
                f"here and store it in the secrets backend as airflow/variables/{key} "
                "(docs/deploy-releases.md)."
            )
        if not isinstance(value, str):
            raise VariablesError(
                f"{source}: {key!r} is {type(value).__name__}, not a string (Airflow stores Variables as "
                f'text). Fix: write it as a string, e.g. "{key}": {json.dumps(json.dumps(value))}.'
            )
        wanted[key] = {"value": value, "description": (definitions[key] or {}).get("description")}
    return wanted


def _json_object(text: bytes, where: str) -> dict:
    try:
        data = json.loads(text)
    except ValueError as error:
        raise VariablesError(f"{where}: not valid JSON ({error}). Fix: correct the file.") from None
    if not isinstance(data, dict):
        raise VariablesError(f"{where}: must be a JSON object of key: value. Fix: correct the file.")
    return data


def defined_keys(definitions_text: bytes) -> list[str]:
    """The Variables the DAGs read: the keys of config/variables.json."""
    return list(_json_object(definitions_text, DEFINITIONS))


def plan(api: AirflowApi, wanted: dict[str, dict], source: str, defined: list[str] = ()) -> VariablesPlan:
    """Compare `wanted` with the environment's Variables (GET /variables, page by page); `defined`: every
    Variable the DAGs read, those neither wanted nor on the environment are listed as unset."""
    current = {item["key"]: item for item in api.items("/variables", "variables")}
    result = VariablesPlan(source, wanted, unset=sorted(set(defined) - set(wanted) - set(current)))
    for key, target in sorted(wanted.items()):
        if key not in current:
            result.added.append(key)
        elif (current[key].get("value"), current[key].get("description")) != (
            target["value"],
            target["description"],
        ):
            result.changed.append(key)
        else:
            result.unchanged.append(key)
    return result


def apply(api: AirflowApi, planned: VariablesPlan) -> None:
    """One bulk PATCH /variables: create the added keys (failing if one appeared meanwhile), update the
    changed ones (failing if one vanished); never a delete."""
    if planned.empty:
        return

    def entities(keys: list[str]) -> list[dict]:
        return [{"key": key, **planned.wanted[key]} for key in keys]

    actions = []
    if planned.added:
        actions.append(
            {"action": "create", "entities": entities(planned.added), "action_on_existence": "fail"}
        )
    if planned.changed:
        actions.append(
            {"action": "update", "entities": entities(planned.changed), "action_on_non_existence": "fail"}
        )
    answer = api.call("PATCH", "/variables", body={"actions": actions})
    errors = [error for part in ("create", "update") for error in (answer.get(part) or {}).get("errors", [])]
    if errors:
        refused = "; ".join(str(error.get("error", error)).rstrip(".") for error in errors)
        count = f" {len(errors)} entries" if len(errors) > 1 else ""
        raise VariablesError(
            f"MWAA {api.environment}: PATCH /variables refused{count}: {refused}. "
            "Fix: rerun (the plan is read again); the other Variables of the request may be applied."
        )
