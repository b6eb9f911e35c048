"""Shared fixtures: the repository's own data, and the `stance` binary the Python package must
agree with (STANCE_BIN, else the release build under target/). Tests write only to pytest's
temporary directories."""

import json
import os
import pathlib
import subprocess

import pandas as pd
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def stance_bin() -> str:
    path = os.environ.get("STANCE_BIN") or str(REPO / "target" / "release" / "stance")
    if not os.path.exists(path):
        pytest.fail(f"no stance binary at {path}: run `cargo build --release` or set STANCE_BIN")
    return path


def run_cli(stance_bin, *args) -> bytes:
    """Runs the binary and returns its standard output (fails the test on an error)."""
    p = subprocess.run([stance_bin, *map(str, args)], capture_output=True)
    assert p.returncode == 0, p.stderr.decode()
    return p.stdout


def read_jsonl(path) -> list:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="session")
def articles() -> list:
    """The repository's articles: every labelled corpus record and every dated sample, ids made
    unique by their file's name (about 3,000)."""
    out = []
    files = sorted((REPO / "data" / "corpus").glob("*.jsonl")) + sorted(
        (REPO / "data" / "samples").glob("*.jsonl")
    )
    for path in files:
        for r in read_jsonl(path):
            r["id"] = f"{path.stem}/{r['id']}"
            out.append(r)
    return out


def write_jsonl(path, records, fields=("id", "text", "title", "date", "actor", "counterpart", "label")):
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps({k: r[k] for k in fields if r.get(k) is not None}) + "\n")
    return path


def read_scores_csv(path) -> pd.DataFrame:
    """`stance score --format csv` output as pandas reads it: empty fields as empty strings,
    floats parsed to the value their digits spell (pandas 3 always does; older versions only
    when asked)."""
    kw = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    return pd.read_csv(path, keep_default_na=False, **kw)
