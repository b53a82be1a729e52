"""The local AWS for the end-to-end tests: one moto server per test module, re-seeded before each test.

Module scope, not package: tests/ has no packages, so a "package" fixture would live for the whole session and
its moto patches (work that fails on purpose, among them) would reach other suites' moto servers.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def local_aws_account():
    from local_aws.harness import LocalAws
    from local_aws.run import ensure_metadata_db

    ensure_metadata_db()
    with LocalAws() as aws:
        yield aws


@pytest.fixture
def aws(local_aws_account):
    """A freshly seeded account (no resources left from the previous test, pending work completes)."""
    local_aws_account.reset()
    return local_aws_account
