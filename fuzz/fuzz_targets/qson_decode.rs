//! libFuzzer entry point of the `qson_decode` target; the checks are in
//! `beacon_processor_fuzz::qson` (see docs/FUZZING.md).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| beacon_processor_fuzz::qson::check_qson(data));
