"""Scoring an archive too big for one machine on Dask (``dask.distributed``).

A directory of Parquet files is read as a Dask DataFrame, every partition is scored by the
``stance`` package on whichever worker holds it (each worker process loads the model once),
the scored rows are written as Parquet (one file per partition, named by its number, so a
partition a failed worker left half-done is rewritten whole by its retry, never written
twice), and the aggregates per period are computed by Dask, in the form ``stance trend --aggregates``
charts::

    from dask.distributed import Client
    import stance.dask

    client = Client("tcp://scheduler:8786")        # or Client(LocalCluster()) on one machine
    scored = stance.dask.score_parquet("archive/", "scored/", counterpart="United States",
                                       actor="Cuba")
    stance.dask.period_aggregates(scored, by="month").compute().to_csv("monthly.csv", index=False)
    # then: stance trend --aggregates monthly.csv --counterpart "United States" --out chart.svg

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
    out["model_id"] = pd.Series([], dtype="string")
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
    ``stance score`` writes) and the ``model_id`` that scored it. The function Dask runs on
    each partition."""
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
    out["model_id"] = pd.Series([m.id] * len(out), dtype="string")
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


#: The period labels of each width, as ``stance trend --by`` names them.
_LABELS = {"month": "%Y-%m", "week": "%G-W%V", "day": "%Y-%m-%d"}


def period_aggregates(scored, by: str = "month", date: str = "date", text: str = "text", title: str = "title"):
    """Per counterpart, actor (``""`` for none), model (when ``scored`` has ``model_id``) and
    period, the figures ``stance trend
    --aggregates`` charts, computed by Dask the way ``stance trend`` computes them from a store:
    articles naming the counterpart are grouped into stories (:func:`story_key`), a story's
    score is the mean of its copies' and it counts once, in the period of its earliest copy;
    articles that never name it are counted apart.

    Columns: ``counterpart``, ``actor``, ``model_id`` (when present), ``period`` (``YYYY-MM``, ``YYYY-Www`` or
    ``YYYY-MM-DD`` for ``by`` = month, week, day), ``articles`` (copies included), ``stories``,
    ``mean_score`` and ``sd_score`` (mean and standard deviation, n − 1, of the story scores),
    ``unmentioned``, and the articles of each label (``conciliatory``, ``confrontational``,
    ``neutral``). Rows without a usable date are left out, as ``stance trend`` leaves them out.
    Returns a lazy Dask DataFrame; ``.compute()`` gives pandas, whose ``to_csv(index=False)`` or
    ``to_parquet`` writes the table ``stance trend --aggregates`` reads."""
    if by not in _LABELS:
        raise ValueError(f"by={by!r}: give 'month', 'week' or 'day'")
    keys = ["counterpart", "actor"] + (["model_id"] if "model_id" in scored.columns else [])
    df = scored.assign(
        counterpart=scored["counterpart"].astype("string").fillna(""),
        actor=scored["actor"].astype("string").fillna(""),
        _day=scored[date].map_partitions(_day, meta=(date, "datetime64[ns]")),
    )
    df = df[df["_day"].notnull()]
    mentioned = df[df["label"] != "unmentioned"]
    mentioned = mentioned.assign(
        story=mentioned.map_partitions(_story, text, title, meta=("story", "object")),
        conciliatory=(mentioned["label"] == "conciliatory").astype("int64"),
        confrontational=(mentioned["label"] == "confrontational").astype("int64"),
        neutral=(mentioned["label"] == "neutral").astype("int64"),
    )
    # One row per story: its score (the mean of its copies), earliest copy and labels.
    stories = (
        mentioned.groupby(keys + ["story"])
        .agg(
            {
                "score": "mean",
                "_day": "min",
                "id": "count",
                "conciliatory": "sum",
                "confrontational": "sum",
                "neutral": "sum",
            },
            split_out=max(1, scored.npartitions // 4),
        )
        .reset_index()
    )
    stories = stories.assign(period=stories["_day"].dt.strftime(_LABELS[by]))
    out = (
        stories.groupby(keys + ["period"])
        .agg(
            articles=("id", "sum"),
            stories=("score", "count"),
            mean_score=("score", "mean"),
            sd_score=("score", "std"),
            conciliatory=("conciliatory", "sum"),
            confrontational=("confrontational", "sum"),
            neutral=("neutral", "sum"),
        )
        .reset_index()
    )
    unmentioned = df[df["label"] == "unmentioned"]
    unmentioned = (
        unmentioned.assign(period=unmentioned["_day"].dt.strftime(_LABELS[by]))
        .groupby(keys + ["period"])
        .size()
        .rename("unmentioned")
        .reset_index()
    )
    out = out.merge(unmentioned, on=keys + ["period"], how="outer")
    counts = ["articles", "stories", "unmentioned", "conciliatory", "confrontational", "neutral"]
    out = out.assign(**{c: out[c].fillna(0).astype("int64") for c in counts})
    return out[keys + ["period", "articles", "stories", "mean_score", "sd_score", "unmentioned",
                       "conciliatory", "confrontational", "neutral"]]


def monthly(scored, date: str = "date", text: str = "text", title: str = "title"):
    """:func:`period_aggregates` by month."""
    return period_aggregates(scored, "month", date=date, text=text, title=title)


def _day(dates: pd.Series) -> pd.Series:
    """Dates as ``stance`` reads them (``YYYY-MM-DD``, an RFC 3339 timestamp's date, or
    ``YYYYMMDD``), NaT where there is none."""
    return pd.to_datetime(dates.astype("string").str.slice(0, 10), errors="coerce", format="mixed").astype(
        "datetime64[ns]"
    )


def _story(part: pd.DataFrame, text: str, title: str) -> pd.Series:
    titles = part[title] if title in part.columns else pd.Series([None] * len(part), index=part.index)
    return story_key(titles, part[text])
