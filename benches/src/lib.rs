//! Ember's comparative benchmarks: the load generators and the measurements shared by the
//! `ember-bench` command and the in-process criterion benchmarks.
//!
//! | module       | concern                                                        |
//! |--------------|----------------------------------------------------------------|
//! | [`workload`] | a deterministic node_exporter-like workload, as remote-write requests |
//! | [`proc_stat`] | CPU time and resident memory of a process, from `/proc`       |
//! | [`proto`]    | the remote-write messages (the receiver's own prost types)     |

#[path = "../../src/api/remote_write/proto.rs"]
pub mod proto;

pub mod proc_stat;
pub mod workload;
