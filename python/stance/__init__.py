"""Score how conciliatory or confrontational news articles are toward a named counterpart.

The Python face of the ``stance`` Rust library: the same model, the same scores as the
``stance`` command (byte for byte), with pandas DataFrames in and out::

    import stance
    m = stance.Model()                      # the model built into the library
    df = m.score(["Havana rejected any dialogue with Washington."],
                 counterpart="United States", actor="Cuba")
    df[["id", "score", "label"]]

Scoring releases the GIL and runs on every core.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from . import _stance
from ._stance import StanceError

__all__ = ["Model", "StanceError", "resolve", "train", "__version__"]
__version__: str = _stance.__version__

#: Result columns of :meth:`Model.score`, in order.
SCORE_COLUMNS = [
    "id",
    "counterpart",
    "actor",
    "score",
    "p_conciliatory",
    "p_stance",
    "label",
    "mentions",
    "intercept",
    "evidence",
]


def _as_list(values: Any, name: str) -> Optional[list]:
    """A column as a list: a list or tuple as it is, a pandas Series, a pyarrow Array or
    ChunkedArray, a numpy array or any other iterable; ``None`` stays ``None``. A single
    string is refused (it would be read as a column of characters)."""
    if values is None:
        return None
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name}: expected a column of values, got a single {type(values).__name__}")
    if isinstance(values, list):
        return values
    if hasattr(values, "to_pylist"):  # pyarrow Array / ChunkedArray
        return values.to_pylist()
    if hasattr(values, "tolist"):  # pandas Series, numpy array
        return values.tolist()
    return list(values)


def _dates(values: Any) -> Optional[list]:
    """A date column as text: datetimes and dates as ``YYYY-MM-DD``."""
    if values is None:
        return None
    if hasattr(values, "dtype") and "datetime" in str(values.dtype):
        # A datetime Series or DatetimeIndex: NaT becomes NaN, a missing date.
        strftime = values.dt.strftime if hasattr(values, "dt") else values.strftime
        return strftime("%Y-%m-%d").tolist()
    out = _as_list(values, "dates")
    # NaT (the one value not equal to itself that has strftime) is a missing date.
    return [(None if v != v else v.strftime("%Y-%m-%d")) if hasattr(v, "strftime") else v for v in out]


def _columns(texts, ids=None, titles=None, dates=None, actors=None, counterparts=None, labels=None):
    cols = {
        "text": _as_list(texts, "texts"),
        "id": _as_list(ids, "ids"),
        "title": _as_list(titles, "titles"),
        "date": _dates(dates),
        "actor": _as_list(actors, "actors"),
        "counterpart": _as_list(counterparts, "counterparts"),
        "label": _as_list(labels, "labels"),
    }
    return {k: v for k, v in cols.items() if v is not None}


def _frame_columns(df, text="text", id="id", title="title", date="date", label="label"):
    """The article columns of a DataFrame: ``text`` must exist; the others are read when
    present (``actor`` and ``counterpart`` too, overriding the arguments per row); without an
    id column the frame's index gives the ids."""
    if text not in df.columns:
        raise KeyError(f"no text column {text!r} in the DataFrame (it has: {', '.join(map(str, df.columns))})")
    get = lambda name: df[name] if name is not None and name in df.columns else None  # noqa: E731
    ids = get(id)
    if ids is None:
        ids = [str(i) for i in df.index]
    return _columns(
        df[text],
        ids=ids,
        titles=get(title),
        dates=get(date),
        actors=get("actor"),
        counterparts=get("counterpart"),
        labels=get(label),
    )


def _source(data, **frame_columns):
    """A training or evaluation source for the extension: a path as text, or a dict of
    columns (from a DataFrame)."""
    if isinstance(data, (str, os.PathLike)):
        return os.fspath(data)
    if hasattr(data, "columns"):
        return _frame_columns(data, **frame_columns)
    if isinstance(data, Mapping):
        return dict(data)
    raise TypeError(f"expected a path or a DataFrame, got {type(data).__name__}")


@contextlib.contextmanager
def _no_gc():
    """Python's cyclic garbage collector paused while the results (hundreds of thousands of
    evidence dicts for a large batch, none of them in a cycle) are built: each collection it
    would start midway walks every object the program holds."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Model:
    """A stance model: ``Model()`` is the one built into the library, ``Model.load(path)``
    one written by ``stance train`` or :meth:`save`."""

    def __init__(self, _inner: Optional[_stance.Model] = None):
        self._inner = _inner if _inner is not None else _stance.Model()

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> "Model":
        """Loads a model file (``model.json``); raises :class:`StanceError` for a missing,
        truncated or foreign file."""
        return cls(_stance.Model.load(os.fspath(path)))

    @property
    def id(self) -> str:
        """The model's id: the first 16 hex digits of its file's SHA-256."""
        return self._inner.id

    def card(self) -> str:
        """The model card (training files, parameters, metrics) as Markdown."""
        return self._inner.card()

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Writes the model file (``model.json``) to ``path``."""
        self._inner.save(os.fspath(path))

    def score(
        self,
        texts,
        counterpart: Optional[str] = None,
        actor: Optional[str] = None,
        titles=None,
        ids=None,
        dates=None,
        evidence: str = "records",
    ):
        """Scores articles toward ``counterpart`` and returns a pandas DataFrame, one row per
        text in order, with the columns of ``stance score --format jsonl``: ``id``,
        ``counterpart``, ``actor``, ``score`` (in [-1, 1]), ``p_conciliatory``, ``p_stance``,
        ``label``, ``mentions``, ``intercept`` and ``evidence``.

        ``texts`` (and ``titles``, ``ids``, ``dates``) may be lists, pandas Series, pyarrow
        arrays or any iterable; ``ids`` default to the positions ``"0"``, ``"1"``, …; dates
        (``YYYY-MM-DD`` text or datetimes) choose what a name meant then.

        ``evidence="records"`` gives each row's evidence as a list of dicts (``sentence``,
        ``start``, ``end``, ``contribution``, ``terms``; ``part`` for a title sentence), the
        values ``json.loads`` reads from the command's output; ``"json"`` gives that JSON
        array as text, byte for byte; ``"none"`` leaves the column out (fastest).

        Raises ``TypeError`` naming the row for a text that is missing (None, NaN) or not a
        str, and :class:`StanceError` for a model failure.
        """
        cols = _columns(texts, ids=ids, titles=titles, dates=dates)
        with _no_gc():
            return self._frame(self._inner.score_columns(cols, counterpart, actor, evidence))

    def score_frame(
        self,
        df,
        text: str = "text",
        counterpart: Optional[str] = None,
        actor: Optional[str] = None,
        id: str = "id",
        title: str = "title",
        date: str = "date",
        evidence: str = "records",
    ):
        """Scores the articles of a DataFrame: the ``text`` column (and ``id``, ``title``,
        ``date``, ``actor``, ``counterpart`` columns when present; per-row ``actor`` and
        ``counterpart`` override the arguments). Returns the DataFrame :meth:`score` does;
        without an id column the ids are the frame's index as text."""
        cols = _frame_columns(df, text=text, id=id, title=title, date=date, label=None)
        with _no_gc():
            return self._frame(self._inner.score_columns(cols, counterpart, actor, evidence))

    def score_jsonl(self, texts, counterpart=None, actor=None, titles=None, ids=None, dates=None) -> str:
        """The lines ``stance score --format jsonl`` prints for these articles, byte for
        byte (one JSON object a line, each ending in ``\\n``)."""
        cols = _columns(texts, ids=ids, titles=titles, dates=dates)
        return self._inner.score_jsonl(cols, counterpart, actor)

    def evaluate(self, data, text: str = "text", label: str = "label") -> dict:
        """The model's metrics on labelled articles: a DataFrame with ``text`` and ``label``
        columns (``conciliatory``, ``confrontational``, ``neutral``), or a JSONL, CSV or
        Parquet file. Returns what ``stance eval --json`` gives as ``metrics``: ``n``,
        ``accuracy``, ``macro_f1``, ``roc_auc``, ``confusion``, ``n_3``, ``macro_f1_3``,
        ``unmentioned``."""
        src = _source(data, text=text, label=label)
        kw = {} if not isinstance(src, str) or text == "text" else {"text_col": text}
        return json.loads(self._inner.evaluate_json(src, **kw))

    @staticmethod
    def _frame(cols: dict):
        import pandas as pd

        return pd.DataFrame({k: cols[k] for k in SCORE_COLUMNS if k in cols})

    def __repr__(self) -> str:
        return f"stance.Model(id={self.id!r})"


def train(
    data,
    *,
    eval: Sequence = (),
    folds: int = 5,
    l2: Optional[float] = None,
    max_iter: Optional[int] = None,
    min_df: Optional[int] = None,
    dense_scale: Optional[float] = None,
    balance: bool = True,
    file_weight_power: Optional[float] = None,
    text: str = "text",
) -> Model:
    """Trains a model as ``stance train`` does and returns it (``Model.save`` writes it).

    ``data`` is a DataFrame with ``id``, ``text`` and ``label`` columns (``title``, ``date``,
    ``actor``, ``counterpart`` when present), a path (JSONL, CSV, Parquet), or a list of
    these: each is one training file, weighted as the command weighs files. ``eval`` sources
    are scored by the finished model and recorded in its card. Parameters left ``None`` take
    the command's defaults.
    """
    sources = data if isinstance(data, (list, tuple)) else [data]
    conv = [_source(s, text=text) for s in sources]
    evals = [_source(s, text=text) for s in eval]
    command = "stance.train(" + ", ".join(
        s if isinstance(s, str) else "<DataFrame>" for s in conv
    ) + ")"
    inner = _stance.train(
        conv,
        evals,
        command,
        folds=folds,
        l2=l2,
        max_iter=max_iter,
        min_df=min_df,
        dense_scale=dense_scale,
        balance=balance,
        file_weight_power=file_weight_power,
        text_col=None if text == "text" else text,
    )
    return Model(inner)


def resolve(name: str, date: Optional[str] = None) -> dict:
    """What a name resolves to in the gazetteer, as ``stance actors`` shows it:
    ``display`` (the canonical name, or None), ``entities`` (``id``, ``kind``, ``name``,
    ``aliases``), ``fallback`` entities and ``literals`` matched word for word. ``date``
    (``YYYY-MM-DD``) resolves as of that day ("Bonn" in 1980)."""
    return _stance.resolve(name, date)
