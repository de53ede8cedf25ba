//! Record protection: open arbitrary bytes at arbitrary sequence numbers; seal/open round trip. See `rsatls::fuzzing::record_open`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rsatls::fuzzing::record_open(data));
