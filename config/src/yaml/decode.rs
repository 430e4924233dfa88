//! Reading typed values out of a [`Node`] tree with `yaml.v2`'s rules and wording.
//!
//! [`Decode`] is implemented for the scalar and collection types the configuration uses;
//! structs implement [`DecodeStruct`] and read their fields through a [`MapReader`], which
//! remembers which keys were consumed so that an unknown key is reported
//! (`field scrape_intervall not found in type config.ScrapeConfig`). Structs that Go
//! *inlines* into another (the HTTP client settings, the service-discovery lists) read
//! from their owner's reader, exactly as Go's inline fields share one mapping.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::{resolve_plain, Kind, Node, Pos, Resolved, Style};

/// A decoding error at a position in the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError {
    pub pos: Pos,
    pub message: String,
}

pub(crate) type DResult<T> = Result<T, DecodeError>;

/// An error located at `node`.
pub(crate) fn error_at(node: &Node, message: impl Into<String>) -> DecodeError {
    DecodeError {
        pos: node.pos,
        message: message.into(),
    }
}

/// `yaml.v2`'s type error: ``cannot unmarshal !!str `abc` into bool``.
pub(crate) fn type_error(node: &Node, go_type: &str) -> DecodeError {
    let value = match &node.kind {
        Kind::Scalar { text, .. } => {
            if text.chars().count() > 10 {
                let head: String = text.chars().take(7).collect();
                format!(" `{head}...`")
            } else {
                format!(" `{text}`")
            }
        }
        _ => String::new(),
    };
    error_at(
        node,
        format!("cannot unmarshal {}{value} into {go_type}", node.tag()),
    )
}

/// A value that can be read from a YAML node.
pub(crate) trait Decode: Sized {
    /// The Go type name used in messages (`string`, `[]string`, `config.TLSConfig`).
    fn go_type() -> String;
    fn decode(node: &Node) -> DResult<Self>;
}

/// A struct read field by field from a mapping.
pub(crate) trait DecodeStruct: Sized + Default {
    /// The Go type name used in messages.
    const GO_TYPE: &'static str;
    /// Reads the fields, starting from the defaults.
    fn read(m: &mut MapReader<'_>) -> DResult<Self>;
    /// Validation done once the fields are read (Go's `UnmarshalYAML` checks). The
    /// error is reported at the mapping's position.
    fn check(&mut self) -> Result<(), String> {
        Ok(())
    }
}

/// Implements [`Decode`] for [`DecodeStruct`] types: a mapping is read and checked, a
/// null is the type's default.
macro_rules! decode_struct {
    ($($t:ty),* $(,)?) => {$(
        impl $crate::yaml::decode::Decode for $t {
            fn go_type() -> String {
                <$t as $crate::yaml::decode::DecodeStruct>::GO_TYPE.to_string()
            }
            fn decode(node: &$crate::yaml::Node) -> $crate::yaml::decode::DResult<Self> {
                $crate::yaml::decode::decode_struct_node::<$t>(node)
            }
        }
    )*};
}
pub(crate) use decode_struct;

/// Reads a [`DecodeStruct`] from a node (see [`decode_struct!`]).
pub(crate) fn decode_struct_node<T: DecodeStruct>(node: &Node) -> DResult<T> {
    if node.is_null() {
        return Ok(T::default());
    }
    let mut m = MapReader::new(node, T::GO_TYPE)?;
    let mut value = T::read(&mut m)?;
    m.finish()?;
    value.check().map_err(|e| error_at(node, e))?;
    Ok(value)
}

/// The fields of one mapping, consumed by name.
pub(crate) struct MapReader<'a> {
    node: &'a Node,
    go_type: &'static str,
    entries: Vec<Entry<'a>>,
}

struct Entry<'a> {
    key: &'a str,
    key_node: &'a Node,
    value: &'a Node,
    used: bool,
}

impl<'a> MapReader<'a> {
    /// Starts reading `node` as a struct of Go type `go_type`; a null reads as an empty
    /// mapping. Repeated keys are an error, merge keys (`<<: *anchor`) are expanded.
    pub fn new(node: &'a Node, go_type: &'static str) -> DResult<MapReader<'a>> {
        let mut entries: Vec<Entry<'a>> = Vec::new();
        if !node.is_null() {
            let Kind::Map(pairs) = &node.kind else {
                return Err(type_error(node, go_type));
            };
            let mut merges = Vec::new();
            for (k, v) in pairs {
                let key = map_key(k)?;
                if key == "<<"
                    && matches!(
                        &k.kind,
                        Kind::Scalar {
                            style: Style::Plain,
                            ..
                        }
                    )
                {
                    merges.push(v);
                    continue;
                }
                if entries.iter().any(|e| e.key == key) {
                    return Err(error_at(
                        k,
                        format!("field {key} already set in type {go_type}"),
                    ));
                }
                entries.push(Entry {
                    key,
                    key_node: k,
                    value: v,
                    used: false,
                });
            }
            for m in merges {
                merge_into(&mut entries, m)?;
            }
        }
        Ok(MapReader {
            node,
            go_type,
            entries,
        })
    }

    /// The mapping node itself (for positions in messages).
    pub fn node(&self) -> &'a Node {
        self.node
    }

    /// The value node of `key`, marking the key as known.
    pub fn take_node(&mut self, key: &str) -> Option<&'a Node> {
        let e = self.entries.iter_mut().find(|e| e.key == key)?;
        e.used = true;
        Some(e.value)
    }

    /// Decodes `key` if present (a present null is the type's zero value).
    pub fn take<T: Decode>(&mut self, key: &str) -> DResult<Option<T>> {
        match self.take_node(key) {
            Some(n) => T::decode(n).map(Some),
            None => Ok(None),
        }
    }

    /// Decodes `key` into `slot` if present.
    pub fn read<T: Decode>(&mut self, key: &str, slot: &mut T) -> DResult<()> {
        if let Some(v) = self.take(key)? {
            *slot = v;
        }
        Ok(())
    }

    /// Fails on the first key no field consumed.
    pub fn finish(self) -> DResult<()> {
        match self.entries.iter().find(|e| !e.used) {
            Some(e) => Err(error_at(
                e.key_node,
                format!("field {} not found in type {}", e.key, self.go_type),
            )),
            None => Ok(()),
        }
    }
}

fn map_key(k: &Node) -> DResult<&str> {
    match &k.kind {
        Kind::Scalar { text, .. } => Ok(text.as_str()),
        _ => Err(type_error(k, "string")),
    }
}

/// Adds the entries of a merged mapping (or sequence of mappings) for keys not yet set.
fn merge_into<'a>(entries: &mut Vec<Entry<'a>>, merged: &'a Node) -> DResult<()> {
    let sources: Vec<&'a Node> = match &merged.kind {
        Kind::Map(_) => vec![merged],
        Kind::Seq(items) => items.iter().map(Rc::as_ref).collect(),
        _ => {
            return Err(error_at(
                merged,
                "map merge requires map or sequence of maps as the value",
            ))
        }
    };
    for src in sources {
        let Kind::Map(pairs) = &src.kind else {
            return Err(error_at(
                src,
                "map merge requires map or sequence of maps as the value",
            ));
        };
        for (k, v) in pairs {
            let key = map_key(k)?;
            if !entries.iter().any(|e| e.key == key) {
                entries.push(Entry {
                    key,
                    key_node: k,
                    value: v,
                    used: false,
                });
            }
        }
    }
    Ok(())
}

/// The pairs of a mapping node (null is empty) as `(key, key node, value)`, with merge
/// keys expanded; repeated keys are `yaml.v2`'s ``key "x" already set in map``.
pub(crate) fn map_pairs<'a>(
    node: &'a Node,
    go_type: &str,
) -> DResult<Vec<(&'a str, &'a Node, &'a Node)>> {
    if node.is_null() {
        return Ok(Vec::new());
    }
    let Kind::Map(pairs) = &node.kind else {
        return Err(type_error(node, go_type));
    };
    let mut entries: Vec<Entry<'a>> = Vec::with_capacity(pairs.len());
    let mut merges = Vec::new();
    for (k, v) in pairs {
        let key = map_key(k)?;
        if key == "<<"
            && matches!(
                &k.kind,
                Kind::Scalar {
                    style: Style::Plain,
                    ..
                }
            )
        {
            merges.push(v);
            continue;
        }
        if entries.iter().any(|e| e.key == key) {
            return Err(error_at(k, format!("key {key:?} already set in map")));
        }
        entries.push(Entry {
            key,
            key_node: k,
            value: v,
            used: false,
        });
    }
    for m in merges {
        merge_into(&mut entries, m)?;
    }
    Ok(entries
        .into_iter()
        .map(|e| (e.key, e.key_node, e.value))
        .collect())
}

/// The text of a scalar as a Go string field receives it (any scalar; null is "").
pub(crate) fn scalar_text<'n>(node: &'n Node, go_type: &str) -> DResult<&'n str> {
    match &node.kind {
        Kind::Scalar { text, .. } if !node.is_null() => Ok(text),
        Kind::Scalar { .. } => Ok(""),
        _ => Err(type_error(node, go_type)),
    }
}

impl Decode for String {
    fn go_type() -> String {
        "string".into()
    }
    fn decode(node: &Node) -> DResult<Self> {
        scalar_text(node, "string").map(str::to_string)
    }
}

impl Decode for bool {
    fn go_type() -> String {
        "bool".into()
    }
    fn decode(node: &Node) -> DResult<Self> {
        match &node.kind {
            Kind::Scalar {
                text,
                style: Style::Plain,
            } => match resolve_plain(text) {
                Resolved::Bool(b) => Ok(b),
                Resolved::Null => Ok(false),
                _ => Err(type_error(node, "bool")),
            },
            _ => Err(type_error(node, "bool")),
        }
    }
}

/// A plain scalar resolved as a number, for the integer and float decoders.
fn number(node: &Node, go_type: &str) -> DResult<Option<Resolved>> {
    match &node.kind {
        Kind::Scalar {
            text,
            style: Style::Plain,
        } => match resolve_plain(text) {
            Resolved::Null => Ok(None),
            r @ (Resolved::Int(_) | Resolved::Uint(_) | Resolved::Float(_)) => Ok(Some(r)),
            _ => Err(type_error(node, go_type)),
        },
        _ => Err(type_error(node, go_type)),
    }
}

impl Decode for i64 {
    fn go_type() -> String {
        "int".into()
    }
    fn decode(node: &Node) -> DResult<Self> {
        match number(node, "int")? {
            None => Ok(0),
            Some(Resolved::Int(i)) => Ok(i),
            Some(Resolved::Float(f)) if f.is_finite() && f.abs() < 9.2e18 => Ok(f as i64),
            _ => Err(type_error(node, "int")),
        }
    }
}

impl Decode for u64 {
    fn go_type() -> String {
        "uint".into()
    }
    fn decode(node: &Node) -> DResult<Self> {
        match number(node, "uint")? {
            None => Ok(0),
            Some(Resolved::Int(i)) if i >= 0 => Ok(i as u64),
            Some(Resolved::Uint(u)) => Ok(u),
            Some(Resolved::Float(f)) if f.is_finite() && (0.0..1.8e19).contains(&f) => Ok(f as u64),
            _ => Err(type_error(node, "uint")),
        }
    }
}

impl Decode for f64 {
    fn go_type() -> String {
        "float64".into()
    }
    fn decode(node: &Node) -> DResult<Self> {
        match number(node, "float64")? {
            None => Ok(0.0),
            Some(Resolved::Int(i)) => Ok(i as f64),
            Some(Resolved::Uint(u)) => Ok(u as f64),
            Some(Resolved::Float(f)) => Ok(f),
            _ => Err(type_error(node, "float64")),
        }
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn go_type() -> String {
        format!("[]{}", T::go_type())
    }
    fn decode(node: &Node) -> DResult<Self> {
        if node.is_null() {
            return Ok(Vec::new());
        }
        match &node.kind {
            Kind::Seq(items) => items.iter().map(|n| T::decode(n)).collect(),
            _ => Err(type_error(node, &Self::go_type())),
        }
    }
}

impl<T: Decode> Decode for Option<T> {
    fn go_type() -> String {
        format!("*{}", T::go_type())
    }
    fn decode(node: &Node) -> DResult<Self> {
        if node.is_null() {
            return Ok(None);
        }
        T::decode(node).map(Some)
    }
}

impl<T: Decode> Decode for BTreeMap<String, T> {
    fn go_type() -> String {
        format!("map[string]{}", T::go_type())
    }
    fn decode(node: &Node) -> DResult<Self> {
        map_pairs(node, &Self::go_type())?
            .into_iter()
            .map(|(k, _, v)| T::decode(v).map(|v| (k.to_string(), v)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse;

    fn root(doc: &str) -> Rc<Node> {
        parse(doc).unwrap().unwrap()
    }

    #[test]
    fn scalars_decode_as_yaml_v2_does() {
        let n = root("[yes, '1', 0x1f, 1.5, ~, abc]");
        let Kind::Seq(items) = &n.kind else { panic!() };
        assert!(bool::decode(&items[0]).unwrap());
        assert_eq!(
            bool::decode(&items[1]).unwrap_err().message,
            "cannot unmarshal !!str `1` into bool"
        );
        assert_eq!(i64::decode(&items[2]).unwrap(), 31);
        assert_eq!(f64::decode(&items[3]).unwrap(), 1.5);
        assert_eq!(String::decode(&items[4]).unwrap(), "");
        assert_eq!(String::decode(&items[2]).unwrap(), "0x1f");
        assert_eq!(
            u64::decode(&items[5]).unwrap_err().message,
            "cannot unmarshal !!str `abc` into uint"
        );
        assert_eq!(
            Vec::<String>::decode(&items[5]).unwrap_err().message,
            "cannot unmarshal !!str `abc` into []string"
        );
    }

    #[test]
    fn map_reader_reports_unknown_and_repeated_fields() {
        let n = root("a: 1\nb: 2\n");
        let mut m = MapReader::new(&n, "test.T").unwrap();
        assert_eq!(m.take::<i64>("a").unwrap(), Some(1));
        let e = m.finish().unwrap_err();
        assert_eq!(e.message, "field b not found in type test.T");
        assert_eq!(e.pos.line, 2);

        let n = root("a: 1\na: 2\n");
        let e = MapReader::new(&n, "test.T").err().unwrap();
        assert_eq!(e.message, "field a already set in type test.T");
    }

    #[test]
    fn merge_keys_fill_missing_fields() {
        let n = root("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n");
        let Kind::Map(pairs) = &n.kind else { panic!() };
        let mut m = MapReader::new(&pairs[1].1, "test.T").unwrap();
        assert_eq!(m.take::<i64>("x").unwrap(), Some(1));
        assert_eq!(m.take::<i64>("y").unwrap(), Some(3));
        m.finish().unwrap();
        let map = BTreeMap::<String, i64>::decode(&pairs[1].1).unwrap();
        assert_eq!(map.get("x"), Some(&1));
        assert_eq!(map.get("y"), Some(&3));
    }
}
