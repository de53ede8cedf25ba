//! Record deframing and handshake reassembly: total, re-frames and re-encodes. See `rsatls::fuzzing::deframe`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rsatls::fuzzing::deframe(data));
