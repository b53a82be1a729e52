"""Airflow's REST API on an MWAA environment, through MWAA's InvokeRestApi: the one place that calls it.

InvokeRestApi (botocore's MWAA model: Name, Path of at most 64 characters, Method, QueryParameters, Body)
runs the call on the environment's webserver with the caller's IAM identity, mapped to an Airflow role
(https://docs.aws.amazon.com/mwaa/latest/userguide/access-mwaa-apache-airflow-rest-api.html); Path is relative
to the API root (MWAA 3.x: Airflow's /api/v2). An Airflow 4xx/5xx comes back as a ClientError
(RestApiClientException / RestApiServerException) carrying RestApiStatusCode and RestApiResponse.
"""

from __future__ import annotations

PAGE = 100  # items per list request (Airflow's default is 50; MWAA caps a response at 6 MB)


class ApiError(RuntimeError):
    """A REST API call failed (the message names the environment, the call, the status and a fix)."""


class AirflowApi:
    def __init__(self, client, environment: str) -> None:
        self.client, self.environment = client, environment

    def call(self, method: str, path: str, query: dict | None = None, body: dict | None = None) -> dict:
        import botocore.exceptions

        params = {"Name": self.environment, "Path": path, "Method": method}
        if query:
            params["QueryParameters"] = query
        if body is not None:
            params["Body"] = body
        try:
            response = self.client.invoke_rest_api(**params)
        except botocore.exceptions.ClientError as error:
            answer = error.response
            status = answer.get("RestApiStatusCode") or answer.get("ResponseMetadata", {}).get(
                "HTTPStatusCode"
            )
            detail = answer.get("RestApiResponse") or answer.get("Error", {}).get("Message") or str(error)
            hint = (
                "give the deploy role airflow:InvokeRestApi on the environment's Admin role "
                "(tools/deploy/iam/README.md)"
                if status in (401, 403) or answer.get("Error", {}).get("Code") == "AccessDeniedException"
                else "check that the environment is AVAILABLE and runs Airflow 2.4.3 or later, then rerun"
            )
            raise ApiError(
                f"MWAA {self.environment}: {method} {path} failed ({status}): {detail}. Fix: {hint}."
            ) from error
        return response.get("RestApiResponse") or {}

    def items(self, path: str, field: str, query: dict | None = None) -> list[dict]:
        """Every item of a paginated list endpoint ({field: [...], total_entries: N})."""
        found: list[dict] = []
        while True:
            page = self.call("GET", path, {**(query or {}), "limit": PAGE, "offset": len(found)})
            batch = page.get(field) or []
            found.extend(batch)
            if not batch or len(found) >= page.get("total_entries", 0):
                return found
