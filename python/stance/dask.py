"""Scoring an archive too big for one machine on Dask (``dask.distributed``).

A directory of Parquet files is read as a Dask DataFrame, every partition is scored by the
``stance`` package on whichever worker holds it (each worker process loads the model once),
the scored rows are written as Parquet (one file per partition, named by its number, so a
partition a failed worker left half-done is rewritten whole by its retry, never written
twice), and the monthly aggregates are computed by Dask::

    from dask.distributed import Client
    import stance.dask

    client = Client("tcp://scheduler:8786")        # or Client(LocalCluster()) on one machine
    scored = stance.dask.score_parquet("archive/", "scored/", counterpart="United States",
                                       actor="Cuba")
    monthly = stance.dask.monthly(scored).compute()

Every worker needs the ``stance`` wheel installed (and, for a model other than the built-in
one, the model file at the same path), and all of them must reach the input and output
directories (a shared file system, or an object store URL that Dask and pyarrow read).
"""

from __future__ import annotations

import os
from typing import Optional

import pandas as pd

from . import SCORE_COLUMNS, Model

_MODELS: dict = {}


def _model(path: Optional[str]) -> Model:
    """The model of this worker process, loaded on its first partition."""
    if path not in _MODELS:
        _MODELS[path] = Model() if path is None else Model.load(path)
    return _MODELS[path]


def _result_columns(meta_in: pd.DataFrame) -> pd.DataFrame:
    """The scored frame's empty form: the input's columns, then the score's (its ``id``
    aside; ``counterpart`` and ``actor`` become the names as resolved)."""
    out = meta_in.copy()
    types = {
        "counterpart": "string",
        "actor": "string",
        "score": "float64",
        "p_conciliatory": "float64",
        "p_stance": "float64",
        "label": "string",
        "mentions": "int64",
        "intercept": "float64",
        "evidence": "string",
    }
    for name in SCORE_COLUMNS[1:]:
        out[name] = pd.Series([], dtype=types[name])
    return out


def score_partition(
    part: pd.DataFrame,
    counterpart: Optional[str] = None,
    actor: Optional[str] = None,
    text: str = "text",
    id: str = "id",
    title: str = "title",
    date: str = "date",
    model: Optional[str] = None,
) -> pd.DataFrame:
    """Scores one partition: its columns, then the score's (evidence as the JSON text
    ``stance score`` writes). The function Dask runs on each partition."""
    m = _model(model)
    scores = m.score_frame(
        part, text=text, counterpart=counterpart, actor=actor, id=id, title=title, date=date,
        evidence="json",
    )
    out = part.reset_index(drop=True).copy()
    for name in SCORE_COLUMNS[1:]:
        out[name] = scores[name].to_numpy()
    out["mentions"] = out["mentions"].astype("int64")
    # Text as pandas' string type, which every pandas and pyarrow since 1.5 and 10 map to a
    # Parquet string column (an object column's type is guessed from its values).
    for name in ("counterpart", "actor", "label", "evidence"):
        out[name] = out[name].astype("string")
    return out


def score_parquet(
    src: str,
    dst: Optional[str],
    counterpart: Optional[str] = None,
    actor: Optional[str] = None,
    text: str = "text",
    id: str = "id",
    title: str = "title",
    date: str = "date",
    model: Optional[str] = None,
    func=None,
):
    """Scores every row of the Parquet files under ``src`` on the Dask cluster the current
    client points at, writes the scored rows as Parquet under ``dst`` (one ``part.N.parquet``
    per input partition; ``None`` writes nothing) and returns the scored Dask DataFrame
    (read back from ``dst`` when written, so later aggregates do not score again).

    ``model`` is a model file every worker can read (default: the built-in model);
    ``func`` replaces :func:`score_partition` (for tests).
    """
    import dask.dataframe as dd

    ddf = dd.read_parquet(src)
    meta = _result_columns(ddf._meta)
    scored = ddf.map_partitions(
        func or score_partition,
        counterpart=counterpart,
        actor=actor,
        text=text,
        id=id,
        title=title,
        date=date,
        model=os.fspath(model) if model is not None else None,
        meta=meta,
        enforce_metadata=False,
    )
    if dst is None:
        return scored
    scored.to_parquet(dst, write_index=False, overwrite=True)
    return dd.read_parquet(dst)


def story_key(titles: pd.Series, texts: pd.Series) -> pd.Series:
    """A key shared by verbatim reprints of one story: the title (else the text's first 200
    characters) lowercased with its white space collapsed. Coarser than the store's MinHash
    clusters: it groups exact reprints, not edited ones."""
    base = titles.where(titles.notna() & (titles.astype(str).str.strip() != ""), texts.str.slice(0, 200))
    return base.astype(str).str.lower().str.split().str.join(" ")


def monthly(scored, date: str = "date", text: str = "text", title: str = "title"):
    """Monthly aggregates of scored rows, computed by Dask: per month (``YYYY-MM``) the
    ``articles`` scored, ``mentioned`` (those naming the counterpart), ``mean_score`` over
    those, ``stories`` (distinct :func:`story_key` among them) and the count of each label.
    Rows without a usable date are left out, as ``stance trend`` leaves them out. Returns a
    lazy Dask DataFrame indexed by month; ``.compute()`` gives pandas."""
    df = scored.assign(month=scored[date].map_partitions(_month, meta=(date, "object")))
    df = df[df["month"].notnull()]
    df = df.assign(
        story=df.map_partitions(_story, text, title, meta=("story", "object")),
        mentioned=(df["label"] != "unmentioned").astype("int64"),
        mentioned_score=df["score"].where(df["label"] != "unmentioned"),
        conciliatory=(df["label"] == "conciliatory").astype("int64"),
        confrontational=(df["label"] == "confrontational").astype("int64"),
        neutral=(df["label"] == "neutral").astype("int64"),
    )
    g = df.groupby("month")
    out = g.agg(
        {
            "id": "count",
            "mentioned": "sum",
            "mentioned_score": "mean",
            "conciliatory": "sum",
            "confrontational": "sum",
            "neutral": "sum",
        }
    ).rename(columns={"id": "articles", "mentioned_score": "mean_score"})
    stories = df[df["mentioned"] == 1].groupby("month")["story"].nunique().rename("stories")
    return out.join(stories.to_frame(), how="left")


def _month(dates: pd.Series) -> pd.Series:
    parsed = pd.to_datetime(dates.astype("string").str.slice(0, 10), errors="coerce", format="mixed")
    return parsed.dt.strftime("%Y-%m").astype(object).where(parsed.notna(), None)


def _story(part: pd.DataFrame, text: str, title: str) -> pd.Series:
    titles = part[title] if title in part.columns else pd.Series([None] * len(part), index=part.index)
    return story_key(titles, part[text])
