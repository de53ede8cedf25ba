//! ClientKeyExchange decoding, and the server's constant-time premaster check against a reference. See `rsatls::fuzzing::client_key_exchange`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rsatls::fuzzing::client_key_exchange(data));
