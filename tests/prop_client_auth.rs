//! Properties of mutual TLS (issue 13), engine against engine: a client holding
//! a certificate and a server that asks for one, both rsatls.
//!
//! 1. With any seeds, either suite, either mode and any chunking, the handshake
//!    completes and both sides agree on who the other is: the server reports
//!    exactly the client's chain, the client the server's.
//! 2. A client presenting the certificate of one key while signing with another
//!    is refused with decrypt_error, and never completes.
//! 3. A client whose chain leads to another CA is refused with unknown_ca.
//! 4. Any single bit flipped in the client's CertificateVerify message (it
//!    travels in the clear, before ChangeCipherSpec) makes the server fail with
//!    the alert that part of the message calls for, and never complete.
//!
//! The client PKI is made from the committed keys (tests/chain/pki.rs): the
//! client CA is the test root (rsa4096), the client's key other2048.
//!
//! Case counts are tuned for `cargo test --release` (two RSA private-key
//! operations per handshake on each side). A long campaign:
//!
//! ```sh
//! PROPTEST_CASES=2000 cargo test --release --test prop_client_auth
//! ```
//!
//! Counter-examples are persisted to `proptest-regressions/prop_client_auth.txt`.

mod common;
#[path = "chain/pki.rs"]
mod pki;

use std::sync::{Arc, OnceLock};

use common::prop_support::*;
use common::*;
use pki::*;
use proptest::prelude::*;
use proptest::sample::Index;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsatls::msgs::enums::{AlertDescription, SignatureScheme};
use rsatls::suites::{Suite, TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_GCM_SHA384};
use rsatls::{ClientAuthMode, ClientConnection, Error, ServerConnection};
use spki::ObjectIdentifier;
use x509_cert::ext::pkix::KeyUsages;

const REGRESSIONS: &str = "proptest-regressions/prop_client_auth.txt";

const CLIENT_AUTH_EKU: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");

/// The client CA: the test root of tests/chain/pki.rs.
const CA: (&str, &str) = ("rsa4096", "rsatls test root");

/// A CA the server does not trust.
const OTHER_CA: (&str, &str) = ("rsa3072", "rsatls other client CA");

/// HandshakeType::CERTIFICATE_VERIFY.
const CERTIFICATE_VERIFY: u8 = 15;

/// A client leaf (clientAuth, digitalSignature) for the committed key `key`,
/// issued by `issuer`.
fn client_leaf(key: &str, issuer: (&str, &str)) -> Vec<u8> {
    certificate_with(
        key,
        "rsatls prop client",
        issuer,
        Kind::Leaf(vec![dns("client.rsatls.invalid")]),
        VALID,
        Usage {
            key_usage: Some(KeyUsages::DigitalSignature.into()),
            extended: Some(vec![CLIENT_AUTH_EKU]),
        },
    )
}

/// The certificates the properties use, built once (signing with rsa4096 is slow).
struct Certs {
    /// other2048's leaf under the client CA: the client's own.
    client: Vec<u8>,
    /// rsa2048's leaf under the client CA: a genuine certificate of another key.
    other_key: Vec<u8>,
    /// other2048's leaf under a CA the server does not trust.
    other_ca: Vec<u8>,
}

fn certs() -> &'static Certs {
    static CERTS: OnceLock<Certs> = OnceLock::new();
    CERTS.get_or_init(|| Certs {
        client: client_leaf("other2048", CA),
        other_key: client_leaf("rsa2048", CA),
        other_ca: client_leaf("other2048", OTHER_CA),
    })
}

fn suites() -> impl Strategy<Value = &'static Suite> {
    prop::sample::select(vec![
        &TLS_RSA_WITH_AES_128_GCM_SHA256,
        &TLS_RSA_WITH_AES_256_GCM_SHA384,
    ])
}

fn modes() -> impl Strategy<Value = ClientAuthMode> {
    prop::sample::select(vec![ClientAuthMode::Required, ClientAuthMode::Optional])
}

/// A server for the committed rsa2048 key that asks for client certificates
/// issued by the test root, at the PKI's time.
fn auth_server(mode: ClientAuthMode, seed: u64) -> ServerConnection {
    let config = server_config("rsa2048")
        .with_client_auth(vec![pki().root.clone()], mode)
        .expect("the test root is a trust anchor");
    ServerConnection::new_at(Arc::new(config), now(), ChaCha20Rng::seed_from_u64(seed))
}

/// A client offering `suite`, pinning rsa2048, holding `client_cert` and the
/// committed key other2048.
fn auth_client(client_cert: &[u8], suite: &'static Suite, seed: u64) -> ClientConnection {
    let config = client_config("rsa2048")
        .with_suites(&[suite])
        .unwrap()
        .with_client_certificate(vec![client_cert.to_vec()], &key_file("other2048"))
        .expect("other2048 matches its leaf");
    client(config, seed)
}

/// The client's second flight (Certificate .. Finished) after the server's
/// first; the server has seen the ClientHello.
fn client_second_flight(c: &mut ClientConnection, s: &mut ServerConnection) -> Vec<u8> {
    let hello = take_output(c);
    feed(s, &hello, usize::MAX).expect("the server takes the ClientHello");
    let first = take_output(s);
    feed(c, &first, usize::MAX).expect("the client takes the server's first flight");
    take_output(c)
}

/// `flight` with its clear handshake messages (those before ChangeCipherSpec)
/// passed through `edit`, then re-framed one message per record; the records
/// from ChangeCipherSpec on are kept as they are.
fn edit_clear_messages(flight: &[u8], edit: impl Fn(&mut Vec<Vec<u8>>)) -> Vec<u8> {
    let records = split_records(flight);
    let ccs = records
        .iter()
        .position(|r| r[0] == CCS)
        .expect("the client's flight has a ChangeCipherSpec");
    let clear: Vec<u8> = records[..ccs]
        .iter()
        .inspect(|r| assert_eq!(r[0], HANDSHAKE, "only handshake records before CCS"))
        .flat_map(|r| r[5..].to_vec())
        .collect();
    let mut messages = split_handshake_messages(&clear);
    edit(&mut messages);
    let mut out: Vec<u8> = messages.iter().flat_map(|m| record(HANDSHAKE, m)).collect();
    for r in &records[ccs..] {
        out.extend_from_slice(r);
    }
    out
}

/// The fatal alert `description`, in the clear, as the server sends it before
/// its keys are on.
fn fatal_alert(description: AlertDescription) -> Vec<u8> {
    record(ALERT, &[2, description.0])
}

/// Feeds the (edited) client flight to the server and checks it fails with
/// `alert`, sends exactly that alert, and has not completed. The refusal must
/// come from the clear part of the flight (Certificate .. CertificateVerify),
/// before the client's Finished could reveal a changed transcript, unless
/// `at_ccs` says the clear part is incomplete and the ChangeCipherSpec is what
/// gives it away.
fn assert_server_refuses(
    s: &mut ServerConnection,
    flight: &[u8],
    alert: AlertDescription,
    at_ccs: bool,
) -> Result<(), TestCaseError> {
    let records = split_records(flight);
    let ccs = records.iter().position(|r| r[0] == CCS).unwrap();
    let (clear, rest) = (records[..ccs].concat(), records[ccs..].concat());
    let err = match (feed(s, &clear, usize::MAX), at_ccs) {
        (Err(e), false) => e,
        (Ok(events), true) if events.is_empty() => match feed(s, &rest, usize::MAX) {
            Err(e) => e,
            Ok(events) => {
                return Err(TestCaseError::fail(format!(
                    "the server accepted the flight: {events:?}"
                )));
            }
        },
        (got, _) => {
            return Err(TestCaseError::fail(format!(
                "the clear part gave {got:?} (refusal expected there: {})",
                !at_ccs
            )));
        }
    };
    prop_assert_eq!(err.alert(), Some(alert), "error {:?}", err);
    prop_assert!(!s.is_established());
    prop_assert_eq!(take_output(s), fatal_alert(alert));
    Ok(())
}

/// Which part of a CertificateVerify message a bit flip hit, and the alert the
/// server owes for it, and whether only the ChangeCipherSpec after it shows the
/// fault. `flipped` is the message after the flip; the record after it is the
/// client's ChangeCipherSpec.
fn expected_alert(offset: usize, flipped: &[u8]) -> (AlertDescription, bool) {
    let flipped_scheme = SignatureScheme(u16::from_be_bytes([flipped[4], flipped[5]]));
    let claimed =
        usize::from(flipped[1]) << 16 | usize::from(flipped[2]) << 8 | usize::from(flipped[3]);
    let grown = (1..=3).contains(&offset)
        && claimed <= rsatls::DEFAULT_MAX_HANDSHAKE_SIZE
        && claimed > flipped.len() - 4;
    let alert = match offset {
        // The message type: another handshake type where only CertificateVerify
        // may come (RFC 5246 §7.4.8).
        0 => AlertDescription::UNEXPECTED_MESSAGE,
        // The 24-bit length, grown past the configured maximum (64 KiB):
        // refused from the header.
        1..=3 if claimed > rsatls::DEFAULT_MAX_HANDSHAKE_SIZE => {
            AlertDescription::ILLEGAL_PARAMETER
        }
        // Grown: the message would continue past its record, where the
        // ChangeCipherSpec comes instead (RFC 5246 §6.2.1: handshake messages
        // are not interleaved with other content types).
        1..=3 if claimed > flipped.len() - 4 => AlertDescription::UNEXPECTED_MESSAGE,
        // Shrunk: the body is shorter than its signature's length says.
        1..=3 => AlertDescription::DECODE_ERROR,
        // The SignatureAndHashAlgorithm: one the server did not offer is
        // illegal_parameter; an offered one with another hash or padding does
        // not verify.
        4 | 5 if !OFFERED.contains(&flipped_scheme) => AlertDescription::ILLEGAL_PARAMETER,
        4 | 5 => AlertDescription::DECRYPT_ERROR,
        // The signature's length: it no longer matches the bytes that follow.
        6 | 7 => AlertDescription::DECODE_ERROR,
        // The signature itself (RFC 5246 §7.2.2: decrypt_error).
        _ => AlertDescription::DECRYPT_ERROR,
    };
    (alert, grown)
}

/// The schemes an rsatls server offers in its CertificateRequest.
const OFFERED: [SignatureScheme; 6] = [
    SignatureScheme::RSA_PSS_RSAE_SHA256,
    SignatureScheme::RSA_PSS_RSAE_SHA384,
    SignatureScheme::RSA_PSS_RSAE_SHA512,
    SignatureScheme::RSA_PKCS1_SHA256,
    SignatureScheme::RSA_PKCS1_SHA384,
    SignatureScheme::RSA_PKCS1_SHA512,
];

proptest! {
    #![proptest_config(prop_config(24, REGRESSIONS))]

    /// Property 1: mutual handshakes complete with any seeds, suite, mode and
    /// chunking, and each side reports the chain the other holds.
    #[test]
    fn mutual_handshakes_complete_and_agree_on_the_peers(
        suite in suites(),
        mode in modes(),
        client_seed in any::<u64>(),
        server_seed in any::<u64>(),
        c2s in prop::sample::select(vec![1usize, 2, 7, 64, 1000, usize::MAX]),
        s2c in prop::sample::select(vec![1usize, 3, 100, 4096, usize::MAX]),
    ) {
        let own = &certs().client;
        let mut c = auth_client(own, suite, client_seed);
        let mut s = auth_server(mode, server_seed);
        let t = handshake_chunked(&mut c, &mut s, c2s, s2c)
            .map_err(|e| TestCaseError::fail(format!("handshake failed: {e:?}")))?;
        prop_assert!(c.is_established() && s.is_established());
        let complete = |events: &[Ev]| {
            events.iter().find_map(|e| match e {
                Ev::Complete(info) => Some(info.clone()),
                _ => None,
            })
        };
        let server_info = complete(&t.server_events).expect("the server completed");
        let client_info = complete(&t.client_events).expect("the client completed");
        prop_assert_eq!(&server_info.peer_certificates, &vec![own.clone()]);
        prop_assert_eq!(
            &client_info.peer_certificates,
            &vec![server_config("rsa2048").leaf().to_vec()]
        );
        prop_assert_eq!(server_info.suite, suite);
        prop_assert_eq!(client_info.suite, suite);
        // The second client flight carried a CertificateVerify.
        let second = &t.flights[2];
        let clear: Vec<u8> = split_records(second)
            .iter()
            .take_while(|r| r[0] == HANDSHAKE)
            .flat_map(|r| r[5..].to_vec())
            .collect();
        prop_assert!(split_handshake_messages(&clear)
            .iter()
            .any(|m| m[0] == CERTIFICATE_VERIFY));
    }

    /// Property 2: the certificate of one key (rsa2048's, genuine, from the
    /// trusted CA) with a CertificateVerify made by another (other2048):
    /// decrypt_error, in either mode.
    #[test]
    fn a_certificate_of_another_key_is_decrypt_error(
        suite in suites(),
        mode in modes(),
        client_seed in any::<u64>(),
        server_seed in any::<u64>(),
    ) {
        let mut c = auth_client(&certs().client, suite, client_seed);
        let mut s = auth_server(mode, server_seed);
        let flight = client_second_flight(&mut c, &mut s);
        let swapped = edit_clear_messages(&flight, |messages| {
            let cert = messages
                .iter_mut()
                .find(|m| m[0] == 11)
                .expect("the client sent a Certificate");
            *cert = rsatls::msgs::handshake::HandshakeMessage::Certificate(vec![
                certs().other_key.clone(),
            ])
            .to_bytes();
        });
        assert_server_refuses(&mut s, &swapped, AlertDescription::DECRYPT_ERROR, false)?;
    }

    /// Property 3: a client chain that leads to a CA the server does not trust
    /// is unknown_ca, and the client learns it from the alert.
    #[test]
    fn a_chain_from_another_ca_is_unknown_ca(
        suite in suites(),
        mode in modes(),
        client_seed in any::<u64>(),
        server_seed in any::<u64>(),
    ) {
        let mut c = auth_client(&certs().other_ca, suite, client_seed);
        let mut s = auth_server(mode, server_seed);
        let err = handshake(&mut c, &mut s).expect_err("the server must refuse the chain");
        prop_assert_eq!(err.alert(), Some(AlertDescription::UNKNOWN_CA), "{:?}", err);
        prop_assert!(!s.is_established() && !c.is_established());
        // The alert reached the client.
        let alert = take_output(&mut s);
        prop_assert_eq!(&alert, &fatal_alert(AlertDescription::UNKNOWN_CA));
        let got = feed(&mut c, &alert, usize::MAX);
        prop_assert_eq!(
            got,
            Err(Error::AlertReceived(AlertDescription::UNKNOWN_CA))
        );
    }

    /// Property 4: one bit flipped anywhere in the CertificateVerify message
    /// (header, algorithm, length, signature) is refused with the alert for
    /// that part, and the server never completes.
    #[test]
    fn a_flipped_bit_in_certificate_verify_is_refused(
        suite in suites(),
        mode in modes(),
        client_seed in any::<u64>(),
        server_seed in any::<u64>(),
        at in any::<Index>(),
        bit in 0u8..8,
    ) {
        let mut c = auth_client(&certs().client, suite, client_seed);
        let mut s = auth_server(mode, server_seed);
        let flight = client_second_flight(&mut c, &mut s);
        let cv_len = split_handshake_messages(
            &split_records(&flight)
                .iter()
                .take_while(|r| r[0] == HANDSHAKE)
                .flat_map(|r| r[5..].to_vec())
                .collect::<Vec<u8>>(),
        )
        .into_iter()
        .find(|m| m[0] == CERTIFICATE_VERIFY)
        .expect("the client sent a CertificateVerify")
        .len();
        let offset = at.index(cv_len);
        let tampered = edit_clear_messages(&flight, |messages| {
            let cv = messages
                .iter_mut()
                .find(|m| m[0] == CERTIFICATE_VERIFY)
                .unwrap();
            cv[offset] ^= 1 << bit;
        });
        // The message as the server reads it: the record before the
        // ChangeCipherSpec holds exactly the flipped CertificateVerify.
        let records = split_records(&tampered);
        let ccs = records.iter().position(|r| r[0] == CCS).unwrap();
        let (want, at_ccs) = expected_alert(offset, &records[ccs - 1][5..]);
        assert_server_refuses(&mut s, &tampered, want, at_ccs)?;
    }
}

/// The properties can fail: the untampered flight completes (so property 4's
/// refusals come from the flip), and the client's own certificate is accepted
/// (so property 2's come from the swap).
#[test]
fn the_untouched_flight_completes() {
    for suite in [
        &TLS_RSA_WITH_AES_128_GCM_SHA256,
        &TLS_RSA_WITH_AES_256_GCM_SHA384,
    ] {
        let mut c = auth_client(&certs().client, suite, 1);
        let mut s = auth_server(ClientAuthMode::Required, 2);
        let flight = client_second_flight(&mut c, &mut s);
        let same = edit_clear_messages(&flight, |_| {});
        let events = feed(&mut s, &same, usize::MAX).expect("the re-framed flight is accepted");
        assert!(matches!(events.as_slice(), [Ev::Complete(info)]
            if info.peer_certificates == vec![certs().client.clone()]));
    }
}
