"""The Dask recipe on a LocalCluster of two worker processes: Parquet in, every partition scored
by the package on the workers, scored Parquet out equal to the binary's scores, the scored
files ingested by the binary, monthly aggregates from the engine charted by the binary as the
store's trend is; a worker killed mid-partition is replaced, its partition scored again and
written once."""

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

    # The binary ingests the scored Parquet as it is (the extra columns ignored): every dated
    # row goes into the store, and `stance trend` charts it.
    files = sorted((tmp_path / "scored").glob("*.parquet"))
    db = tmp_path / "s.db"
    log = run_cli(stance_bin, "ingest", "--db", db, "--counterpart", CP, *files).decode()
    new = sum(int(line.split(": ")[1].split(" new")[0]) for line in log.splitlines() if " new, " in line)
    dated = cli.assign(date=df.set_index("id").loc[cli["id"], "date"].to_numpy())
    assert new == (dated["date"].notna() & (dated["date"] != "")).sum() > 100, log
    store_csv = tmp_path / "store.csv"
    run_cli(stance_bin, "trend", "--db", db, "--counterpart", CP, "--out", tmp_path / "s.svg", "--csv", store_csv)

    # The aggregates per month come from Dask, and `stance trend --aggregates` charts them
    # without scoring again: the same periods, articles, means and shifts as the store's trend
    # (the intervals differ by method; stories can differ where the store's near-duplicate
    # clusters join edited copies, which exact reprint keys do not).
    agg = stance.dask.period_aggregates(out, by="month").compute()
    assert set(agg["model_id"]) == {stance.Model().id}
    assert agg["articles"].sum() + agg["unmentioned"].sum() == new
    agg.to_parquet(tmp_path / "agg.parquet", index=False)
    agg_csv = tmp_path / "agg.csv"
    run_cli(stance_bin, "trend", "--aggregates", tmp_path / "agg.parquet", "--counterpart", CP,
            "--out", tmp_path / "a.svg", "--csv", agg_csv)
    cols = ["series", "period", "start", "articles", "stories", "mean", "lo", "hi", "thin", "rolling", "shift"]
    s_rows = pd.read_csv(store_csv, comment="#", names=cols, header=0, dtype=str)
    a_rows = pd.read_csv(agg_csv, comment="#", names=cols, header=0, dtype=str)
    assert s_rows["period"].tolist() == a_rows["period"].tolist()
    assert s_rows["articles"].tolist() == a_rows["articles"].tolist()
    same = s_rows["stories"] == a_rows["stories"]
    assert same.sum() >= len(s_rows) - 2, s_rows[~same]
    assert (s_rows["mean"][same].fillna("") == a_rows["mean"][same].fillna("")).all()
    assert s_rows["shift"].notna().tolist() == a_rows["shift"].notna().tolist()
    assert a_rows["shift"].notna().sum() >= 1


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


def test_period_aggregates_count_a_story_once_in_its_first_period():
    """Hand-made scored rows: a reprint (same title but for case and spaces) a month later
    joins its story, which counts once, in January, with the mean of its copies."""
    import dask.dataframe as dd

    rows = [
        ("a1", "2025-01-05", "Talks resume", 0.6, "conciliatory"),
        ("a2", "2025-02-02", "talks  Resume", 0.4, "conciliatory"),
        ("a3", "2025-01-20", "Sanctions", -0.5, "confrontational"),
        ("a4", "2025-01-21", "Weather", 0.0, "unmentioned"),
        ("a5", "20250210", "Visit", 0.2, "neutral"),
        ("a6", None, "Undated", 0.9, "conciliatory"),
    ]
    pdf = pd.DataFrame(rows, columns=["id", "date", "title", "score", "label"]).assign(
        text="body", counterpart=CP, actor=None
    )
    ddf = dd.from_pandas(pdf, npartitions=2)
    got = stance.dask.period_aggregates(ddf, by="month").compute(scheduler="sync")
    got = got.set_index("period").sort_index()
    assert got.index.tolist() == ["2025-01", "2025-02"]
    jan, feb = got.loc["2025-01"], got.loc["2025-02"]
    assert (jan["counterpart"], jan["actor"]) == (CP, "")
    assert (jan["articles"], jan["stories"], jan["unmentioned"]) == (3, 2, 1)
    assert jan["mean_score"] == pytest.approx(0.0)
    assert jan["sd_score"] == pytest.approx(0.5 ** 0.5 * 1.0)  # std of {0.5, -0.5}, n - 1
    assert (jan["conciliatory"], jan["confrontational"], jan["neutral"]) == (2, 1, 0)
    assert (feb["articles"], feb["stories"], feb["unmentioned"], feb["neutral"]) == (1, 1, 0, 1)
    assert feb["mean_score"] == pytest.approx(0.2) and pd.isna(feb["sd_score"])
    weeks = stance.dask.period_aggregates(ddf, by="week").compute(scheduler="sync")
    assert sorted(weeks["period"]) == ["2025-W01", "2025-W04", "2025-W07"]
    with pytest.raises(ValueError):
        stance.dask.period_aggregates(ddf, by="year")
