//! Articles in tables (CSV and Parquet): which column holds which field, and one row's cells
//! made an article under the same rules as a JSONL record.

use super::{Article, Label};

/// Which columns of a CSV or Parquet file hold an article's id, text, title and date; `None`
/// takes the field's own name (`id`, `text`, `title`, `date`). The other fields (`actor`,
/// `counterpart`, `url`, `outlet`, `label`) are read from columns of their own names; columns
/// stance does not read are ignored.
///
/// A named column must exist; of the default names only `id` and `text` must.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    /// The column of the id (default `id`).
    pub id: Option<String>,
    /// The column of the text (default `text`).
    pub text: Option<String>,
    /// The column of the title (default `title`).
    pub title: Option<String>,
    /// The column of the date (default `date`).
    pub date: Option<String>,
}

/// The fields a table row can fill, in the order of [`FIELDS`].
pub(super) const N_FIELDS: usize = 9;

/// The fields' own names, in the order cells are handed to [`article_from_cells`].
pub(super) const FIELDS: [&str; N_FIELDS] = [
    "id",
    "text",
    "title",
    "date",
    "actor",
    "counterpart",
    "url",
    "outlet",
    "label",
];

/// What a field's column is called in a file, and whether the file must have it.
pub(super) struct Wanted {
    /// Per field (in [`FIELDS`] order), the column's name.
    pub names: [String; N_FIELDS],
    /// Per field, whether a file without the column is an error.
    pub required: [bool; N_FIELDS],
    /// Per field, the flag that names its column (for messages).
    pub flags: [Option<&'static str>; N_FIELDS],
}

impl Columns {
    /// The column names to look for, and which must be present.
    pub(super) fn wanted(&self) -> Wanted {
        let names = FIELDS.map(String::from);
        let mut w = Wanted {
            names,
            required: [false; N_FIELDS],
            flags: [None; N_FIELDS],
        };
        w.required[0] = true;
        w.required[1] = true;
        let given = [&self.id, &self.text, &self.title, &self.date];
        let flags = ["--id-col", "--text-col", "--title-col", "--date-col"];
        for (i, (name, flag)) in given.into_iter().zip(flags).enumerate() {
            w.flags[i] = Some(flag);
            if let Some(n) = name {
                w.names[i] = n.clone();
                w.required[i] = true;
            }
        }
        w
    }
}

/// One row's cells, in [`FIELDS`] order (`None` for a column the file lacks, or a null).
pub(super) type Cells = [Option<String>; N_FIELDS];

/// Makes an article of one row's cells under the rules of a JSONL record: an id is required,
/// an absent text is empty when the row has a title, empty cells are absent, and a label must
/// be one of the three when `check_labels`.
///
/// # Errors
/// What is wrong with the row, without its location.
pub(super) fn article_from_cells(cells: Cells, check_labels: bool) -> Result<Article, String> {
    let [id, text, title, date, actor, counterpart, url, outlet, label] = cells;
    let nonempty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
    let Some(id) = id.filter(|s| !s.is_empty()) else {
        return Err("missing `id`".into());
    };
    let title = nonempty(title);
    // A table cannot leave a cell out, only empty or null: either reads as an empty text.
    let text = text.unwrap_or_default();
    let label = match label.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(l) if !check_labels => Label::parse(l),
        Some(l) => Some(
            Label::parse(l)
                .filter(|l| *l != Label::Unmentioned)
                .ok_or_else(|| {
                    format!(
                        "record {id:?}: label {l:?} is not conciliatory, confrontational or neutral"
                    )
                })?,
        ),
    };
    if let Some(m) = super::date_out_of_years(&id, date.as_deref()) {
        return Err(m);
    }
    Ok(Article {
        id,
        text,
        title,
        date: nonempty(date),
        actor: nonempty(actor),
        counterpart: nonempty(counterpart),
        url: nonempty(url),
        outlet: nonempty(outlet),
        label,
    })
}

/// "no column `x` (the file has: a, b, c); name it with --x-col" for a missing column.
pub(super) fn missing_column_message(have: &[String], flag: Option<&str>) -> String {
    let mut m = format!("no such column (the file has: {})", have.join(", "));
    if let Some(flag) = flag {
        m.push_str(&format!("; name the column to read with {flag}"));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(id: &str, text: &str, label: &str) -> Cells {
        let mut c: Cells = Default::default();
        c[0] = Some(id.into());
        c[1] = Some(text.into());
        c[8] = Some(label.into());
        c
    }

    #[test]
    fn a_row_reads_as_a_jsonl_record_would() {
        let a = article_from_cells(cells("a", "x", "neutral"), true).unwrap();
        assert_eq!((a.id.as_str(), a.text.as_str()), ("a", "x"));
        assert_eq!(a.label, Some(Label::Neutral));
        let a = article_from_cells(cells("a", "x", ""), true).unwrap();
        assert_eq!((a.label, a.title), (None, None));
        assert!(article_from_cells(cells("", "x", ""), true)
            .unwrap_err()
            .contains("missing `id`"));
        assert!(article_from_cells(cells("a", "x", "positive"), true)
            .unwrap_err()
            .contains("not conciliatory"));
        assert_eq!(
            article_from_cells(cells("a", "x", "positive"), false)
                .unwrap()
                .label,
            None
        );
    }

    /// Regression: a table's date with a year outside 1000-9999 was read (only JSONL refused
    /// it), so a CSV or Parquet file could bring `+262142-12-05` into the store.
    #[test]
    fn a_date_outside_the_years_is_refused_as_in_jsonl() {
        for (date, ok) in [
            ("2020-01-02", true),
            ("no date", true),
            ("0999-12-31", false),
            ("+262142-12-05", false),
        ] {
            let mut c = cells("a", "x", "");
            c[3] = Some(date.into());
            let r = article_from_cells(c, true);
            assert_eq!(r.is_ok(), ok, "{date}: {r:?}");
            if let Err(e) = r {
                assert!(e.contains("has a year outside 1000-9999"), "{e}");
            }
        }
    }

    #[test]
    fn named_columns_are_required_and_default_ones_only_id_and_text() {
        let w = Columns::default().wanted();
        assert_eq!(w.required[..4], [true, true, false, false]);
        let w = Columns {
            date: Some("published".into()),
            ..Columns::default()
        }
        .wanted();
        assert_eq!(w.names[3], "published");
        assert!(w.required[3]);
    }
}
