//! CertificateVerify decoding and the server's signature check: total, bounded, re-encodes, never accepts. See `rsatls::fuzzing::certificate_verify`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rsatls::fuzzing::certificate_verify(data));
