//! Scoring a stream of articles on all cores: a reader thread batches the records, workers
//! score batches (each with its own [`Scorer`](super::Scorer)), and the results reach the
//! caller's sink in input order, with memory bounded by a few batches in flight.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use super::{worker_threads, Classifier};
use crate::article::{Article, Score};
use crate::error::{Error, Result};

/// Articles handed to a worker at a time.
const BATCH: usize = 64;

/// Scores a stream of `(line, article)` records on all cores, calling `sink` in input order.
/// Memory stays bounded: at most a few batches are in flight. Stops at the first reader or
/// sink error, after delivering every result that precedes it.
///
/// # Errors
/// The first error of the reader or the sink.
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
    score_map_in_order(
        classifier,
        articles,
        counterpart,
        actor,
        |_, _| (),
        |l, a, s, ()| sink(l, a, s),
    )
}

/// Like [`score_in_order`], also running `map` on each result inside the worker threads (for
/// work such as formatting output that should not serialise on the calling thread). `map` may
/// take from the score what the sink will not need (such as evidence it has rendered): freed
/// on the thread that allocated it, it costs less than freed by the calling thread.
///
/// # Errors
/// The first error of the reader or the sink.
pub fn score_map_in_order<I, M, T, F>(
    classifier: &Classifier,
    articles: I,
    counterpart: Option<&str>,
    actor: Option<&str>,
    map: M,
    mut sink: F,
) -> Result<()>
where
    I: Iterator<Item = Result<(usize, Article)>> + Send,
    M: Fn(&Article, &mut Score) -> T + Sync,
    T: Send,
    F: FnMut(usize, Article, Score, T) -> Result<()>,
{
    type Batch = (usize, Vec<(usize, Article)>, Option<Error>);
    type Done<T> = (usize, Vec<(usize, Article, Score, T)>, Option<Error>);
    let workers = worker_threads();
    std::thread::scope(|scope| {
        let (work_tx, work_rx) = mpsc::sync_channel::<Batch>(workers * 2);
        let work_rx = Arc::new(Mutex::new(work_rx));
        let (done_tx, done_rx) = mpsc::sync_channel::<Done<T>>(workers * 2);
        // Reader: batches articles; a read error travels with the batch it ends.
        let reader = scope.spawn(move || {
            let mut seq = 0;
            let mut batch = Vec::with_capacity(BATCH);
            for item in articles {
                match item {
                    Ok(a) => {
                        batch.push(a);
                        if batch.len() == BATCH {
                            if work_tx
                                .send((seq, std::mem::take(&mut batch), None))
                                .is_err()
                            {
                                return;
                            }
                            seq += 1;
                        }
                    }
                    Err(e) => {
                        let _ = work_tx.send((seq, batch, Some(e)));
                        return;
                    }
                }
            }
            if !batch.is_empty() {
                let _ = work_tx.send((seq, batch, None));
            }
        });
        let map = &map;
        for _ in 0..workers {
            let rx = Arc::clone(&work_rx);
            let tx = done_tx.clone();
            scope.spawn(move || {
                let mut scorer = classifier.scorer();
                loop {
                    let next = rx.lock().map(|r| r.recv());
                    let Ok(Ok((seq, batch, err))) = next else {
                        return;
                    };
                    let out = batch
                        .into_iter()
                        .map(|(line, a)| {
                            let mut s = scorer.score(&a, counterpart, actor);
                            let t = map(&a, &mut s);
                            (line, a, s, t)
                        })
                        .collect();
                    if tx.send((seq, out, err)).is_err() {
                        return;
                    }
                }
            });
        }
        // Only the workers may hold the receiving end: once they stop, the reader must stop too.
        drop(work_rx);
        drop(done_tx);
        let mut pending: std::collections::BTreeMap<usize, Done<T>> = Default::default();
        let mut want = 0;
        let mut result = Ok(());
        'recv: for done in done_rx.iter() {
            pending.insert(done.0, done);
            while let Some((_, out, err)) = pending.remove(&want) {
                want += 1;
                for (line, a, s, t) in out {
                    if let Err(e) = sink(line, a, s, t) {
                        result = Err(e);
                        break 'recv;
                    }
                }
                if let Some(e) = err {
                    result = Err(e);
                    break 'recv;
                }
            }
        }
        // Dropping the receiver unblocks workers and the reader on early exit.
        drop(done_rx);
        let _ = reader.join();
        result
    })
}
