//! `stance._stance`: the stance library for Python. It scores, trains, evaluates and resolves
//! names with the same library calls the `stance` binary makes, so its results are the
//! binary's. The pure-Python package around it (`python/stance/`) turns pandas and pyarrow
//! columns into lists and results into DataFrames; this module sees only lists, dicts and
//! paths.
//!
//! Scoring copies the texts out of Python, then releases the GIL while the library scores on
//! every core; the results become Python objects once it is done.

use std::path::PathBuf;

use pyo3::create_exception;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyInt, PyList, PyString};
use stance::actors::Gazetteer;
use stance::article::{evidence_json, parse_date, read_all_with, write_json_line, Columns, Part};
use stance::classifier::{
    evaluate, file_sha256, score_map_in_order, train as train_classifier, FileMetrics, ModelCard,
    TrainParams, TrainingFile,
};
use stance::{Article, Classifier, Evidence, Label, Score};

create_exception!(
    _stance,
    StanceError,
    PyValueError,
    "An error of the stance library: unreadable input (naming the file and line or row), a \
     model that does not load, training that cannot proceed."
);

/// A stance error as a Python exception, its message the chain of causes the CLI prints.
fn to_py(e: stance::Error) -> PyErr {
    let mut msg = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        let c_msg = c.to_string();
        if !msg.contains(&c_msg) {
            msg.push_str(": ");
            msg.push_str(&c_msg);
        }
        cause = c.source();
    }
    StanceError::new_err(msg)
}

/// The fields of an article a column of the input may give, in the order of [`Row`].
const FIELDS: [&str; 7] = [
    "id",
    "text",
    "title",
    "date",
    "actor",
    "counterpart",
    "label",
];

/// One cell of an input column: a str, or (for an id or a date) an int; `None` for a missing
/// value (None, a float NaN as pandas' object and `str` columns hold one, or `pandas.NA` as
/// its `string` and Arrow-backed columns do).
fn cell(item: &Bound<'_, PyAny>, column: &str, row: usize) -> PyResult<Option<String>> {
    if let Ok(s) = item.cast::<PyString>() {
        return Ok(Some(s.to_cow()?.into_owned()));
    }
    if item.is_none() {
        return Ok(None);
    }
    if let Ok(f) = item.cast::<PyFloat>() {
        if f.value().is_nan() {
            return Ok(None);
        }
    }
    // `pandas.NA`'s type lives in another module in each pandas version.
    let kind = item.get_type();
    if kind.name()?.to_cow()? == "NAType" && kind.module()?.to_cow()?.starts_with("pandas") {
        return Ok(None);
    }
    if (column == "id" || column == "date") && item.is_instance_of::<PyInt>() {
        return Ok(Some(item.str()?.to_cow()?.into_owned()));
    }
    Err(PyTypeError::new_err(format!(
        "{column}[{row}]: expected str, got {}",
        item.get_type().name()?
    )))
}

/// Articles from columns of equal length (`text` required; `id`, `title`, `date`, `actor`,
/// `counterpart`, `label` optional, each a list). A missing id is the row's position.
///
/// # Errors
/// `TypeError` naming the column and row for a cell that is not text, or a missing text;
/// `ValueError` for columns of unequal length or an unknown label.
fn articles_from(columns: &Bound<'_, PyDict>, check_labels: bool) -> PyResult<Vec<Article>> {
    let mut lists: Vec<Option<Bound<'_, PyList>>> = Vec::with_capacity(FIELDS.len());
    for name in FIELDS {
        let list = match columns.get_item(name)? {
            Some(v) if !v.is_none() => Some(
                v.cast_into::<PyList>()
                    .map_err(|_| PyTypeError::new_err(format!("column {name}: expected a list")))?,
            ),
            _ => None,
        };
        lists.push(list);
    }
    let Some(texts) = &lists[1] else {
        return Err(PyValueError::new_err("no text column"));
    };
    let n = texts.len();
    for (name, list) in FIELDS.iter().zip(&lists) {
        if let Some(l) = list {
            if l.len() != n {
                return Err(PyValueError::new_err(format!(
                    "column {name} has {} rows; text has {n}",
                    l.len()
                )));
            }
        }
    }
    let mut out = Vec::with_capacity(n);
    for row in 0..n {
        let mut cells: [Option<String>; 7] = Default::default();
        for (f, list) in lists.iter().enumerate() {
            if let Some(l) = list {
                cells[f] = cell(&l.get_item(row)?, FIELDS[f], row)?;
            }
        }
        let [id, text, title, date, actor, counterpart, label] = cells;
        let Some(text) = text else {
            return Err(PyTypeError::new_err(format!(
                "text[{row}]: expected str, got a missing value (None or NaN); drop or fill \
                 missing texts first"
            )));
        };
        let label = match label.as_deref() {
            None | Some("") => None,
            Some(l) => match Label::parse(l).filter(|l| *l != Label::Unmentioned) {
                Some(l) => Some(l),
                None if !check_labels => None,
                None => {
                    return Err(PyValueError::new_err(format!(
                        "label[{row}]: {l:?} is not conciliatory, confrontational or neutral"
                    )))
                }
            },
        };
        let nonempty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
        out.push(Article {
            id: id.unwrap_or_else(|| row.to_string()),
            text,
            title: nonempty(title),
            date: nonempty(date),
            actor: nonempty(actor),
            counterpart: nonempty(counterpart),
            label,
            ..Article::default()
        });
    }
    Ok(out)
}

/// A contribution as the CLI's JSON writes it and a JSON reader reads it back: the shortest
/// decimal of its `f32` (the library's `f32_precision`), read as an `f64`.
fn as_written(v: f64) -> f64 {
    let narrow = v as f32;
    if (narrow.is_finite() && (narrow != 0.0 || v == 0.0)) || !v.is_finite() {
        narrow.to_string().parse().unwrap_or(v)
    } else {
        v
    }
}

/// A score's evidence as a list of dicts, the same records `json.loads` makes of the CLI's
/// evidence array.
fn evidence_records<'py>(py: Python<'py>, evidence: &[Evidence]) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for e in evidence {
        let d = PyDict::new(py);
        if e.part == Part::Title {
            d.set_item(pyo3::intern!(py, "part"), "title")?;
        }
        d.set_item(pyo3::intern!(py, "sentence"), &e.sentence)?;
        d.set_item(pyo3::intern!(py, "start"), e.start)?;
        d.set_item(pyo3::intern!(py, "end"), e.end)?;
        d.set_item(
            pyo3::intern!(py, "contribution"),
            as_written(e.contribution),
        )?;
        let terms = PyList::empty(py);
        for t in &e.terms {
            let td = PyDict::new(py);
            td.set_item(pyo3::intern!(py, "term"), &t.term)?;
            td.set_item(
                pyo3::intern!(py, "contribution"),
                as_written(t.contribution),
            )?;
            terms.append(td)?;
        }
        d.set_item(pyo3::intern!(py, "terms"), terms)?;
        out.append(d)?;
    }
    Ok(out)
}

/// A trained stance model (the one built into the library unless loaded from a file).
#[pyclass(name = "Model", module = "stance._stance", frozen)]
struct Model {
    inner: Classifier,
}

#[pymethods]
impl Model {
    /// The model built into the library.
    #[new]
    fn new() -> PyResult<Self> {
        Ok(Model {
            inner: Classifier::builtin().map_err(to_py)?,
        })
    }

    /// Loads a model file written by `stance train` or `Model.save`.
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<Self> {
        Ok(Model {
            inner: Classifier::load(&path).map_err(to_py)?,
        })
    }

    /// The model's id: the first 16 hex digits of its file's SHA-256.
    #[getter]
    fn id(&self) -> &str {
        self.inner.id()
    }

    /// The model card, as Markdown.
    fn card(&self) -> String {
        self.inner.card_markdown()
    }

    /// Writes the model file to `path`.
    fn save(&self, path: PathBuf) -> PyResult<()> {
        self.inner.save(&path).map_err(to_py)
    }

    /// Scores articles given as columns; returns a dict of result columns (`evidence` as
    /// records, as JSON text, or left out).
    #[pyo3(signature = (columns, counterpart=None, actor=None, evidence="records"))]
    fn score_columns<'py>(
        &self,
        py: Python<'py>,
        columns: &Bound<'py, PyDict>,
        counterpart: Option<&str>,
        actor: Option<&str>,
        evidence: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        if !matches!(evidence, "records" | "json" | "none") {
            return Err(PyValueError::new_err(format!(
                "evidence={evidence:?}: give \"records\", \"json\" or \"none\""
            )));
        }
        let articles = articles_from(columns, false)?;
        let n = articles.len();
        let classifier = &self.inner;
        let json = evidence == "json";
        let scored: Vec<(Score, String)> = py
            .detach(|| {
                let mut out = Vec::with_capacity(n);
                score_map_in_order(
                    classifier,
                    numbered(articles),
                    counterpart,
                    actor,
                    |_, s| {
                        if json {
                            evidence_json(&std::mem::take(&mut s.evidence))
                        } else {
                            String::new()
                        }
                    },
                    |_, _, s, ev| {
                        out.push((s, ev));
                        Ok(())
                    },
                )?;
                Ok(out)
            })
            .map_err(to_py)?;
        let out = PyDict::new(py);
        let text_column =
            |f: &dyn Fn(&Score) -> Option<&str>| PyList::new(py, scored.iter().map(|(s, _)| f(s)));
        let float_column =
            |f: &dyn Fn(&Score) -> f64| PyList::new(py, scored.iter().map(|(s, _)| f(s)));
        out.set_item("id", text_column(&|s| Some(s.id.as_str()))?)?;
        out.set_item("counterpart", text_column(&|s| s.counterpart.as_deref())?)?;
        out.set_item("actor", text_column(&|s| s.actor.as_deref())?)?;
        out.set_item("score", float_column(&|s| s.score)?)?;
        out.set_item("p_conciliatory", float_column(&|s| s.p_conciliatory)?)?;
        out.set_item("p_stance", float_column(&|s| s.p_stance)?)?;
        out.set_item("label", text_column(&|s| Some(s.label.as_str()))?)?;
        out.set_item(
            "mentions",
            PyList::new(py, scored.iter().map(|(s, _)| s.mentions))?,
        )?;
        out.set_item("intercept", float_column(&|s| s.intercept)?)?;
        match evidence {
            "records" => {
                let list = PyList::empty(py);
                for (s, _) in &scored {
                    list.append(evidence_records(py, &s.evidence)?)?;
                }
                out.set_item("evidence", list)?;
            }
            "json" => out.set_item(
                "evidence",
                PyList::new(py, scored.iter().map(|(_, e)| e.as_str()))?,
            )?,
            _ => {}
        }
        Ok(out)
    }

    /// Scores articles given as columns; returns the lines `stance score --format jsonl`
    /// prints for them, byte for byte.
    #[pyo3(signature = (columns, counterpart=None, actor=None))]
    fn score_jsonl(
        &self,
        py: Python<'_>,
        columns: &Bound<'_, PyDict>,
        counterpart: Option<&str>,
        actor: Option<&str>,
    ) -> PyResult<String> {
        let articles = articles_from(columns, false)?;
        let classifier = &self.inner;
        py.detach(|| {
            let mut out = Vec::new();
            score_map_in_order(
                classifier,
                numbered(articles),
                counterpart,
                actor,
                |_, s| {
                    let mut line = Vec::with_capacity(4096);
                    write_json_line(&mut line, s).expect("scores serialise");
                    line
                },
                |_, _, _, line| {
                    out.extend_from_slice(&line);
                    Ok(())
                },
            )?;
            Ok(String::from_utf8(out).expect("JSON is UTF-8"))
        })
        .map_err(to_py)
    }

    /// The model's metrics on labelled articles given as columns, or on a file (JSONL, CSV,
    /// Parquet), as JSON (what `stance eval --json` gives as `metrics`).
    #[pyo3(signature = (source, text_col=None, id_col=None, title_col=None, date_col=None))]
    fn evaluate_json(
        &self,
        py: Python<'_>,
        source: &Bound<'_, PyAny>,
        text_col: Option<String>,
        id_col: Option<String>,
        title_col: Option<String>,
        date_col: Option<String>,
    ) -> PyResult<String> {
        let columns = Columns {
            id: id_col,
            text: text_col,
            title: title_col,
            date: date_col,
        };
        let (_, _, records) = source_records(source, &columns)?;
        let classifier = &self.inner;
        let e = py.detach(|| evaluate(classifier, &records));
        serde_json::to_string(&e).map_err(|e| PyValueError::new_err(e.to_string()))
    }
}

/// Articles numbered from 1, as a reader yields them.
fn numbered(
    articles: Vec<Article>,
) -> impl Iterator<Item = stance::Result<(usize, Article)>> + Send {
    articles
        .into_iter()
        .enumerate()
        .map(|(i, a)| Ok((i + 1, a)))
}

/// A training or evaluation source: a path (read as the CLI reads it) or columns. Returns its
/// name, the SHA-256 the model card records (of the file, or of the records as JSON lines)
/// and its records.
fn source_records(
    source: &Bound<'_, PyAny>,
    columns: &Columns,
) -> PyResult<(String, String, Vec<Article>)> {
    if let Ok(d) = source.cast::<PyDict>() {
        let records = articles_from(d, true)?;
        let mut lines = Vec::new();
        for r in &records {
            write_json_line(&mut lines, r).map_err(|e| PyValueError::new_err(e.to_string()))?;
        }
        let name = match d.get_item("__name__")? {
            Some(n) => n.str()?.to_cow()?.into_owned(),
            None => "<DataFrame>".to_string(),
        };
        return Ok((name, stance::hash::sha256_hex(&lines), records));
    }
    let path: PathBuf = source.extract()?;
    let records = read_all_with(std::slice::from_ref(&path), columns).map_err(to_py)?;
    let sha = file_sha256(&path).map_err(to_py)?;
    Ok((path.display().to_string(), sha, records))
}

/// Trains a model as `stance train` does: each source (a path, or a dict of columns) is one
/// training file; `eval` sources are scored by the finished model and recorded in its card.
#[pyfunction]
#[pyo3(signature = (sources, eval, command, folds=None, l2=None, max_iter=None, min_df=None,
    dense_scale=None, balance=true, file_weight_power=None, text_col=None, id_col=None,
    title_col=None, date_col=None))]
#[allow(clippy::too_many_arguments)]
fn train(
    py: Python<'_>,
    sources: Vec<Bound<'_, PyAny>>,
    eval: Vec<Bound<'_, PyAny>>,
    command: String,
    folds: Option<usize>,
    l2: Option<f64>,
    max_iter: Option<u64>,
    min_df: Option<usize>,
    dense_scale: Option<f32>,
    balance: bool,
    file_weight_power: Option<f64>,
    text_col: Option<String>,
    id_col: Option<String>,
    title_col: Option<String>,
    date_col: Option<String>,
) -> PyResult<Model> {
    let columns = Columns {
        id: id_col,
        text: text_col,
        title: title_col,
        date: date_col,
    };
    let mut card = ModelCard {
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        command,
        ..ModelCard::default()
    };
    let (mut records, mut file_of) = (Vec::new(), Vec::new());
    for (i, source) in sources.iter().enumerate() {
        let (path, sha256, recs) = source_records(source, &columns)?;
        let mut by_label = [0usize; 3];
        for r in &recs {
            match r.label {
                Some(Label::Conciliatory) => by_label[0] += 1,
                Some(Label::Confrontational) => by_label[1] += 1,
                Some(Label::Neutral) => by_label[2] += 1,
                _ => {}
            }
        }
        card.training_files.push(TrainingFile {
            path,
            sha256,
            records: recs.len(),
            by_label,
        });
        file_of.extend(std::iter::repeat_n(i, recs.len()));
        records.extend(recs);
    }
    let mut params = TrainParams::default();
    params.folds = folds.unwrap_or(params.folds);
    params.file_weight_power = file_weight_power.unwrap_or(params.file_weight_power);
    let mut model = params.model.clone().balanced(balance);
    if let Some(l2) = l2 {
        model = model.l2(l2);
    }
    if let Some(m) = max_iter {
        model = model.max_iter(m);
    }
    params.model = model;
    let mut vectoriser = params.vectoriser.clone();
    if let Some(m) = min_df {
        vectoriser = vectoriser.min_df(m);
    }
    if let Some(d) = dense_scale {
        vectoriser = vectoriser.dense_scale(d);
    }
    params.vectoriser = vectoriser;
    let classifier = py
        .detach(|| train_classifier(&records, &file_of, params, card, &mut |_| {}))
        .map_err(to_py)?;
    let mut evaluation = Vec::new();
    for source in &eval {
        let (path, sha256, recs) = source_records(source, &columns)?;
        let e = py.detach(|| evaluate(&classifier, &recs));
        evaluation.push(FileMetrics {
            path,
            sha256,
            n: e.binary.n,
            accuracy: e.binary.accuracy,
            macro_f1: e.binary.macro_f1,
            roc_auc: e.binary.roc_auc,
            n_3: e.n_3,
            macro_f1_3: e.macro_f1_3,
        });
    }
    Ok(Model {
        inner: classifier.with_evaluation(evaluation),
    })
}

/// What a name resolves to in the gazetteer (as `stance actors` shows it), as of a date
/// (`YYYY-MM-DD`; default today).
#[pyfunction]
#[pyo3(signature = (name, date=None))]
fn resolve<'py>(py: Python<'py>, name: &str, date: Option<&str>) -> PyResult<Bound<'py, PyDict>> {
    let date =
        match date {
            Some(d) => Some(parse_date(d).ok_or_else(|| {
                PyValueError::new_err(format!("{d:?} is not a date (YYYY-MM-DD)"))
            })?),
            None => None,
        };
    let g = Gazetteer::builtin();
    let r = g.resolve_at(name, date);
    let entity = |e: u32| -> PyResult<Bound<'py, PyDict>> {
        let e = g.entity(e);
        let d = PyDict::new(py);
        d.set_item("id", &e.id)?;
        d.set_item("kind", &e.kind)?;
        d.set_item("name", &e.name)?;
        d.set_item("aliases", &e.aliases)?;
        Ok(d)
    };
    let out = PyDict::new(py);
    out.set_item("name", name)?;
    out.set_item("display", (!r.display.is_empty()).then_some(&r.display))?;
    let entities = PyList::empty(py);
    for &e in &r.entities {
        entities.append(entity(e)?)?;
    }
    out.set_item("entities", entities)?;
    let fallback = PyList::empty(py);
    for &e in &r.fallback {
        fallback.append(entity(e)?)?;
    }
    out.set_item("fallback", fallback)?;
    let literals: Vec<String> = r.literals.iter().map(|l| l.join(" ")).collect();
    out.set_item("literals", literals)?;
    Ok(out)
}

#[pymodule]
fn _stance(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Model>()?;
    m.add_function(wrap_pyfunction!(train, m)?)?;
    m.add_function(wrap_pyfunction!(resolve, m)?)?;
    m.add("StanceError", m.py().get_type::<StanceError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
