"""The Dask recipe on a LocalCluster of two worker processes: Parquet in, every partition scored
by the package on the workers, scored Parquet out equal to the binary's scores, monthly
aggregates from the engine, the scored files ingested by the binary; a worker killed
mid-partition is replaced, its partition scored again and written once."""

import json
import os
import sys

import pandas as pd
import pytest

from conftest import read_scores_csv, run_cli, write_jsonl

dask = pytest.importorskip("dask")
from dask.distributed import Client, LocalCluster  # noqa: E402

import cloudpickle  # noqa: E402

import stance.dask  # noqa: E402

# The worker processes cannot import this test module: its functions travel by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

CP = "United States"


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        memory_limit="3GiB",
    )
    with Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def archive(articles, tmp_path_factory, stance_bin):
    """About 3,000 articles as six Parquet files, and the binary's scores of the same articles
    (as CSV: the evidence is the same JSON text the recipe writes)."""
    d = tmp_path_factory.mktemp("archive")
    fields = ("id", "text", "title", "date", "actor", "counterpart")
    path = write_jsonl(d / "all.jsonl", articles, fields=fields)
    df = pd.read_json(path, lines=True, dtype=False)[list(fields)]
    src = d / "in"
    src.mkdir()
    for i, part in enumerate(range(0, len(df), 500)):
        df.iloc[part : part + 500].to_parquet(src / f"{i:02}.parquet", index=False)
    (d / "cli.csv").write_bytes(run_cli(stance_bin, "score", "--counterpart", CP, "--format", "csv", path))
    cli = read_scores_csv(d / "cli.csv")
    return src, df, cli


def check_equal(scored: pd.DataFrame, cli: pd.DataFrame):
    scored = scored.set_index("id").loc[cli["id"]]
    assert len(scored) == len(cli) > 2500
    for col in ("score", "p_conciliatory", "p_stance", "label", "mentions", "intercept", "evidence"):
        assert scored[col].tolist() == cli[col].tolist(), col
    assert scored["counterpart"].fillna("").tolist() == cli["counterpart"].tolist()


def test_scores_on_the_cluster_equal_the_cli(client, archive, tmp_path, stance_bin):
    src, df, cli = archive
    out = stance.dask.score_parquet(str(src), str(tmp_path / "scored"), counterpart=CP)
    scored = out.compute()
    check_equal(scored, cli)
    assert sorted(os.listdir(tmp_path / "scored")) == [f"part.{i}.parquet" for i in range(6)]
    # Both workers scored.
    assert len(client.scheduler_info()["workers"]) == 2

    monthly = stance.dask.monthly(out).compute().sort_index()
    # The same aggregates computed in pandas from the binary's scores.
    ref = cli.assign(date=df.set_index("id").loc[cli["id"], "date"].to_numpy())
    ref = ref[ref["date"].notna() & (ref["date"] != "")]
    ref = ref.assign(month=ref["date"].str.slice(0, 7))
    mentioned = ref[ref["label"] != "unmentioned"]
    assert monthly.index.tolist() == sorted(ref["month"].unique())
    assert monthly["articles"].tolist() == ref.groupby("month").size().tolist()
    want_mean = mentioned.groupby("month")["score"].mean().reindex(monthly.index)
    pd.testing.assert_series_equal(monthly["mean_score"], want_mean, check_names=False, rtol=1e-12)
    assert (monthly["stories"].fillna(0) <= monthly["mentioned"]).all()
    assert monthly["stories"].sum() > 0

    # The binary ingests the scored Parquet as it is (the extra columns ignored): every dated
    # row goes into the store, and `stance trend` charts it.
    files = sorted((tmp_path / "scored").glob("*.parquet"))
    db = tmp_path / "s.db"
    out = run_cli(stance_bin, "ingest", "--db", db, "--counterpart", CP, *files).decode()
    new = sum(int(line.split(": ")[1].split(" new")[0]) for line in out.splitlines() if " new, " in line)
    assert new == monthly["articles"].sum() > 100, out
    run_cli(stance_bin, "trend", "--db", db, "--counterpart", CP, "--by", "month", "--out", tmp_path / "chart.svg")
    assert (tmp_path / "chart.svg").stat().st_size > 1000


def die_once(part, marker, **kw):
    """Scores a partition, except that the first worker to reach the one holding the marker
    article dies there (the marker file records that it did)."""
    if (part["id"] == "die-here").any() and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return stance.dask.score_partition(part, **kw)


def test_a_dead_worker_is_replaced_and_its_partition_written_once(client, archive, tmp_path):
    src, df, cli = archive
    marker = tmp_path / "died"
    # The first partition's first row is the marker.
    first = pd.read_parquet(src / "00.parquet")
    first.loc[0, "id"] = "die-here"
    d = tmp_path / "in"
    d.mkdir()
    for f in sorted(os.listdir(src)):
        (first if f == "00.parquet" else pd.read_parquet(src / f)).to_parquet(d / f, index=False)
    cli = cli.assign(id=cli["id"].where(cli["id"] != df["id"].iloc[0], "die-here"))

    from functools import partial

    out = stance.dask.score_parquet(
        str(d), str(tmp_path / "scored"), counterpart=CP, func=partial(die_once, marker=str(marker))
    )
    assert marker.exists()
    scored = out.compute()
    check_equal(scored, cli)
    assert scored["id"].is_unique
    assert sorted(os.listdir(tmp_path / "scored")) == [f"part.{i}.parquet" for i in range(6)]
    assert json.loads(scored.set_index("id").loc["die-here", "evidence"]) is not None
