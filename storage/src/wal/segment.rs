//! Segment files: naming, listing, and the small filesystem helpers the WAL needs.

use std::fs;
use std::path::{Path, PathBuf};

use super::WalError;

/// The path of segment `index` in `dir`: the index as 8 decimal digits (more when larger).
pub fn segment_name(dir: &Path, index: u32) -> PathBuf {
    dir.join(format!("{index:08}"))
}

/// Parses a segment file name: decimal digits only (Prometheus ignores anything that is not
/// a number, such as `checkpoint.00000003` or `00000004.repair`).
pub(crate) fn parse_segment_name(name: &str) -> Option<u32> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

/// The indexes of the segments in `dir`, ascending. Fails when they are not consecutive,
/// as Prometheus does: a gap means segments were lost.
pub fn list_segments(dir: &Path) -> Result<Vec<u32>, WalError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(WalError::io("list segments in", dir))? {
        let entry = entry.map_err(WalError::io("list segments in", dir))?;
        if let Some(i) = entry.file_name().to_str().and_then(parse_segment_name) {
            out.push(i);
        }
    }
    out.sort_unstable();
    for w in out.windows(2) {
        if w[0].checked_add(1) != Some(w[1]) {
            return Err(WalError::NotSequential {
                dir: dir.to_path_buf(),
                prev: w[0],
                next: w[1],
            });
        }
    }
    Ok(out)
}

/// The first and last segment in `dir`, or `None` when there is none.
pub fn segment_range(dir: &Path) -> Result<Option<(u32, u32)>, WalError> {
    let segs = list_segments(dir)?;
    Ok(segs.first().copied().zip(segs.last().copied()))
}

/// A range of segments in one directory, bounds inclusive; `None` leaves that end open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentRange {
    pub dir: PathBuf,
    pub first: Option<u32>,
    pub last: Option<u32>,
}

impl SegmentRange {
    /// Every segment in `dir`.
    pub fn all(dir: impl Into<PathBuf>) -> SegmentRange {
        SegmentRange {
            dir: dir.into(),
            first: None,
            last: None,
        }
    }

    /// The segments of this range that exist, ascending.
    pub(crate) fn resolve(&self) -> Result<Vec<u32>, WalError> {
        let mut segs = list_segments(&self.dir)?;
        segs.retain(|&i| self.first.is_none_or(|f| i >= f) && self.last.is_none_or(|l| i <= l));
        Ok(segs)
    }
}

/// fsyncs a directory, making file creations, renames and deletions in it durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), WalError> {
    let f = fs::File::open(dir).map_err(WalError::io("open directory", dir))?;
    f.sync_all().map_err(WalError::io("fsync directory", dir))
}

/// Total size of the files under `dir`, recursively (Prometheus's `fileutil.DirSize`).
/// Files deleted while walking are skipped.
pub(crate) fn dir_size(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let meta = match entry.metadata() {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        if meta.is_dir() {
            total += dir_size(&entry.path())?;
        } else {
            total += meta.len();
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_eight_digits() {
        assert_eq!(
            segment_name(Path::new("/w"), 7),
            PathBuf::from("/w/00000007")
        );
        assert_eq!(
            segment_name(Path::new("/w"), 123_456_789),
            PathBuf::from("/w/123456789")
        );
        assert_eq!(parse_segment_name("00000007"), Some(7));
        assert_eq!(parse_segment_name("7"), Some(7));
        assert_eq!(parse_segment_name("+7"), None);
        assert_eq!(parse_segment_name("00000007.repair"), None);
        assert_eq!(parse_segment_name("checkpoint.00000007"), None);
        assert_eq!(parse_segment_name(""), None);
        assert_eq!(parse_segment_name("99999999999"), None);
    }

    #[test]
    fn listing_sorts_ignores_others_and_rejects_gaps() {
        let dir = tempfile::tempdir().unwrap();
        for n in [
            "00000003",
            "00000002",
            "00000004",
            "checkpoint.00000001",
            "x",
        ] {
            fs::write(dir.path().join(n), b"").unwrap();
        }
        assert_eq!(list_segments(dir.path()).unwrap(), vec![2, 3, 4]);
        assert_eq!(segment_range(dir.path()).unwrap(), Some((2, 4)));
        let r = SegmentRange {
            dir: dir.path().into(),
            first: Some(3),
            last: None,
        };
        assert_eq!(r.resolve().unwrap(), vec![3, 4]);
        fs::write(dir.path().join("00000006"), b"").unwrap();
        assert!(matches!(
            list_segments(dir.path()),
            Err(WalError::NotSequential {
                prev: 4,
                next: 6,
                ..
            })
        ));
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(segment_range(empty.path()).unwrap(), None);
    }
}
