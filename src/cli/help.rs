//! `--help` (in kingpin's two-column layout) and `--write-documentation` (Markdown).

use super::spec::{FlagSpec, Kind, Status, FLAGS};

/// What `--help` prints: kingpin's layout, 80 columns wide.
pub fn usage(program: &str) -> String {
    const INDENT: usize = 2;
    const PADDING: usize = 2;
    const WIDTH: usize = 80;
    // Left cells of 30 characters or more get a line of their own.
    const LONG_CELL: usize = 30;

    let rows: Vec<(String, &str)> = FLAGS
        .iter()
        .filter(|f| !f.hidden)
        .map(|f| (left_cell(f), f.help))
        .collect();
    let column = rows
        .iter()
        .map(|(left, _)| left.len())
        .filter(|&len| len < LONG_CELL)
        .max()
        .unwrap_or(0);
    let offset = " ".repeat(INDENT + column + PADDING);

    let mut out = format!(
        "usage: {program} [<flags>]\n\nEmber, a Prometheus-compatible time-series database.\n\n\
         Flags:\n"
    );
    for (left, help) in rows {
        let lines = wrap(help, WIDTH - INDENT - column - PADDING);
        out.push_str(&format!(
            "{:indent$}{left:<column$}{:padding$}",
            "",
            "",
            indent = INDENT,
            padding = PADDING
        ));
        if left.len() >= LONG_CELL {
            out.push('\n');
            out.push_str(&offset);
        }
        let mut lines = lines.iter();
        out.push_str(lines.next().map_or("", String::as_str));
        out.push('\n');
        for line in lines {
            out.push_str(&offset);
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push('\n');
    out
}

/// The left cell of a flag's help row: `-h, --[no-]help`, `    --config.file="prometheus.yml"`.
fn left_cell(f: &FlagSpec) -> String {
    let name = if f.kind == Kind::Bool {
        format!("[no-]{}", f.name)
    } else {
        f.name.to_string()
    };
    let mut cell = match f.short {
        Some(c) => format!("-{c}, --{name}"),
        None => format!("    --{name}"),
    };
    if f.kind != Kind::Bool {
        cell.push('=');
        cell.push_str(&placeholder(f));
    }
    if f.kind.is_repeatable() {
        cell.push_str(" ...");
    }
    cell
}

/// What stands for a flag's value in the help: its placeholder, else its default (quoted
/// for strings), else its name in capitals, as kingpin prints it.
fn placeholder(f: &FlagSpec) -> String {
    if let Some(p) = f.placeholder {
        return p.to_string();
    }
    match f.default {
        Some(d) => {
            let mut values = d.split(',');
            let first = values.next().unwrap_or_default();
            let more = if values.next().is_some() { "..." } else { "" };
            if matches!(f.kind, Kind::String | Kind::Strings) {
                format!("{first:?}{more}")
            } else {
                format!("{first}{more}")
            }
        }
        None => f.name.to_uppercase(),
    }
}

/// Greedy word wrap to `width` columns.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// The flag reference as a Markdown table, hidden flags included, with what each does
/// in Ember today.
pub fn markdown() -> String {
    let mut out =
        String::from("| Flag | Description | Default | In Ember |\n| --- | --- | --- | --- |\n");
    for f in FLAGS {
        let mut flag = format!("`--{}`", f.name);
        if let Some(c) = f.short {
            flag = format!("`-{c}`, {flag}");
        }
        if f.kind.is_repeatable() {
            flag.push_str(" ...");
        }
        let default = match f.default {
            Some("") | None => String::new(),
            Some(d) => format!("`{d}`"),
        };
        let status = match f.status {
            Status::Active => "active".to_string(),
            Status::Planned(feature) => format!("accepted, no effect yet ({})", feature.describe()),
            Status::GoRuntime => "accepted, ignored (Go runtime setting)".to_string(),
        };
        let hidden = if f.hidden { " (hidden)" } else { "" };
        let help = f.help.replace('|', "\\|");
        out.push_str(&format!(
            "| {flag}{hidden} | {help} | {default} | {status} |\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_rows_follow_kingpin_layout() {
        let text = usage("ember");
        assert!(text.starts_with("usage: ember [<flags>]\n\n"));
        let lines: Vec<&str> = text.lines().collect();
        // The short flag and a boolean.
        assert!(lines.iter().any(|l| l.starts_with("  -h, --[no-]help ")));
        // A string default is quoted; a long cell gets a line to itself and the help
        // continues on the next line, aligned with the other help texts.
        let i = lines
            .iter()
            .position(|l| l.trim_end() == "      --web.listen-address=\"0.0.0.0:9090\" ...")
            .expect("listen-address row");
        let help_column = lines[i + 1].len() - lines[i + 1].trim_start().len();
        assert!(lines[i + 1].trim_start().starts_with("Address (host:port)"));
        let short_row = lines
            .iter()
            .find(|l| l.contains("--[no-]version"))
            .expect("version row");
        assert_eq!(short_row.find("Show the version"), Some(help_column));
        // Placeholders and unquoted non-string defaults.
        assert!(text.contains("--web.external-url=<URL>"));
        assert!(text.contains("--query.timeout=2m "));
        assert!(text.contains(
            "--web.remote-write-receiver.accepted-protobuf-messages=prometheus.WriteRequest... ..."
        ));
        // No line overflows 80 columns except a long left cell on its own line.
        let cells: Vec<String> = FLAGS
            .iter()
            .filter(|f| !f.hidden)
            .map(|f| format!("  {}", left_cell(f)))
            .collect();
        for line in &lines {
            assert!(
                line.len() <= 80 || cells.iter().any(|c| c == line.trim_end()),
                "overlong line: {line}"
            );
        }
        // Hidden flags are not shown.
        assert!(!text.contains("storage.tsdb.min-block-duration"));
        assert!(!text.contains("write-documentation"));
    }

    #[test]
    fn wrap_respects_width() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("", 5), [""]);
        assert_eq!(wrap("toolongword x", 5), ["toolongword", "x"]);
    }

    #[test]
    fn configuration_doc_has_the_current_flag_table() {
        let doc = include_str!("../../docs/configuration.md");
        assert!(
            doc.ends_with(&markdown()),
            "docs/configuration.md is out of date: end it with the output of \
             `ember --write-documentation`"
        );
    }

    #[test]
    fn markdown_lists_every_flag_with_its_status() {
        let md = markdown();
        assert_eq!(md.lines().count(), FLAGS.len() + 2);
        assert!(md.contains("| `--storage.tsdb.path` | "));
        assert!(md.contains("`data/` | active |"));
        assert!(md.contains("`--query.timeout`"));
        assert!(md.contains("accepted, no effect yet (recording and alerting rules)"));
        assert!(md.contains("`--storage.tsdb.min-block-duration` (hidden)"));
    }
}
