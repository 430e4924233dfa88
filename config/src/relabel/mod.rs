//! Relabeling: the `relabel_configs`, `metric_relabel_configs`, `alert_relabel_configs`
//! and `write_relabel_configs` rules, and the engine that applies them.
//!
//! A [`RelabelConfig`] is one rule as written (`<relabel_config>`), with Prometheus's
//! defaults (`action: replace`, `separator: ;`, `regex: (.*)`, `replacement: $1`) and
//! Prometheus's validation. A [`Relabeler`] compiles a list of rules once and applies them
//! to label sets: see [`engine`].
//!
//! Regexes are RE2 syntax, fully anchored and with `.` matching newlines, as Prometheus
//! compiles them (`^(?s:<regex>)$`).

pub mod engine;
mod template;

use std::fmt;
use std::sync::OnceLock;

use ember_storage::matcher::compile_go_regex;

pub use engine::{RelabelBuffer, RelabelError, Relabeler};

use crate::types::{decode_label_names, go_quote, NameValidation};
use crate::yaml::decode::{decode_struct, error_at, DResult, Decode, DecodeStruct, MapReader};
use crate::yaml::emit::{encode_struct, Encode, EncodeStruct, MapWriter, Value};
use crate::yaml::{Node, Pos};

/// What a relabel rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Sets `target_label` to `replacement` (with `$1`… from `regex`) when `regex` matches.
    Replace,
    /// Keeps the label set only if `regex` matches the joined source labels.
    Keep,
    /// Drops the label set if `regex` matches the joined source labels.
    Drop,
    /// Keeps the label set only if the joined source labels equal `target_label`'s value.
    KeepEqual,
    /// Drops the label set if the joined source labels equal `target_label`'s value.
    DropEqual,
    /// Sets `target_label` to the MD5 of the joined source labels modulo `modulus`.
    HashMod,
    /// Copies every label whose name matches `regex` to the name `replacement`.
    LabelMap,
    /// Removes every label whose name matches `regex`.
    LabelDrop,
    /// Removes every label whose name does not match `regex`.
    LabelKeep,
    /// Sets `target_label` to the joined source labels in lower case.
    Lowercase,
    /// Sets `target_label` to the joined source labels in upper case.
    Uppercase,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::KeepEqual => "keepequal",
            Action::DropEqual => "dropequal",
            Action::HashMod => "hashmod",
            Action::LabelMap => "labelmap",
            Action::LabelDrop => "labeldrop",
            Action::LabelKeep => "labelkeep",
            Action::Lowercase => "lowercase",
            Action::Uppercase => "uppercase",
        }
    }

    /// Parses an action name, case-insensitively as Prometheus does.
    pub fn parse(s: &str) -> Option<Action> {
        Some(match s.to_lowercase().as_str() {
            "replace" => Action::Replace,
            "keep" => Action::Keep,
            "drop" => Action::Drop,
            "keepequal" => Action::KeepEqual,
            "dropequal" => Action::DropEqual,
            "hashmod" => Action::HashMod,
            "labelmap" => Action::LabelMap,
            "labeldrop" => Action::LabelDrop,
            "labelkeep" => Action::LabelKeep,
            "lowercase" => Action::Lowercase,
            "uppercase" => Action::Uppercase,
            _ => return None,
        })
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Decode for Action {
    fn go_type() -> String {
        "relabel.Action".into()
    }
    fn decode(node: &Node) -> DResult<Self> {
        let s = String::decode(node)?;
        Action::parse(&s)
            .ok_or_else(|| error_at(node, format!("unknown relabel action {}", go_quote(&s))))
    }
}

impl Encode for Action {
    fn encode(&self) -> Value {
        Value::Str(self.as_str().into())
    }
    fn is_zero(&self) -> bool {
        false
    }
}

/// A relabel rule's regex: the pattern as written, compiled anchored.
#[derive(Clone)]
pub struct RelabelRegex {
    pattern: String,
    /// The rule did not set `regex` (Prometheus leaves it out when writing the rule back,
    /// and `keepequal`/`dropequal`/`labeldrop`/`labelkeep` check it was not set).
    is_default: bool,
    compiled: regex::Regex,
}

impl RelabelRegex {
    /// Compiles `pattern` as Prometheus does: `^(?s:<pattern>)$`, RE2 syntax. The error
    /// is worded as Go's (`error parsing regexp: missing closing ): ...`).
    pub fn new(pattern: &str) -> Result<RelabelRegex, String> {
        let compiled = compile_go_regex(&format!("^(?s:{pattern})$"))?;
        Ok(RelabelRegex {
            pattern: pattern.to_string(),
            is_default: false,
            compiled,
        })
    }

    /// The default `(.*)`, as used when a rule sets no `regex`.
    pub fn default_regex() -> RelabelRegex {
        static DEFAULT: OnceLock<RelabelRegex> = OnceLock::new();
        DEFAULT
            .get_or_init(|| {
                let mut r = RelabelRegex::new("(.*)").expect("the default regex compiles");
                r.is_default = true;
                r
            })
            .clone()
    }

    /// The pattern as written (without the anchoring).
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Whether the rule left `regex` unset.
    pub fn is_default(&self) -> bool {
        self.is_default
    }

    /// The anchored compiled regex.
    pub fn regex(&self) -> &regex::Regex {
        &self.compiled
    }
}

impl Default for RelabelRegex {
    fn default() -> Self {
        RelabelRegex::default_regex()
    }
}

impl PartialEq for RelabelRegex {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern && self.is_default == other.is_default
    }
}

impl fmt::Debug for RelabelRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.pattern)
    }
}

impl Decode for RelabelRegex {
    fn go_type() -> String {
        "relabel.Regexp".into()
    }
    fn decode(node: &Node) -> DResult<Self> {
        // A null `regex:` is the empty regex, as Prometheus's UnmarshalYAML makes it.
        let s = String::decode(node)?;
        RelabelRegex::new(&s).map_err(|e| error_at(node, e))
    }
}

impl Encode for RelabelRegex {
    fn encode(&self) -> Value {
        Value::Str(self.pattern.clone())
    }
    fn is_zero(&self) -> bool {
        self.is_default
    }
}

/// A position that never takes part in equality (so configurations compare by content).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct At(pub Pos);

impl PartialEq for At {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// One relabeling rule (`<relabel_config>`).
#[derive(Debug, Clone, PartialEq)]
pub struct RelabelConfig {
    /// Labels whose values are joined with `separator` to form the input.
    pub source_labels: Vec<String>,
    pub separator: String,
    pub regex: RelabelRegex,
    /// For `hashmod`.
    pub modulus: u64,
    pub target_label: String,
    pub replacement: String,
    /// `None` only for a rule that wrote `action:` with no value (rejected by validation).
    pub action: Option<Action>,
    /// How target label names are checked; set from the enclosing configuration.
    pub name_validation: NameValidation,
    pub(crate) at: At,
}

impl Default for RelabelConfig {
    fn default() -> Self {
        RelabelConfig {
            source_labels: Vec::new(),
            separator: ";".into(),
            regex: RelabelRegex::default_regex(),
            modulus: 0,
            target_label: String::new(),
            replacement: "$1".into(),
            action: Some(Action::Replace),
            name_validation: NameValidation::Unset,
            at: At::default(),
        }
    }
}

/// `^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$`: a legacy label name that may hold
/// `$1`/`${name}` references.
fn is_legacy_name_with_vars(s: &str) -> bool {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r"^(?:(?:[a-zA-Z_]|\$(?:\{[0-9A-Za-z_]+\}|[0-9A-Za-z_]+))+[0-9A-Za-z_]*)+$",
        )
        .expect("valid regex")
    })
    .is_match(s)
}

impl RelabelConfig {
    /// The position of the rule in its file (line 0 when built in code).
    pub fn line(&self) -> u32 {
        self.at.0.line
    }

    /// Prometheus's `relabel.Config.Validate`: checks the rule's fields for its action,
    /// with label names checked under `scheme` unless the rule has its own.
    pub fn validate(&mut self, scheme: NameValidation) -> Result<(), String> {
        let Some(action) = self.action else {
            return Err("relabel action cannot be empty".into());
        };
        use Action::*;
        if self.modulus == 0 && action == HashMod {
            return Err("relabel configuration for hashmod requires non-zero modulus".into());
        }
        if matches!(
            action,
            Replace | HashMod | Lowercase | Uppercase | KeepEqual | DropEqual
        ) && self.target_label.is_empty()
        {
            return Err(format!(
                "relabel configuration for {action} action requires 'target_label' value"
            ));
        }
        if self.name_validation == NameValidation::Unset {
            self.name_validation = scheme;
        }
        let scheme = self.name_validation;
        let valid = |s: &str| scheme.is_valid_label_name(s);
        let valid_with_vars = |s: &str| match scheme {
            NameValidation::Legacy => is_legacy_name_with_vars(s),
            _ => valid(s),
        };
        let invalid_target = || {
            format!(
                "{} is invalid 'target_label' for {action} action",
                go_quote(&self.target_label)
            )
        };
        let has_var = self.target_label.contains('$');
        if action == Replace && !has_var && !valid(&self.target_label) {
            return Err(invalid_target());
        }
        if action == Replace && has_var && !valid_with_vars(&self.target_label) {
            return Err(invalid_target());
        }
        let copy_like = matches!(action, Lowercase | Uppercase | KeepEqual | DropEqual);
        if copy_like && !valid(&self.target_label) {
            return Err(invalid_target());
        }
        if copy_like && self.replacement != "$1" {
            return Err(format!("'replacement' can not be set for {action} action"));
        }
        if action == LabelMap && !valid_with_vars(&self.replacement) {
            return Err(format!(
                "{} is invalid 'replacement' for {action} action",
                go_quote(&self.replacement)
            ));
        }
        if action == HashMod && !valid(&self.target_label) {
            return Err(invalid_target());
        }
        if matches!(action, DropEqual | KeepEqual)
            && (!self.regex.is_default()
                || self.modulus != 0
                || self.separator != ";"
                || self.replacement != "$1")
        {
            return Err(format!(
                "{action} action requires only 'source_labels' and `target_label`, and no other fields"
            ));
        }
        if matches!(action, LabelDrop | LabelKeep)
            && (!self.source_labels.is_empty()
                || !self.target_label.is_empty()
                || self.modulus != 0
                || self.separator != ";"
                || self.replacement != "$1")
        {
            return Err(format!(
                "{action} action requires only 'regex', and no other fields"
            ));
        }
        Ok(())
    }
}

impl DecodeStruct for RelabelConfig {
    const GO_TYPE: &'static str = "relabel.Config";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut c = RelabelConfig {
            at: At(m.node().pos),
            ..RelabelConfig::default()
        };
        if let Some(n) = m.take_node("source_labels") {
            c.source_labels = decode_label_names(n)?;
        }
        m.read("separator", &mut c.separator)?;
        m.read("regex", &mut c.regex)?;
        m.read("modulus", &mut c.modulus)?;
        m.read("target_label", &mut c.target_label)?;
        m.read("replacement", &mut c.replacement)?;
        if let Some(n) = m.take_node("action") {
            c.action = Option::<Action>::decode(n)?;
        }
        Ok(c)
    }
}

impl EncodeStruct for RelabelConfig {
    fn write(&self, w: &mut MapWriter) {
        w.flow_omitempty("source_labels", &self.source_labels);
        w.field("separator", &self.separator);
        w.omitempty("regex", &self.regex);
        w.omitempty("modulus", &self.modulus);
        w.omitempty("target_label", &self.target_label);
        w.field("replacement", &self.replacement);
        w.omitempty("action", &self.action);
    }
}

decode_struct!(RelabelConfig);
encode_struct!(RelabelConfig);

/// Reads a list of relabel rules, where a null rule is `null_message`.
pub(crate) fn decode_rules(node: &Node, null_message: &str) -> DResult<Vec<RelabelConfig>> {
    let rules: Vec<Option<RelabelConfig>> = Decode::decode(node)?;
    rules
        .into_iter()
        .map(|r| r.ok_or_else(|| error_at(node, null_message)))
        .collect()
}

/// Validates every rule of a list, locating errors at the failing rule.
pub(crate) fn validate_rules(
    rules: &mut [RelabelConfig],
    scheme: NameValidation,
) -> Result<(), (Pos, String)> {
    for r in rules {
        r.validate(scheme).map_err(|e| (r.at.0, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
