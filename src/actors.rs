//! Actor gazetteer.
