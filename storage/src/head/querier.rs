//! [`Querier`] over the head.
//!
//! Matchers resolve to a postings list through the inverted index; each matching series
//! is then locked just long enough to snapshot its chunk list (references to full chunks,
//! a copy of the open chunk's few hundred bytes), so queries never hold a series lock while
//! decoding and appends proceed meanwhile. Series are fetched lazily as the caller
//! iterates.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::chunkenc::Encoding;
use crate::matcher::Matcher;
use crate::postings::postings_for_matchers;
use crate::querier::{ChunkMeta, LabelHints, Querier, QueryError, SelectHints, Series, SeriesSet};

use super::chunks::ChunkBytes;
use super::series::{ChunkSnapshot, MemSeries};
use super::Head;

/// A querier over the head for `[mint, maxt]`.
pub struct HeadQuerier {
    head: Arc<Head>,
    mint: i64,
    maxt: i64,
}

impl HeadQuerier {
    pub(crate) fn new(head: Arc<Head>, mint: i64, maxt: i64) -> HeadQuerier {
        HeadQuerier { head, mint, maxt }
    }

    /// Whether the range can hold any head data at all.
    fn overlaps_head(&self) -> bool {
        let (hmin, hmax) = (self.head.min_time(), self.head.max_time());
        hmin <= hmax && self.maxt >= hmin && self.mint <= hmax
    }

    /// The series matching `matchers`, in ref order.
    fn matching(&self, matchers: &[Matcher]) -> Vec<Arc<MemSeries>> {
        let postings = postings_for_matchers(self.head.postings(), matchers);
        let mut out = Vec::with_capacity(postings.len());
        for r in postings.iter() {
            match self.head.series.get_by_ref(r) {
                Some(s) => out.push(s),
                None => self.head.metrics.series_not_found.inc(),
            }
        }
        out
    }
}

/// Snapshots a series' chunks in `[mint, maxt]`; `None` when it has none there.
fn snapshot_series(
    head: &Head,
    series: &MemSeries,
    mint: i64,
    maxt: i64,
) -> Option<Result<Series, QueryError>> {
    let mut snaps = Vec::new();
    series.state.lock().snapshot(mint, maxt, &mut snaps);
    if snaps.is_empty() {
        return None;
    }
    let mut chunks = Vec::with_capacity(snaps.len());
    for snap in snaps {
        let meta = match snap {
            ChunkSnapshot::Open {
                min_t,
                max_t,
                bytes,
            } => ChunkMeta {
                min_t,
                max_t,
                encoding: Encoding::Xor,
                bytes: ChunkBytes::Shared(bytes),
            },
            ChunkSnapshot::Stored {
                min_t,
                max_t,
                stored,
            } => match head.chunks.read(stored) {
                Ok(bytes) => ChunkMeta {
                    min_t,
                    max_t,
                    encoding: Encoding::Xor,
                    bytes,
                },
                Err(e) => {
                    return Some(Err(QueryError::Chunk {
                        series: series.labels.to_string(),
                        reason: e.to_string(),
                    }))
                }
            },
        };
        chunks.push(meta);
    }
    Some(Ok(Series::new(series.labels.clone(), chunks, mint, maxt)))
}

fn apply_limit(mut v: Vec<String>, limit: usize) -> Vec<String> {
    if limit > 0 && v.len() > limit {
        v.truncate(limit);
    }
    v
}

impl Querier for HeadQuerier {
    fn select(
        &self,
        sorted: bool,
        hints: Option<&SelectHints>,
        matchers: &[Matcher],
    ) -> Result<SeriesSet, QueryError> {
        if !self.overlaps_head() {
            return Ok(Box::new(std::iter::empty()));
        }
        let mut series = self.matching(matchers);
        if sorted {
            series.sort_unstable_by(|a, b| a.labels.cmp(&b.labels));
        }
        let limit = hints.map_or(0, |h| h.limit);
        let head = self.head.clone();
        let (mint, maxt) = (self.mint, self.maxt);
        let iter = series
            .into_iter()
            .filter_map(move |s| snapshot_series(&head, &s, mint, maxt));
        if limit > 0 {
            Ok(Box::new(iter.take(limit)))
        } else {
            Ok(Box::new(iter))
        }
    }

    fn label_values(
        &self,
        name: &str,
        hints: &LabelHints,
        matchers: &[Matcher],
    ) -> Result<Vec<String>, QueryError> {
        if !self.overlaps_head() {
            return Ok(Vec::new());
        }
        if matchers.is_empty() {
            return Ok(apply_limit(
                self.head.postings().label_values(name),
                hints.limit,
            ));
        }
        let mut values = BTreeSet::new();
        for s in self.matching(matchers) {
            if let Some(v) = s.labels.get(name) {
                if !values.contains(v) {
                    values.insert(v.to_string());
                }
            }
        }
        Ok(apply_limit(values.into_iter().collect(), hints.limit))
    }

    fn label_names(
        &self,
        hints: &LabelHints,
        matchers: &[Matcher],
    ) -> Result<Vec<String>, QueryError> {
        if !self.overlaps_head() {
            return Ok(Vec::new());
        }
        if matchers.is_empty() {
            return Ok(apply_limit(self.head.postings().label_names(), hints.limit));
        }
        let mut names = BTreeSet::new();
        for s in self.matching(matchers) {
            for l in s.labels.iter() {
                if !names.contains(l.name) {
                    names.insert(l.name.to_string());
                }
            }
        }
        Ok(apply_limit(names.into_iter().collect(), hints.limit))
    }
}
