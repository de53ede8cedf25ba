//! Reading the cleartext start of a TLS 1.2 handshake, for the commands'
//! printouts and diagnostics (never for protocol decisions: those are the
//! engine's).

use rsatls::msgs::handshake::HandshakeMessage;

/// Splits plaintext records and returns the handshake messages they carry.
pub(crate) fn handshake_messages(wire: &[u8]) -> Vec<HandshakeMessage> {
    let mut payload = Vec::new();
    let mut rest = wire;
    while let Some((header, tail)) = rest.split_first_chunk::<5>() {
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        let Some((fragment, tail)) = tail.split_at_checked(len) else {
            break;
        };
        if header[0] == 22 {
            payload.extend_from_slice(fragment);
        } else {
            // ChangeCipherSpec: what follows is encrypted.
            break;
        }
        rest = tail;
    }
    let mut msgs = Vec::new();
    let mut r = payload.as_slice();
    while r.len() >= 4 {
        let len = usize::from(r[1]) << 16 | usize::from(r[2]) << 8 | usize::from(r[3]);
        let Some((one, tail)) = r.split_at_checked(4 + len) else {
            break;
        };
        if let Ok(m) = HandshakeMessage::decode(one) {
            msgs.push(m);
        }
        r = tail;
    }
    msgs
}
