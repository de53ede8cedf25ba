//! `Connection::release_buffers` may be called at any point, between any two
//! pieces of input, without changing what the connection delivers: records
//! split anywhere, of any size, arrive intact, and a record still arriving
//! keeps its bytes. One RSA-2048 handshake per case.

mod common;

use common::*;
use proptest::prelude::*;
use rsatls::Event;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct(
                "proptest-regressions/prop_release.txt",
            ),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn releasing_at_any_point_changes_nothing(
        seed in any::<u64>(),
        messages in prop::collection::vec(1usize..=20_000, 1..6),
        chunk in 1usize..6000,
        release_every in 1usize..8,
    ) {
        let mut c = client(client_config("rsa2048"), seed);
        let mut s = server(server_config("rsa2048"), seed ^ 1);
        handshake(&mut c, &mut s).unwrap();
        let mut sent = Vec::new();
        let mut wire = Vec::new();
        for (i, len) in messages.iter().enumerate() {
            let data: Vec<u8> = (0..*len).map(|j| (i * 31 + j) as u8).collect();
            let mut off = 0;
            while off < data.len() {
                // The engine's output is bounded: it takes more once drained.
                off += c.write_app_data(&data[off..]).unwrap();
                wire.extend(take_output(&mut c));
            }
            sent.extend_from_slice(&data);
        }
        let mut got = Vec::new();
        for (k, piece) in wire.chunks(chunk).enumerate() {
            let mut taken = 0;
            let mut stalls = 0;
            while taken < piece.len() {
                let n = s.read_tls(&piece[taken..]).unwrap();
                taken += n;
                stalls = if n == 0 { stalls + 1 } else { 0 };
                prop_assert!(stalls < 3, "read_tls takes nothing at {} of piece {}", taken, k);
                while let Some(ev) = s.poll_event().unwrap() {
                    if let Event::ApplicationData(d) = ev {
                        got.extend_from_slice(d);
                    }
                }
                if k % release_every == 0 {
                    s.release_buffers();
                }
            }
        }
        s.release_buffers();
        prop_assert_eq!(got, sent);
    }
}
