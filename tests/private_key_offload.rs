//! The offloaded private-key operation (`ServerConfig::with_private_key_offload`):
//! the engine hands the ClientKeyExchange's RSA operation to its caller and
//! holds every later input until the result comes back.

mod common;

use common::{client, client_config, server, server_config, take_output};
use rsatls::{Event, PrivateKeyOperation, ServerConnection};

/// Feeds `wire` to the server and returns the operation it hands out, if any.
fn feed_until_operation(server: &mut ServerConnection, wire: &[u8]) -> Option<PrivateKeyOperation> {
    let mut fed = 0;
    let mut op = None;
    loop {
        while let Some(ev) = server.poll_event().expect("server accepts the flight") {
            if let Event::PrivateKeyOperation(o) = ev {
                op = Some(o);
            }
        }
        if fed == wire.len() {
            return op;
        }
        let n = server.read_tls(&wire[fed..]).unwrap();
        if n == 0 {
            return op;
        }
        fed += n;
    }
}

#[test]
fn an_offloaded_handshake_is_byte_for_byte_the_inline_one() {
    let run = |offload: bool| {
        let mut c = client(client_config("rsa2048"), 1);
        let mut s = server(
            server_config("rsa2048").with_private_key_offload(offload),
            2,
        );
        let mut flights = Vec::new();
        let ch = take_output(&mut c);
        assert!(feed_until_operation(&mut s, &ch).is_none());
        let sh = take_output(&mut s);
        common::feed(&mut c, &sh, usize::MAX).unwrap();
        let cke = take_output(&mut c);
        let op = feed_until_operation(&mut s, &cke);
        assert_eq!(op.is_some(), offload);
        if let Some(op) = op {
            assert!(s.awaits_private_key_operation());
            // Held: nothing was answered yet.
            assert!(!s.wants_write());
            let out = std::thread::spawn(move || op.run()).join().unwrap();
            s.complete_private_key_operation(out).unwrap();
            assert!(!s.awaits_private_key_operation());
            assert!(s.poll_event().unwrap().is_some(), "handshake completes");
        }
        let fin = take_output(&mut s);
        let ev = common::feed(&mut c, &fin, usize::MAX).unwrap();
        assert!(matches!(ev[0], common::Ev::Complete(_)));
        flights.extend([ch, sh, cke, fin]);
        flights
    };
    assert_eq!(run(true), run(false));
}
