//! Structure-aware: a client and a server with a script that drops, reorders, mutates and injects records. See `rsatls::fuzzing::session`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| drop(rsatls::fuzzing::session(data)));
