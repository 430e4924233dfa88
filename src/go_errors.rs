//! OS errors worded as Go words them (`open /x: no such file or directory`): users see
//! these in logs, target errors and `ember check` output, where Prometheus shows Go's.

use std::path::Path;

/// `{op} {path}: {reason}`, as Go's `*PathError` reads (`op` is `open`, `stat`, `read`).
pub fn io_error(op: &str, path: &Path, e: &std::io::Error) -> String {
    let reason = match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => strip_os_error(&e.to_string()),
    };
    format!("{op} {}: {reason}", path.display())
}

/// `Is a directory (os error 21)` → `is a directory`: Rust's text of an OS error in Go's
/// form.
pub fn strip_os_error(s: &str) -> String {
    let s = match s.find(" (os error") {
        Some(i) => &s[..i],
        None => s,
    };
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_go_prints_them() {
        let missing = std::fs::metadata("/nonexistent/x").expect_err("missing");
        assert_eq!(
            io_error("stat", Path::new("/nonexistent/x"), &missing),
            "stat /nonexistent/x: no such file or directory"
        );
        let dir = std::fs::read("/").expect_err("a directory");
        assert_eq!(
            io_error("read", Path::new("/"), &dir),
            "read /: is a directory"
        );
    }
}
