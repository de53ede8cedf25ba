//! The passive decoder on one recorded connection cut into chunks of both directions. See `rsatls::fuzzing::passive_session`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rsatls::fuzzing::passive_session(data);
});
