//! A server (real crypto) fed arbitrary client bytes in arbitrary chunks. See `rsatls::fuzzing::server`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| drop(rsatls::fuzzing::server(data)));
