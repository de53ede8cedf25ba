//! The mapper's own TLS 1.2 key schedule and AES-GCM record protection, written
//! from RFC 5246 §5, §6.3, §7.4.9, RFC 7627 §4 and RFC 5288 §3 over the crypto
//! provider's HMAC and AEAD (not the engine's key schedule, which the learner is
//! judging). Only TLS_RSA_WITH_AES_128_GCM_SHA256 is offered, so SHA-256 throughout.

use rsatls::crypto::{
    AeadAlgorithm, AeadKey, CryptoProvider, GCM_NONCE_LEN, GCM_TAG_LEN, HashAlgorithm,
};
use rsatls::msgs::enums::{ContentType, ProtocolVersion};
use zeroize::Zeroizing;

/// The PRF hash of the one suite the mapper offers.
pub(crate) const HASH: HashAlgorithm = HashAlgorithm::Sha256;
/// Its AEAD.
const AEAD: AeadAlgorithm = AeadAlgorithm::Aes128Gcm;
/// Length of the explicit nonce carried in each protected record.
const EXPLICIT_NONCE_LEN: usize = 8;

/// TLS 1.2 PRF: P_SHA256(secret, label ‖ seed) cut to `len` bytes (RFC 5246 §5).
pub(crate) fn prf(
    provider: &dyn CryptoProvider,
    secret: &[u8],
    label: &[u8],
    seed: &[u8],
    len: usize,
) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(len + 32));
    // A(1) = HMAC(secret, label ‖ seed); A(i) = HMAC(secret, A(i-1)).
    let mut a = provider.hmac(HASH, secret, &[label, seed]);
    while out.len() < len {
        out.extend_from_slice(
            provider
                .hmac(HASH, secret, &[a.as_ref(), label, seed])
                .as_ref(),
        );
        a = provider.hmac(HASH, secret, &[a.as_ref()]);
    }
    out.truncate(len);
    out
}

/// The 48-byte master secret: with Extended Master Secret from the session
/// hash (RFC 7627 §4), otherwise from both randoms (RFC 5246 §8.1).
pub(crate) fn master_secret(
    provider: &dyn CryptoProvider,
    premaster: &[u8],
    ems: bool,
    transcript: &[u8],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
) -> Zeroizing<Vec<u8>> {
    if ems {
        let session_hash = provider.hash(HASH, transcript);
        prf(
            provider,
            premaster,
            b"extended master secret",
            session_hash.as_ref(),
            48,
        )
    } else {
        let seed = [&client_random[..], &server_random[..]].concat();
        prf(provider, premaster, b"master secret", &seed, 48)
    }
}

/// verify_data of a Finished message (RFC 5246 §7.4.9): 12 bytes of
/// PRF(master, label, Hash(handshake messages)).
pub(crate) fn verify_data(
    provider: &dyn CryptoProvider,
    master: &[u8],
    label: &[u8],
    transcript: &[u8],
) -> [u8; 12] {
    let hash = provider.hash(HASH, transcript);
    let bytes = prf(provider, master, label, hash.as_ref(), 12);
    let mut out = [0u8; 12];
    out.copy_from_slice(&bytes);
    out
}

/// Which side's write keys to take from the key block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    /// client_write_key and client_write_IV.
    Client,
    /// server_write_key and server_write_IV.
    Server,
}

/// One direction of AES-GCM record protection: a key, its 4-byte salt and the
/// record sequence number (RFC 5288 §3: nonce = salt ‖ explicit nonce).
pub(crate) struct Protection {
    key: Box<dyn AeadKey>,
    salt: [u8; 4],
    seq: u64,
}

/// Why a protected record could not be opened.
#[derive(Debug)]
pub(crate) struct OpenError;

impl Protection {
    /// The keys of `side` from the key block (RFC 5246 §6.3): for AEAD suites
    /// client key, server key, client salt, server salt; seed server ‖ client random.
    pub(crate) fn new(
        provider: &dyn CryptoProvider,
        master: &[u8],
        client_random: &[u8; 32],
        server_random: &[u8; 32],
        side: Side,
    ) -> Result<Self, String> {
        let kl = AEAD.key_len();
        let seed = [&server_random[..], &client_random[..]].concat();
        let block = prf(provider, master, b"key expansion", &seed, 2 * kl + 8);
        let (key_at, salt_at) = match side {
            Side::Client => (0, 2 * kl),
            Side::Server => (kl, 2 * kl + 4),
        };
        let key = block
            .get(key_at..key_at + kl)
            .ok_or("key block too short")?;
        let salt = block
            .get(salt_at..salt_at + 4)
            .and_then(|s| <[u8; 4]>::try_from(s).ok())
            .ok_or("key block too short")?;
        let key = provider
            .aead_key(AEAD, key)
            .map_err(|e| format!("AEAD key: {e}"))?;
        Ok(Self { key, salt, seq: 0 })
    }

    fn nonce_and_aad(
        &self,
        seq: u64,
        explicit: &[u8; EXPLICIT_NONCE_LEN],
        typ: ContentType,
        len: usize,
    ) -> ([u8; GCM_NONCE_LEN], [u8; 13]) {
        let mut nonce = [0u8; GCM_NONCE_LEN];
        nonce[..4].copy_from_slice(&self.salt);
        nonce[4..].copy_from_slice(explicit);
        // RFC 5246 §6.2.3.3: additional_data = seq_num ‖ type ‖ version ‖ length.
        let mut aad = [0u8; 13];
        aad[..8].copy_from_slice(&seq.to_be_bytes());
        aad[8] = typ.0;
        aad[9..11].copy_from_slice(&ProtocolVersion::TLSV1_2.0.to_be_bytes());
        aad[11..].copy_from_slice(&(len as u16).to_be_bytes());
        (nonce, aad)
    }

    /// Protects `plaintext` as a record fragment of type `typ`: explicit nonce
    /// (the sequence number), ciphertext, tag.
    pub(crate) fn seal(&mut self, typ: ContentType, plaintext: &[u8]) -> Result<Vec<u8>, String> {
        let explicit = self.seq.to_be_bytes();
        let (nonce, aad) = self.nonce_and_aad(self.seq, &explicit, typ, plaintext.len());
        let mut body = plaintext.to_vec();
        let tag = self
            .key
            .seal_in_place(&nonce, &aad, &mut body)
            .map_err(|e| format!("seal: {e}"))?;
        self.seq = self.seq.wrapping_add(1);
        Ok([&explicit[..], &body, &tag].concat())
    }

    /// Opens a protected fragment of type `typ`. The sequence number advances
    /// either way: the peer spent it.
    pub(crate) fn open(&mut self, typ: ContentType, fragment: &[u8]) -> Result<Vec<u8>, OpenError> {
        let seq_used = self.seq;
        self.seq = self.seq.wrapping_add(1);
        if fragment.len() < EXPLICIT_NONCE_LEN + GCM_TAG_LEN {
            return Err(OpenError);
        }
        let (explicit, rest) = fragment.split_at(EXPLICIT_NONCE_LEN);
        let (body, tag) = rest.split_at(rest.len() - GCM_TAG_LEN);
        let explicit = <[u8; EXPLICIT_NONCE_LEN]>::try_from(explicit).map_err(|_| OpenError)?;
        let tag = <[u8; GCM_TAG_LEN]>::try_from(tag).map_err(|_| OpenError)?;
        let (nonce, aad) = self.nonce_and_aad(seq_used, &explicit, typ, body.len());
        let mut body = body.to_vec();
        self.key
            .open_in_place(&nonce, &aad, &mut body, &tag)
            .map_err(|_| OpenError)?;
        Ok(body)
    }
}
