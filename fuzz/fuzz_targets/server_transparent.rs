//! A server (FUZZING-ONLY transparent crypto) fed arbitrary client bytes. See `rsatls::fuzzing::server_transparent`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| drop(rsatls::fuzzing::server_transparent(data)));
