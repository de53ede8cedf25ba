//! The TLS 1.2 key schedule: PRF, master secret, key block and Finished.
//!
//! The types here are a typestate: [`MasterSecret`] exists only once a premaster
//! has been agreed, and record keys ([`DirectionKeys`]) can only be derived from a
//! master secret. None of them is `Clone`, and all zeroize on drop.

use zeroize::{Zeroize, Zeroizing};

use crate::crypto::{CryptoProvider, HashAlgorithm};
use crate::suites::Suite;

/// Length of the premaster and master secrets (RFC 5246 §8.1, §7.4.7.1).
pub(crate) const SECRET_LEN: usize = 48;

/// Length of Finished.verify_data for every TLS 1.2 suite here (RFC 5246 §7.4.9).
pub(crate) const VERIFY_DATA_LEN: usize = 12;

/// The largest key block needed: two AES-256 keys and two 4-byte salts.
const MAX_KEY_BLOCK: usize = 2 * 32 + 2 * 4;

/// P_hash from RFC 5246 §5, writing `out.len()` bytes of
/// `PRF(secret, label, seed) = P_<hash>(secret, label ‖ seed)`.
///
/// `seed` is given in parts so callers never concatenate into a temporary.
pub(crate) fn prf(
    provider: &dyn CryptoProvider,
    alg: HashAlgorithm,
    secret: &[u8],
    label: &[u8],
    seed: &[&[u8]],
    out: &mut [u8],
) {
    // A(1) = HMAC(secret, label ‖ seed); A(i) = HMAC(secret, A(i-1)).
    let mut parts: [&[u8]; 4] = [label, &[], &[], &[]];
    debug_assert!(seed.len() <= 3, "PRF seeds here have at most three parts");
    for (slot, part) in parts[1..].iter_mut().zip(seed) {
        *slot = part;
    }
    let label_and_seed = &parts[..1 + seed.len()];

    let mut a = provider.hmac(alg, secret, label_and_seed);
    let mut written = 0;
    while written < out.len() {
        // HMAC(secret, A(i) ‖ label ‖ seed)
        let mut block_parts: [&[u8]; 5] = [a.as_ref(), &[], &[], &[], &[]];
        block_parts[1..1 + label_and_seed.len()].copy_from_slice(label_and_seed);
        let block = provider.hmac(alg, secret, &block_parts[..1 + label_and_seed.len()]);
        let take = (out.len() - written).min(block.as_ref().len());
        out[written..written + take].copy_from_slice(&block.as_ref()[..take]);
        written += take;
        a = provider.hmac(alg, secret, &[a.as_ref()]);
    }
}

/// The 48-byte master secret of one connection.
pub(crate) struct MasterSecret {
    alg: HashAlgorithm,
    secret: Zeroizing<[u8; SECRET_LEN]>,
}

impl MasterSecret {
    /// RFC 7627 §4: `PRF(pre_master_secret, "extended master secret", session_hash)`,
    /// where `session_hash` covers ClientHello up to and including ClientKeyExchange.
    pub(crate) fn extended(
        provider: &dyn CryptoProvider,
        alg: HashAlgorithm,
        premaster: &[u8; SECRET_LEN],
        session_hash: &[u8],
    ) -> Self {
        let mut secret = Zeroizing::new([0u8; SECRET_LEN]);
        prf(
            provider,
            alg,
            premaster,
            b"extended master secret",
            &[session_hash],
            &mut secret[..],
        );
        Self { alg, secret }
    }

    /// RFC 5246 §8.1: `PRF(pre_master_secret, "master secret", client_random ‖ server_random)`.
    /// Only reached when a configuration explicitly allows peers without EMS.
    pub(crate) fn legacy(
        provider: &dyn CryptoProvider,
        alg: HashAlgorithm,
        premaster: &[u8; SECRET_LEN],
        client_random: &[u8; 32],
        server_random: &[u8; 32],
    ) -> Self {
        let mut secret = Zeroizing::new([0u8; SECRET_LEN]);
        prf(
            provider,
            alg,
            premaster,
            b"master secret",
            &[client_random, server_random],
            &mut secret[..],
        );
        Self { alg, secret }
    }

    /// A master secret learnt earlier (the passive decoder's session cache):
    /// an abbreviated handshake uses it as is.
    pub(crate) fn from_bytes(alg: HashAlgorithm, secret: &[u8; SECRET_LEN]) -> Self {
        Self {
            alg,
            secret: Zeroizing::new(*secret),
        }
    }

    /// The secret's bytes, for the caller's key log only.
    pub(crate) fn as_bytes(&self) -> &[u8; SECRET_LEN] {
        &self.secret
    }

    /// RFC 5246 §7.4.9: `PRF(master_secret, finished_label, Hash(handshake_messages))[0..11]`.
    pub(crate) fn verify_data(
        &self,
        provider: &dyn CryptoProvider,
        label: FinishedLabel,
        handshake_hash: &[u8],
    ) -> [u8; VERIFY_DATA_LEN] {
        let mut out = [0u8; VERIFY_DATA_LEN];
        let label: &[u8] = match label {
            FinishedLabel::Client => b"client finished",
            FinishedLabel::Server => b"server finished",
        };
        prf(
            provider,
            self.alg,
            &self.secret[..],
            label,
            &[handshake_hash],
            &mut out,
        );
        out
    }

    /// RFC 5246 §6.3 key expansion, split per RFC 5288 §3 into write keys and
    /// 4-byte implicit salts (AEAD suites have no MAC keys).
    pub(crate) fn key_block(
        &self,
        provider: &dyn CryptoProvider,
        suite: &Suite,
        client_random: &[u8; 32],
        server_random: &[u8; 32],
    ) -> KeyBlock {
        let key_len = suite.aead.key_len();
        let total = 2 * key_len + 2 * 4;
        let mut block = Zeroizing::new([0u8; MAX_KEY_BLOCK]);
        // Note the seed order: server_random first for key expansion.
        prf(
            provider,
            self.alg,
            &self.secret[..],
            b"key expansion",
            &[server_random, client_random],
            &mut block[..total],
        );
        let (client_key, rest) = block[..total].split_at(key_len);
        let (server_key, rest) = rest.split_at(key_len);
        let (client_salt, server_salt) = rest.split_at(4);
        KeyBlock {
            client: DirectionKeys::new(client_key, client_salt),
            server: DirectionKeys::new(server_key, server_salt),
        }
    }
}

/// Which Finished label to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FinishedLabel {
    /// "client finished"
    Client,
    /// "server finished"
    Server,
}

/// The expanded keys for both directions.
pub(crate) struct KeyBlock {
    pub(crate) client: DirectionKeys,
    pub(crate) server: DirectionKeys,
}

/// One direction's AEAD key and implicit nonce salt.
pub(crate) struct DirectionKeys {
    key: [u8; 32],
    key_len: usize,
    pub(crate) salt: [u8; 4],
}

impl DirectionKeys {
    fn new(key: &[u8], salt: &[u8]) -> Self {
        let mut k = [0u8; 32];
        k[..key.len()].copy_from_slice(key);
        let mut s = [0u8; 4];
        s.copy_from_slice(salt);
        Self {
            key: k,
            key_len: key.len(),
            salt: s,
        }
    }

    /// The write key bytes.
    pub(crate) fn key(&self) -> &[u8] {
        &self.key[..self.key_len]
    }
}

impl Drop for DirectionKeys {
    fn drop(&mut self) {
        self.key.zeroize();
        self.salt.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::rustcrypto::RUSTCRYPTO;
    use crate::suites::{TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_GCM_SHA384};

    fn hex(s: &str) -> Vec<u8> {
        let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        s.chunks(2)
            .map(|pair| u8::from_str_radix(core::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }

    /// The widely published TLS 1.2 PRF vector for P_SHA256 (IETF TLS WG list,
    /// msg03416); also checked against an independent Python `hmac` implementation.
    const PRF_SHA256_OUT: &str = "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a
                                  6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab
                                  4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701
                                  87347b66";

    /// The companion vector for P_SHA384 (same source, same cross-check).
    const PRF_SHA384_OUT: &str = "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cd
                                  e9ca0faa60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd
                                  8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d918425
                                  9b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee6
                                  91c8f3a26854308d5eaa3be85e0990703d73e56f";

    #[test]
    fn prf_sha256_published_vector() {
        let secret = hex("9bbe436ba940f017b17652849a71db35");
        let seed = hex("a0ba9f936cda311827a6f796ffd5198c");
        let expected = hex(PRF_SHA256_OUT);
        assert_eq!(expected.len(), 100);

        let mut out = [0u8; 100];
        prf(
            &RUSTCRYPTO,
            HashAlgorithm::Sha256,
            &secret,
            b"test label",
            &[&seed],
            &mut out,
        );
        assert_eq!(out.as_slice(), expected);

        // The seed may come in parts; the result is that of their concatenation.
        let mut split = [0u8; 100];
        let (a, rest) = seed.split_at(3);
        let (b, c) = rest.split_at(8);
        prf(
            &RUSTCRYPTO,
            HashAlgorithm::Sha256,
            &secret,
            b"test label",
            &[a, b, c],
            &mut split,
        );
        assert_eq!(split, out);

        // Shorter outputs are prefixes, across block boundaries.
        for len in [0, 1, 31, 32, 33, 64, 65] {
            let mut short = vec![0u8; len];
            prf(
                &RUSTCRYPTO,
                HashAlgorithm::Sha256,
                &secret,
                b"test label",
                &[&seed],
                &mut short,
            );
            assert_eq!(short, expected[..len]);
        }
    }

    #[test]
    fn prf_sha384_published_vector() {
        let secret = hex("b80b733d6ceefcdc71566ea48e5567df");
        let seed = hex("cd665cf6a8447dd6ff8b27555edb7465");
        let expected = hex(PRF_SHA384_OUT);
        assert_eq!(expected.len(), 148);

        let mut out = [0u8; 148];
        prf(
            &RUSTCRYPTO,
            HashAlgorithm::Sha384,
            &secret,
            b"test label",
            &[&seed],
            &mut out,
        );
        assert_eq!(out.as_slice(), expected);
    }

    // Fixed inputs for the derivation tests below. There are no published vectors
    // for these labels with these inputs: the expected values were computed with an
    // independent Python implementation of RFC 5246 §5 (hashlib/hmac only), e.g.
    //   def prf(h, s, label, seed, n):
    //       seed = label + seed; a = seed; out = b""
    //       while len(out) < n:
    //           a = hmac.new(s, a, h).digest(); out += hmac.new(s, a + seed, h).digest()
    //       return out[:n]
    // with premaster = 03 03 02 03 .. 2f, client_random = 20 .. 3f,
    // server_random = 40 .. 5f, session_hash / handshake hash = 60 .. 7f.

    fn premaster() -> [u8; SECRET_LEN] {
        let mut p = [0u8; SECRET_LEN];
        for (i, b) in p.iter_mut().enumerate() {
            *b = i as u8;
        }
        p[..2].copy_from_slice(&[3, 3]);
        p
    }

    fn counting<const N: usize>(start: u8) -> [u8; N] {
        core::array::from_fn(|i| start + i as u8)
    }

    struct Expected {
        suite: &'static Suite,
        master: &'static str,
        extended: &'static str,
        key_block: &'static str,
        client_finished: &'static str,
        ems_server_finished: &'static str,
    }

    const EXPECTED: [Expected; 2] = [
        Expected {
            suite: &TLS_RSA_WITH_AES_128_GCM_SHA256,
            master: "25653900f906cb7d2ae4f467de112f69161c0bb66fb7465267203b3f3160203f
                     bf1130973629774aed7ea972bb345b75",
            extended: "32b63f922cf90224e1907b9213fade9069087623a77f6e2278ff8068623842b4
                       1cd255a9190cf85a3d9ec9ec66af0c37",
            key_block: "97058475a252dbb5e2da9209bde4d945c309f9e4cddd932c79d04c2bea4314e7
                        0dd80e77b97cdcc5",
            client_finished: "6c72f46ef61813ca79c0f69a",
            ems_server_finished: "22a5a4031e0271f4a92171ed",
        },
        Expected {
            suite: &TLS_RSA_WITH_AES_256_GCM_SHA384,
            master: "8efac811841980353d914da05a0338fb50a9359120506db8ea44969293ce63d9
                     f49d4bcdc245b10bc59dceb7b0c8173d",
            extended: "bb39d4bcc7d80cffdab32d0811a4300728ac75ba71cd4cd098ab1b3c83f38ee3
                       ea5ee31190b32e39d20c12441441c537",
            key_block: "864bdf96e407165ab1142c950d575f0070bf871e28cf2836bcb9ba0fcb0d3641
                        76d120e0b2747d07ab73f54b562290ca65d47820a6f47cb50f04a78cb17e51d6
                        a3060efb00efbbd5",
            client_finished: "837b123abd758f5257ab9fa6",
            ems_server_finished: "6b7fdec08817aaed0ac45215",
        },
    ];

    #[test]
    fn master_secrets_known_answer_and_ems_differs_from_legacy() {
        let client_random = counting::<32>(0x20);
        let server_random = counting::<32>(0x40);
        let session_hash = counting::<32>(0x60);
        for e in &EXPECTED {
            let alg = e.suite.hash;
            let legacy = MasterSecret::legacy(
                &RUSTCRYPTO,
                alg,
                &premaster(),
                &client_random,
                &server_random,
            );
            let extended = MasterSecret::extended(&RUSTCRYPTO, alg, &premaster(), &session_hash);
            assert_eq!(
                legacy.as_bytes().as_slice(),
                hex(e.master),
                "{}",
                e.suite.name
            );
            assert_eq!(
                extended.as_bytes().as_slice(),
                hex(e.extended),
                "{}",
                e.suite.name
            );
            assert_ne!(legacy.as_bytes(), extended.as_bytes());
        }
    }

    #[test]
    fn key_block_splits_into_keys_and_salts() {
        let client_random = counting::<32>(0x20);
        let server_random = counting::<32>(0x40);
        for e in &EXPECTED {
            let alg = e.suite.hash;
            let master = MasterSecret::legacy(
                &RUSTCRYPTO,
                alg,
                &premaster(),
                &client_random,
                &server_random,
            );
            let block = master.key_block(&RUSTCRYPTO, e.suite, &client_random, &server_random);
            let key_len = e.suite.aead.key_len();
            let expected = hex(e.key_block);
            assert_eq!(expected.len(), 2 * key_len + 2 * 4);

            // RFC 5246 §6.3 order without MAC keys: client key, server key,
            // client IV (salt), server IV (salt).
            let (client_key, rest) = expected.split_at(key_len);
            let (server_key, rest) = rest.split_at(key_len);
            let (client_salt, server_salt) = rest.split_at(4);
            assert_eq!(block.client.key(), client_key, "{}", e.suite.name);
            assert_eq!(block.server.key(), server_key, "{}", e.suite.name);
            assert_eq!(block.client.salt, client_salt, "{}", e.suite.name);
            assert_eq!(block.server.salt, server_salt, "{}", e.suite.name);
        }
    }

    #[test]
    fn verify_data_known_answer() {
        let client_random = counting::<32>(0x20);
        let server_random = counting::<32>(0x40);
        let hash = counting::<32>(0x60);
        for e in &EXPECTED {
            let alg = e.suite.hash;
            let legacy = MasterSecret::legacy(
                &RUSTCRYPTO,
                alg,
                &premaster(),
                &client_random,
                &server_random,
            );
            let client = legacy.verify_data(&RUSTCRYPTO, FinishedLabel::Client, &hash);
            assert_eq!(
                client.as_slice(),
                hex(e.client_finished),
                "{}",
                e.suite.name
            );

            let extended = MasterSecret::extended(&RUSTCRYPTO, alg, &premaster(), &hash);
            let server = extended.verify_data(&RUSTCRYPTO, FinishedLabel::Server, &hash);
            assert_eq!(
                server.as_slice(),
                hex(e.ems_server_finished),
                "{}",
                e.suite.name
            );
            assert_ne!(
                server,
                extended.verify_data(&RUSTCRYPTO, FinishedLabel::Client, &hash)
            );
        }
    }
}
