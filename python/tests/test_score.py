"""The package scores as the `stance` binary does: byte for byte as JSONL, value for value as a
DataFrame; it takes lists, pandas and pyarrow columns; bad cells raise naming the row; the GIL
is free while it scores."""

import json
import threading
import time

import pandas as pd
import pyarrow as pa
import pytest

import stance
from conftest import read_scores_csv, read_jsonl, run_cli, write_jsonl

CP = "United States"


@pytest.fixture(scope="module")
def model():
    return stance.Model()


@pytest.fixture(scope="module")
def sample(articles, tmp_path_factory):
    """The articles without per-record actor or counterpart (the flags then apply to all),
    as a JSONL file and a DataFrame."""
    path = write_jsonl(
        tmp_path_factory.mktemp("in") / "in.jsonl", articles, fields=("id", "text", "title", "date")
    )
    return path, pd.DataFrame(read_jsonl(path))


def test_jsonl_equals_the_cli_byte_for_byte(model, sample, stance_bin):
    path, df = sample
    cli = run_cli(stance_bin, "score", "--counterpart", CP, "--actor", "Cuba", path)
    py = model.score_jsonl(df["text"], CP, "Cuba", titles=df["title"], ids=df["id"], dates=df["date"])
    assert py.encode("utf-8") == cli
    assert len(py.splitlines()) == len(df) > 2500


def test_dataframe_equals_what_json_reads_of_the_cli(model, sample, stance_bin):
    path, df = sample
    cli = [json.loads(line) for line in run_cli(stance_bin, "score", "--counterpart", CP, path).splitlines()]
    out = model.score(df["text"], counterpart=CP, titles=df["title"], ids=df["id"], dates=df["date"])
    assert list(out.columns) == stance.SCORE_COLUMNS
    rows = out.to_dict("records")
    assert len(rows) == len(cli)
    for row, want in zip(rows, cli):
        assert row.pop("actor") is None
        assert row == want


def test_evidence_as_json_is_the_cli_array(model, sample, stance_bin, tmp_path):
    path, df = sample
    csv = run_cli(stance_bin, "score", "--counterpart", CP, "--format", "csv", path)
    (tmp_path / "out.csv").write_bytes(csv)
    cli = read_scores_csv(tmp_path / "out.csv")
    out = model.score(df["text"], counterpart=CP, titles=df["title"], ids=df["id"], dates=df["date"], evidence="json")
    assert out["evidence"].tolist() == cli["evidence"].tolist()
    assert out["score"].tolist() == cli["score"].tolist()


def test_takes_lists_series_and_pyarrow_columns(model):
    texts = ["Havana rejected any dialogue with Washington.", "Cuba welcomed the talks with the US."]
    want = model.score(texts, counterpart=CP)
    for column in (pd.Series(texts), pa.array(texts), pa.chunked_array([texts[:1], texts[1:]]), tuple(texts)):
        got = model.score(column, counterpart=CP)
        pd.testing.assert_frame_equal(got, want)
    assert want["id"].tolist() == ["0", "1"]
    assert want["label"].tolist() == ["confrontational", "conciliatory"]


def test_score_frame_reads_named_columns_and_index(model):
    df = pd.DataFrame(
        {"body": ["Havana rejected any dialogue with Washington."], "published": ["2025-01-07"]},
        index=[42],
    )
    got = model.score_frame(df, text="body", date="published", counterpart=CP)
    assert got["id"].tolist() == ["42"]
    with pytest.raises(KeyError, match="no text column 'text'"):
        model.score_frame(df, counterpart=CP)


@pytest.mark.parametrize("bad", [None, float("nan"), pd.NA, 7])
def test_a_missing_or_foreign_text_names_its_row(model, bad):
    with pytest.raises(TypeError, match=r"text\[1\]"):
        model.score(["fine", bad, "fine"], counterpart=CP)
    with pytest.raises(TypeError, match=r"text\[1\]"):
        model.score(pd.Series(["fine", bad], dtype=object), counterpart=CP)


def test_missing_titles_and_dates_are_absent_in_every_pandas_dtype(model):
    texts = ["Havana rejected any dialogue with Washington.", "Cuba welcomed the talks with the US."]
    want = model.score_jsonl(texts, CP, titles=["A title", ""], dates=["2025-01-07", ""])
    # pandas 3's default `str` type; before 3, "str" meant object and turned None into "None".
    dtypes = (object, "string", "str") if int(pd.__version__.split(".")[0]) >= 3 else (object, "string")
    for dtype in dtypes:
        titles = pd.Series(["A title", None], dtype=dtype)
        dates = pd.Series(["2025-01-07", None], dtype=dtype)
        assert model.score_jsonl(texts, CP, titles=titles, dates=dates) == want, dtype
    titles = pa.array(["A title", None])
    assert model.score_jsonl(texts, CP, titles=titles, dates=pd.to_datetime(["2025-01-07", None])) == want


def test_bad_arguments_are_clear(model):
    with pytest.raises(TypeError, match="single str"):
        model.score("one text", counterpart=CP)
    with pytest.raises(ValueError, match="column id has 1 rows; text has 2"):
        model.score(["a", "b"], ids=["x"], counterpart=CP)
    with pytest.raises(ValueError, match="evidence="):
        model.score(["a"], counterpart=CP, evidence="all")
    with pytest.raises(stance.StanceError, match="nope.json"):
        stance.Model.load("/nonexistent/nope.json")


def test_the_gil_is_free_while_scoring(model, sample):
    _, df = sample
    texts = df["text"].tolist() * 2
    ticks = []
    done = threading.Event()

    def tick():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=tick)
    t.start()
    start = time.perf_counter()
    model.score(texts, counterpart=CP, evidence="none")
    elapsed = time.perf_counter() - start
    done.set()
    t.join()
    during = [x for x in ticks if start < x < start + elapsed]
    # Holding the GIL, scoring would leave the other thread a tick or two.
    assert len(during) > 20, (len(during), elapsed)


def test_resolve_uses_the_gazetteer():
    r = stance.resolve("the Kremlin")
    assert r["display"] == "Russia"
    assert r["entities"][0]["id"] == "RUS"
    assert stance.resolve("Gondor")["literals"] == ["gondor"]


def test_evaluate_equals_the_cli(model, stance_bin, articles, tmp_path):
    path = write_jsonl(tmp_path / "lab.jsonl", [a for a in articles if a.get("label")])
    cli = json.loads(run_cli(stance_bin, "eval", "--json", path))[0]["metrics"]
    assert model.evaluate(path) == cli
    assert model.evaluate(pd.DataFrame(read_jsonl(path))) == cli


def test_train_equals_the_cli(stance_bin, articles, tmp_path):
    recs = [a for a in articles if a.get("label") and "diplomacy" in a["id"]]
    path = write_jsonl(tmp_path / "train.jsonl", recs)
    run_cli(stance_bin, "train", "--folds", "0", "--out", tmp_path / "cli", path)
    cli = stance.Model.load(tmp_path / "cli" / "model.json")
    py = stance.train(pd.DataFrame(read_jsonl(path)), folds=0)
    py.save(tmp_path / "py.json")
    texts = [a["text"] for a in articles[:200]]
    assert py.score_jsonl(texts, CP) == cli.score_jsonl(texts, CP)
    # The file's own path trains the same model.
    assert stance.train(path, folds=0).score_jsonl(texts, CP) == cli.score_jsonl(texts, CP)
    assert stance.Model.load(tmp_path / "py.json").score_jsonl(texts, CP) == cli.score_jsonl(texts, CP)


def test_the_garbage_collector_is_left_as_it_was(model):
    import gc

    assert gc.isenabled()
    model.score(["Cuba welcomed the talks with the US."], counterpart=CP)
    assert gc.isenabled()
    gc.disable()
    try:
        model.score(["Cuba welcomed the talks with the US."], counterpart=CP)
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(TypeError):
        model.score([None], counterpart=CP)
    assert gc.isenabled()
