//! Source positions of expression nodes, for annotations (`... (1:7)`).
//!
//! `promql-parser` does not record positions in its AST, so they are recovered by walking
//! the AST in source order beside the parser's own token stream (`promql_parser::parser::
//! lexer`), which does carry byte offsets. Each node consumes exactly the tokens it was
//! parsed from, so the walk stays aligned with the text.
//!
//! A node's position is where Prometheus's `PositionRange().Start` puts it:
//!
//! | node                         | starts at                                            |
//! |------------------------------|------------------------------------------------------|
//! | binary operation             | its left operand                                     |
//! | aggregation                  | the operator keyword (`sum`), wherever `by` is       |
//! | call                         | the function name                                    |
//! | parentheses                  | `(`                                                  |
//! | unary minus                  | `-`                                                  |
//! | number literal               | its first sign (`-1` is folded into one literal)     |
//! | string literal               | the opening quote                                    |
//! | vector and matrix selectors  | the metric name, or `{` when there is none           |
//! | subquery                     | its inner expression                                 |
//!
//! A unary plus leaves no node in `promql-parser`'s AST (Prometheus keeps a `UnaryExpr`
//! there), so a node written `+x` starts at the `+`, where Prometheus's wrapper starts.
//!
//! Positions render as `line:column` the way Prometheus's `StartPosInput` does: both
//! 1-based, the column counted in **bytes** from the start of the line (a multi-byte
//! character before a node moves it right by its UTF-8 length).

use std::collections::HashMap;
use std::fmt;

use lrpar::{Lexeme, Lexer};
use promql_parser::parser::token::{
    TokenId, T_ADD, T_AT, T_BOOL, T_BY, T_COMMA, T_DURATION, T_END, T_FILL, T_FILL_LEFT,
    T_FILL_RIGHT, T_GROUP_LEFT, T_GROUP_RIGHT, T_IGNORING, T_LEFT_BRACE, T_LEFT_BRACKET,
    T_LEFT_PAREN, T_NUMBER, T_OFFSET, T_ON, T_RIGHT_BRACE, T_RIGHT_BRACKET, T_RIGHT_PAREN, T_START,
    T_STRING, T_SUB, T_WITHOUT,
};
use promql_parser::parser::{Expr, VectorSelector};

/// A position in the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl Pos {
    /// The position of byte offset `offset` of `query`, as Prometheus renders it.
    pub fn at_offset(query: &str, offset: usize) -> Pos {
        let before = &query.as_bytes()[..offset.min(query.len())];
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let col = match before.iter().rposition(|&b| b == b'\n') {
            Some(nl) => offset - nl,
            None => offset + 1,
        };
        Pos {
            line: line as u32,
            col: col as u32,
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// The position of every node of one parsed query, keyed by node address (the AST is not
/// moved or changed while a query runs).
#[derive(Debug, Default)]
pub struct Positions {
    by_node: HashMap<usize, Pos>,
    /// String literals whose Go meaning is not valid UTF-8 (`"\xff"`), with that meaning
    /// quoted as Go's `%q` prints it. `promql-parser` decodes `\xff` to the character
    /// U+00FF, where Prometheus keeps the raw byte and rejects it as a label name.
    invalid_utf8: HashMap<usize, String>,
}

impl Positions {
    /// Positions of the nodes of `expr`, parsed from `query`. Never fails: a node that
    /// cannot be placed simply has no position.
    pub fn compute(query: &str, expr: &Expr) -> Positions {
        let spans = node_spans(query, expr);
        let mut invalid_utf8 = HashMap::new();
        collect_strings(expr, &mut |node| {
            let key = node_key(node);
            let Some(text) = spans.get(&key).and_then(|s| query.get(s.start..s.end)) else {
                return;
            };
            if let Some(bytes) = go_string_bytes(text.trim_start_matches(['+', ' '])) {
                if std::str::from_utf8(&bytes).is_err() {
                    invalid_utf8.insert(key, go_quote(&bytes));
                }
            }
        });
        let by_node = spans
            .into_iter()
            .map(|(node, span)| (node, Pos::at_offset(query, span.start)))
            .collect();
        Positions {
            by_node,
            invalid_utf8,
        }
    }

    /// For a string literal that is not valid UTF-8 in Go's reading of the query, that
    /// string quoted as Go's `%q` prints it (for error messages).
    pub fn invalid_utf8(&self, node: &Expr) -> Option<&str> {
        self.invalid_utf8.get(&node_key(node)).map(String::as_str)
    }

    /// The position of `node` (a node of the expression given to `compute`).
    pub fn of(&self, node: &Expr) -> Option<Pos> {
        self.by_node.get(&node_key(node)).copied()
    }
}

/// Calls `f` on every string literal node of `e`.
fn collect_strings(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    match e {
        Expr::StringLiteral(_) => f(e),
        Expr::Aggregate(a) => {
            if let Some(p) = &a.param {
                collect_strings(p, f);
            }
            collect_strings(&a.expr, f);
        }
        Expr::Binary(b) => {
            collect_strings(&b.lhs, f);
            collect_strings(&b.rhs, f);
        }
        Expr::Unary(u) => collect_strings(&u.expr, f),
        Expr::Paren(p) => collect_strings(&p.expr, f),
        Expr::Subquery(s) => collect_strings(&s.expr, f),
        Expr::Call(c) => c.args.args.iter().for_each(|a| collect_strings(a, f)),
        _ => {}
    }
}

/// The bytes a PromQL string literal token stands for, decoded as Go's `strconv.Unquote`
/// does (`\x` and octal escapes are raw bytes). `None` when `token` is not a quoted string.
fn go_string_bytes(token: &str) -> Option<Vec<u8>> {
    let quote = token.chars().next()?;
    let body = token.strip_prefix(quote)?.strip_suffix(quote)?;
    if quote == '`' {
        return Some(body.as_bytes().to_vec());
    }
    let mut out = Vec::with_capacity(body.len());
    let mut chars = body.chars();
    let hex = |chars: &mut std::str::Chars<'_>, n: usize| -> Option<u32> {
        let digits: String = chars.by_ref().take(n).collect();
        (digits.len() == n).then(|| u32::from_str_radix(&digits, 16).ok())?
    };
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let byte = match chars.next()? {
            'a' => 7,
            'b' => 8,
            'f' => 12,
            'n' => b'\n',
            'r' => b'\r',
            't' => b'\t',
            'v' => 11,
            'x' => u8::try_from(hex(&mut chars, 2)?).ok()?,
            d @ '0'..='7' => {
                let rest: String = chars.by_ref().take(2).collect();
                u8::from_str_radix(&format!("{d}{rest}"), 8).ok()?
            }
            u @ ('u' | 'U') => {
                let c = char::from_u32(hex(&mut chars, if u == 'u' { 4 } else { 8 })?)?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                continue;
            }
            other => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
                continue;
            }
        };
        out.push(byte);
    }
    Some(out)
}

/// `bytes` quoted as Go's `strconv.Quote` does: printable characters as they are, invalid
/// UTF-8 bytes as `\xHH`.
fn go_quote(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out.push('"');
    out
}

/// The byte range of a node in the query text: from its first token to the end of its
/// last one (for a selector, including its `offset` and `@` modifiers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
}

/// The address a node is keyed by.
pub(crate) fn node_key(node: &Expr) -> usize {
    node as *const Expr as usize
}

/// The byte range of every node of `expr` that could be placed. The walk stops at the
/// first token that does not fit the AST (the nodes placed so far keep their spans).
pub(crate) fn node_spans(query: &str, expr: &Expr) -> HashMap<usize, Span> {
    let mut walker = Walker {
        tokens: tokens(query),
        next: 0,
        spans: HashMap::new(),
    };
    let _ = walker.expr(expr);
    walker.spans
}

/// One lexed token: its kind and byte range.
#[derive(Debug, Clone, Copy)]
struct Token {
    id: TokenId,
    start: usize,
    end: usize,
}

fn tokens(query: &str) -> Vec<Token> {
    let Ok(lexer) = promql_parser::parser::lexer(query) else {
        return Vec::new();
    };
    lexer
        .iter()
        .filter_map(Result::ok)
        .map(|l| {
            let span = l.span();
            Token {
                id: l.tok_id(),
                start: span.start(),
                end: span.end(),
            }
        })
        .collect()
}

/// Walks the AST in source order, consuming tokens. Every step returns `None` when the
/// tokens do not fit (which aborts the walk).
struct Walker {
    tokens: Vec<Token>,
    next: usize,
    spans: HashMap<usize, Span>,
}

impl Walker {
    fn peek(&self) -> Option<TokenId> {
        self.tokens.get(self.next).map(|t| t.id)
    }

    fn bump(&mut self) -> Option<Token> {
        let t = *self.tokens.get(self.next)?;
        self.next += 1;
        Some(t)
    }

    /// Consumes a token of kind `id`, or fails.
    fn eat(&mut self, id: TokenId) -> Option<Token> {
        (self.peek()? == id).then(|| self.bump())?
    }

    /// Consumes the token if it has kind `id`.
    fn eat_if(&mut self, id: TokenId) -> bool {
        self.eat(id).is_some()
    }

    /// The end of the last consumed token.
    fn last_end(&self) -> usize {
        self.next
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i))
            .map_or(0, |t| t.end)
    }

    /// The start of the next token.
    fn next_start(&self) -> Option<usize> {
        self.tokens.get(self.next).map(|t| t.start)
    }

    /// Consumes `open`, everything up to its matching `close`, and `close`.
    fn skip_group(&mut self, open: TokenId, close: TokenId) -> Option<()> {
        self.eat(open)?;
        let mut depth = 1usize;
        while depth > 0 {
            let t = self.bump()?;
            if t.id == open {
                depth += 1;
            } else if t.id == close {
                depth -= 1;
            }
        }
        Some(())
    }

    /// Consumes unary plus signs, which leave no node behind; returns where the node that
    /// follows them starts.
    fn unary_plus(&mut self) -> Option<usize> {
        let start = self.next_start()?;
        while self.eat_if(T_ADD) {}
        Some(start)
    }

    fn record(&mut self, node: &Expr, start: usize) {
        let end = self.last_end().max(start);
        self.spans.insert(node_key(node), Span { start, end });
    }

    fn expr(&mut self, e: &Expr) -> Option<()> {
        match e {
            Expr::Binary(b) => {
                self.expr(&b.lhs)?;
                let start = self.spans.get(&node_key(&b.lhs))?.start;
                let op = self.bump()?;
                if op.id != b.op.id() {
                    return None;
                }
                self.binary_modifiers()?;
                self.expr(&b.rhs)?;
                self.record(e, start);
            }
            Expr::Aggregate(a) => {
                let start = self.unary_plus()?;
                let op = self.bump()?;
                if op.id != a.op.id() {
                    return None;
                }
                self.grouping()?;
                self.eat(T_LEFT_PAREN)?;
                if let Some(param) = &a.param {
                    self.expr(param)?;
                    self.eat(T_COMMA)?;
                }
                self.expr(&a.expr)?;
                self.eat(T_RIGHT_PAREN)?;
                self.grouping()?;
                self.record(e, start);
            }
            Expr::Call(c) => {
                let start = self.unary_plus()?;
                self.bump()?; // the function name
                self.eat(T_LEFT_PAREN)?;
                for arg in &c.args.args {
                    if self.peek()? == T_RIGHT_PAREN {
                        break;
                    }
                    self.expr(arg)?;
                    self.eat_if(T_COMMA);
                }
                self.eat(T_RIGHT_PAREN)?;
                self.record(e, start);
            }
            Expr::Paren(p) => {
                let start = self.unary_plus()?;
                self.eat(T_LEFT_PAREN)?;
                self.expr(&p.expr)?;
                self.eat(T_RIGHT_PAREN)?;
                self.record(e, start);
            }
            Expr::Unary(u) => {
                let start = self.unary_plus()?;
                self.eat(T_SUB)?;
                self.expr(&u.expr)?;
                self.record(e, start);
            }
            Expr::NumberLiteral(_) => {
                // `-1`, `+-1`, `- -1` are all folded into one literal.
                let start = self.next_start()?;
                while self.eat_if(T_ADD) || self.eat_if(T_SUB) {}
                let t = self.bump()?;
                if t.id != T_NUMBER && t.id != T_DURATION {
                    return None;
                }
                self.record(e, start);
            }
            Expr::StringLiteral(_) => {
                let start = self.unary_plus()?;
                self.eat(T_STRING)?;
                self.record(e, start);
            }
            Expr::VectorSelector(vs) => {
                let start = self.unary_plus()?;
                self.selector_body()?;
                self.modifiers(vs)?;
                self.record(e, start);
            }
            Expr::MatrixSelector(ms) => {
                let start = self.unary_plus()?;
                self.selector_body()?;
                self.skip_group(T_LEFT_BRACKET, T_RIGHT_BRACKET)?;
                self.modifiers(&ms.vs)?;
                self.record(e, start);
            }
            Expr::Subquery(sq) => {
                let start = self.next_start()?;
                self.expr(&sq.expr)?;
                let start = self
                    .spans
                    .get(&node_key(&sq.expr))
                    .map_or(start, |s| s.start);
                self.skip_group(T_LEFT_BRACKET, T_RIGHT_BRACKET)?;
                let count = usize::from(sq.offset.is_some()) + usize::from(sq.at.is_some());
                for _ in 0..count {
                    self.modifier()?;
                }
                self.record(e, start);
            }
            Expr::Extension(_) => return None,
        }
        Some(())
    }

    /// A selector's name and/or `{...}`.
    fn selector_body(&mut self) -> Option<()> {
        if self.peek()? == T_LEFT_BRACE {
            return self.skip_group(T_LEFT_BRACE, T_RIGHT_BRACE);
        }
        self.bump()?; // the metric name (an identifier, or a keyword used as one)
        if self.peek() == Some(T_LEFT_BRACE) {
            self.skip_group(T_LEFT_BRACE, T_RIGHT_BRACE)?;
        }
        Some(())
    }

    /// The `offset` and `@` modifiers the AST says `vs` has, in either order.
    fn modifiers(&mut self, vs: &VectorSelector) -> Option<()> {
        let count = usize::from(vs.offset.is_some()) + usize::from(vs.at.is_some());
        for _ in 0..count {
            self.modifier()?;
        }
        Some(())
    }

    /// `offset [+-]<duration>`, `@ [+-]<number>`, `@ start()` or `@ end()`.
    fn modifier(&mut self) -> Option<()> {
        let kw = self.bump()?;
        if kw.id == T_AT && matches!(self.peek(), Some(T_START | T_END)) {
            self.bump()?;
            self.eat(T_LEFT_PAREN)?;
            self.eat(T_RIGHT_PAREN)?;
            return Some(());
        }
        if kw.id != T_OFFSET && kw.id != T_AT {
            return None;
        }
        if !self.eat_if(T_ADD) {
            self.eat_if(T_SUB);
        }
        let v = self.bump()?;
        (v.id == T_NUMBER || v.id == T_DURATION).then_some(())
    }

    /// An aggregation's optional `by (...)` / `without (...)`.
    fn grouping(&mut self) -> Option<()> {
        if matches!(self.peek(), Some(T_BY | T_WITHOUT)) {
            self.bump()?;
            self.skip_group(T_LEFT_PAREN, T_RIGHT_PAREN)?;
        }
        Some(())
    }

    /// `bool`, `on (...)`, `ignoring (...)`, `group_left [(...)]`, `group_right [(...)]`,
    /// `fill[_left|_right] (...)` between a binary operator and its right operand.
    fn binary_modifiers(&mut self) -> Option<()> {
        loop {
            match self.peek() {
                Some(T_BOOL) => {
                    self.bump()?;
                }
                Some(T_ON | T_IGNORING | T_FILL | T_FILL_LEFT | T_FILL_RIGHT) => {
                    self.bump()?;
                    self.skip_group(T_LEFT_PAREN, T_RIGHT_PAREN)?;
                }
                Some(T_GROUP_LEFT | T_GROUP_RIGHT) => {
                    self.bump()?;
                    // The grammar takes a `(` right after `group_x` as its label list.
                    if self.peek() == Some(T_LEFT_PAREN) {
                        self.skip_group(T_LEFT_PAREN, T_RIGHT_PAREN)?;
                    }
                }
                _ => return Some(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every node of `query` in pre-order (a parent before its children, children left to
    /// right), as `kind line:col` (`kind -` when the node has no position).
    fn placed(query: &str) -> Vec<String> {
        let expr = promql_parser::parser::parse(query).expect("query parses");
        let positions = Positions::compute(query, &expr);
        let mut out = Vec::new();
        visit(&expr, &positions, &mut out);
        out
    }

    fn visit(e: &Expr, p: &Positions, out: &mut Vec<String>) {
        let (kind, children): (&str, Vec<&Expr>) = match e {
            Expr::Aggregate(a) => (
                "agg",
                a.param.iter().map(|b| &**b).chain([&*a.expr]).collect(),
            ),
            Expr::Unary(u) => ("unary", vec![&u.expr]),
            Expr::Binary(b) => ("binary", vec![&b.lhs, &b.rhs]),
            Expr::Paren(x) => ("paren", vec![&x.expr]),
            Expr::Subquery(s) => ("subquery", vec![&s.expr]),
            Expr::NumberLiteral(_) => ("number", vec![]),
            Expr::StringLiteral(_) => ("string", vec![]),
            Expr::VectorSelector(_) => ("vector", vec![]),
            Expr::MatrixSelector(_) => ("matrix", vec![]),
            Expr::Call(c) => ("call", c.args.args.iter().map(|b| &**b).collect()),
            Expr::Extension(_) => ("extension", vec![]),
        };
        out.push(match p.of(e) {
            Some(pos) => format!("{kind} {pos}"),
            None => format!("{kind} -"),
        });
        for c in children {
            visit(c, p, out);
        }
    }

    // Columns below are counted by hand from the query text (1-based).

    #[test]
    fn binary_operands() {
        assert_eq!(
            placed("foo + bar"),
            ["binary 1:1", "vector 1:1", "vector 1:7"]
        );
        // A chain: `(a - b) * c` by precedence, every binary node starts at `a`.
        assert_eq!(
            placed("a - b * c"),
            [
                "binary 1:1",
                "vector 1:1",
                "binary 1:5",
                "vector 1:5",
                "vector 1:9"
            ]
        );
    }

    #[test]
    fn binary_modifiers() {
        // a1 >3 bool5 on10 (12 x13 )14 group_left16..25 (26 y27 )28 b30
        assert_eq!(
            placed("a > bool on(x) group_left(y) b"),
            ["binary 1:1", "vector 1:1", "vector 1:30"]
        );
        // ignoring(x) group_right without labels, then a parenthesised operand is still
        // read as group_right's label list by the grammar, so use a plain one.
        assert_eq!(
            placed("a / ignoring (x) group_right b"),
            ["binary 1:1", "vector 1:1", "vector 1:30"]
        );
        assert_eq!(
            placed("a and on() b or c"),
            [
                "binary 1:1",
                "binary 1:1",
                "vector 1:1",
                "vector 1:12",
                "vector 1:17"
            ]
        );
        assert_eq!(
            placed("1 == bool 2"),
            ["binary 1:1", "number 1:1", "number 1:11"]
        );
    }

    #[test]
    fn aggregations() {
        // sum1 by5 (8 job9 )12 (14 rate15 (19 http20
        assert_eq!(
            placed("sum by (job) (rate(http_requests_total[5m]))"),
            ["agg 1:1", "call 1:15", "matrix 1:20"]
        );
        // Grouping after the body.
        assert_eq!(
            placed("sum(rate(x[5m])) without (a)"),
            ["agg 1:1", "call 1:5", "matrix 1:10"]
        );
        // With a parameter: topk1 (5 3 6 ,7 foo9
        assert_eq!(
            placed("topk(3, foo)"),
            ["agg 1:1", "number 1:6", "vector 1:9"]
        );
        assert_eq!(
            placed("quantile(0.9, x) by (a)"),
            ["agg 1:1", "number 1:10", "vector 1:15"]
        );
        assert_eq!(
            placed("count_values(\"v\", foo)"),
            ["agg 1:1", "string 1:14", "vector 1:19"]
        );
        assert_eq!(placed("sum without () (foo)"), ["agg 1:1", "vector 1:17"]);
        // A keyword as a metric name inside an aggregation.
        assert_eq!(placed("max(sum)"), ["agg 1:1", "vector 1:5"]);
    }

    #[test]
    fn calls_and_strings() {
        // label_replace1 (14 up15 ,17 "a"19 "$1"24 "b"30 "(.*)"35
        assert_eq!(
            placed(r#"label_replace(up, "a", "$1", "b", "(.*)")"#),
            [
                "call 1:1",
                "vector 1:15",
                "string 1:19",
                "string 1:24",
                "string 1:30",
                "string 1:35"
            ]
        );
        assert_eq!(placed("time()"), ["call 1:1"]);
        assert_eq!(
            placed("histogram_quantile(0.9, rate(x[1m]))"),
            ["call 1:1", "number 1:20", "call 1:25", "matrix 1:30"]
        );
        assert_eq!(placed("`raw`"), ["string 1:1"]);
    }

    #[test]
    fn unary_and_folded_numbers() {
        assert_eq!(placed("-foo"), ["unary 1:1", "vector 1:2"]);
        // `-1` is one literal starting at its sign, even with a space or several signs.
        assert_eq!(placed("-1"), ["number 1:1"]);
        assert_eq!(
            placed("2 * - 1"),
            ["binary 1:1", "number 1:1", "number 1:5"]
        );
        assert_eq!(placed("- -1"), ["number 1:1"]);
        assert_eq!(placed("-(1)"), ["unary 1:1", "paren 1:2", "number 1:3"]);
        // Unary plus leaves no node; the node behind it starts at the `+`.
        assert_eq!(placed("+foo"), ["vector 1:1"]);
        assert_eq!(
            placed("-foo * 2"),
            ["binary 1:1", "unary 1:1", "vector 1:2", "number 1:8"]
        );
    }

    #[test]
    fn number_literals() {
        // 0x1F1 +6 Inf8
        assert_eq!(
            placed("0x1F + Inf"),
            ["binary 1:1", "number 1:1", "number 1:8"]
        );
        assert_eq!(
            placed("NaN - 1e3"),
            ["binary 1:1", "number 1:1", "number 1:7"]
        );
        // A duration used as a number.
        assert_eq!(
            placed("time() - 5m"),
            ["binary 1:1", "call 1:1", "number 1:10"]
        );
    }

    #[test]
    fn selectors_and_modifiers() {
        // foo1 offset5 5m12 @15 100(17..19) +21 bar23
        assert_eq!(
            placed("foo offset 5m @ 100 + bar"),
            ["binary 1:1", "vector 1:1", "vector 1:23"]
        );
        assert_eq!(
            placed("foo @ 100 offset -5m + bar"),
            ["binary 1:1", "vector 1:1", "vector 1:24"]
        );
        // foo1 @5 start7 (12 )13 +15 bar17
        assert_eq!(
            placed("foo @ start() + bar"),
            ["binary 1:1", "vector 1:1", "vector 1:17"]
        );
        assert_eq!(placed(r#"{__name__="foo"}[5m] offset 1m"#), ["matrix 1:1"]);
        // rate1 (5 foo6 {9 ... }15 [16 5m ]19 @21 -23 100 )
        assert_eq!(
            placed(r#"rate(foo{a="b"}[5m] @ -100)"#),
            ["call 1:1", "matrix 1:6"]
        );
        assert_eq!(
            placed("{a=\"b\" or c=\"d\"} / 2"),
            ["binary 1:1", "vector 1:1", "number 1:20"]
        );
    }

    #[test]
    fn subqueries() {
        // max_over_time1 (14 (15 a16 -18 b20 )21 [22 5m:1m ]28 offset30 1m37 )39
        assert_eq!(
            placed("max_over_time((a - b)[5m:1m] offset 1m)"),
            [
                "call 1:1",
                "subquery 1:15",
                "paren 1:15",
                "binary 1:16",
                "vector 1:16",
                "vector 1:20"
            ]
        );
        assert_eq!(
            placed("rate(foo[1m])[5m:] @ 10"),
            ["subquery 1:1", "call 1:1", "matrix 1:6"]
        );
        assert_eq!(
            placed("min_over_time(foo[5m:])"),
            ["call 1:1", "subquery 1:15", "vector 1:15"]
        );
    }

    #[test]
    fn multiple_lines_and_bytes() {
        assert_eq!(placed("sum(\n  foo\n)"), ["agg 1:1", "vector 2:3"]);
        assert_eq!(
            placed("foo\n  /\n    bar"),
            ["binary 1:1", "vector 1:1", "vector 3:5"]
        );
        // Columns count bytes: `é` is two bytes, so `bar` is at byte 11 (column 12).
        assert_eq!(
            placed(r#"{a="é"} + bar"#),
            ["binary 1:1", "vector 1:1", "vector 1:12"]
        );
        // A comment is skipped like space.
        assert_eq!(
            placed("foo # the first\n+ bar"),
            ["binary 1:1", "vector 1:1", "vector 2:3"]
        );
    }

    #[test]
    fn spans_cover_modifiers() {
        let q = "foo offset 5m + bar @ 10";
        let expr = promql_parser::parser::parse(q).unwrap();
        let spans = node_spans(q, &expr);
        let Expr::Binary(b) = &expr else {
            panic!("binary expected")
        };
        assert_eq!(spans[&node_key(&b.lhs)], Span { start: 0, end: 13 });
        assert_eq!(
            spans[&node_key(&b.rhs)],
            Span {
                start: 16,
                end: q.len()
            }
        );
        assert_eq!(
            spans[&node_key(&expr)],
            Span {
                start: 0,
                end: q.len()
            }
        );
    }

    #[test]
    fn offsets_render_like_prometheus() {
        assert_eq!(Pos::at_offset("abc", 0), Pos { line: 1, col: 1 });
        assert_eq!(Pos::at_offset("a\nbc", 2), Pos { line: 2, col: 1 });
        assert_eq!(Pos::at_offset("a\nbc", 3), Pos { line: 2, col: 2 });
        assert_eq!(Pos::at_offset("a\n\nb", 3), Pos { line: 3, col: 1 });
    }
}

#[cfg(test)]
mod go_string_tests {
    use super::*;

    #[test]
    fn go_escapes_decode_to_raw_bytes() {
        assert_eq!(go_string_bytes(r#""a\xc5z""#), Some(b"a\xc5z".to_vec()));
        assert_eq!(go_string_bytes(r#"'\377'"#), Some(vec![0xff]));
        assert_eq!(
            go_string_bytes(r#""\u00ff\n""#),
            Some("ÿ\n".as_bytes().to_vec())
        );
        assert_eq!(go_string_bytes(r"`\xff`"), Some(br"\xff".to_vec()));
        assert_eq!(go_quote(b"a\xc5z"), r#""a\xc5z""#);
    }

    #[test]
    fn invalid_utf8_literals_are_found() {
        for (q, want) in [
            (r#"count_values("a\xc5z", x)"#, Some(r#""a\xc5z""#)),
            (r#"count_values("a\u00c5z", x)"#, None),
            (
                r#"label_replace(x, "\xff", "", "src", "(.*)")"#,
                Some(r#""\xff""#),
            ),
        ] {
            let e = promql_parser::parser::parse(q).unwrap();
            let p = Positions::compute(q, &e);
            let mut found = None;
            collect_strings(&e, &mut |n| {
                if found.is_none() {
                    found = p.invalid_utf8(n).map(str::to_string);
                }
            });
            assert_eq!(found.as_deref(), want, "{q}");
        }
    }
}
