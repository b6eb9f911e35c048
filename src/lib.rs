//! stance scores how conciliatory or confrontational news articles are toward a named
//! counterpart, and tracks that stance over time.
#![deny(missing_docs)]

pub mod actors;
pub mod article;
pub mod classifier;
pub mod error;
pub mod features;
pub mod model;
pub mod report;
pub mod store;
pub mod text;

pub use article::{Article, Evidence, Label, Score};
pub use classifier::Classifier;
pub use error::{Error, Result};
