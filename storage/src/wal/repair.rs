//! Repairing a WAL after a [`Corruption`], as Prometheus's `Repair`: everything from the
//! damaged record on is dropped.
//!
//! Records may depend on earlier ones (samples refer to series), so nothing after the
//! damage can be trusted to make sense on its own: the segments after the damaged one are
//! deleted and the damaged one is cut at the start of the damaged record. Because a record
//! never spans segments, that leaves a WAL whose every record is intact.
//!
//! Unlike Prometheus, which re-logs the surviving records one by one into a fresh file,
//! Ember copies the intact prefix of the segment byte for byte (it was just verified by the
//! reader), zero-fills the rest of its last page, and renames the copy over the original,
//! so that a crash during the repair leaves either the old or the repaired segment, never
//! neither. The result is read once more before writing resumes in a new segment.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

use super::reader::Reader;
use super::segment::{list_segments, segment_name, sync_dir, SegmentRange};
use super::writer::create_segment;
use super::{Corruption, Wal, WalError, PAGE_SIZE};

/// What a repair dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairReport {
    /// The damaged segment, cut at `offset`.
    pub segment: u32,
    pub offset: u64,
    /// Bytes dropped from the damaged segment.
    pub dropped_bytes: u64,
    /// Later segments deleted, with their sizes in bytes.
    pub deleted_segments: Vec<(u32, u64)>,
    /// The segment writing continues in.
    pub new_segment: u32,
}

impl Wal {
    /// Repairs the damage `corruption` (found by a [`Reader`] over this WAL's directory):
    /// deletes every segment after the damaged one, cuts the damaged one just before the
    /// damaged record, and continues writing in a new segment after it. Logs exactly what
    /// was dropped. A corruption in a checkpoint cannot be repaired this way (the head could
    /// not know which series were lost) and is refused.
    pub fn repair(&self, corruption: &Corruption) -> Result<RepairReport, WalError> {
        let refuse = |why| WalError::NotRepairable {
            corruption: Box::new(corruption.clone()),
            why,
        };
        if !same_dir(&corruption.dir, self.dir()) {
            return Err(refuse("it is not in this WAL's directory"));
        }
        self.metrics().corruptions.inc();
        let dir = self.dir();
        let seg_no = corruption.segment;
        let mut g = self.inner.lock();
        if g.seg.active.is_none() {
            return Err(WalError::Closed(dir.to_path_buf()));
        }
        let path = segment_name(dir, seg_no);
        let len = fs::metadata(&path)
            .map_err(WalError::io("inspect damaged segment", &path))?
            .len();
        if corruption.offset > len {
            return Err(refuse("its offset is past the end of the segment"));
        }
        tracing::warn!(
            segment = seg_no,
            offset = corruption.offset,
            reason = %corruption.reason,
            "starting WAL corruption repair"
        );

        // The active segment is deleted or rewritten like any other after the damage.
        g.seg.join_closer();
        g.seg.set_active(None);

        let mut deleted = Vec::new();
        for i in list_segments(dir)? {
            if i <= seg_no {
                continue;
            }
            let p = segment_name(dir, i);
            let size = fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
            fs::remove_file(&p).map_err(WalError::io("delete segment", &p))?;
            deleted.push((i, size));
        }
        rewrite_prefix(&path, corruption.offset)?;
        sync_dir(dir)?;

        // The kept part must now read cleanly.
        let mut check = Reader::open(&[SegmentRange {
            dir: dir.to_path_buf(),
            first: Some(seg_no),
            last: Some(seg_no),
        }])?;
        while check.next()?.is_some() {}

        let dropped_bytes = len - corruption.offset;
        tracing::warn!(
            segment = seg_no,
            offset = corruption.offset,
            dropped_bytes,
            deleted_segments = ?deleted,
            "WAL repaired: dropped everything from the damaged record on"
        );
        let new_segment = seg_no
            .checked_add(1)
            .ok_or(refuse("segment index overflow"))?;
        g.seg.set_active(Some(create_segment(dir, new_segment)?));
        self.metrics().segment_current.set(i64::from(new_segment));
        Ok(RepairReport {
            segment: seg_no,
            offset: corruption.offset,
            dropped_bytes,
            deleted_segments: deleted,
            new_segment,
        })
    }
}

/// Replaces the file at `path` with its first `keep` bytes, zero-filled to a page boundary:
/// written to `<path>.repair`, fsynced, renamed over `path`.
fn rewrite_prefix(path: &Path, keep: u64) -> Result<(), WalError> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".repair");
    let tmp = Path::new(&tmp_name);
    let copy = || -> io::Result<()> {
        let mut src = File::open(path)?.take(keep);
        let mut dst = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(tmp)?;
        let copied = io::copy(&mut src, &mut dst)?;
        if copied != keep {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("copied {copied} of {keep} bytes"),
            ));
        }
        let pad = (PAGE_SIZE as u64 - keep % PAGE_SIZE as u64) % PAGE_SIZE as u64;
        dst.write_all(&vec![0; pad as usize])?;
        dst.sync_all()
    };
    copy().map_err(WalError::io("rewrite damaged segment into", tmp))?;
    fs::rename(tmp, path).map_err(WalError::io("replace damaged segment", path))
}

fn same_dir(a: &Path, b: &Path) -> bool {
    a == b
        || match (a.canonicalize(), b.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
}
