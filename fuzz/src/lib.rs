//! Invariant checks behind the cargo-fuzz targets of beacon-processor (see `docs/FUZZING.md`).
//!
//! Each `fuzz_targets/<name>.rs` is a one-line libFuzzer entry point that hands its input to one
//! `check_*` function here. A check **panics** (which libFuzzer reports as a crash, with the input
//! saved under `artifacts/<target>/`) when the code under test panics itself or breaks a property
//! it must always have: captures that match the reference's regular expression, QSON decoding that
//! agrees with form-urlencoded decoding, one well-formed record per line, a checkpoint loader that
//! picks the right file.
//!
//! - [`line_format`]: the line-format matcher, against the `regex` crate running the reference's
//!   own regular expression;
//! - [`qson`]: QSON decoding and capsule JSON parsing;
//! - [`record`]: the whole line -> record function (`Worker::process_line`);
//! - [`checkpoint`]: the tailer's checkpoint-file loader.

pub mod checkpoint;
pub mod line_format;
pub mod python_space;
pub mod qson;
pub mod record;
