//! stance scores how conciliatory or confrontational news articles are toward a named
//! counterpart, and tracks that stance over time.
//!
//! The pipeline runs one way: [`text`] (tokens, sentences, stems, negation) → [`actors`]
//! (who is mentioned) → [`features`] (role-masked sparse rows plus lexicon features) →
//! [`model`] (sparse logistic regression on linfa's traits) → [`classifier`] (the versioned
//! artifact that joins them and explains each score) → [`store`] and [`report`] (articles over
//! time, charts).
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
pub mod large_pages;
pub mod model;
pub mod report;
pub mod rng;
pub mod store;
pub mod text;

pub use article::{Article, Evidence, Label, Score};
pub use classifier::Classifier;
pub use error::{Error, Result};
