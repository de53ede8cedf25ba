//! Finished decoding: exactly 12 bytes decode. See `rsatls::fuzzing::finished`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rsatls::fuzzing::finished(data));
