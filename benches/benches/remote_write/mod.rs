//! The receiver's modules, compiled in from the daemon's sources.

#![allow(dead_code)]

#[path = "../../../src/api/remote_write/decode.rs"]
pub mod decode;
#[path = "../../../src/api/remote_write/ingest.rs"]
pub mod ingest;
#[path = "../../../src/api/remote_write/metrics.rs"]
pub mod metrics;
