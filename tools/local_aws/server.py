"""An in-process moto server that Airflow's `aws_default` connection and boto3 reach instead of AWS."""

from __future__ import annotations

import json
import os
from contextlib import ExitStack

import boto3
from moto.moto_api._internal.models import moto_api_backend
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
AWS_CONN_ID = "aws_default"


class MotoServer:
    """ThreadedMotoServer on a free local port, with the environment pointed at it while it runs.

    On start: fake credentials, the region, AWS_ENDPOINT_URL and AIRFLOW_CONN_AWS_DEFAULT (endpoint_url in
    its extra) are set, and any AWS profile or credentials file is hidden, so nothing can reach real AWS.
    On stop the previous environment comes back.
    """

    def __init__(self) -> None:
        self._server: ThreadedMotoServer | None = None
        self._stack = ExitStack()
        self._clients: dict[str, object] = {}
        self.endpoint_url = ""

    def start(self) -> MotoServer:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        self._stack.callback(self._server.stop)
        connection = {
            "conn_type": "aws",
            "extra": {"endpoint_url": self.endpoint_url, "region_name": REGION, **FAKE_CREDENTIALS},
        }
        self.set_environment(
            {
                "AWS_ACCESS_KEY_ID": FAKE_CREDENTIALS["aws_access_key_id"],
                "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIALS["aws_secret_access_key"],
                "AWS_SESSION_TOKEN": None,
                "AWS_PROFILE": None,
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "AWS_ENDPOINT_URL": self.endpoint_url,
                f"AIRFLOW_CONN_{AWS_CONN_ID.upper()}": json.dumps(connection),
            }
        )
        return self

    def set_environment(self, values: dict[str, str | None]) -> None:
        """Set (or, for None, remove) environment variables until the server stops."""
        for name, value in values.items():
            previous = os.environ.get(name)
            self._stack.callback(_restore, name, previous)
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def client(self, service: str):
        """A boto3 client of `service` at this server (one per service, kept while the server runs)."""
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service, region_name=REGION, endpoint_url=self.endpoint_url, **FAKE_CREDENTIALS
            )
        return self._clients[service]

    def reset(self) -> None:
        """Forget every resource: the next DAG run starts from an empty AWS account."""
        moto_api_backend.reset()

    def stop(self) -> None:
        self._stack.close()
        self._clients.clear()
        self._server = None

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
