//! The library's modules depend on each other one way only, in the order `src/lib.rs` documents:
//! each may use the modules before it in [`ORDER`] and none after it. This test reads every
//! file of the library under `src/` and fails on a path (`use crate::…`, `crate::…` in code or in
//! a doc link, or `super::…` reaching the crate root) that names a later module, and on a module
//! missing from the order.

use std::path::{Path, PathBuf};

/// The library's top-level modules, lowest first. `error`, `hash` and `rng` are leaves every
/// stage may use; `article` is the plain data (articles, labels, scores) the stages pass along.
const ORDER: &[&str] = &[
    "error",
    "hash",
    "rng",
    "article",
    "text",
    "actors",
    "features",
    "model",
    "classifier",
    "store",
    "report",
];

/// Lower modules a module must not use although the order allows it: the model knows nothing
/// about text, so the classifier is the only place features and model meet.
const FORBIDDEN: &[(&str, &[&str])] = &[("model", &["text", "actors", "features"])];

/// Files of the binary rather than the library (they use the library as `stance::`).
fn is_binary(rel: &Path) -> bool {
    rel == Path::new("main.rs") || rel == Path::new("large_pages.rs") || rel.starts_with("cli")
}

fn rank(module: &str) -> Option<usize> {
    ORDER.iter().position(|m| *m == module)
}

/// The top-level module a file under `src/` belongs to, and how many `super::` reach the crate
/// root from it.
fn module_of(rel: &Path) -> (String, usize) {
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let top = parts[0].trim_end_matches(".rs").to_string();
    let in_mod_rs = parts.last().is_some_and(|f| f == "mod.rs");
    let depth = parts.len() - usize::from(in_mod_rs);
    (top, depth)
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The top-level modules named by the paths in `source`, a file `depth` `super::` below the
/// crate root.
fn used_modules(source: &str, depth: usize) -> Vec<String> {
    let mut used = Vec::new();
    let bytes = source.as_bytes();
    for (at, _) in source.match_indices("crate::") {
        // Not a path that starts here: an identifier ending in "crate", or a macro's `$crate`.
        if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || b"_$".contains(&bytes[at - 1])) {
            continue;
        }
        let rest = &source[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a::X, b}`: the first identifier of each item at the group's top level.
            let mut level = 0;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => level += 1,
                    '}' if level == 0 => break,
                    '}' => level -= 1,
                    ',' if level == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        used.push(ident_at(&group[i..]).to_string());
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            used.push(ident_at(rest).to_string());
        }
    }
    // `super::` chains long enough to leave the top-level module reach the crate root. A file's
    // inline `mod tests` (the only inline module the library writes) is one level deeper.
    let tests_at = source.find("mod tests {").unwrap_or(source.len());
    for (at, _) in source.match_indices("super::") {
        let before = &source[..at];
        if before.ends_with("super::") {
            continue; // counted from the chain's first `super::`
        }
        let mut rest = &source[at..];
        let mut n = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            rest = r;
            n += 1;
        }
        if n >= depth + usize::from(at > tests_at) {
            used.push(ident_at(rest).to_string());
        }
    }
    used.retain(|m| !m.is_empty() && m != "self");
    used
}

/// The names `src/lib.rs` re-exports at the crate root (`pub use classifier::Classifier;`),
/// each with the module it comes from.
fn root_reexports() -> Vec<(String, String)> {
    let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"))
        .expect("src/lib.rs");
    let mut out = Vec::new();
    for line in lib.lines() {
        let Some(path) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        let path = path.trim_end_matches(';');
        let Some((module, names)) = path.split_once("::") else {
            continue;
        };
        for name in names.trim_matches(|c| c == '{' || c == '}').split(',') {
            let name = name.trim().rsplit("::").next().unwrap_or("").to_string();
            out.push((name, module.to_string()));
        }
    }
    out
}

/// The module a name used at the crate root stands for: a module itself, or the module a
/// re-export comes from.
fn resolve(name: &str) -> String {
    root_reexports()
        .into_iter()
        .find(|(n, _)| n == name)
        .map_or_else(|| name.to_string(), |(_, m)| m)
}

/// Every dependency of `module` (with source `source`) that breaks the order.
fn violations(module: &str, source: &str, depth: usize) -> Vec<String> {
    let Some(own) = rank(module) else {
        return vec![format!(
            "module `{module}` is not in the order; add it to ORDER here and to src/lib.rs's docs"
        )];
    };
    let forbidden = FORBIDDEN
        .iter()
        .find(|(m, _)| *m == module)
        .map_or(&[][..], |(_, f)| *f);
    let mut out = Vec::new();
    for used in used_modules(source, depth) {
        let used = resolve(&used);
        if used == module {
            continue;
        }
        match rank(&used) {
            Some(r) if r > own => out.push(format!(
                "`{module}` uses `{used}`, which comes after it in the order"
            )),
            Some(_) if forbidden.contains(&used.as_str()) => {
                out.push(format!("`{module}` uses `{used}`, which it must not"))
            }
            Some(_) => {}
            None => out.push(format!(
                "`{module}` uses `crate::{used}`, which is neither a module nor a re-export"
            )),
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn library_modules_depend_only_on_modules_before_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src/");
        if rel == Path::new("lib.rs") || is_binary(rel) {
            continue;
        }
        let (module, depth) = module_of(rel);
        let source = std::fs::read_to_string(file).expect("source is UTF-8");
        for v in violations(&module, &source, depth) {
            problems.push(format!("{}: {v}", rel.display()));
        }
        checked += 1;
    }
    assert!(
        checked > 20,
        "only {checked} library files found under src/"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The order written in `src/lib.rs`'s documentation is the order this test enforces.
#[test]
fn lib_docs_state_the_same_order() {
    let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"))
        .expect("src/lib.rs");
    let mut at = 0;
    for m in ORDER {
        let needle = format!("[`{m}`]");
        match lib[at..].find(&needle) {
            Some(i) => at += i + needle.len(),
            None => panic!("src/lib.rs does not name {needle} after the modules before it"),
        }
    }
}

/// The checker itself finds upward edges in each form a path can take, and lets downward ones
/// and the model's own independence from text through as the rules say.
#[test]
fn the_checker_catches_upward_paths_in_every_form() {
    assert_eq!(
        violations("features", "use crate::text::Token;", 1).len(),
        0
    );
    for upward in [
        "use crate::classifier::effective_sentences;",
        "let x = crate::classifier::BATCH;",
        "use crate::{text::Token, classifier::Scorer};",
        "/// See [`crate::model::SparseRecords`].",
    ] {
        assert_eq!(violations("features", upward, 1).len(), 1, "{upward}");
    }
    // `super::` from features/extract/units.rs (depth 3) reaches the root after three.
    assert_eq!(
        violations("features", "use super::super::Names;", 3).len(),
        0
    );
    assert_eq!(
        violations("features", "use super::super::super::store::Store;", 3).len(),
        1
    );
    let in_tests = "mod tests {\n    use super::super::tokenize::tokenize;\n}";
    assert_eq!(violations("text", in_tests, 2).len(), 0);
    assert_eq!(violations("model", "use crate::features::Row;", 1).len(), 1);
    assert_eq!(
        violations("model", "use crate::article::Label;", 1).len(),
        0
    );
    assert_eq!(violations("newcomer", "", 1).len(), 1);
    // Re-exports at the crate root count as the module they come from.
    assert_eq!(violations("text", "use crate::Result;", 1).len(), 0);
    assert_eq!(
        violations("text", "fn f(_: &crate::Classifier) {}", 1).len(),
        1
    );
}
