//! Certificate decoding (and the client's key extraction): total, re-encodes. See `rsatls::fuzzing::certificate`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rsatls::fuzzing::certificate(data));
