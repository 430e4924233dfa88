//! The tokenizer. Prometheus's parsers sit on golex-generated lexers whose exact
//! behaviour (longest match without backtracking, where a failed token stops, NUL bytes
//! swallowed inside label values, help texts and comments) shows through in its error
//! messages and in what it accepts. This lexer is hand-written for speed but walks the
//! same automata, so that the same input gets the same tokens, positions and messages.

/// A token kind, named as Prometheus names it in parse errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    Invalid,
    Eof,
    Linebreak,
    Whitespace,
    Help,
    Type,
    Unit,
    EofWord,
    Text,
    Comment,
    MName,
    QString,
    BraceOpen,
    BraceClose,
    LName,
    LValue,
    Comma,
    Equal,
    Timestamp,
    Value,
}

impl Tok {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Tok::Invalid => "INVALID",
            Tok::Eof => "EOF",
            Tok::Linebreak => "LINEBREAK",
            Tok::Whitespace => "WHITESPACE",
            Tok::Help => "HELP",
            Tok::Type => "TYPE",
            Tok::Unit => "UNIT",
            Tok::EofWord => "EOFWORD",
            Tok::Text => "TEXT",
            Tok::Comment => "COMMENT",
            Tok::MName => "MNAME",
            Tok::QString => "QSTRING",
            Tok::BraceOpen => "BOPEN",
            Tok::BraceClose => "BCLOSE",
            Tok::LName => "LNAME",
            Tok::LValue => "LVALUE",
            Tok::Comma => "COMMA",
            Tok::Equal => "EQUAL",
            Tok::Timestamp => "TIMESTAMP",
            Tok::Value => "VALUE",
        }
    }
}

/// Lexer start conditions (golex `%x` states).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Init,
    Comment,
    Meta1,
    Meta2,
    Labels,
    LValue,
    Value,
    Timestamp,
    Exemplar,
    EValue,
    ETimestamp,
}

/// `[a-zA-Z_:]`, then digits too: a metric name.
const NAME_START: u8 = 1;
const NAME_CHAR: u8 = 2;
/// `[a-zA-Z_]`, then digits too: a label name.
const LNAME_START: u8 = 4;
const LNAME_CHAR: u8 = 8;

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        let alpha = b.is_ascii_alphabetic() || b == b'_';
        if alpha || b == b':' {
            t[c] |= NAME_START | NAME_CHAR;
        }
        if b.is_ascii_digit() {
            t[c] |= NAME_CHAR | LNAME_CHAR;
        }
        if alpha {
            t[c] |= LNAME_START | LNAME_CHAR;
        }
        c += 1;
    }
    t
};

pub(crate) struct Lexer<'a> {
    pub(crate) b: &'a [u8],
    /// The input length the automata see: the text format gets a virtual trailing `\n`
    /// (Prometheus appends one to the body), OpenMetrics does not.
    pub(crate) vlen: usize,
    pub(crate) i: usize,
    pub(crate) start: usize,
    state: State,
    om: bool,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(b: &'a [u8], om: bool) -> Lexer<'a> {
        Lexer {
            b,
            vlen: b.len() + usize::from(!om),
            i: 0,
            start: 0,
            state: State::Init,
            om,
        }
    }

    /// The byte at `i` as the automata see it: 0 for NUL and for the end.
    #[inline]
    fn at(&self, i: usize) -> u8 {
        match self.b.get(i) {
            Some(&c) => c,
            None if i < self.vlen => b'\n',
            None => 0,
        }
    }

    /// The text of the current token.
    #[inline]
    pub(crate) fn buf(&self) -> &'a [u8] {
        let end = self.i.min(self.b.len());
        self.b.get(self.start..end).unwrap_or_default()
    }

    /// Advance one byte (golex's `next`), swallowing NULs where Prometheus does.
    #[inline]
    fn next(&mut self) -> u8 {
        self.i += 1;
        if self.i >= self.vlen {
            self.i = self.vlen;
            return 0;
        }
        if matches!(self.state, State::LValue | State::Meta2 | State::Comment) {
            while self.i < self.b.len() && self.b[self.i] == 0 {
                self.i += 1;
            }
            if self.i >= self.vlen {
                return 0;
            }
        }
        self.at(self.i)
    }

    /// The next token. Like golex, `start` is not moved when the input is exhausted,
    /// and after a failed token `i` is where the automaton stopped.
    pub(crate) fn lex(&mut self) -> Tok {
        if self.i >= self.vlen {
            return Tok::Eof;
        }
        self.start = self.i;
        let mut c = self.at(self.i);
        loop {
            match self.state {
                State::Init => {
                    if CLASS[c as usize] & NAME_START != 0 {
                        self.name(NAME_CHAR);
                        self.state = State::Value;
                        return Tok::MName;
                    }
                    match c {
                        b'{' => {
                            self.next();
                            self.state = State::Labels;
                            return Tok::BraceOpen;
                        }
                        b'#' if self.om => {
                            if self.next() != b' ' {
                                return Tok::Invalid;
                            }
                            c = self.next();
                            self.state = State::Comment;
                            continue;
                        }
                        b'#' => {
                            c = self.next();
                            if c == b' ' || c == b'\t' {
                                while c == b' ' || c == b'\t' {
                                    c = self.next();
                                }
                                self.state = State::Comment;
                                continue;
                            }
                            return self.consume_comment();
                        }
                        0 if !self.om => {
                            self.next();
                            return Tok::Eof;
                        }
                        b'\n' if !self.om => {
                            self.next();
                            return Tok::Linebreak;
                        }
                        b' ' | b'\t' if !self.om => return self.whitespace(),
                        _ => return Tok::Invalid,
                    }
                }
                State::Comment => {
                    if self.om {
                        return match c {
                            b'H' => self.keyword(b"ELP", Tok::Help),
                            b'T' => self.keyword(b"YPE", Tok::Type),
                            b'U' => self.keyword(b"NIT", Tok::Unit),
                            b'E' => {
                                if self.next() != b'O' || self.next() != b'F' {
                                    return Tok::Invalid;
                                }
                                if self.next() == b'\n' {
                                    self.next();
                                }
                                self.state = State::Init;
                                Tok::EofWord
                            }
                            _ => Tok::Invalid,
                        };
                    }
                    return match c {
                        b' ' | b'\t' => self.whitespace(),
                        b'H' => self.keyword(b"ELP", Tok::Help),
                        b'T' => self.keyword(b"YPE", Tok::Type),
                        _ => self.consume_comment(),
                    };
                }
                State::Meta1 => {
                    if CLASS[c as usize] & NAME_START != 0 {
                        self.name(NAME_CHAR);
                        self.state = State::Meta2;
                        return Tok::MName;
                    }
                    return match c {
                        b'"' => {
                            if self.qstring(true) {
                                self.state = State::Meta2;
                                Tok::MName
                            } else {
                                Tok::Invalid
                            }
                        }
                        b' ' | b'\t' if !self.om => self.whitespace(),
                        _ => Tok::Invalid,
                    };
                }
                State::Meta2 => return self.meta_text(c),
                State::Value => {
                    return match c {
                        b'{' => {
                            self.next();
                            self.state = State::Labels;
                            Tok::BraceOpen
                        }
                        _ if self.om => self.om_field(c, State::Timestamp, Tok::Value),
                        b' ' | b'\t' => self.whitespace(),
                        b'\n' | 0 => Tok::Invalid,
                        _ => {
                            self.run(|c| !matches!(c, b'{' | b' ' | b'\t' | b'\n' | 0));
                            self.state = State::Timestamp;
                            Tok::Value
                        }
                    };
                }
                State::Labels | State::Exemplar => {
                    if CLASS[c as usize] & LNAME_START != 0 {
                        self.name(LNAME_CHAR);
                        return Tok::LName;
                    }
                    let exemplar = self.state == State::Exemplar;
                    return match c {
                        b'"' => {
                            // Quoted names may hold newlines except in exemplars.
                            if self.qstring(!exemplar) {
                                Tok::QString
                            } else {
                                Tok::Invalid
                            }
                        }
                        b'}' => {
                            self.next();
                            self.state = if exemplar {
                                State::EValue
                            } else {
                                State::Value
                            };
                            Tok::BraceClose
                        }
                        b'=' => {
                            self.next();
                            self.state = if exemplar {
                                State::EValue
                            } else {
                                State::LValue
                            };
                            Tok::Equal
                        }
                        b',' => {
                            self.next();
                            Tok::Comma
                        }
                        b' ' | b'\t' if !self.om => self.whitespace(),
                        _ => Tok::Invalid,
                    };
                }
                State::LValue => {
                    return match c {
                        b'"' => {
                            if self.qstring(!self.om) {
                                self.state = State::Labels;
                                Tok::LValue
                            } else {
                                Tok::Invalid
                            }
                        }
                        b' ' | b'\t' if !self.om => self.whitespace(),
                        _ => Tok::Invalid,
                    };
                }
                State::EValue => {
                    return match c {
                        b'"' => {
                            if self.qstring(false) {
                                self.state = State::Exemplar;
                                Tok::LValue
                            } else {
                                Tok::Invalid
                            }
                        }
                        _ => self.om_field(c, State::ETimestamp, Tok::Value),
                    };
                }
                State::Timestamp | State::ETimestamp => {
                    if c == b'\n' {
                        self.next();
                        self.state = State::Init;
                        return Tok::Linebreak;
                    }
                    if !self.om {
                        return match c {
                            b' ' | b'\t' => self.whitespace(),
                            b'0'..=b'9' => {
                                self.run(|c| c.is_ascii_digit());
                                Tok::Timestamp
                            }
                            _ => Tok::Invalid,
                        };
                    }
                    if self.state == State::Timestamp && c == b' ' && self.at(self.i + 1) == b'#' {
                        // ` # {` opens an exemplar; ` #` alone is a timestamp token, and
                        // ` # ` followed by anything but `{` fails (no backtracking).
                        self.next();
                        let c = self.next();
                        if c == b' ' {
                            if self.next() == b'{' {
                                self.next();
                                self.state = State::Exemplar;
                                return Tok::Comment;
                            }
                            return Tok::Invalid;
                        }
                        if c != b'\n' && c != 0 {
                            self.run(|c| !matches!(c, b' ' | b'\n' | 0));
                        }
                        return Tok::Timestamp;
                    }
                    let state = self.state;
                    return self.om_field(c, state, Tok::Timestamp);
                }
            }
        }
    }

    /// `[ \t]+` (text format only).
    fn whitespace(&mut self) -> Tok {
        let mut c = self.at(self.i);
        while c == b' ' || c == b'\t' {
            c = self.next();
        }
        Tok::Whitespace
    }

    /// The rest of a name whose first byte is current.
    #[inline]
    fn name(&mut self, class: u8) {
        let b = self.b;
        let mut i = self.i + 1;
        while i < b.len() && CLASS[b[i] as usize] & class != 0 {
            i += 1;
        }
        self.i = i;
    }

    /// Advances while `keep` holds for the next bytes (the current one is consumed).
    /// Only for states that do not swallow NULs, so a plain byte loop is exact; `keep`
    /// must refuse 0 and `\n` (the end and the text format's virtual newline).
    #[inline]
    fn run(&mut self, keep: impl Fn(u8) -> bool) {
        debug_assert!(!matches!(
            self.state,
            State::LValue | State::Meta2 | State::Comment
        ));
        let b = self.b;
        let mut i = self.i + 1;
        while i < b.len() && keep(b[i]) {
            i += 1;
        }
        self.i = i.min(self.vlen);
    }

    /// OpenMetrics `{S}[^ \n]+`: a value or timestamp after exactly one space.
    fn om_field(&mut self, c: u8, next_state: State, tok: Tok) -> Tok {
        if c != b' ' {
            return Tok::Invalid;
        }
        let c = self.next();
        if matches!(c, b' ' | b'\n' | 0) {
            return Tok::Invalid;
        }
        self.run(|c| !matches!(c, b' ' | b'\n' | 0));
        self.state = next_state;
        tok
    }

    /// The rest of `HELP`/`TYPE`/`UNIT` and the space(s) after it.
    fn keyword(&mut self, rest: &[u8], tok: Tok) -> Tok {
        for &want in rest {
            if self.next() != want {
                return self.keyword_failed();
            }
        }
        let mut c = self.next();
        if self.om {
            if c != b' ' {
                return Tok::Invalid;
            }
            self.next();
        } else {
            if c != b' ' && c != b'\t' {
                return self.keyword_failed();
            }
            while c == b' ' || c == b'\t' {
                c = self.next();
            }
        }
        self.state = State::Meta1;
        tok
    }

    fn keyword_failed(&mut self) -> Tok {
        if self.om {
            Tok::Invalid
        } else {
            self.consume_comment()
        }
    }

    /// The text format's catch-all comment: everything up to the newline.
    fn consume_comment(&mut self) -> Tok {
        if self.state == State::Comment && self.at(self.i) != 0 {
            // NULs are swallowed here: only the newline (or the end) stops.
            let rest = self.b.get(self.i..).unwrap_or_default();
            return match memchr::memchr(b'\n', rest) {
                Some(off) => {
                    self.i += off;
                    self.state = State::Init;
                    Tok::Comment
                }
                None if !self.om => {
                    self.i = self.b.len();
                    self.state = State::Init;
                    Tok::Comment
                }
                None => {
                    self.i = self.vlen;
                    Tok::Eof
                }
            };
        }
        let mut c = self.at(self.i);
        loop {
            match c {
                0 => return Tok::Eof,
                b'\n' => {
                    self.state = State::Init;
                    return Tok::Comment;
                }
                _ => c = self.next(),
            }
        }
    }

    /// HELP/TYPE/UNIT text. Text format: `[ \t]+` (kept as whitespace when the line has
    /// nothing else) or `[^\n]*`; OpenMetrics: ` [^\n]*\n`.
    fn meta_text(&mut self, c: u8) -> Tok {
        // NULs are swallowed in this state, so only the newline (or the end) stops the
        // text; a NUL as the very first byte is not swallowed and ends it at once.
        let b = self.b;
        if self.om {
            if c != b' ' {
                return Tok::Invalid;
            }
            let from = (self.i + 1).min(b.len());
            let Some(off) = memchr::memchr(b'\n', &b[from..]) else {
                self.i = b.len();
                return Tok::Invalid;
            };
            self.i = from + off;
            self.next();
            self.state = State::Init;
            return Tok::Text;
        }
        if c != 0 {
            let from = self.i.min(b.len());
            let end = memchr::memchr(b'\n', &b[from..]).map_or(b.len(), |off| from + off);
            self.i = end;
            if end > from && b[from..end].iter().all(|&c| matches!(c, b' ' | b'\t' | 0)) {
                return Tok::Whitespace;
            }
        }
        self.state = State::Init;
        Tok::Text
    }

    /// A quoted string starting at the current `"`: `"(\\.|[^\\"])*"`, newlines inside
    /// allowed or not. In label values NULs are swallowed, also right after the closing
    /// quote (golex fetches the look-ahead byte before the state changes).
    fn qstring(&mut self, allow_newline: bool) -> bool {
        let skip_nul = self.state == State::LValue;
        let b = self.b;
        let mut i = self.i + 1;
        loop {
            let rest = b.get(i..).unwrap_or_default();
            let found = match (allow_newline, skip_nul) {
                (true, true) => memchr::memchr2(b'"', b'\\', rest),
                (false, true) => memchr::memchr3(b'"', b'\\', b'\n', rest),
                (true, false) => memchr::memchr3(b'"', b'\\', 0, rest),
                (false, false) => rest
                    .iter()
                    .position(|&c| matches!(c, b'"' | b'\\' | b'\n' | 0)),
            };
            let Some(off) = found else {
                // The real end: the text format's virtual newline is taken into the
                // string, then the input ends.
                self.i = if allow_newline { self.vlen } else { b.len() };
                return false;
            };
            let j = i + off;
            match b[j] {
                b'"' => {
                    self.i = j;
                    self.next();
                    return true;
                }
                b'\\' => {
                    let mut k = j + 1;
                    if skip_nul {
                        while k < b.len() && b[k] == 0 {
                            k += 1;
                        }
                    }
                    if k >= b.len() || b[k] == b'\n' || b[k] == 0 {
                        self.i = k.min(self.vlen);
                        return false;
                    }
                    i = k + 1;
                }
                _ => {
                    self.i = j;
                    return false;
                }
            }
        }
    }
}
