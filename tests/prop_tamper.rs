//! Properties 5–7: a client refuses a server whose key it does not trust before
//! it sends anything secret; no invalid ClientKeyExchange is distinguishable from
//! a tampered Finished; any bit flipped in any handshake record breaks the
//! handshake without ever letting forged data through.
//!
//! Case counts are tuned for `cargo test --release` (about 10 ms per RSA-2048
//! handshake). A long campaign:
//!
//! ```sh
//! PROPTEST_CASES=5000 cargo test --release --test prop_tamper
//! ```
//!
//! Counter-examples are persisted to `proptest-regressions/prop_tamper.txt`.

mod common;

use common::prop_support::*;
use common::*;
use proptest::prelude::*;
use proptest::sample::Index;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use rsatls::crypto::RsaPublicKey;
use rsatls::msgs::enums::AlertDescription;
use rsatls::msgs::handshake::HandshakeMessage;
use rsatls::suites::{Suite, TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_GCM_SHA384};
use rsatls::{CertificateError, Error};

const REGRESSIONS: &str = "proptest-regressions/prop_tamper.txt";

const KEYS: [&str; 4] = ["rsa2048", "rsa3072", "rsa4096", "other2048"];

fn one_suite() -> impl Strategy<Value = Vec<&'static Suite>> {
    prop::sample::select(vec![
        vec![&TLS_RSA_WITH_AES_128_GCM_SHA256],
        vec![&TLS_RSA_WITH_AES_256_GCM_SHA384],
    ])
}

fn public_key(name: &str) -> Box<dyn RsaPublicKey> {
    let info = rsatls::pki::rsa_key_from_certificate(&leaf(name)).expect("RSA certificate");
    provider()
        .rsa_public_key(&info.modulus, &info.exponent)
        .expect("public key")
}

/// The fatal bad_certificate alert, unprotected.
const BAD_CERTIFICATE: [u8; 7] = [21, 3, 3, 0, 2, 2, 42];

/// Does `flight` carry a handshake message of type `typ` in a plaintext record?
fn carries_handshake_type(flight: &[u8], typ: u8) -> bool {
    let payload: Vec<u8> = split_records(flight)
        .iter()
        .filter(|r| r[0] == HANDSHAKE)
        .flat_map(|r| r[5..].to_vec())
        .collect();
    split_handshake_messages(&payload)
        .iter()
        .any(|m| m[0] == typ)
}

// ---------------------------------------------------------------------------
// Property 6: the encrypted premaster and how it can be wrong.

/// What is wrong with a ClientKeyExchange.
#[derive(Clone, Debug)]
enum BadCke {
    /// A well-formed premaster encrypted to another test key.
    OtherKey(&'static str),
    /// Random bytes of the modulus length (`None`) or of any length.
    Random(Option<usize>, u64),
    /// The honest ciphertext with bits flipped.
    Garbled(Vec<(Index, u8)>),
    /// A premaster whose first two bytes are not ClientHello.client_version.
    WrongVersion([u8; 2]),
    /// A premaster of another length than 48 bytes.
    WrongLength(Index),
    /// A non-zero first byte of the encryption block.
    FirstByte(u8),
    /// A block type other than 2.
    BlockType(u8),
    /// A zero byte inside the padding string (which moves the separator).
    ZeroInPadding(Index),
    /// No zero separator at all.
    NoSeparator,
}

fn bad_cke() -> impl Strategy<Value = BadCke> {
    prop_oneof![
        prop::sample::select(&KEYS[..]).prop_map(BadCke::OtherKey),
        (
            prop_oneof![Just(None), (0usize..=1100).prop_map(Some)],
            any::<u64>()
        )
            .prop_map(|(len, seed)| BadCke::Random(len, seed)),
        prop::collection::vec((any::<Index>(), 0u8..8), 1..4).prop_map(BadCke::Garbled),
        any::<[u8; 2]>()
            .prop_filter("the right version", |v| *v != [3, 3])
            .prop_map(BadCke::WrongVersion),
        any::<Index>().prop_map(BadCke::WrongLength),
        // Below the modulus's top byte, so the block is still < n.
        (1u8..0x80).prop_map(BadCke::FirstByte),
        any::<u8>()
            .prop_filter("type 2 is right", |t| *t != 2)
            .prop_map(BadCke::BlockType),
        any::<Index>().prop_map(BadCke::ZeroInPadding),
        Just(BadCke::NoSeparator),
    ]
}

/// `00 ‖ block_type ‖ non-zero padding ‖ 00 ‖ payload`, RSA-encrypted to `key`.
fn pkcs1_block(
    key: &dyn RsaPublicKey,
    rng: &mut ChaCha20Rng,
    edit: impl FnOnce(&mut Vec<u8>),
    payload: &[u8],
) -> Vec<u8> {
    let k = key.modulus_len();
    let mut em = vec![0u8; k];
    em[1] = 2;
    for b in &mut em[2..k - payload.len() - 1] {
        *b = (rng.next_u32() % 255) as u8 + 1;
    }
    em[k - payload.len()..].copy_from_slice(payload);
    edit(&mut em);
    let mut out = vec![0u8; k];
    key.raw_encrypt(&em, &mut out).expect("RSAEP");
    out
}

fn premaster(rng: &mut ChaCha20Rng, version: [u8; 2], len: usize) -> Vec<u8> {
    let mut p = vec![0u8; len];
    rng.fill_bytes(&mut p);
    if len >= 2 {
        p[..2].copy_from_slice(&version);
    }
    p
}

/// The ciphertext for `bad`, given the server's key and the honest ciphertext.
fn bad_ciphertext(bad: &BadCke, server_key: &str, honest: &[u8], seed: u64) -> Vec<u8> {
    let own = public_key(server_key);
    let k = own.modulus_len();
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let good = premaster(&mut rng, [3, 3], 48);
    match bad {
        BadCke::OtherKey(name) => {
            // Never the server's own key: pick the next one in the list.
            let name = match *name == server_key {
                true => KEYS[(KEYS.iter().position(|n| n == name).unwrap() + 1) % KEYS.len()],
                false => name,
            };
            pkcs1_block(public_key(name).as_ref(), &mut rng, |_| {}, &good)
        }
        BadCke::Random(len, seed) => {
            let mut out = vec![0u8; len.unwrap_or(k)];
            ChaCha20Rng::seed_from_u64(*seed).fill_bytes(&mut out);
            out
        }
        BadCke::Garbled(flips) => {
            let mut out = honest.to_vec();
            for (i, bit) in flips {
                out[i.index(k)] ^= 1 << bit;
            }
            if out == honest {
                out[0] ^= 0x80;
            }
            out
        }
        BadCke::WrongVersion(v) => {
            let p = premaster(&mut rng, *v, 48);
            pkcs1_block(own.as_ref(), &mut rng, |_| {}, &p)
        }
        BadCke::WrongLength(i) => {
            // Any length the block can hold but 48.
            let len = match i.index(k - 11) {
                48 => 47,
                len => len,
            };
            let p = premaster(&mut rng, [3, 3], len);
            pkcs1_block(own.as_ref(), &mut rng, |_| {}, &p)
        }
        BadCke::FirstByte(b) => pkcs1_block(own.as_ref(), &mut rng, |em| em[0] = *b, &good),
        BadCke::BlockType(t) => pkcs1_block(own.as_ref(), &mut rng, |em| em[1] = *t, &good),
        BadCke::ZeroInPadding(i) => {
            let at = 2 + i.index(k - 48 - 3);
            pkcs1_block(own.as_ref(), &mut rng, |em| em[at] = 0, &good)
        }
        BadCke::NoSeparator => pkcs1_block(own.as_ref(), &mut rng, |em| em[k - 49] = 0x5a, &good),
    }
}

fn handshake_record(msg: &HandshakeMessage) -> Vec<u8> {
    record(HANDSHAKE, &msg.to_bytes())
}

proptest! {
    #![proptest_config(prop_config(48, REGRESSIONS))]

    /// Property 5: a client that trusts only other keys (by pin or certificate)
    /// answers the server's flight with exactly a fatal bad_certificate and
    /// nothing else: no ClientKeyExchange, no premaster.
    #[test]
    fn untrusted_server_key_is_refused_before_key_exchange(
        key in prop::sample::select(&KEYS[..]),
        others in prop::sample::subsequence(&KEYS[..], 1..=3),
        auth in prop::sample::select(vec![AuthKind::Pins, AuthKind::TrustedCertificates]),
        suites in one_suite(),
        seeds in any::<(u64, u64)>(),
        s2c in prop::collection::vec(1usize..2000, 0..3),
    ) {
        let trusted: Vec<&'static str> = others.into_iter().filter(|n| *n != key).collect();
        prop_assume!(!trusted.is_empty());
        let p = Params {
            trusted,
            auth,
            client_suites: suites.clone(),
            server_suites: suites,
            ..Params::new(key, seeds.0, seeds.1)
        };
        let mut s = Session::new(&p);
        s.run(&mut |_, _| {}, &[], &s2c);
        prop_assert_eq!(
            &s.client_error,
            &Some(Error::BadCertificate(CertificateError::NotTrusted))
        );
        prop_assert_eq!(s.flights.len(), 3, "ClientHello, server flight, alert");
        prop_assert_eq!(&s.flights[2][..], &BAD_CERTIFICATE[..]);
        prop_assert!(!carries_handshake_type(&s.flights[0], 16));
        prop_assert_eq!(
            &s.server_error,
            &Some(Error::AlertReceived(AlertDescription::BAD_CERTIFICATE))
        );
        prop_assert!(!s.client_completed() && !s.server_completed());
        prop_assert!(s.client_log.lines().is_empty(), "no premaster was made");
    }

    /// Property 6: whatever is wrong with the ClientKeyExchange (another key,
    /// random or garbled bytes of any length, a bad version, length or padding),
    /// the server's whole output, alert included, is byte for byte its output
    /// for the honest ClientKeyExchange followed by a tampered Finished record.
    #[test]
    fn invalid_key_exchange_is_indistinguishable_from_tampered_finished(
        key in prop_oneof![6 => Just("rsa2048"), 1 => Just("rsa3072"), 1 => Just("rsa4096")],
        suites in one_suite(),
        seeds in any::<(u64, u64)>(),
        bad in bad_cke(),
        finished_bit in (any::<Index>(), 0u8..8),
        block_seed in any::<u64>(),
    ) {
        let p = Params {
            client_suites: suites.clone(),
            server_suites: suites,
            ..Params::new(key, seeds.0, seeds.1)
        };

        let mut reference = Session::new(&p);
        reference.run(
            &mut |i, flight| {
                if i == 2 {
                    let mut recs = split_records(flight);
                    let fin = recs.last_mut().expect("Finished record");
                    let at = 5 + finished_bit.0.index(fin.len() - 5);
                    fin[at] ^= 1 << finished_bit.1;
                    *flight = recs.concat();
                }
            },
            &[],
            &[],
        );
        prop_assert_eq!(&reference.server_error, &Some(Error::BadRecordMac));

        let mut s = Session::new(&p);
        s.run(
            &mut |i, flight| {
                if i == 2 {
                    let mut recs = split_records(flight);
                    let HandshakeMessage::ClientKeyExchange(honest) =
                        HandshakeMessage::decode(&recs[0][5..]).expect("ClientKeyExchange")
                    else {
                        panic!("first record of the client's second flight")
                    };
                    let ct = bad_ciphertext(&bad, key, &honest, block_seed);
                    recs[0] = handshake_record(&HandshakeMessage::ClientKeyExchange(ct));
                    *flight = recs.concat();
                }
            },
            &[],
            &[],
        );
        prop_assert!(!s.server_completed() && !s.server.is_established());
        prop_assert_eq!(&s.server_error, &reference.server_error);
        prop_assert!(
            s.s2c == reference.s2c,
            "the server's output differs from the reference ({} vs {} bytes)",
            s.s2c.len(),
            reference.s2c.len()
        );
        prop_assert!(s.s2c.ends_with(&[21, 3, 3, 0, 2, 2, 20]));
    }
}

// ---------------------------------------------------------------------------
// Property 7: bit flips in the handshake.

/// Where in a flight to flip a bit.
#[derive(Clone, Debug)]
enum Pos {
    /// Any byte.
    Anywhere(Index),
    /// A byte of one record's header, which most bytes of a flight are not.
    Header(Index, usize),
}

fn pos() -> impl Strategy<Value = Pos> {
    prop_oneof![
        any::<Index>().prop_map(Pos::Anywhere),
        (any::<Index>(), 0usize..5).prop_map(|(r, b)| Pos::Header(r, b)),
    ]
}

impl Pos {
    fn offset(&self, flight: &[u8]) -> usize {
        match self {
            Self::Anywhere(i) => i.index(flight.len()),
            Self::Header(r, b) => {
                let recs = split_records(flight);
                let r = r.index(recs.len());
                recs[..r].iter().map(Vec::len).sum::<usize>() + b
            }
        }
    }
}

/// After a flipped bit: both sides never complete (unless `exempt`, where both
/// must, with one master secret), and no side delivers data its peer did not send.
fn assert_broken_but_safe(s: &mut Session, exempt: bool) -> Result<(), TestCaseError> {
    let both = s.client_completed() && s.server_completed();
    if exempt {
        prop_assert!(
            both,
            "a ClientHello record version {{03,xx}} must be accepted"
        );
    } else {
        prop_assert!(!both, "both sides completed despite a flipped bit");
    }
    if both {
        let (cm, sm) = s.master_secrets();
        prop_assert_eq!(cm, sm);
    }
    // Whoever still can, sends; nobody may receive what was not sent.
    let from_client = b"from the client".to_vec();
    let from_server = b"from the server".to_vec();
    let client_sent = s.send(true, &from_client, &[], &[]).is_ok();
    let server_sent = s.send(false, &from_server, &[], &[]).is_ok();
    prop_assert_eq!(
        client_sent,
        s.client_completed() && s.client_error.is_none()
    );
    let (at_client, at_server) = s.received();
    prop_assert!(
        at_server.is_empty() || (client_sent && at_server == from_client),
        "server received {:?}",
        at_server
    );
    prop_assert!(
        at_client.is_empty() || (server_sent && at_client == from_server),
        "client received {:?}",
        at_client
    );
    if exempt {
        prop_assert!(at_server == from_client && at_client == from_server);
    }
    Ok(())
}

proptest! {
    #![proptest_config(prop_config(256, REGRESSIONS))]

    /// Property 7: flipping any bit of any of the four handshake flights makes the
    /// handshake fail on at least one side (except the ClientHello record's
    /// minor version byte, RFC 5246 Appendix E.1, where it must succeed); if both
    /// sides complete they hold the same master secret; and no side delivers
    /// application data its peer did not send.
    #[test]
    fn any_bit_flip_in_the_handshake_breaks_it(
        suites in one_suite(),
        seeds in any::<(u64, u64)>(),
        flight in 0usize..4,
        at in pos(),
        bit in 0u8..8,
    ) {
        let p = Params {
            client_suites: suites.clone(),
            server_suites: suites,
            ..Params::new("rsa2048", seeds.0, seeds.1)
        };
        let mut s = Session::new(&p);
        let mut flipped = None;
        s.run(
            &mut |i, wire| {
                if i == flight {
                    let pos = at.offset(wire);
                    wire[pos] ^= 1 << bit;
                    flipped = Some(pos);
                }
            },
            &[],
            &[],
        );
        prop_assert!(flipped.is_some(), "flight {} was never sent", flight);
        assert_broken_but_safe(&mut s, flight == 0 && flipped == Some(2))?;
    }

    /// Property 7, inside the protection: a bit flipped in any record's
    /// plaintext, the record then protected again with the sender's real keys
    /// (derived from the key log), so that only the handshake's own checks (the
    /// Finished verify_data, the premaster, the parsers) can catch it.
    #[test]
    fn any_bit_flip_under_the_record_protection_breaks_it(
        suites in one_suite(),
        seeds in any::<(u64, u64)>(),
        flight in 0usize..4,
        rec in any::<Index>(),
        at in any::<Index>(),
        bit in 0u8..8,
    ) {
        let suite = suites[0];
        let p = Params {
            client_suites: suites.clone(),
            server_suites: suites,
            ..Params::new("rsa2048", seeds.0, seeds.1)
        };
        let mut s = Session::new(&p);
        let log = s.client_log.clone();
        let mut seen: Vec<Vec<u8>> = Vec::new();
        s.run(
            &mut |i, wire| {
                seen.push(wire.clone());
                if i != flight {
                    return;
                }
                let keys = (i >= 2).then(|| {
                    let (cr, sr) = hello_randoms(&seen[0], &seen[1]);
                    let master = log.secret("CLIENT_RANDOM").expect("master secret logged");
                    test_record_keys(suite, &unhex(&master), &cr, &sr)
                });
                let key = keys.as_ref().map(|(c, s)| if i % 2 == 0 { c } else { s });
                let mut recs = open_flight(wire, key);
                let r = rec.index(recs.len());
                let payload = &mut recs[r].1;
                let pos = at.index(payload.len());
                payload[pos] ^= 1 << bit;
                *wire = seal_flight(&recs, key);
            },
            &[],
            &[],
        );
        prop_assert!(seen.len() > flight, "flight {} was never sent", flight);
        assert_broken_but_safe(&mut s, false)?;
    }
}
