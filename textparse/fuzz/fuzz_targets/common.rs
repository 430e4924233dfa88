use ember_textparse::{Entry, Format, Parser};

/// Parses every entry, calls every accessor, and checks the series text lies inside
/// the input.
pub fn run(format: Format, data: &[u8]) {
    let range = data.as_ptr_range();
    let mut p = Parser::new(format, data);
    // Every entry consumes at least one byte; the bound catches a parser that stalls.
    for _ in 0..data.len() + 2 {
        match p.next() {
            Ok(None) => return,
            Err(e) => {
                let _ = (e.to_string(), e.line());
                assert!(
                    matches!(p.next(), Ok(None)),
                    "parser not done after an error"
                );
                return;
            }
            Ok(Some(entry)) => {
                let _ = p.line();
                match entry {
                    Entry::Series => {
                        let (text, _ts, _v) = p.series();
                        if !text.is_empty() {
                            let r = text.as_ptr_range();
                            assert!(r.start >= range.start && r.end <= range.end);
                        }
                        let mut first = None;
                        p.labels(|n, v| {
                            if first.is_none() {
                                first = Some((n.to_string(), v.to_string()));
                            }
                        });
                        let (n, v) = first.expect("labels() starts with __name__");
                        assert_eq!(n, "__name__");
                        assert_eq!(v, p.metric_name());
                        if let Some(ex) = p.exemplar() {
                            ex.labels(|_, _| {});
                            let _ = (
                                ex.value,
                                ex.timestamp_ms,
                                ex.label_set_length(),
                                ex.raw_labels(),
                            );
                        }
                    }
                    Entry::Help => {
                        let _ = p.help();
                    }
                    Entry::Type => {
                        let _ = p.metric_type().1.as_str();
                    }
                    Entry::Unit => {
                        let _ = p.unit();
                    }
                    Entry::Comment => {
                        let _ = p.comment();
                    }
                }
            }
        }
    }
    panic!("parser did not finish within {} entries", data.len() + 2);
}
