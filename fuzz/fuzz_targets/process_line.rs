//! libFuzzer entry point of the `process_line` target; the checks are in
//! `beacon_processor_fuzz::record` (see docs/FUZZING.md). The processor is assembled before the
//! first input, so its start-up time does not count against libFuzzer's per-input timeout.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: {
        beacon_processor_fuzz::record::processor();
    },
    |data: &[u8]| beacon_processor_fuzz::record::check_process_line(data)
);
