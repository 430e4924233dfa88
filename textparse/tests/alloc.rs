//! The hot path allocates nothing: parsing a body without escapes, reading every
//! series' text, value, name and labels (including normalised `le`), costs no heap
//! allocation at all; an escaped value costs some.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use ember_textparse::{Entry, Format, Parser};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_while_parsing(format: Format, body: &[u8]) -> (usize, usize) {
    let before = ALLOCS.load(Ordering::Relaxed);
    let mut p = Parser::new(format, body);
    let mut series = 0;
    let mut bytes = 0;
    while let Ok(Some(e)) = p.next() {
        match e {
            Entry::Series => {
                series += 1;
                bytes += p.series().0.len() + p.metric_name().len();
                p.labels(|n, v| bytes += n.len() + v.len());
                if let Some(ex) = p.exemplar() {
                    ex.labels(|n, v| bytes += n.len() + v.len());
                }
            }
            Entry::Help => bytes += p.help().1.len(),
            Entry::Type => bytes += p.metric_type().0.len(),
            Entry::Unit | Entry::Comment => {}
        }
    }
    assert!(bytes > 0);
    (ALLOCS.load(Ordering::Relaxed) - before, series)
}

// One test only: the counter is global and tests run on parallel threads.
#[test]
fn parsing_without_escapes_does_not_allocate() {
    let prom = b"# HELP h Latency.\n# TYPE h histogram\nh_bucket{a=\"x\",le=\"1\"} 1\nh_bucket{a=\"x\",le=\"+Inf\"} 2 1700000000000\nh_sum{a=\"x\"} 0.5\n# TYPE s summary\ns{quantile=\"0.5\"} 3\n{\"utf8.name\",\"b.c\"=\"d\"} 4\n";
    let (allocs, series) = allocations_while_parsing(Format::PromText, prom);
    assert_eq!(series, 5);
    assert_eq!(allocs, 0);

    let om = b"# HELP h_seconds Latency.\n# TYPE h_seconds histogram\n# UNIT h_seconds seconds\nh_seconds_bucket{le=\"1\"} 1 # {trace_id=\"abc\"} 0.5 1.5\nh_seconds_count 1 17.25\n# EOF\n";
    let (allocs, series) = allocations_while_parsing(Format::OpenMetrics, om);
    assert_eq!(series, 2);
    assert_eq!(allocs, 0);

    let escaped = b"m{a=\"x\\\"y\"} 1\n";
    let (allocs, _) = allocations_while_parsing(Format::PromText, escaped);
    assert!(allocs > 0);
}
