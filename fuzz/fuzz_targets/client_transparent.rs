//! A client (FUZZING-ONLY transparent crypto) fed arbitrary server bytes. See `rsatls::fuzzing::client_transparent`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| drop(rsatls::fuzzing::client_transparent(data)));
