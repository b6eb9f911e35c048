"""The binary reads the CSV and Parquet files pandas and pyarrow write (dictionary-encoded
columns, datetimes, integer ids, quoted line breaks) as it reads the same articles in JSONL,
and what it writes as CSV or Parquet pandas reads back; `train` and `eval` read labelled tables as
they read JSONL."""

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from conftest import read_scores_csv, read_jsonl, run_cli, write_jsonl

CP = "United States"


def test_pandas_csv_and_parquet_score_as_jsonl(stance_bin, articles, tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", articles[-300:], fields=("id", "text", "title", "date"))
    want = run_cli(stance_bin, "score", "--counterpart", CP, path)
    df = pd.DataFrame(read_jsonl(path))
    df.to_csv(tmp_path / "in.csv", index=False)
    assert run_cli(stance_bin, "score", "--counterpart", CP, tmp_path / "in.csv") == want
    df.to_parquet(tmp_path / "in.parquet", index=False)
    assert run_cli(stance_bin, "score", "--counterpart", CP, tmp_path / "in.parquet") == want
    # Other names, a datetime date, a categorical (dictionary-encoded) title, several row groups.
    other = df.rename(columns={"text": "body", "date": "published"})
    other["published"] = pd.to_datetime(other["published"])
    other["title"] = other["title"].astype("category")
    pq.write_table(pa.Table.from_pandas(other, preserve_index=False), tmp_path / "other.parquet", row_group_size=64)
    got = run_cli(
        stance_bin, "score", "--counterpart", CP, "--text-col", "body", "--date-col", "published",
        tmp_path / "other.parquet",
    )
    assert got == want


def test_tables_written_read_back_in_pandas(stance_bin, articles, tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", articles[-50:], fields=("id", "text", "title", "date"))
    lines = [json.loads(x) for x in run_cli(stance_bin, "score", "--counterpart", CP, path).splitlines()]
    (tmp_path / "out.parquet").write_bytes(run_cli(stance_bin, "score", "--counterpart", CP, "--format", "parquet", path))
    (tmp_path / "out.csv").write_bytes(run_cli(stance_bin, "score", "--counterpart", CP, "--format", "csv", path))
    pqt = pd.read_parquet(tmp_path / "out.parquet")
    csv = read_scores_csv(tmp_path / "out.csv")
    for df in (pqt, csv):
        assert df["id"].tolist() == [x["id"] for x in lines]
        assert df["score"].tolist() == [x["score"] for x in lines]
        assert [json.loads(e) for e in df["evidence"]] == [x["evidence"] for x in lines]
    assert pqt["mentions"].dtype == "int64"


def test_bad_rows_name_file_and_row(stance_bin, tmp_path):
    import subprocess

    def fails(*args):
        p = subprocess.run([stance_bin, "score", "--counterpart", CP, *map(str, args)], capture_output=True)
        assert p.returncode == 2
        return p.stderr.decode()

    (tmp_path / "ragged.csv").write_text('id,text\na,"one\ntwo"\nb,x,y\n')
    assert "ragged.csv:4: the record has 3 fields; the header has 2" in fails(tmp_path / "ragged.csv")
    (tmp_path / "latin1.csv").write_bytes(b"id,text\na,caf\xe9\n")
    assert "latin1.csv:2: column `text`: not valid UTF-8" in fails(tmp_path / "latin1.csv")
    (tmp_path / "notext.csv").write_text("id,body\na,x\n")
    assert "column `text`: no such column (the file has: id, body); name the column to read with --text-col" in fails(tmp_path / "notext.csv")
    pd.DataFrame({"id": ["a"], "text": [3]}).to_parquet(tmp_path / "typed.parquet")
    assert "typed.parquet: column `text`: of type Int64" in fails(tmp_path / "typed.parquet")
    pd.DataFrame({"id": ["a", None], "text": ["x", "y"]}).to_parquet(tmp_path / "noid.parquet")
    assert "noid.parquet:2: missing `id`" in fails(tmp_path / "noid.parquet")


def test_train_and_eval_read_labelled_csv_and_parquet_as_jsonl(stance_bin, articles, tmp_path):
    recs = [a for a in articles if a.get("label") and "diplomacy" in a["id"]]
    path = write_jsonl(tmp_path / "lab.jsonl", recs)
    df = pd.DataFrame(read_jsonl(path)).rename(columns={"text": "body"})
    df.to_csv(tmp_path / "lab.csv", index=False)
    df.to_parquet(tmp_path / "lab.parquet", index=False)
    metrics = lambda *args: json.loads(run_cli(stance_bin, "eval", "--json", *args))[0]["metrics"]  # noqa: E731
    want = metrics(path)
    assert want["n"] > 50
    assert metrics("--text-col", "body", tmp_path / "lab.csv") == want
    assert metrics("--text-col", "body", tmp_path / "lab.parquet") == want
    texts = tmp_path / "texts.jsonl"
    write_jsonl(texts, articles[:300], fields=("id", "text", "title"))
    scores = {}
    for name, args in [("jsonl", [path]), ("csv", ["--text-col", "body", tmp_path / "lab.csv"])]:
        run_cli(stance_bin, "train", "--folds", "0", "--out", tmp_path / name, *args)
        model = tmp_path / name / "model.json"
        scores[name] = run_cli(stance_bin, "score", "--model", model, "--counterpart", CP, texts)
    assert scores["csv"] == scores["jsonl"]
