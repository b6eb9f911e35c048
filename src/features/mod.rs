//! Features: articles → sparse rows. Role masking, stemmed unigrams and bigrams, negation
//! marks, counterpart-context terms and cue categories become hashed sparse features weighted by
//! sublinear TF × IDF (IDF learned at training time and stored). Each sentence's vector is
//! L2-normalised and the document row is their relevance-weighted mean, so a long article is
//! not diluted and every feature value traces back to one sentence; eleven dense lexicon
//! features come first in every row. No I/O, and nothing of the model: the classifier joins
//! the two.
//!
//! Extraction runs in passes (`extract/`, one file each); feature keys are made in `keys.rs`;
//! [`DocFeatures`] group an extraction by sentence; the [`Vectoriser`] turns them into rows;
//! [`InternedDocs`] does the same for many training documents at once; [`lexicon`] is the cue
//! lexicon.

mod document;
mod extract;
mod interned;
mod keys;
pub mod lexicon;
mod vectoriser;

pub use document::{effective_sentences, sum_by_key, DocFeatures};
pub use extract::{
    Doc, Extracted, Extractor, Names, Occurrence, CONTEXT_WINDOW, DENSE_NAMES, NO_COLUMN, N_DENSE,
};
pub use interned::{InternedDocs, SubsetVectoriser};
pub use keys::{mix, stem_hash};
pub use vectoriser::{sublinear, ColumnIndex, CsrRows, Row, Vectoriser, VectoriserParams};
