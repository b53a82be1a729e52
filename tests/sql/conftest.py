"""SQL-suite fixtures: the generated TICKIT sample; engines (DuckDB, and PostgreSQL when installed)."""

from __future__ import annotations

import itertools

import pytest

from sample_data.bucket import local_sample, sample_files
from tests.sql.engines import DuckDBEngine, PostgresCluster, PostgresEngine, postgres_bin_dir
from tests.sql.pipeline import RedshiftPipeline

SEED = 11
_databases = itertools.count()


@pytest.fixture(scope="session")
def tickit_sample(tmp_path_factory):
    """The sample of local runs (two months + two incremental days, generated, and the committed sample
    files), written once: (sample, {S3 key: path})."""
    sample = local_sample(seed=SEED)
    return sample, sample_files(tmp_path_factory.mktemp("tickit"), sample)


@pytest.fixture(scope="session")
def postgres_cluster():
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("no PostgreSQL binaries in /usr/lib/postgresql/*/bin. Fix: apt-get install postgresql-15")
    cluster = PostgresCluster(bin_dir).start()
    yield cluster
    cluster.stop()


ENGINES = ["duckdb", pytest.param("postgres", marks=pytest.mark.slow)]


@pytest.fixture(params=ENGINES)
def engine(request):
    if request.param == "duckdb":
        engine = DuckDBEngine()
    else:
        cluster = request.getfixturevalue("postgres_cluster")
        engine = PostgresEngine(cluster.create_database(f"tickit_{next(_databases)}"))
    yield engine
    engine.close()


@pytest.fixture
def pipeline(engine, loaded, tickit_sample):
    sample, files = tickit_sample
    return RedshiftPipeline(engine, loaded.dags, files, sample)
