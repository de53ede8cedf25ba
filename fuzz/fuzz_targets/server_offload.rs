//! A server (real crypto) that hands its private-key operation out, answered late, wrong or not at all, fed arbitrary client bytes. See `rsatls::fuzzing::server_offload`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| drop(rsatls::fuzzing::server_offload(data)));
