//! Training documents with their hashed feature keys replaced by small dense ids, so that
//! cross-validation can fit a vectoriser on each subset of documents and turn them into rows
//! with array lookups instead of hashing. Gives exactly what [`Vectoriser::fit`] and
//! [`Vectoriser::transform`] give on the same documents (a test checks it).

use rustc_hash::FxHashMap;

use super::N_DENSE;
use super::{
    sublinear, sum_by_key, CsrRows, DocFeatures, Names, Row, Vectoriser, VectoriserParams,
};
use crate::error::Result;

/// Marks an id outside a subset's vocabulary.
const ABSENT: u32 = u32::MAX;

#[derive(Debug, Clone)]
struct Doc {
    /// Per sentence: its weight and `(id, term frequency)`, ids increasing.
    sentences: Vec<(f32, Vec<(u32, f32)>)>,
    /// The document's distinct ids, increasing.
    distinct: Vec<u32>,
    dense: [f32; N_DENSE],
}

/// Documents over one shared table of feature keys; ids follow key order, so sorting by id
/// is sorting by key.
#[derive(Debug, Clone)]
pub struct InternedDocs {
    /// Every key seen, sorted: a key's id is its position.
    keys: Vec<u64>,
    docs: Vec<Doc>,
}

/// A vectoriser fitted on a subset of [`InternedDocs`], with each id's column.
#[derive(Debug, Clone)]
pub struct SubsetVectoriser {
    /// The fitted vectoriser (the same as [`Vectoriser::fit`] on the subset).
    pub vectoriser: Vectoriser,
    /// Per id, its column, or [`ABSENT`].
    columns: Vec<u32>,
}

impl InternedDocs {
    /// Interns the keys of `docs`, on `threads` threads.
    pub fn new(docs: &[DocFeatures], threads: usize) -> InternedDocs {
        // Each part numbers its keys in order of first appearance; the parts' keys are then
        // merged and sorted, and every part renumbers its ids into key order.
        let per = docs.len().div_ceil(threads.max(1)).max(1);
        let mut parts: Vec<(Vec<Doc>, FxHashMap<u64, u32>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = docs
                .chunks(per)
                .map(|part| scope.spawn(move || number_locally(part)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("interning worker"))
                .collect()
        });
        let mut keys: Vec<u64> = parts
            .iter()
            .flat_map(|(_, seen)| seen.keys().copied())
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let keys_ref = &keys;
        std::thread::scope(|scope| {
            for (part, seen) in parts.iter_mut() {
                scope.spawn(move || {
                    // Both sorted by key: one walk along the merged keys.
                    let mut local: Vec<(u64, u32)> = seen.iter().map(|(&k, &i)| (k, i)).collect();
                    local.sort_unstable();
                    let mut renumber = vec![0u32; local.len()];
                    let mut id = 0;
                    for (k, i) in local {
                        while keys_ref[id] != k {
                            id += 1;
                        }
                        renumber[i as usize] = id as u32;
                    }
                    for d in part.iter_mut() {
                        // Keys were sorted within each sentence, so the new ids are too.
                        for (_, tf) in &mut d.sentences {
                            for p in tf.iter_mut() {
                                p.0 = renumber[p.0 as usize];
                            }
                        }
                        d.distinct = d
                            .sentences
                            .iter()
                            .flat_map(|(_, tf)| tf.iter().map(|p| p.0))
                            .collect();
                        d.distinct.sort_unstable();
                        d.distinct.dedup();
                    }
                });
            }
        });
        InternedDocs {
            keys,
            docs: parts.into_iter().flat_map(|(d, _)| d).collect(),
        }
    }

    /// Fits a vectoriser on the documents `subset` (as [`Vectoriser::fit`] would), naming its
    /// columns from `names` when given.
    ///
    /// # Errors
    /// As [`Vectoriser::fit`].
    pub fn fit(
        &self,
        params: VectoriserParams,
        subset: &[usize],
        names: Option<&Names>,
    ) -> Result<SubsetVectoriser> {
        let params = params.check()?;
        let mut df = vec![0u32; self.keys.len()];
        for &d in subset {
            for &id in &self.docs[d].distinct {
                df[id as usize] += 1;
            }
        }
        let mut columns = vec![ABSENT; self.keys.len()];
        let mut kept = Vec::new();
        for (id, &n) in df.iter().enumerate() {
            if n as usize >= params.min_df {
                columns[id] = (kept.len() + N_DENSE) as u32;
                kept.push((self.keys[id], n));
            }
        }
        let vectoriser = Vectoriser::from_frequencies(params, &kept, subset.len(), names)?;
        Ok(SubsetVectoriser {
            vectoriser,
            columns,
        })
    }
}

/// Documents with ids numbered in order of first appearance, and the numbering.
fn number_locally(docs: &[DocFeatures]) -> (Vec<Doc>, FxHashMap<u64, u32>) {
    let mut seen: FxHashMap<u64, u32> = FxHashMap::default();
    let docs = docs
        .iter()
        .map(|d| {
            let sentences = d
                .sentences
                .iter()
                .map(|(w, tf)| {
                    let ids = tf
                        .iter()
                        .map(|&(k, v)| {
                            let next = seen.len() as u32;
                            (*seen.entry(k).or_insert(next), v)
                        })
                        .collect();
                    (*w, ids)
                })
                .collect();
            Doc {
                sentences,
                distinct: Vec::new(),
                dense: d.dense,
            }
        })
        .collect();
    (docs, seen)
}

impl SubsetVectoriser {
    /// Document `doc`'s row, as [`Vectoriser::transform`] makes it.
    pub fn row(&self, docs: &InternedDocs, doc: usize) -> Row {
        let mut row = Row::default();
        self.append_row(docs, doc, &mut Vec::new(), &mut Vec::new(), &mut row);
        row
    }

    /// The rows of the documents `subset`, as one CSR matrix (no per-row allocation).
    pub fn records(&self, docs: &InternedDocs, subset: &[usize]) -> CsrRows {
        let (mut acc, mut cols) = (Vec::new(), Vec::new());
        let mut all = Row::default();
        let mut indptr = Vec::with_capacity(subset.len() + 1);
        indptr.push(0);
        for &d in subset {
            self.append_row(docs, d, &mut acc, &mut cols, &mut all);
            indptr.push(all.indices.len());
        }
        CsrRows {
            shape: (subset.len(), self.vectoriser.n_features()),
            indptr,
            indices: all.indices,
            values: all.values,
        }
    }

    /// Appends document `doc`'s row to `out`, with scratch buffers `acc` and `cols`.
    fn append_row(
        &self,
        docs: &InternedDocs,
        doc: usize,
        acc: &mut Vec<(u32, f32)>,
        cols: &mut Vec<(u32, f32)>,
        out: &mut Row,
    ) {
        let v = &self.vectoriser;
        let d = &docs.docs[doc];
        acc.clear();
        for (weight, tf) in &d.sentences {
            cols.clear();
            cols.extend(tf.iter().filter_map(|&(id, tf)| {
                let c = self.columns[id as usize];
                (c != ABSENT).then(|| (c, sublinear(tf) * v.idf(c)))
            }));
            let norm = cols.iter().map(|p| p.1 * p.1).sum::<f32>().sqrt();
            if norm > 0.0 {
                acc.extend(cols.iter().map(|&(c, x)| (c, weight * x / norm)));
            }
        }
        sum_by_key(acc);
        for (i, &x) in d.dense.iter().enumerate() {
            if x != 0.0 {
                out.indices.push(i as u32);
                out.values.push(x * v.params.dense_scale);
            }
        }
        for &(c, x) in acc.iter() {
            out.indices.push(c);
            out.values.push(x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(sentences: &[(f32, &[(u64, f32)])], dense0: f32) -> DocFeatures {
        let mut dense = [0.0; N_DENSE];
        dense[0] = dense0;
        DocFeatures {
            sentences: sentences.iter().map(|(w, tf)| (*w, tf.to_vec())).collect(),
            dense,
        }
    }

    #[test]
    fn matches_fitting_and_transforming_by_key() {
        let docs = vec![
            doc(
                &[(0.6, &[(5, 1.0), (90, 2.0)]), (0.4, &[(7, 0.5), (90, 1.0)])],
                0.3,
            ),
            doc(&[(1.0, &[(5, 3.0), (7, 1.0), (11, 1.0)])], 0.0),
            doc(
                &[(0.5, &[(11, 1.0)]), (0.5, &[(90, 1.0), (1 << 40, 1.0)])],
                -0.2,
            ),
            doc(&[(1.0, &[(7, 1.0), (1 << 40, 2.0)])], 0.1),
        ];
        let mut names = Names::default();
        for k in [5u64, 7, 11, 90, 1 << 40] {
            names.insert(k, format!("k{k}"));
        }
        let interned = InternedDocs::new(&docs, 2);
        let params = VectoriserParams::default().min_df(2).dense_scale(0.7);
        for subset in [vec![0, 1, 2, 3], vec![0, 2, 3], vec![1, 3]] {
            let refs: Vec<&DocFeatures> = subset.iter().map(|&i| &docs[i]).collect();
            let by_key = Vectoriser::fit(params.clone(), &refs, &names).unwrap();
            let by_id = interned.fit(params.clone(), &subset, Some(&names)).unwrap();
            assert_eq!(by_key.keys, by_id.vectoriser.keys);
            assert_eq!(by_key.idf, by_id.vectoriser.idf);
            assert_eq!(by_key.names, by_id.vectoriser.names);
            for (d, doc) in docs.iter().enumerate() {
                assert_eq!(by_key.transform(doc), by_id.row(&interned, d));
            }
            let m = by_id.records(&interned, &subset);
            assert_eq!(m.shape, (subset.len(), by_key.n_features()));
            for (r, &d) in subset.iter().enumerate() {
                let row = by_key.transform(&docs[d]);
                let (a, b) = (m.indptr[r], m.indptr[r + 1]);
                let got = (m.indices[a..b].to_vec(), m.values[a..b].to_vec());
                let want = (row.indices, row.values);
                assert_eq!(got, want);
            }
        }
    }
}
