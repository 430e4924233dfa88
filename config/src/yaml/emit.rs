//! Writing YAML the way Go's `yaml.v2` writes it.
//!
//! Prometheus shows its loaded configuration (`/api/v1/status/config`) by marshalling it
//! with `yaml.v2`: struct fields in declaration order, `omitempty` fields left out when
//! zero, map keys in `yaml.v2`'s natural order, two-space indentation with sequences under
//! a mapping key not indented, and libyaml's rules for when a string must be quoted or
//! may be folded at column 80. [`Value`] is the tree to write; [`Encode`] turns
//! configuration types into it; [`to_yaml`] writes it.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use ember_storage::numfmt::format_g;

use super::{resolve_plain, Resolved};

/// Where libyaml folds long scalars.
const BEST_WIDTH: usize = 80;
/// Indentation step.
const INDENT: usize = 2;

/// A YAML value to write.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(String),
    /// A block sequence (`- item` lines).
    Seq(Vec<Value>),
    /// A flow sequence (`[a, b]`), as Go's `,flow` tag asks for.
    FlowSeq(Vec<Value>),
    /// A mapping, keys in the order given.
    Map(Vec<(String, Value)>),
}

/// A configuration type that can be written as YAML.
pub(crate) trait Encode {
    fn encode(&self) -> Value;
    /// Go's zero value, which `omitempty` leaves out.
    fn is_zero(&self) -> bool;
}

/// A struct written field by field; see [`encode_struct!`].
pub(crate) trait EncodeStruct {
    fn write(&self, w: &mut MapWriter);
}

/// Implements [`Encode`] for [`EncodeStruct`] types: a struct is zero when all its fields
/// are (as `yaml.v2` decides for `omitempty` structs).
macro_rules! encode_struct {
    ($($t:ty),* $(,)?) => {$(
        impl $crate::yaml::emit::Encode for $t {
            fn encode(&self) -> $crate::yaml::emit::Value {
                let mut w = $crate::yaml::emit::MapWriter::default();
                $crate::yaml::emit::EncodeStruct::write(self, &mut w);
                w.into_value()
            }
            fn is_zero(&self) -> bool {
                let mut w = $crate::yaml::emit::MapWriter::default();
                $crate::yaml::emit::EncodeStruct::write(self, &mut w);
                w.all_zero()
            }
        }
    )*};
}
pub(crate) use encode_struct;

/// Collects the fields of a struct.
#[derive(Default)]
pub(crate) struct MapWriter {
    entries: Vec<(String, Value)>,
    nonzero: bool,
}

impl MapWriter {
    /// Writes a field that has no `omitempty`.
    pub fn field<T: Encode + ?Sized>(&mut self, key: &str, v: &T) {
        self.nonzero |= !v.is_zero();
        self.entries.push((key.to_string(), v.encode()));
    }

    /// Writes a field that has `omitempty`: left out when zero.
    pub fn omitempty<T: Encode + ?Sized>(&mut self, key: &str, v: &T) {
        if !v.is_zero() {
            self.nonzero = true;
            self.entries.push((key.to_string(), v.encode()));
        }
    }

    /// Writes a `flow,omitempty` list of strings (`source_labels: [a, b]`).
    pub fn flow_omitempty(&mut self, key: &str, v: &[String]) {
        if !v.is_empty() {
            self.nonzero = true;
            let items = v.iter().map(|s| Value::Str(s.clone())).collect();
            self.entries.push((key.to_string(), Value::FlowSeq(items)));
        }
    }

    /// Writes an already-encoded value, counted as non-zero.
    pub fn raw(&mut self, key: &str, v: Value) {
        self.nonzero = true;
        self.entries.push((key.to_string(), v));
    }

    pub fn all_zero(&self) -> bool {
        !self.nonzero
    }

    pub fn into_value(self) -> Value {
        Value::Map(self.entries)
    }
}

impl Encode for String {
    fn encode(&self) -> Value {
        Value::Str(self.clone())
    }
    fn is_zero(&self) -> bool {
        self.is_empty()
    }
}

impl Encode for str {
    fn encode(&self) -> Value {
        Value::Str(self.to_string())
    }
    fn is_zero(&self) -> bool {
        self.is_empty()
    }
}

impl Encode for bool {
    fn encode(&self) -> Value {
        Value::Bool(*self)
    }
    fn is_zero(&self) -> bool {
        !*self
    }
}

impl Encode for i64 {
    fn encode(&self) -> Value {
        Value::Int(*self)
    }
    fn is_zero(&self) -> bool {
        *self == 0
    }
}

impl Encode for u64 {
    fn encode(&self) -> Value {
        Value::Uint(*self)
    }
    fn is_zero(&self) -> bool {
        *self == 0
    }
}

impl Encode for f64 {
    fn encode(&self) -> Value {
        Value::Float(*self)
    }
    fn is_zero(&self) -> bool {
        *self == 0.0
    }
}

impl<T: Encode> Encode for Vec<T> {
    fn encode(&self) -> Value {
        Value::Seq(self.iter().map(Encode::encode).collect())
    }
    fn is_zero(&self) -> bool {
        self.is_empty()
    }
}

impl<T: Encode> Encode for Option<T> {
    fn encode(&self) -> Value {
        match self {
            Some(v) => v.encode(),
            None => Value::Null,
        }
    }
    fn is_zero(&self) -> bool {
        self.is_none()
    }
}

impl<T: Encode> Encode for BTreeMap<String, T> {
    fn encode(&self) -> Value {
        let mut entries: Vec<(String, Value)> =
            self.iter().map(|(k, v)| (k.clone(), v.encode())).collect();
        entries.sort_by(|a, b| go_key_order(&a.0, &b.0));
        Value::Map(entries)
    }
    fn is_zero(&self) -> bool {
        self.is_empty()
    }
}

/// `yaml.v2`'s order for map keys: character by character, letters after other
/// characters, and runs of digits compared as numbers (`a2` before `a10`).
pub(crate) fn go_key_order(a: &str, b: &str) -> Ordering {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let is_digit = |c: char| c.is_ascii_digit();
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return if bl {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let (mut an, mut bn) = (0i64, 0i64);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && is_digit(ar[j - 1]) {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && is_digit(ar[ai]) {
            an = an
                .wrapping_mul(10)
                .wrapping_add(i64::from(ar[ai] as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && is_digit(br[bi]) {
            bn = bn
                .wrapping_mul(10)
                .wrapping_add(i64::from(br[bi] as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}

/// Writes a document as `yaml.v2` marshals it.
pub(crate) fn to_yaml(v: &Value) -> String {
    let mut e = Emitter {
        out: String::new(),
        column: 0,
        whitespace: true,
        indention: true,
        flow_level: 0,
    };
    e.node(v, None, Context::Root);
    e.write_indent(0);
    e.out
}

/// Where a node sits, which decides indentation and scalar rules.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Root,
    MappingKey,
    MappingValue,
    SequenceItem,
}

struct Emitter {
    out: String,
    column: usize,
    /// The last character written was whitespace (no space needed before an indicator).
    whitespace: bool,
    /// Only indentation has been written on this line so far.
    indention: bool,
    flow_level: usize,
}

/// How libyaml may write a scalar, from `yaml_emitter_analyze_scalar`.
struct Analysis {
    multiline: bool,
    flow_plain: bool,
    block_plain: bool,
    single_quoted: bool,
    block: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ScalarStyle {
    Plain,
    Single,
    Double,
    Literal,
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn write(&mut self, s: &str) {
        for c in s.chars() {
            self.put(c);
        }
    }

    fn write_indent(&mut self, indent: usize) {
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(&mut self, ind: &str, need_ws: bool, is_ws: bool, is_indention: bool) {
        if need_ws && !self.whitespace {
            self.put(' ');
        }
        self.write(ind);
        self.whitespace = is_ws;
        self.indention = self.indention && is_indention;
    }

    /// Writes `v`; `indent` is the indentation of the enclosing collection (`None` at the
    /// root, libyaml's -1).
    fn node(&mut self, v: &Value, indent: Option<usize>, ctx: Context) {
        match v {
            Value::Map(entries) if !entries.is_empty() && self.flow_level == 0 => {
                self.block_mapping(entries, indent)
            }
            Value::Seq(items) if !items.is_empty() && self.flow_level == 0 => {
                self.block_sequence(items, indent, ctx)
            }
            Value::Map(entries) => self.flow_mapping(entries, indent),
            Value::Seq(items) | Value::FlowSeq(items) => self.flow_sequence(items, indent),
            Value::Null => self.scalar("null", false, indent, ctx),
            Value::Bool(b) => self.scalar(if *b { "true" } else { "false" }, false, indent, ctx),
            Value::Int(i) => self.scalar(&i.to_string(), false, indent, ctx),
            Value::Uint(u) => self.scalar(&u.to_string(), false, indent, ctx),
            Value::Float(f) => {
                let s = if f.is_nan() {
                    ".nan".to_string()
                } else if *f == f64::INFINITY {
                    ".inf".to_string()
                } else if *f == f64::NEG_INFINITY {
                    "-.inf".to_string()
                } else {
                    format_g(*f)
                };
                self.scalar(&s, false, indent, ctx)
            }
            Value::Str(s) => self.scalar(s, true, indent, ctx),
        }
    }

    fn increased(indent: Option<usize>, flow: bool, indentless: bool) -> usize {
        match indent {
            None => {
                if flow {
                    INDENT
                } else {
                    0
                }
            }
            Some(i) if indentless => i,
            Some(i) => i + INDENT,
        }
    }

    fn block_mapping(&mut self, entries: &[(String, Value)], indent: Option<usize>) {
        let indent = Self::increased(indent, false, false);
        for (k, v) in entries {
            self.write_indent(indent);
            self.scalar(k, true, Some(indent), Context::MappingKey);
            self.write_indicator(":", false, false, false);
            self.node(v, Some(indent), Context::MappingValue);
        }
    }

    fn block_sequence(&mut self, items: &[Value], indent: Option<usize>, ctx: Context) {
        let indentless = ctx == Context::MappingValue && !self.indention;
        let indent = Self::increased(indent, false, indentless);
        for item in items {
            self.write_indent(indent);
            self.write_indicator("-", true, false, true);
            self.node(item, Some(indent), Context::SequenceItem);
        }
    }

    fn flow_sequence(&mut self, items: &[Value], indent: Option<usize>) {
        self.write_indicator("[", true, true, false);
        let indent = Self::increased(indent, true, false);
        self.flow_level += 1;
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.write_indicator(",", false, false, false);
            }
            if self.column > BEST_WIDTH {
                self.write_indent(indent);
            }
            self.node(item, Some(indent), Context::SequenceItem);
        }
        self.flow_level -= 1;
        self.write_indicator("]", false, false, false);
    }

    fn flow_mapping(&mut self, entries: &[(String, Value)], indent: Option<usize>) {
        self.write_indicator("{", true, true, false);
        let indent = Self::increased(indent, true, false);
        self.flow_level += 1;
        for (i, (k, v)) in entries.iter().enumerate() {
            if i > 0 {
                self.write_indicator(",", false, false, false);
            }
            if self.column > BEST_WIDTH {
                self.write_indent(indent);
            }
            self.scalar(k, true, Some(indent), Context::MappingKey);
            self.write_indicator(":", false, false, false);
            self.node(v, Some(indent), Context::MappingValue);
        }
        self.flow_level -= 1;
        self.write_indicator("}", false, false, false);
    }

    /// Writes a scalar; `is_string` marks Go strings, which are quoted when they would
    /// otherwise read back as another type.
    fn scalar(&mut self, s: &str, is_string: bool, indent: Option<usize>, ctx: Context) {
        let simple_key = ctx == Context::MappingKey;
        let a = analyze(s);
        let mut style = if is_string && s.contains('\n') {
            ScalarStyle::Literal
        } else if !is_string || plain_resolves_to_string(s) {
            ScalarStyle::Plain
        } else {
            ScalarStyle::Double
        };
        if simple_key && a.multiline {
            style = ScalarStyle::Double;
        }
        if style == ScalarStyle::Plain {
            let plain_ok = if self.flow_level > 0 {
                a.flow_plain
            } else {
                a.block_plain
            };
            if !plain_ok || (s.is_empty() && (self.flow_level > 0 || simple_key)) {
                style = ScalarStyle::Single;
            }
        }
        if style == ScalarStyle::Single && !a.single_quoted {
            style = ScalarStyle::Double;
        }
        if style == ScalarStyle::Literal && (!a.block || self.flow_level > 0 || simple_key) {
            style = ScalarStyle::Double;
        }
        let indent = Self::increased(indent, true, false);
        let allow_breaks = !simple_key;
        match style {
            ScalarStyle::Plain => self.plain(s, allow_breaks, indent),
            ScalarStyle::Single => self.single_quoted(s, allow_breaks, indent),
            ScalarStyle::Double => self.double_quoted(s, allow_breaks, indent),
            ScalarStyle::Literal => self.literal(s, indent),
        }
    }

    fn plain(&mut self, s: &str, allow_breaks: bool, indent: usize) {
        if !self.whitespace {
            self.put(' ');
        }
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                self.indention = false;
                spaces = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn single_quoted(&mut self, s: &str, allow_breaks: bool, indent: usize) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i < chars.len() - 1
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn double_quoted(&mut self, s: &str, allow_breaks: bool, indent: usize) {
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                match c {
                    '\0' => self.put('0'),
                    '\u{07}' => self.put('a'),
                    '\u{08}' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\u{0b}' => self.put('v'),
                    '\u{0c}' => self.put('f'),
                    '\r' => self.put('r'),
                    '\u{1b}' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{a0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    c => {
                        let v = c as u32;
                        let (letter, width) = if v <= 0xFF {
                            ('x', 2)
                        } else if v <= 0xFFFF {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(letter);
                        self.write(&format!("{v:0width$X}"));
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i < chars.len() - 1
                {
                    self.write_indent(indent);
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn literal(&mut self, s: &str, indent: usize) {
        self.write_indicator("|", true, false, false);
        let chars: Vec<char> = s.chars().collect();
        if chars.first().is_some_and(|&c| c == ' ' || is_break(c)) {
            self.write_indicator(&INDENT.to_string(), false, false, false);
        }
        let chomp = match chars.last() {
            Some(&last) if !is_break(last) => Some("-"),
            Some(_) if chars.len() == 1 => Some("+"),
            Some(_) if is_break(chars[chars.len() - 2]) => Some("+"),
            Some(_) => None,
            None => Some("-"),
        };
        if let Some(ch) = chomp {
            self.write_indicator(ch, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for &c in &chars {
            if is_break(c) {
                self.put_break();
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(indent);
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

/// Whether a Go string may be written unquoted without reading back as something else
/// (`yaml.v2`'s `resolve` gives `!!str` and it is not a base-60 float like `1:20`).
fn plain_resolves_to_string(s: &str) -> bool {
    matches!(resolve_plain(s), Resolved::Str) && !is_base60_float(s)
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        let group = &b[start..i];
        let ok = match group.len() {
            1 => true,
            2 => group[0] <= b'5',
            _ => false,
        };
        if !ok {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// libyaml's printable set: `\n`, ASCII printables and the BMP outside surrogates and
/// C1 controls (characters beyond the BMP count as not printable).
fn is_printable(c: char) -> bool {
    let v = c as u32;
    v == 0x0A
        || (0x20..=0x7E).contains(&v)
        || (0xA0..=0xD7FF).contains(&v)
        || ((0xE000..=0xFFFD).contains(&v) && v != 0xFEFF)
}

/// `yaml_emitter_analyze_scalar`.
fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            multiline: false,
            flow_plain: false,
            block_plain: true,
            single_quoted: true,
            block: false,
        };
    }
    let chars: Vec<char> = s.chars().collect();
    let mut block_indicators = false;
    let mut flow_indicators = false;
    let mut line_breaks = false;
    let mut special = false;
    let mut leading_space = false;
    let mut leading_break = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;
    let mut previous_space = false;
    let mut previous_break = false;
    if s.starts_with("---") || s.starts_with("...") {
        block_indicators = true;
        flow_indicators = true;
    }
    let mut preceded_by_ws = true;
    let n = chars.len();
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_ws = i + 1 >= n || matches!(chars[i + 1], ' ' | '\t');
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                '?' | ':' => {
                    flow_indicators = true;
                    if followed_by_ws {
                        block_indicators = true;
                    }
                }
                '-' if followed_by_ws => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match c {
                ',' | '?' | '[' | ']' | '{' | '}' => flow_indicators = true,
                ':' => {
                    flow_indicators = true;
                    if followed_by_ws {
                        block_indicators = true;
                    }
                }
                '#' if preceded_by_ws => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        }
        if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i == n - 1 {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if i == n - 1 {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_ws = matches!(c, ' ' | '\t') || is_break(c);
    }
    let mut a = Analysis {
        multiline: line_breaks,
        flow_plain: true,
        block_plain: true,
        single_quoted: true,
        block: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.flow_plain = false;
        a.block_plain = false;
    }
    if trailing_space {
        a.block = false;
    }
    if break_space {
        a.flow_plain = false;
        a.block_plain = false;
        a.single_quoted = false;
    }
    if space_break || special {
        a.flow_plain = false;
        a.block_plain = false;
        a.single_quoted = false;
        a.block = false;
    }
    if line_breaks {
        a.flow_plain = false;
        a.block_plain = false;
    }
    if flow_indicators {
        a.flow_plain = false;
    }
    if block_indicators {
        a.block_plain = false;
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(v.to_string())
    }

    fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    #[test]
    fn block_layout_matches_yaml_v2() {
        // Shape and quoting as Prometheus 2.42's /api/v1/status/config printed them.
        let doc = map(vec![
            ("global", map(vec![("scrape_interval", s("15s"))])),
            ("rule_files", Value::Seq(vec![s("rules/*.yml")])),
            (
                "scrape_configs",
                Value::Seq(vec![map(vec![
                    ("job_name", s("blackbox")),
                    ("honor_timestamps", Value::Bool(true)),
                    (
                        "params",
                        map(vec![("module", Value::Seq(vec![s("http_2xx")]))]),
                    ),
                    (
                        "relabel_configs",
                        Value::Seq(vec![map(vec![
                            (
                                "source_labels",
                                Value::FlowSeq(vec![s("__param_target"), s("__x")]),
                            ),
                            ("separator", s(";")),
                            ("regex", s("(.*)")),
                            ("replacement", s("${1}: #yes")),
                            ("modulus", Value::Uint(8)),
                        ])]),
                    ),
                    ("empty", Value::Seq(vec![])),
                ])]),
            ),
        ]);
        let want = "global:
  scrape_interval: 15s
rule_files:
- rules/*.yml
scrape_configs:
- job_name: blackbox
  honor_timestamps: true
  params:
    module:
    - http_2xx
  relabel_configs:
  - source_labels: [__param_target, __x]
    separator: ;
    regex: (.*)
    replacement: '${1}: #yes'
    modulus: 8
  empty: []
";
        assert_eq!(to_yaml(&doc), want);
    }

    #[test]
    fn quotes_strings_that_would_read_back_as_other_types() {
        let doc = map(vec![
            ("a", s("")),
            ("b", s("true")),
            ("c", s("123")),
            ("d", s("1:20")),
            ("e", s("<secret>")),
            ("f", s("- x")),
            ("g", s(" lead")),
            ("h", s("it's")),
            ("i", s("tab\there")),
            ("j", s("null")),
            ("k", s("2001-12-14")),
            ("l", s("*star")),
        ]);
        let want = "a: \"\"
b: \"true\"
c: \"123\"
d: \"1:20\"
e: <secret>
f: '- x'
g: ' lead'
h: it's
i: \"tab\\there\"
j: \"null\"
k: \"2001-12-14\"
l: '*star'
";
        assert_eq!(to_yaml(&doc), want);
    }

    #[test]
    fn multiline_strings_are_literal_blocks() {
        let doc = map(vec![("expr", s("a\n  + b\n")), ("x", s("one\ntwo"))]);
        assert_eq!(
            to_yaml(&doc),
            "expr: |\n  a\n    + b\nx: |-\n  one\n  two\n"
        );
    }

    #[test]
    fn long_plain_strings_fold_after_column_80() {
        let words = vec!["word"; 30].join(" ");
        let out = to_yaml(&map(vec![("k", s(&words))]));
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.len() > 1, "{out}");
        assert!(lines[1].starts_with("  word"), "{out}");
        // Folding keeps the value: a reader joins the lines with single spaces.
        let rejoined = lines
            .join(" ")
            .replace("k: ", "")
            .split_whitespace()
            .count();
        assert_eq!(rejoined, 30);
    }

    #[test]
    fn empty_document_is_flow_map() {
        assert_eq!(to_yaml(&Value::Map(vec![])), "{}\n");
    }

    #[test]
    fn key_order_is_natural() {
        let mut keys = vec!["a10", "a2", "_x", "ab", "B", "a"];
        keys.sort_by(|a, b| go_key_order(a, b));
        assert_eq!(keys, vec!["_x", "B", "a", "a2", "a10", "ab"]);
    }
}
