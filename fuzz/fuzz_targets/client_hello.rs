//! ClientHello decoding, extensions included: total, re-encodes. See `rsatls::fuzzing::client_hello`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rsatls::fuzzing::client_hello(data));
