"""Type stubs of the stance package (see __init__.py for the documentation)."""

import os
from typing import Any, Iterable, Literal, Optional, Sequence, TypedDict, Union

import pandas as pd

__version__: str
SCORE_COLUMNS: list[str]

class StanceError(ValueError):
    """Unreadable input (naming the file and line or row), a model that does not load,
    training that cannot proceed."""

Column = Union[Sequence[Any], Iterable[Any], "pd.Series[Any]", Any]
Source = Union[str, os.PathLike[str], pd.DataFrame]

class Term(TypedDict):
    term: str
    contribution: float

class Evidence(TypedDict, total=False):
    part: Literal["title"]
    sentence: str
    start: int
    end: int
    contribution: float
    terms: list[Term]

class Entity(TypedDict):
    id: str
    kind: str
    name: str
    aliases: list[str]

class Resolution(TypedDict):
    name: str
    display: Optional[str]
    entities: list[Entity]
    fallback: list[Entity]
    literals: list[str]

class Model:
    """A stance model: Model() is the built-in one, Model.load(path) another."""

    def __init__(self) -> None: ...
    @classmethod
    def load(cls, path: Union[str, os.PathLike[str]]) -> Model:
        """Loads a model file written by `stance train` or Model.save."""
    @property
    def id(self) -> str:
        """The first 16 hex digits of the model file's SHA-256."""
    def card(self) -> str:
        """The model card as Markdown."""
    def save(self, path: Union[str, os.PathLike[str]]) -> None:
        """Writes the model file."""
    def score(
        self,
        texts: Column,
        counterpart: Optional[str] = None,
        actor: Optional[str] = None,
        titles: Optional[Column] = None,
        ids: Optional[Column] = None,
        dates: Optional[Column] = None,
        evidence: Literal["records", "json", "none"] = "records",
    ) -> pd.DataFrame:
        """Scores texts toward counterpart: one row per text, the columns of
        `stance score --format jsonl`."""
    def score_frame(
        self,
        df: pd.DataFrame,
        text: str = "text",
        counterpart: Optional[str] = None,
        actor: Optional[str] = None,
        id: str = "id",
        title: str = "title",
        date: str = "date",
        evidence: Literal["records", "json", "none"] = "records",
    ) -> pd.DataFrame:
        """Scores the articles of a DataFrame (its text column, and id/title/date/actor/
        counterpart columns when present)."""
    def score_jsonl(
        self,
        texts: Column,
        counterpart: Optional[str] = None,
        actor: Optional[str] = None,
        titles: Optional[Column] = None,
        ids: Optional[Column] = None,
        dates: Optional[Column] = None,
    ) -> str:
        """The lines `stance score --format jsonl` prints, byte for byte."""
    def evaluate(self, data: Source, text: str = "text", label: str = "label") -> dict[str, Any]:
        """Metrics on labelled articles, as `stance eval --json` gives them."""

def train(
    data: Union[Source, Sequence[Source]],
    *,
    eval: Sequence[Source] = (),
    folds: int = 5,
    l2: Optional[float] = None,
    max_iter: Optional[int] = None,
    min_df: Optional[int] = None,
    dense_scale: Optional[float] = None,
    balance: bool = True,
    file_weight_power: Optional[float] = None,
    text: str = "text",
) -> Model:
    """Trains a model as `stance train` does."""

def resolve(name: str, date: Optional[str] = None) -> Resolution:
    """What a name resolves to in the gazetteer."""
