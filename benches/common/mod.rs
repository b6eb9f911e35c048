//! Inputs shared by the benches: the committed sample articles, batches of them, size labels.
#![allow(dead_code)] // each bench uses part of this module

use std::path::{Path, PathBuf};

use stance::Article;

/// The committed sample articles (`data/samples/*.jsonl`), in file-name order.
pub fn sample_articles() -> Vec<Article> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/samples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("data/samples")
        .map(|e| e.expect("data/samples entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let articles: Vec<Article> = files
        .iter()
        .flat_map(|f| stance::article::read_path(f).expect("sample file"))
        .map(|r| r.expect("sample article").1)
        .collect();
    assert!(
        !articles.is_empty(),
        "no sample articles in {}",
        dir.display()
    );
    articles
}

/// Bodies of the sample articles, in the same order.
pub fn sample_texts() -> Vec<String> {
    sample_articles().into_iter().map(|a| a.text).collect()
}

/// Whole items, repeated in order until their text holds at least `size` bytes.
pub fn batch<T: Clone>(items: &[T], size: usize, text: impl Fn(&T) -> &str) -> Vec<T> {
    let mut out = Vec::new();
    let mut bytes = 0;
    for a in items.iter().cycle() {
        if bytes >= size {
            break;
        }
        bytes += text(a).len();
        out.push(a.clone());
    }
    out
}

/// `65536` → `64KiB`, `1048576` → `1MiB`.
pub fn size_label(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        format!("{}MiB", bytes >> 20)
    } else {
        format!("{}KiB", bytes >> 10)
    }
}
