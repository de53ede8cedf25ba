//! CertificateRequest decoding: total, bounded, re-encodes. See `rsatls::fuzzing::certificate_request`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rsatls::fuzzing::certificate_request(data));
