//! Assembling a binary operation's result series, with Prometheus's rule for equal label
//! sets.
//!
//! Prometheus evaluates a binary operation step by step and files each result sample under
//! its label set: samples with the same labels at different steps form one series, and two
//! at the same step fail the query with `vector cannot contain metrics with the same
//! labelset`. An instant query with delayed name removal is the exception: its samples are
//! returned as they are, and equal label sets are only checked once the deferred metric
//! names have been removed from the final result.

use ember_storage::Labels;
use hashbrown::HashMap;

use crate::value::{FPoint, Series};

/// Result series under construction.
pub(super) struct Output {
    /// Whether equal label sets share one series.
    merge: bool,
    by_labels: HashMap<Labels, u32>,
    series: Vec<OutSeries>,
}

struct OutSeries {
    metric: Labels,
    floats: Vec<FPoint>,
    /// The name-dropping flag of the earliest sample (Prometheus keeps the first one filed).
    drop_name: bool,
    first_t: i64,
    in_order: bool,
}

impl Output {
    pub fn new(merge: bool) -> Output {
        Output {
            merge,
            by_labels: HashMap::new(),
            series: Vec::new(),
        }
    }

    /// The series to add samples labelled `metric` to; `capacity` is a hint of how many.
    pub fn open(&mut self, metric: Labels, capacity: usize) -> u32 {
        let next = self.series.len() as u32;
        let metric = if self.merge {
            match self.by_labels.entry(metric) {
                hashbrown::hash_map::Entry::Occupied(e) => return *e.get(),
                hashbrown::hash_map::Entry::Vacant(e) => {
                    e.insert(next);
                    // The label set lives in the map until `finish`.
                    Labels::empty()
                }
            }
        } else {
            metric
        };
        self.series.push(OutSeries {
            metric,
            floats: Vec::with_capacity(capacity),
            drop_name: false,
            first_t: i64::MAX,
            in_order: true,
        });
        next
    }

    /// Adds a whole series (points in time order, all flagged `drop_name`), reusing its
    /// point buffer when its label set is new.
    pub fn adopt(&mut self, metric: Labels, floats: Vec<FPoint>, drop_name: bool) {
        if floats.is_empty() {
            return;
        }
        let id = self.open(metric, 0);
        let s = &mut self.series[id as usize];
        if s.floats.is_empty() {
            s.first_t = floats[0].t;
            s.drop_name = drop_name;
            s.floats = floats;
        } else {
            for p in floats {
                self.push(id, p.t, p.f, drop_name);
            }
        }
    }

    /// Adds a sample at `t` to series `id`.
    #[inline]
    pub fn push(&mut self, id: u32, t: i64, f: f64, drop_name: bool) {
        let s = &mut self.series[id as usize];
        if let Some(last) = s.floats.last() {
            if t <= last.t {
                s.in_order = false;
            }
        }
        if t < s.first_t {
            s.first_t = t;
            s.drop_name = drop_name;
        }
        s.floats.push(FPoint { t, f });
    }

    /// The result series (those with samples), or the earliest timestamp at which two
    /// samples share a label set.
    pub fn finish(self) -> Result<Vec<Series>, i64> {
        let mut series = self.series;
        for (metric, id) in self.by_labels {
            series[id as usize].metric = metric;
        }
        let mut duplicate_at: Option<i64> = None;
        for s in series.iter_mut().filter(|s| !s.in_order) {
            s.floats.sort_by_key(|p| p.t);
            if let Some(w) = s.floats.windows(2).find(|w| w[0].t == w[1].t) {
                let t = w[0].t;
                duplicate_at = Some(duplicate_at.map_or(t, |d| d.min(t)));
            }
        }
        if let Some(t) = duplicate_at {
            return Err(t);
        }
        Ok(series
            .into_iter()
            .filter(|s| !s.floats.is_empty())
            .map(|s| Series {
                metric: s.metric,
                floats: s.floats,
                drop_name: s.drop_name,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_storage::labels;

    #[test]
    fn merges_equal_label_sets_at_different_steps() {
        let mut o = Output::new(true);
        let a = o.open(labels!("job" => "api"), 0);
        o.push(a, 20, 4.0, true);
        let b = o.open(labels!("job" => "api"), 0);
        assert_eq!(a, b);
        o.push(b, 10, 2.0, false);
        let got = o.finish().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].floats,
            [FPoint { t: 10, f: 2.0 }, FPoint { t: 20, f: 4.0 }]
        );
        // The earliest sample's flag wins.
        assert!(!got[0].drop_name);
    }

    #[test]
    fn equal_label_sets_at_one_step_fail_at_the_earliest() {
        let mut o = Output::new(true);
        let a = o.open(labels!("job" => "api"), 0);
        o.push(a, 10, 1.0, false);
        o.push(a, 30, 1.0, false);
        let b = o.open(labels!("job" => "api"), 0);
        o.push(b, 30, 2.0, false);
        let c = o.open(labels!("job" => "db"), 0);
        o.push(c, 20, 1.0, false);
        let d = o.open(labels!("job" => "db"), 0);
        o.push(d, 20, 1.0, false);
        assert_eq!(o.finish().unwrap_err(), 20);
    }

    #[test]
    fn adopted_series_merge_too() {
        let mut o = Output::new(true);
        o.adopt(labels!("a" => "1"), vec![FPoint { t: 20, f: 2.0 }], true);
        o.adopt(labels!("a" => "1"), vec![FPoint { t: 10, f: 1.0 }], false);
        o.adopt(labels!("a" => "2"), vec![], false);
        let got = o.finish().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].floats.len(), 2);
        assert!(!got[0].drop_name);
        let mut o = Output::new(true);
        o.adopt(labels!("a" => "1"), vec![FPoint { t: 20, f: 2.0 }], true);
        o.adopt(labels!("a" => "1"), vec![FPoint { t: 20, f: 1.0 }], false);
        assert_eq!(o.finish().unwrap_err(), 20);
    }

    #[test]
    fn without_merging_every_open_is_a_series() {
        let mut o = Output::new(false);
        let a = o.open(labels!("job" => "api"), 0);
        let b = o.open(labels!("job" => "api"), 0);
        o.push(a, 10, 1.0, false);
        o.push(b, 10, 2.0, false);
        let _empty = o.open(labels!("job" => "x"), 0);
        assert_eq!(o.finish().unwrap().len(), 2);
    }
}
