//! libFuzzer entry point of the `checkpoint_loader` target; the checks are in
//! `beacon_processor_fuzz::checkpoint` (see docs/FUZZING.md).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| beacon_processor_fuzz::checkpoint::check_checkpoint_file(data));
