//! libFuzzer entry point of the `line_format` target; the checks are in
//! `beacon_processor_fuzz::line_format` (see docs/FUZZING.md).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| beacon_processor_fuzz::line_format::check_line_formats(data));
