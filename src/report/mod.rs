//! Turning stored scores into trends, charts and reports. [`trend`] is the maths (pure
//! functions, no I/O); [`chart`] draws with plotters (the only user of plotters); [`document`]
//! writes the Markdown and HTML report.

pub mod trend;
