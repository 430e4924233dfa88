//! The promqltest conformance runner (being written).
