//! A client (real crypto) fed arbitrary server bytes in arbitrary chunks. See `rsatls::fuzzing::client`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| drop(rsatls::fuzzing::client(data)));
