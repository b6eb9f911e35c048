//! A strict reading of an HTML page as a browser's tokenizer sees it (html5ever's), for tests
//! of the report writers: no parse errors, tags from a fixed list and balanced, and no active
//! content (no `<script>`, no `on*` attribute, no `javascript:`, `vbscript:` or `data:`
//! address, no `style` outside the page's head).

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

/// Elements a report may contain: the page, the text, and what plotters writes in an SVG.
const ALLOWED: &[&str] = &[
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "p",
    "ul",
    "ol",
    "li",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "a",
    "em",
    "strong",
    "code",
    "pre",
    "blockquote",
    "figure",
    "br",
    "hr",
    "del",
    "sup",
    "span",
    "div",
    "svg",
    "g",
    "rect",
    "line",
    "polyline",
    "polygon",
    "path",
    "text",
    "circle",
    "tspan",
    "defs",
    "clippath",
];

/// Elements with no end tag.
const VOID: &[&str] = &["meta", "br", "hr", "img", "input", "link"];

/// Attributes whose value is an address.
const URL_ATTRS: &[&str] = &[
    "href",
    "src",
    "xlink:href",
    "action",
    "formaction",
    "srcset",
];

#[derive(Default)]
struct Sink {
    problems: RefCell<Vec<String>>,
    stack: RefCell<Vec<String>>,
    text_chars: RefCell<String>,
}

impl Sink {
    fn problem(&self, line: u64, what: String) {
        self.problems
            .borrow_mut()
            .push(format!("line {line}: {what}"));
    }
}

/// An address as a browser reads its scheme: ASCII whitespace and control characters dropped
/// and letters lowercased.
fn scheme_of(url: &str) -> String {
    let squeezed: String = url
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_control())
        .collect::<String>()
        .to_ascii_lowercase();
    match squeezed.find(':') {
        Some(i) if !squeezed[..i].contains(['/', '?', '#']) => squeezed[..i].to_string(),
        _ => String::new(),
    }
}

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, line: u64) -> TokenSinkResult<()> {
        match token {
            Token::ParseError(e) => self.problem(line, format!("parse error: {e}")),
            Token::CharacterTokens(t) => self.text_chars.borrow_mut().push_str(&t),
            Token::NullCharacterToken => self.problem(line, "a NUL character".into()),
            Token::TagToken(tag) => {
                let name = tag.name.to_string();
                if !ALLOWED.contains(&name.as_str()) {
                    self.problem(line, format!("element <{name}>"));
                }
                if tag.kind == TagKind::StartTag {
                    for a in &tag.attrs {
                        let attr = a.name.local.to_string().to_ascii_lowercase();
                        let value = a.value.to_string();
                        if attr.starts_with("on") {
                            self.problem(line, format!("<{name} {attr}=...>: an event handler"));
                        }
                        if attr == "style" && value.to_ascii_lowercase().contains("url(") {
                            self.problem(line, format!("<{name} style={value:?}>"));
                        }
                        if URL_ATTRS.contains(&attr.as_str()) || attr.ends_with(":href") {
                            let scheme = scheme_of(&value);
                            if !matches!(scheme.as_str(), "" | "http" | "https" | "mailto") {
                                self.problem(line, format!("<{name} {attr}={value:?}>"));
                            }
                        }
                    }
                    if name == "style"
                        && self.stack.borrow().last().map(String::as_str) != Some("head")
                    {
                        self.problem(line, "<style> outside the head".into());
                    }
                    if !tag.self_closing && !VOID.contains(&name.as_str()) {
                        self.stack.borrow_mut().push(name);
                    }
                } else {
                    let top = self.stack.borrow_mut().pop();
                    if top.as_deref() != Some(name.as_str()) {
                        self.problem(
                            line,
                            format!("</{name}> closes <{}>", top.unwrap_or_default()),
                        );
                    }
                }
            }
            Token::DoctypeToken(_) | Token::CommentToken(_) | Token::EOFToken => {}
        }
        TokenSinkResult::Continue
    }
}

/// What a page's reading found: problems (empty when the page is clean) and its text, as a
/// reader sees it (character references decoded).
pub struct Reading {
    pub problems: Vec<String>,
    pub text: String,
}

/// Reads `html` strictly; see the module docs for what counts as a problem.
pub fn read(html: &str) -> Reading {
    let tok = Tokenizer::new(
        Sink::default(),
        TokenizerOpts {
            exact_errors: true,
            ..TokenizerOpts::default()
        },
    );
    let input = BufferQueue::default();
    input.push_back(StrTendril::from(html));
    let _ = tok.feed(&input);
    tok.end();
    let sink = &tok.sink;
    let mut problems = sink.problems.borrow().clone();
    let open = sink.stack.borrow().clone();
    if !open.is_empty() {
        problems.push(format!("left open: {open:?}"));
    }
    let text = sink.text_chars.borrow().clone();
    Reading { problems, text }
}

/// Panics with every problem `html` has, quoting the page's head for context.
pub fn assert_clean(html: &str, what: &str) {
    let r = read(html);
    assert!(
        r.problems.is_empty(),
        "{what}: {} problem(s):\n{}",
        r.problems.len(),
        r.problems.join("\n")
    );
}
