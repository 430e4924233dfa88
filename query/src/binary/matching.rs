//! Vector matching: binary operations between two instant vectors.
//!
//! Two samples match when their *signatures* are equal: the labels listed in `on(...)`, or
//! all labels but `__name__` and those in `ignoring(...)`. Each series' signature is
//! computed once and numbered; all per-step work then compares small integers.
//!
//! Set operators (`and`, `or`, `unless`) match many-to-many: at each step a left sample is
//! kept by `and` when some right sample has its signature, by `unless` when none has, and
//! `or` returns every left sample plus the right ones whose signature no left sample has.
//!
//! Arithmetic and comparisons match one-to-one, or many-to-one with `group_left` (one-to-
//! many with `group_right`, handled as many-to-one with the sides swapped). At a step where
//! both sides have samples, each sample of the "many" side is paired with the sample of the
//! "one" side that has its signature. Prometheus fails such a step when
//! - two "one"-side samples share a signature: `found duplicate series for the match group
//!   ...`;
//! - one-to-one, two "many"-side samples pair with the same "one" sample (even when a
//!   comparison then filters them out): `multiple matches for labels: many-to-one matching
//!   must be explicit (group_left/group_right)`;
//! - many-to-one, two pairs with one signature give the same result labels: `multiple
//!   matches for labels: grouping labels must ensure unique matches`;
//! - two result samples have the same labels: `vector cannot contain metrics with the same
//!   labelset`;
//!
//! and reports the first of these in that order at the earliest failing step. Here the
//! result is computed series by series and each condition is checked for every step; the
//! earliest failing step's error is returned, so the outcome is Prometheus's.
//!
//! Result labels: the "many" sample's labels; one-to-one keeps only the `on` labels (or
//! drops the `ignoring` ones); `group_x(labels)` copies those labels from the "one" sample
//! (removing them where it has none); arithmetic, and `bool` comparisons without delayed
//! name removal, drop `__name__`. As in Prometheus, a result sample is marked for delayed
//! name removal exactly when the operation is a `bool` comparison: the operands' marks are
//! not carried over (set operators, by contrast, return their operands' samples as they
//! are).

use ember_storage::labels::METRIC_NAME;
use ember_storage::{Labels, LabelsBuilder};
use hashbrown::HashMap;
use promql_parser::parser::{BinModifier, LabelModifier, VectorMatchCardinality};

use crate::aggregate::shared::{step_points, Interner, Selection, StepCursor};
use crate::error::QueryError;
use crate::value::{FPoint, Series, Steps};

use super::output::Output;
use super::{elem, merge_equal_labels, BinCtx, Op, SetOp, SAME_LABELSET};

/// Marks "no series" in per-step tables.
const NONE: u32 = u32::MAX;

/// How the two sides are matched.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Card {
    OneToOne,
    /// `group_left(include)`.
    ManyToOne(Vec<String>),
    /// `group_right(include)`.
    OneToMany(Vec<String>),
    /// Set operators.
    ManyToMany,
}

struct Matching {
    /// The signature: `on` keeps, `ignoring` drops (with `__name__`) the listed labels.
    sig: Selection,
    on: bool,
    names: Vec<String>,
    card: Card,
}

impl Matching {
    fn new(modifier: Option<&BinModifier>, set_op: bool) -> Matching {
        let (on, names) = match modifier.and_then(|m| m.matching.as_ref()) {
            Some(LabelModifier::Include(l)) => (true, l.labels.clone()),
            Some(LabelModifier::Exclude(l)) => (false, l.labels.clone()),
            None => (false, Vec::new()),
        };
        let card = match modifier.map(|m| &m.card) {
            _ if set_op => Card::ManyToMany,
            Some(VectorMatchCardinality::ManyToOne(l)) => Card::ManyToOne(l.labels.clone()),
            Some(VectorMatchCardinality::OneToMany(l)) => Card::OneToMany(l.labels.clone()),
            _ => Card::OneToOne,
        };
        let sig = if on {
            Selection::keep(&names)
        } else {
            Selection::drop(&names)
        };
        Matching {
            sig,
            on,
            names,
            card,
        }
    }

    /// The labels copied from the "one" side.
    fn include(&self) -> &[String] {
        match &self.card {
            Card::ManyToOne(l) | Card::OneToMany(l) => l,
            _ => &[],
        }
    }

    /// Result labels of pairing `many` with `one` (see the module documentation).
    fn result_metric(
        &self,
        many: &Labels,
        one: &Labels,
        drop_name: bool,
        b: &mut LabelsBuilder,
    ) -> Labels {
        let include = self.include();
        if !drop_name && self.card != Card::OneToOne && include.is_empty() {
            return many.clone();
        }
        b.reset();
        for l in many.iter() {
            b.push(l.name, l.value);
        }
        if drop_name {
            b.del(METRIC_NAME);
        }
        if self.card == Card::OneToOne {
            if self.on {
                b.retain(|name, _| self.names.iter().any(|n| n == name));
            } else {
                for n in &self.names {
                    b.del(n);
                }
            }
        }
        for name in include {
            match one.get(name) {
                Some(v) => b.set(name, v),
                None => b.del(name),
            };
        }
        b.labels()
    }
}

/// Numbers the signatures of both sides' series (equal signatures, equal numbers).
fn signatures(m: &Matching, lhs: &[Series], rhs: &[Series]) -> (Vec<u32>, Vec<u32>, usize) {
    let mut interner = Interner::default();
    let mut key = Vec::new();
    let mut number = |side: &[Series]| -> Vec<u32> {
        side.iter()
            .map(|s| {
                m.sig.key_into(&s.metric, &mut key);
                interner.intern(&key).0
            })
            .collect()
    };
    let l = number(lhs);
    let r = number(rhs);
    (l, r, interner.len())
}

/// When one side has samples with each signature: series bucketed by signature, and for
/// signatures several series share, the union of their timestamps.
struct Presence<'a> {
    series: &'a [Series],
    order: Vec<u32>,
    offsets: Vec<u32>,
    merged: HashMap<u32, Vec<i64>>,
}

/// The timestamps (sorted) at which a side has a sample with some signature.
#[derive(Clone, Copy)]
enum Times<'a> {
    None,
    One(&'a [FPoint]),
    Many(&'a [i64]),
}

impl<'a> Presence<'a> {
    fn new(series: &'a [Series], sigs: &[u32], nsigs: usize) -> Presence<'a> {
        let (order, offsets) = bucket(sigs, nsigs);
        let mut merged = HashMap::new();
        for g in 0..nsigs {
            let members = &order[offsets[g] as usize..offsets[g + 1] as usize];
            if members.len() > 1 {
                let mut ts: Vec<i64> = members
                    .iter()
                    .flat_map(|&m| series[m as usize].floats.iter().map(|p| p.t))
                    .collect();
                ts.sort_unstable();
                ts.dedup();
                merged.insert(g as u32, ts);
            }
        }
        Presence {
            series,
            order,
            offsets,
            merged,
        }
    }

    fn times(&self, g: u32) -> Times<'_> {
        let members =
            &self.order[self.offsets[g as usize] as usize..self.offsets[g as usize + 1] as usize];
        match members {
            [] => Times::None,
            [m] => Times::One(&self.series[*m as usize].floats),
            _ => self
                .merged
                .get(&g)
                .map_or(Times::None, |ts| Times::Many(ts)),
        }
    }
}

impl Times<'_> {
    /// Whether `t` is among the times; calls must come with increasing `t`, `at` keeps
    /// the position between calls.
    #[inline]
    fn contains(&self, t: i64, at: &mut usize) -> bool {
        match self {
            Times::None => false,
            Times::One(points) => {
                while *at < points.len() && points[*at].t < t {
                    *at += 1;
                }
                *at < points.len() && points[*at].t == t
            }
            Times::Many(ts) => {
                while *at < ts.len() && ts[*at] < t {
                    *at += 1;
                }
                *at < ts.len() && ts[*at] == t
            }
        }
    }
}

/// Keeps, in place, the points of `s` at step timestamps where `other` has (`keep_if_present`)
/// or lacks a sample with the same signature.
fn retain_by_presence(
    floats: &mut Vec<FPoint>,
    other: Times<'_>,
    keep_if_present: bool,
    steps: &Steps,
) {
    let mut at = 0;
    let mut cursor = StepCursor::new(steps);
    floats
        .retain(|p| cursor.index(p.t).is_some() && other.contains(p.t, &mut at) == keep_if_present);
}

/// A binary operation between two instant vectors.
pub(super) fn vector_vector(
    op: Op,
    lhs: Vec<Series>,
    rhs: Vec<Series>,
    modifier: Option<&BinModifier>,
    ctx: &BinCtx<'_>,
) -> Result<Vec<Series>, QueryError> {
    let return_bool = modifier.is_some_and(|m| m.return_bool);
    match op {
        Op::Set(set) => {
            let m = Matching::new(modifier, true);
            set_operation(set, lhs, rhs, &m, ctx)
        }
        _ => {
            let m = Matching::new(modifier, false);
            Join::new(op, return_bool, &lhs, &rhs, &m, ctx).run()
        }
    }
}

fn set_operation(
    op: SetOp,
    mut lhs: Vec<Series>,
    mut rhs: Vec<Series>,
    m: &Matching,
    ctx: &BinCtx<'_>,
) -> Result<Vec<Series>, QueryError> {
    let steps = ctx.steps;
    let (lsig, rsig, nsigs) = signatures(m, &lhs, &rhs);
    let mut out = Output::new(merge_equal_labels(ctx));
    match op {
        // Left samples where the right side has (`and`) or lacks (`unless`) the signature.
        SetOp::And | SetOp::Unless => {
            let right = Presence::new(&rhs, &rsig, nsigs);
            for (s, &g) in lhs.iter_mut().zip(&lsig) {
                retain_by_presence(&mut s.floats, right.times(g), op == SetOp::And, &steps);
            }
        }
        // Every left sample, and the right ones whose signature the left side lacks.
        SetOp::Or => {
            {
                let left = Presence::new(&lhs, &lsig, nsigs);
                for (s, &g) in rhs.iter_mut().zip(&rsig) {
                    retain_by_presence(&mut s.floats, left.times(g), false, &steps);
                }
            }
            for s in &mut lhs {
                let mut cursor = StepCursor::new(&steps);
                s.floats.retain(|p| cursor.index(p.t).is_some());
            }
        }
    }
    for s in lhs {
        out.adopt(s.metric, s.floats, s.drop_name);
    }
    if op == SetOp::Or {
        for s in rhs {
            out.adopt(s.metric, s.floats, s.drop_name);
        }
    }
    out.finish().map_err(|_| QueryError::exec(SAME_LABELSET))
}

/// An error Prometheus would raise at `step`; `rank` orders errors within one step.
struct Failure {
    step: usize,
    rank: u8,
    message: String,
}

fn earliest(a: Option<Failure>, b: Option<Failure>) -> Option<Failure> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if (b.step, b.rank) < (a.step, a.rank) {
            b
        } else {
            a
        }),
        (a, b) => a.or(b),
    }
}

/// Arithmetic or comparison between two vectors.
///
/// A "many" sample and the "one" sample it matches are both present at their step, so
/// that step has samples on both sides: only the duplicate check on the "one" side needs
/// to know separately where the "many" side has samples.
struct Join<'a> {
    op: Op,
    return_bool: bool,
    m: &'a Matching,
    ctx: &'a BinCtx<'a>,
    steps: Steps,
    /// The "many" side (the left one unless `group_right`) and the "one" side.
    many: &'a [Series],
    one: &'a [Series],
    swapped: bool,
    many_sig: Vec<u32>,
    /// "One"-side series by signature: `one_order[one_offsets[g]..one_offsets[g + 1]]`.
    one_order: Vec<u32>,
    one_offsets: Vec<u32>,
    /// For signatures with several "one"-side series: at each timestamp where one is
    /// present, the first one (in input order) and its value, in time order.
    resolved: HashMap<u32, Vec<(i64, u32, f64)>>,
}

impl<'a> Join<'a> {
    fn new(
        op: Op,
        return_bool: bool,
        lhs: &'a [Series],
        rhs: &'a [Series],
        m: &'a Matching,
        ctx: &'a BinCtx<'a>,
    ) -> Join<'a> {
        let (lsig, rsig, nsigs) = signatures(m, lhs, rhs);
        let swapped = matches!(m.card, Card::OneToMany(_));
        let (many, one, many_sig, one_sig) = if swapped {
            (rhs, lhs, rsig, lsig)
        } else {
            (lhs, rhs, lsig, rsig)
        };
        let (one_order, one_offsets) = bucket(&one_sig, nsigs);
        Join {
            op,
            return_bool,
            m,
            ctx,
            steps: ctx.steps,
            many,
            one,
            swapped,
            many_sig,
            one_order,
            one_offsets,
            resolved: HashMap::new(),
        }
    }

    fn one_members(&self, g: u32) -> &[u32] {
        &self.one_order
            [self.one_offsets[g as usize] as usize..self.one_offsets[g as usize + 1] as usize]
    }

    /// Resolves signatures shared by several "one"-side series to one series per step,
    /// and finds the first step (and pair) at which two of them are present at once
    /// while the "many" side has samples.
    fn resolve_shared_one_sigs(&mut self) -> Option<Failure> {
        let n = self.steps.len();
        let nsigs = self.one_offsets.len() - 1;
        let mut many_present: Option<Vec<bool>> = None;
        // (step, the duplicate's input index, the first series' input index)
        let mut worst: Option<(usize, u32, u32)> = None;
        let mut entries: Vec<(usize, u32, f64)> = Vec::new();
        for g in 0..nsigs {
            let members = self.one_members(g as u32);
            if members.len() < 2 {
                continue;
            }
            let many_present = many_present.get_or_insert_with(|| {
                let mut present = vec![false; n];
                for s in self.many {
                    for (i, _) in step_points(&self.steps, &s.floats) {
                        present[i] = true;
                    }
                }
                present
            });
            // Every point of the signature's series, by step and then input order (the
            // members are in input order and the sort is stable).
            entries.clear();
            for &r in members {
                entries.extend(
                    step_points(&self.steps, &self.one[r as usize].floats).map(|(i, f)| (i, r, f)),
                );
            }
            entries.sort_by_key(|e| e.0);
            let mut first_of_step = Vec::new();
            for run in entries.chunk_by(|a, b| a.0 == b.0) {
                let (i, r, f) = run[0];
                first_of_step.push((self.steps.ts(i), r, f));
                if run.len() > 1 && many_present[i] {
                    let cand = (i, run[1].1, r);
                    if worst.is_none_or(|w| (cand.0, cand.1) < (w.0, w.1)) {
                        worst = Some(cand);
                    }
                }
            }
            self.resolved.insert(g as u32, first_of_step);
        }
        let (step, dup, first) = worst?;
        let dup = &self.one[dup as usize].metric;
        let first = &self.one[first as usize].metric;
        let matched = self.m.sig.project(dup);
        let (mut d1, mut d2) = (dup.to_string(), first.to_string());
        if d1 > d2 {
            std::mem::swap(&mut d1, &mut d2);
        }
        let side = if self.swapped { "left" } else { "right" };
        Some(Failure {
            step,
            rank: 0,
            message: format!(
                "found duplicate series for the match group {matched} on the {side} hand-side of the operation: [{d1}, {d2}];many-to-many matching not allowed: matching labels must be unique on one side"
            ),
        })
    }

    /// Calls `f(t, one series, one value, many value)` for every sample of "many" series
    /// `mi` that a "one" series matches.
    #[inline]
    fn for_each_match(&self, mi: usize, mut f: impl FnMut(i64, u32, f64, f64)) {
        let g = self.many_sig[mi];
        let members = self.one_members(g);
        let many = &self.many[mi].floats;
        match members {
            [] => {}
            [r] => {
                // Merge the two point lists by timestamp.
                let ones = &self.one[*r as usize].floats;
                let mut cursor = StepCursor::new(&self.steps);
                let (mut a, mut b) = (0, 0);
                while a < many.len() && b < ones.len() {
                    let (p, q) = (many[a], ones[b]);
                    if p.t < q.t {
                        a += 1;
                    } else if p.t > q.t {
                        b += 1;
                    } else {
                        if cursor.index(p.t).is_some() {
                            f(p.t, *r, q.f, p.f);
                        }
                        a += 1;
                        b += 1;
                    }
                }
            }
            _ => {
                let Some(resolved) = self.resolved.get(&g) else {
                    return;
                };
                let mut cursor = StepCursor::new(&self.steps);
                let mut at = 0;
                for p in many {
                    while at < resolved.len() && resolved[at].0 < p.t {
                        at += 1;
                    }
                    let Some(&(t, r, of)) = resolved.get(at) else {
                        break;
                    };
                    if t == p.t && cursor.index(p.t).is_some() {
                        f(p.t, r, of, p.f);
                    }
                }
            }
        }
    }

    fn run(mut self) -> Result<Vec<Series>, QueryError> {
        let mut failure = self.resolve_shared_one_sigs();
        let drop_name =
            self.return_bool && !self.ctx.delayed_name_removal || matches!(self.op, Op::Arith(_));
        let grouped = matches!(self.m.card, Card::ManyToOne(_) | Card::OneToMany(_));
        let mut out = Output::new(merge_equal_labels(self.ctx));
        let mut builder = LabelsBuilder::new();
        // Many-to-one: the result label set (numbered) of each (many, one) pair.
        let mut result_ids = HashMap::<Labels, u32>::new();
        // (many series, one series) -> result label set id, for grouped matching.
        let mut pair_results: HashMap<(u32, u32), u32> = HashMap::new();
        // Result label set ids produced by two series of one signature (candidates for
        // `grouping labels must ensure unique matches`).
        let mut owners: HashMap<(u32, u32), u32> = HashMap::new();
        let mut clashing_sigs: Vec<bool> = Vec::new();
        if grouped {
            clashing_sigs = vec![false; self.one_offsets.len() - 1];
        }
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        for mi in 0..self.many.len() {
            let mut current: Option<(u32, u32)> = None; // (one series, output series)
            pairs.clear();
            self.for_each_match(mi, |t, r, of, mf| {
                let id = match current {
                    Some((cr, id)) if cr == r => id,
                    _ => {
                        let metric = self.m.result_metric(
                            &self.many[mi].metric,
                            &self.one[r as usize].metric,
                            drop_name,
                            &mut builder,
                        );
                        if grouped {
                            let next = result_ids.len() as u32;
                            let rid = *result_ids.entry(metric.clone()).or_insert(next);
                            pairs.push((r, rid));
                        }
                        let id = out.open(metric, self.many[mi].floats.len());
                        current = Some((r, id));
                        id
                    }
                };
                let (l, rv) = if self.swapped { (of, mf) } else { (mf, of) };
                let (v, keep) = elem(self.op, l, rv);
                if self.return_bool {
                    out.push(id, t, if keep { 1.0 } else { 0.0 }, true);
                } else if keep {
                    out.push(id, t, v, false);
                }
            });
            let g = self.many_sig[mi];
            for &(r, rid) in &pairs {
                pair_results.insert((mi as u32, r), rid);
                let owner = *owners.entry((g, rid)).or_insert(mi as u32);
                if owner != mi as u32 {
                    clashing_sigs[g as usize] = true;
                }
            }
        }
        failure = earliest(
            failure,
            self.multiple_matches(&pair_results, &clashing_sigs),
        );
        let result = out.finish();
        if let Err(t) = &result {
            let step = self.steps.index(*t).unwrap_or(0);
            failure = earliest(
                failure,
                Some(Failure {
                    step,
                    rank: 2,
                    message: SAME_LABELSET.to_string(),
                }),
            );
        }
        match failure {
            Some(f) => Err(QueryError::exec(f.message)),
            None => result.map_err(|_| QueryError::exec(SAME_LABELSET)),
        }
    }

    /// The first step at which two "many"-side series of one signature match the same
    /// "one" sample (one-to-one) or give the same result labels (many-to-one).
    ///
    /// `clashing_sigs` (many-to-one) tells which signatures had one result label set
    /// produced by two series; only those can fail.
    fn multiple_matches(
        &self,
        pair_results: &HashMap<(u32, u32), u32>,
        clashing_sigs: &[bool],
    ) -> Option<Failure> {
        let (many_order, many_offsets) = bucket(&self.many_sig, self.one_offsets.len() - 1);
        let one_to_one = self.m.card == Card::OneToOne;
        let n = self.steps.len();
        let mut mark = vec![NONE; n];
        let mut hits: Vec<(usize, u32)> = Vec::new();
        let mut first: Option<usize> = None;
        let steps = self.steps;
        for g in 0..many_offsets.len() - 1 {
            let members = &many_order[many_offsets[g] as usize..many_offsets[g + 1] as usize];
            if members.len() < 2 || self.one_members(g as u32).is_empty() {
                continue;
            }
            if one_to_one {
                for &mi in members {
                    self.for_each_match(mi as usize, |t, _, _, _| {
                        let Some(i) = steps.index(t) else { return };
                        if mark[i] == g as u32 {
                            first = Some(first.map_or(i, |f| f.min(i)));
                        }
                        mark[i] = g as u32;
                    });
                }
            } else {
                if !clashing_sigs[g] {
                    continue;
                }
                hits.clear();
                for &mi in members {
                    self.for_each_match(mi as usize, |t, r, _, _| {
                        if let (Some(i), Some(&rid)) = (steps.index(t), pair_results.get(&(mi, r)))
                        {
                            hits.push((i, rid));
                        }
                    });
                }
                hits.sort_unstable();
                if let Some(w) = hits.windows(2).find(|w| w[0] == w[1]) {
                    first = Some(first.map_or(w[0].0, |f| f.min(w[0].0)));
                }
            }
        }
        let message = if one_to_one {
            "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
        } else {
            "multiple matches for labels: grouping labels must ensure unique matches"
        };
        first.map(|step| Failure {
            step,
            rank: 1,
            message: message.to_string(),
        })
    }
}

/// Buckets items by group id, keeping input order: group `g`'s items are
/// `order[offsets[g]..offsets[g + 1]]`.
fn bucket(group_of: &[u32], ngroups: usize) -> (Vec<u32>, Vec<u32>) {
    let mut offsets = vec![0u32; ngroups + 1];
    for &g in group_of {
        offsets[g as usize + 1] += 1;
    }
    for g in 0..ngroups {
        offsets[g + 1] += offsets[g];
    }
    let mut fill = offsets.clone();
    let mut order = vec![0u32; group_of.len()];
    for (i, &g) in group_of.iter().enumerate() {
        order[fill[g as usize] as usize] = i as u32;
        fill[g as usize] += 1;
    }
    (order, offsets)
}
