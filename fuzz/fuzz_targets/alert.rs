//! Alert decoding: total, and re-encodes byte for byte. See `rsatls::fuzzing::alert`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rsatls::fuzzing::alert(data));
