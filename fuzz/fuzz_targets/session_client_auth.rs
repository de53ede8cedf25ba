//! Structure-aware, mutual TLS: the session script against a client-authenticating server and a client with a certificate. See `rsatls::fuzzing::session_client_auth`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| drop(rsatls::fuzzing::session_client_auth(data)));
