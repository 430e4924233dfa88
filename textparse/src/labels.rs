//! Reading back a label set the parser has already validated, and unescaping.

use std::borrow::Cow;

/// The end (one past the closing quote) of the quoted string starting at `b[i] == '"'`.
/// The set was validated by the lexer; the bound only guards against misuse.
fn quoted_end(b: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while j < b.len() {
        match memchr::memchr2(b'"', b'\\', &b[j..]) {
            None => return b.len(),
            Some(off) => {
                let k = j + off;
                if b[k] == b'"' {
                    return k + 1;
                }
                // A backslash escapes the next byte; NULs between are invisible to the
                // lexer in label values.
                let mut n = k + 1;
                while n < b.len() && b[n] == 0 {
                    n += 1;
                }
                j = n + 1;
            }
        }
    }
    b.len()
}

fn skip_blank(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | 0) {
        i += 1;
    }
    i
}

/// Walks a validated label set (the bytes between `{` and `}`): `metric(raw)` for a
/// quoted metric name, `pair(raw name, raw value)` for each label, in order. Quotes
/// are stripped; escapes are left for [`unescape`].
pub(crate) fn walk<'a>(
    b: &'a [u8],
    mut metric: impl FnMut(&'a [u8]),
    mut pair: impl FnMut(&'a [u8], &'a [u8]),
) {
    let mut i = 0;
    loop {
        i = skip_blank(b, i);
        if i >= b.len() {
            return;
        }
        if b[i] == b',' {
            i += 1;
            continue;
        }
        let (ns, ne);
        if b[i] == b'"' {
            let e = quoted_end(b, i);
            ns = i + 1;
            ne = e.saturating_sub(1).max(ns);
            i = e;
        } else {
            ns = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            ne = i;
            if ne == ns {
                // Not a validated set; stop rather than loop.
                return;
            }
        }
        i = skip_blank(b, i);
        if i < b.len() && b[i] == b'=' {
            i = skip_blank(b, i + 1);
            if i >= b.len() || b[i] != b'"' {
                return;
            }
            let e = quoted_end(b, i);
            pair(&b[ns..ne], &b[i + 1..e.saturating_sub(1).max(i + 1)]);
            i = e;
        } else {
            metric(&b[ns..ne]);
        }
    }
}

/// Undoes the escapes of label values and quoted names (`\\`, `\"`, `\n`; with
/// `quotes == false` only `\\` and `\n`, as in text-format help). Other backslashes stay
/// as they are, like Go's `strings.Replacer` that Prometheus uses.
pub(crate) fn unescape(s: &str, quotes: bool) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('\\') {
        out.push_str(&rest[..p]);
        let after = &rest[p + 1..];
        match after.as_bytes().first() {
            Some(b'\\') => out.push('\\'),
            Some(b'n') => out.push('\n'),
            Some(b'"') if quotes => out.push('"'),
            _ => {
                out.push('\\');
                rest = after;
                continue;
            }
        }
        rest = &after[1..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}
