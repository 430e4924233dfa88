//! Relabeling with a reused buffer allocates nothing once the buffer has grown, whether
//! rules match or not (counted with an allocator that counts this thread's allocations).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use ember_config::{Config, Relabeler};
use ember_storage::Labels;

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: defers every call to the system allocator unchanged; only counts calls made
// on a thread that turned counting on.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let _ = COUNTING.try_with(|c| {
            if c.get() {
                let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
            }
        });
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: `p` was allocated by `System` with this layout.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new_size: usize) -> *mut u8 {
        let _ = COUNTING.try_with(|c| {
            if c.get() {
                let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + 1));
            }
        });
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(p, l, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    ALLOCATIONS.with(|a| a.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.with(|a| a.get())
}

#[test]
fn warmed_up_relabeling_does_not_allocate() {
    let cfg = Config::from_str(
        r#"
scrape_configs:
- job_name: a
  metric_relabel_configs:
  - {source_labels: [__name__], regex: 'go_.*', action: drop}
  - {source_labels: [__name__, mode], regex: 'cpu;(idle|steal)', action: drop}
  - {regex: 'id', action: labeldrop}
  - {source_labels: [mountpoint], regex: '/(.*)', target_label: mount, replacement: 'mnt_$1'}
  - {source_labels: [instance], regex: '([^:]+):\d+', target_label: host}
  - {target_label: cluster, replacement: prod}
  - {regex: '(mode|cpu)', replacement: 'x_$1', action: labelmap}
  - {source_labels: [instance], target_label: shard, modulus: 4, action: hashmod}
  - {source_labels: [host], target_label: host_upper, action: uppercase}
"#,
        "/",
    )
    .unwrap();
    let r = Relabeler::new(&cfg.scrape_configs[0].metric_relabel_configs).unwrap();
    let series = [
        Labels::from_pairs([
            ("__name__", "cpu"),
            ("mode", "user"),
            ("cpu", "0"),
            ("instance", "h:9100"),
        ]),
        Labels::from_pairs([
            ("__name__", "cpu"),
            ("mode", "idle"),
            ("instance", "h:9100"),
        ]),
        Labels::from_pairs([("__name__", "go_gc"), ("instance", "h:9100")]),
        Labels::from_pairs([
            ("__name__", "fs"),
            ("mountpoint", "/data"),
            ("id", "x"),
            ("instance", "h:9100"),
        ]),
        Labels::from_pairs([("__name__", "other"), ("instance", "no-port")]),
    ];
    let mut buf = r.buffer();
    for s in &series {
        let _ = r.process_with(s.as_ref(), &mut buf);
    }
    let mut kept = 0;
    let n = allocations_during(|| {
        for _ in 0..10 {
            for s in &series {
                if r.process_with(s.as_ref(), &mut buf).is_some() {
                    kept += 1;
                }
            }
        }
    });
    assert_eq!(kept, 30);
    assert_eq!(n, 0, "allocations after warm-up");
    // The counter does count: an owned result is one allocation.
    let owned = allocations_during(|| {
        let _ = r.process(&series[0]);
    });
    assert!(owned >= 1);
}
