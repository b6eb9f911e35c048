//! stance scores how conciliatory or confrontational news articles are toward a named
//! counterpart, and tracks that stance over time.
//!
//! # Layout
//!
//! The pipeline runs one way: [`text`] (tokens, sentences, stems, negation) → [`actors`]
//! (who is mentioned) → [`features`] (role-masked sparse rows plus lexicon features) →
//! [`model`] (sparse logistic regression on linfa's traits; knows nothing about text) →
//! [`classifier`] (the versioned artifact that joins features and model, the only place they
//! meet, and explains each score) → [`store`] (articles and scores in SQLite) → [`report`]
//! (trends, charts, documents); the `stance` binary's command line sits on top.
//!
//! Dependencies follow that order and never point back. Below the pipeline sit the leaves
//! every stage may use: [`error`] (the error type), [`hash`] (fixed hash functions), [`rng`]
//! (the seeded generator) and [`article`] (articles, labels and scores as plain data, and the
//! readers). So the full order, lowest first, is: [`error`], [`hash`], [`rng`], [`article`],
//! [`text`], [`actors`], [`features`], [`model`], [`classifier`], [`store`], [`report`].
//! A module uses only modules before it; `tests/layering.rs` reads every `crate::` path under
//! `src/` and fails on one that points later.
//!
//! # Examples
//!
//! Score an article toward a counterpart with the model built into the library and read the
//! evidence:
//!
//! ```
//! use stance::{Article, Classifier, Label};
//!
//! let classifier = Classifier::builtin()?;
//! let article = Article {
//!     id: "havana-1".into(),
//!     text: "Havana rejected any dialogue with Washington and accused the US of waging \
//!            economic war against the Cuban people."
//!         .into(),
//!     ..Article::default()
//! };
//! let score = classifier.score(&article, Some("United States"), Some("Cuba"));
//! assert_eq!(score.counterpart.as_deref(), Some("United States"));
//! assert_eq!(score.label, Label::Confrontational);
//! assert!(score.score < 0.0 && score.mentions == 2);
//! // Each evidence sentence carries its exact share of the logit.
//! let top = &score.evidence[0];
//! assert!(top.contribution < 0.0 && !top.terms.is_empty());
//! # Ok::<(), stance::Error>(())
//! ```
#![deny(missing_docs)]

pub mod actors;
pub mod article;
pub mod classifier;
pub mod error;
pub mod features;
pub mod hash;
pub mod model;
pub mod report;
pub mod rng;
pub mod store;
pub mod text;

pub use article::{Article, Evidence, Label, Score};
pub use classifier::Classifier;
pub use error::{Error, Result};
