//! TCP reassembly of arbitrary segments: bounded, contiguous, one gap at most, one Closed per flow. See `rsatls::fuzzing::reassembler`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rsatls::fuzzing::reassembler(data));
