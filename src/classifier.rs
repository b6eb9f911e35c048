//! TEMPORARY interface placeholder while the pipeline is written (replaced by the real classifier).
#![allow(missing_docs)]
use crate::article::{Article, Label, Score};
use crate::error::Result;
use std::path::Path;

pub struct Classifier;

impl Classifier {
    pub fn builtin() -> Result<Classifier> {
        Ok(Classifier)
    }
    pub fn load(_path: &Path) -> Result<Classifier> {
        Ok(Classifier)
    }
    pub fn id(&self) -> &str {
        "placeholder"
    }
    pub fn card_markdown(&self) -> String {
        String::new()
    }
    pub fn card_json(&self) -> String {
        "{}".into()
    }
    pub fn score(&self, article: &Article, counterpart: Option<&str>, actor: Option<&str>) -> Score {
        let cp = article.counterpart.as_deref().or(counterpart).map(String::from);
        let _ = actor;
        let p = if article.text.contains("reject") { 0.2 } else { 0.7 };
        Score {
            id: article.id.clone(),
            counterpart: cp,
            actor: None,
            score: 2.0 * p - 1.0,
            p_conciliatory: p,
            label: if p > 0.5 { Label::Conciliatory } else { Label::Confrontational },
            mentions: 0,
            intercept: 0.0,
            evidence: vec![],
        }
    }
}

/// Scores a stream of `(line, article)` records with both cores, calling `sink` in input order.
/// Stops at the first reader or sink error.
pub fn score_in_order<I, F>(
    classifier: &Classifier,
    articles: I,
    counterpart: Option<&str>,
    actor: Option<&str>,
    mut sink: F,
) -> Result<()>
where
    I: Iterator<Item = Result<(usize, Article)>> + Send,
    F: FnMut(usize, Article, Score) -> Result<()>,
{
    for item in articles {
        let (line, a) = item?;
        let s = classifier.score(&a, counterpart, actor);
        sink(line, a, s)?;
    }
    Ok(())
}
