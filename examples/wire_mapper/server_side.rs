//! `server-side` mode: the learner plays the client against a TLS server. Each
//! input symbol becomes the message ALPHABET.md gives it.

use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use rand_core::Rng;
use rsatls::crypto::{CryptoProvider, RsaPrivateKey};
use rsatls::msgs::enums::{
    CipherSuite, Compression, ContentType, ProtocolVersion, SignatureScheme,
};
use rsatls::msgs::extensions::{Extension, ServerNameEntry};
use rsatls::msgs::handshake::{ClientHello, DigitallySigned, HandshakeMessage};
use zeroize::Zeroizing;

use crate::keys::{HASH, Side};
use crate::session::Session;
use crate::{Mode, new_rng, rsa};

/// The inputs of this mode, in ALPHABET.md's order.
pub(crate) const INPUTS: [&str; 13] = [
    "ClientHelloEMS",
    "ClientHelloNoEMS",
    "ClientKeyExchange",
    "ClientKeyExchangeBadPadding",
    "ChangeCipherSpec",
    "Finished",
    "FinishedWrong",
    "ApplicationData",
    "Alert",
    "EmptyCertificate",
    "ClientCertificate",
    "CertificateVerify",
    "UnknownRecord",
];

/// What the mapper needs to play the client.
pub(crate) struct ServerSide {
    /// The server to connect to.
    pub(crate) connect: String,
    /// The server's certificate, for a ClientKeyExchange sent before any
    /// Certificate arrived.
    pub(crate) server_cert: Vec<u8>,
    /// The client certificate chain, for `ClientCertificate`.
    pub(crate) client_chain: Option<Vec<Vec<u8>>>,
    /// Its key, for `CertificateVerify`.
    pub(crate) client_key: Option<Box<dyn RsaPrivateKey>>,
    /// The provider for every computation.
    pub(crate) provider: Arc<dyn CryptoProvider>,
    /// Quiet time that ends an output.
    pub(crate) quiet: Duration,
    session: Option<Session>,
}

impl ServerSide {
    /// A mapper with no connection yet.
    pub(crate) fn new(
        connect: String,
        server_cert: Vec<u8>,
        client_chain: Option<Vec<Vec<u8>>>,
        client_key: Option<Box<dyn RsaPrivateKey>>,
        provider: Arc<dyn CryptoProvider>,
        quiet: Duration,
    ) -> Self {
        Self {
            connect,
            server_cert,
            client_chain,
            client_key,
            provider,
            quiet,
            session: None,
        }
    }

    /// A fresh premaster (version 3,3 and 46 random bytes), encrypted under the
    /// key of the Certificate seen on this connection, else `--server-cert`'s.
    /// With `bad_padding` the block type is wrong; the mapper still keeps the
    /// premaster it hid, as a client that believes in it would.
    fn client_key_exchange(&self, s: &mut Session, bad_padding: bool) -> Result<(), String> {
        let mut premaster = Zeroizing::new(vec![0u8; 48]);
        premaster[..2].copy_from_slice(&ProtocolVersion::TLSV1_2.0.to_be_bytes());
        s.rng.fill_bytes(&mut premaster[2..]);
        let cert = s
            .peer_leaf
            .clone()
            .unwrap_or_else(|| self.server_cert.clone());
        let key = rsa::public_key(s.provider(), &cert)?;
        let encrypted = rsa::encrypt(&*key, &premaster, bad_padding, &mut s.rng)?;
        s.send_handshake(&HandshakeMessage::ClientKeyExchange(encrypted))?;
        s.set_premaster(premaster);
        Ok(())
    }
}

/// ClientHello offering TLS_RSA_WITH_AES_128_GCM_SHA256 alone; it starts a new
/// handshake transcript with a fresh client random.
fn client_hello(s: &mut Session, ems: bool) -> Result<(), String> {
    let mut random = [0u8; 32];
    s.rng.fill_bytes(&mut random);
    let mut extensions = Vec::new();
    if ems {
        extensions.push(Extension::ExtendedMasterSecret);
    }
    extensions.extend([
        Extension::RenegotiationInfo(Vec::new()),
        Extension::SignatureAlgorithms(vec![
            SignatureScheme::RSA_PKCS1_SHA256,
            SignatureScheme::RSA_PKCS1_SHA384,
        ]),
        Extension::ServerName(vec![ServerNameEntry {
            name_type: 0,
            name: b"localhost".to_vec(),
        }]),
    ]);
    let hello = ClientHello {
        client_version: ProtocolVersion::TLSV1_2,
        random,
        session_id: Vec::new(),
        cipher_suites: vec![CipherSuite::TLS_RSA_WITH_AES_128_GCM_SHA256],
        compression_methods: vec![Compression::NULL],
        extensions: Some(extensions),
    };
    s.restart_transcript();
    s.client_random = random;
    s.send_handshake(&HandshakeMessage::ClientHello(hello))
}

impl Mode for ServerSide {
    fn inputs(&self) -> &'static [&'static str] {
        &INPUTS
    }

    fn reset(&mut self) -> Result<(), String> {
        self.session = None;
        let stream = TcpStream::connect(&self.connect)
            .map_err(|e| format!("connecting to {}: {e}", self.connect))?;
        self.session = Some(Session::new(
            self.provider.clone(),
            new_rng()?,
            stream,
            Side::Client,
            self.quiet,
            None,
        ));
        Ok(())
    }

    fn session(&mut self) -> &mut Option<Session> {
        &mut self.session
    }

    fn send(&self, s: &mut Session, input: &str) -> Result<(), String> {
        match input {
            "ClientHelloEMS" => client_hello(s, true),
            "ClientHelloNoEMS" => client_hello(s, false),
            "ClientKeyExchange" => self.client_key_exchange(s, false),
            "ClientKeyExchangeBadPadding" => self.client_key_exchange(s, true),
            "ChangeCipherSpec" => s.send_change_cipher_spec(),
            "Finished" | "FinishedWrong" => {
                let mut verify_data = s.my_verify_data();
                if input == "FinishedWrong" {
                    verify_data[0] ^= 0xff;
                }
                s.send_handshake(&HandshakeMessage::Finished(verify_data))
            }
            "ApplicationData" => s.send_record(ContentType::APPLICATION_DATA, b"ping\n"),
            // warning (1), user_canceled (90).
            "Alert" => s.send_record(ContentType::ALERT, &[1, 90]),
            "EmptyCertificate" => s.send_handshake(&HandshakeMessage::Certificate(Vec::new())),
            "ClientCertificate" => {
                let chain = self
                    .client_chain
                    .clone()
                    .ok_or("ClientCertificate needs --client-cert")?;
                s.send_handshake(&HandshakeMessage::Certificate(chain))
            }
            "CertificateVerify" => {
                let key = self
                    .client_key
                    .as_deref()
                    .ok_or("CertificateVerify needs --client-key")?;
                // RFC 5246 §7.4.8: signed over handshake_messages up to here.
                let digest = s.provider().hash(HASH, s.transcript());
                let signature = rsa::sign_sha256(key, digest.as_ref(), &mut s.rng)?;
                s.send_handshake(&HandshakeMessage::CertificateVerify(DigitallySigned {
                    scheme: SignatureScheme::RSA_PKCS1_SHA256,
                    signature,
                }))
            }
            // heartbeat (24), a content type rsatls does not know.
            "UnknownRecord" => s.send_record(ContentType(24), &[1, 0, 0]),
            other => Err(format!("unknown input {other}")),
        }
    }
}
