//! Writing scores as JSON, one object a line, safe for every common line splitter.

use std::io;

use serde::Serialize;

use super::Evidence;

/// Compact JSON as `serde_json` writes it, with one difference: the three characters other than
/// `\n` and `\r` that common line splitters also take for line breaks — U+0085 (NEXT LINE),
/// U+2028 (LINE SEPARATOR) and U+2029 (PARAGRAPH SEPARATOR) — are written escaped (`\u0085`,
/// `\u2028`, `\u2029`; `serde_json` escapes the others already, being control characters).
/// Left raw, valid as they are in JSON, a consumer reading the lines with Python's
/// `str.splitlines()` gets an article whose evidence quotes one of them as two broken records.
/// Web text carries them (U+2028 from pasted paragraphs, U+0085 from Windows-1252 "…" decoded
/// as Latin-1). The string's content reads back unchanged.
///
/// # Errors
/// What writing to `w` returns.
pub fn write_json_line<W: io::Write, T: Serialize + ?Sized>(mut w: W, value: &T) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(&mut w, LineSafe);
    value.serialize(&mut ser).map_err(io::Error::other)?;
    w.write_all(b"\n")
}

/// An article's evidence as the JSON array its score's line holds (byte for byte what
/// [`write_json_line`] writes there), for the `evidence` column of a table.
pub fn evidence_json(evidence: &[Evidence]) -> String {
    let mut out = Vec::with_capacity(256 * evidence.len() + 2);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, LineSafe);
    evidence
        .serialize(&mut ser)
        .expect("evidence serialises to memory");
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// `serde_json`'s compact formatter, also escaping U+0085, U+2028 and U+2029 (see
/// [`write_json_line`]).
struct LineSafe;

impl serde_json::ser::Formatter for LineSafe {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // In UTF-8, U+0085 is C2 85 and U+2028/U+2029 are E2 80 A8/A9; neither lead byte can be
        // a continuation byte, so every hit starts a character.
        let b = fragment.as_bytes();
        let mut done = 0;
        for i in memchr::memchr2_iter(0xC2, 0xE2, b) {
            let (escaped, len) = match b[i..] {
                [0xC2, 0x85, ..] => ("\\u0085", 2),
                [0xE2, 0x80, 0xA8, ..] => ("\\u2028", 3),
                [0xE2, 0x80, 0xA9, ..] => ("\\u2029", 3),
                _ => continue,
            };
            writer.write_all(&b[done..i])?;
            writer.write_all(escaped.as_bytes())?;
            done = i + len;
        }
        writer.write_all(&b[done..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::article::{Evidence, Label, Part, Score, TermContribution};

    /// Contributions are written as the shortest decimal of their `f32`: it reads back as that
    /// `f32` and has at most nine significant digits; one beyond `f32`'s range stays a number,
    /// one below it stays non-zero.
    #[test]
    fn contributions_are_written_with_f32_precision() {
        let written = |v: f64| {
            let t = TermContribution {
                term: "t".into(),
                contribution: v,
            };
            let json = serde_json::to_string(&t).expect("serialises");
            let num = json
                .strip_prefix("{\"term\":\"t\",\"contribution\":")
                .and_then(|r| r.strip_suffix('}'))
                .expect("one field")
                .to_string();
            let back: TermContribution = serde_json::from_str(&json).expect("reads back");
            (num, back.contribution)
        };
        for v in [
            0.04594738479543185,
            -0.00009848288114,
            1.0 / 3.0,
            123456.789,
            0.0,
            -2.5e-30,
        ] {
            let (num, back) = written(v);
            assert_eq!(back as f32, v as f32, "{num}");
            let digits = num
                .split(['e', 'E'])
                .next()
                .unwrap()
                .chars()
                .filter(char::is_ascii_digit)
                .collect::<String>();
            assert!(digits.trim_start_matches('0').len() <= 9, "{num}");
        }
        assert_eq!(written(0.04594738479543185).0, "0.045947384");
        let (num, back) = written(1e300);
        assert_eq!((num.as_str(), back), ("1e+300", 1e300));
        let (num, back) = written(-1e-50);
        assert_eq!(num, "-1e-50");
        assert!(back < 0.0, "{back}");
        assert_eq!(written(0.0).0, "0.0");
        let e = Evidence {
            part: Part::Text,
            sentence: "s".into(),
            start: 0,
            end: 1,
            contribution: -0.15067734825026452,
            terms: vec![],
        };
        let json = serde_json::to_string(&e).expect("serialises");
        assert!(json.contains("\"contribution\":-0.15067735,"), "{json}");
    }

    /// The characters Python's `str.splitlines()` breaks lines at.
    fn line_breaks(s: &str) -> usize {
        s.chars()
            .filter(|c| "\n\r\u{b}\u{c}\u{1c}\u{1d}\u{1e}\u{85}\u{2028}\u{2029}".contains(*c))
            .count()
    }

    /// A score quoting U+0085, U+2028 and U+2029 in its id, evidence sentence and term is one
    /// line by any line splitter's count, and reads back unchanged; a score without them is
    /// written exactly as `serde_json` writes it.
    #[test]
    fn json_lines_escape_what_line_splitters_break_at() {
        let score = |text: &str| Score {
            id: format!("a{text}b"),
            counterpart: Some("United States".into()),
            actor: None,
            score: 0.25,
            p_conciliatory: 0.625,
            p_stance: 0.875,
            label: Label::Conciliatory,
            mentions: 1,
            intercept: -0.5,
            evidence: vec![Evidence {
                part: Part::Title,
                sentence: format!("Cuba{text} welcomed\tthe \"talks\"{text}"),
                start: 0,
                end: 9,
                contribution: 0.75,
                terms: vec![TermContribution {
                    term: format!("welcom{text}"),
                    contribution: -0.125,
                }],
            }],
        };
        let odd = score("\u{85}\u{2028}x\u{2029}\u{2028}é€\r\n\u{b}\u{1e}");
        let mut line = Vec::new();
        write_json_line(&mut line, &odd).unwrap();
        let text = String::from_utf8(line.clone()).unwrap();
        assert!(text.ends_with('\n'), "{text}");
        assert_eq!(line_breaks(&text), 1, "{text}");
        assert_eq!(text.matches("\\u2028").count(), 8, "{text}");
        assert_eq!(text.matches("\\u0085").count(), 4, "{text}");
        assert_eq!(text.matches("\\u2029").count(), 4, "{text}");
        assert!(
            text.contains("é€"),
            "other characters stay as they are: {text}"
        );
        let back: Score = serde_json::from_slice(&line).unwrap();
        assert_eq!(back, odd);

        let plain = score(" and é€ “quoted” ");
        let mut line = Vec::new();
        write_json_line(&mut line, &plain).unwrap();
        let mut expected = serde_json::to_vec(&plain).unwrap();
        expected.push(b'\n');
        assert_eq!(line, expected);
    }
}
