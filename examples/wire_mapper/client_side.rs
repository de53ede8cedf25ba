//! `client-side` mode: the learner plays the server against a TLS client that
//! the mapper starts anew on every `reset` and connects to the mapper's
//! listening socket.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand_core::Rng;
use rsatls::crypto::{CryptoProvider, RsaPrivateKey};
use rsatls::msgs::enums::{
    CipherSuite, ClientCertificateType, Compression, ContentType, ProtocolVersion, SignatureScheme,
};
use rsatls::msgs::extensions::Extension;
use rsatls::msgs::handshake::{CertificateRequest, HandshakeMessage, ServerHello};

use crate::keys::Side;
use crate::session::Session;
use crate::{Mode, new_rng};

/// The inputs of this mode, in ALPHABET.md's order.
pub(crate) const INPUTS: [&str; 11] = [
    "ServerHelloEMS",
    "ServerHelloNoEMS",
    "Certificate",
    "CertificateWrongKey",
    "CertificateRequest",
    "ServerHelloDone",
    "ChangeCipherSpec",
    "Finished",
    "FinishedWrong",
    "ApplicationData",
    "Alert",
];

/// How long a started client has to connect and send its ClientHello.
const CLIENT_START_LIMIT: Duration = Duration::from_secs(10);

/// What the mapper needs to play the server.
pub(crate) struct ClientSide {
    listener: TcpListener,
    addr: SocketAddr,
    /// The client's command line; `{addr}` stands for the listening address.
    pub(crate) command: Vec<String>,
    /// The chain the client trusts.
    pub(crate) server_chain: Vec<Vec<u8>>,
    /// A chain it does not (for `CertificateWrongKey`).
    pub(crate) wrong_chain: Option<Vec<Vec<u8>>>,
    server_key: Arc<dyn RsaPrivateKey>,
    provider: Arc<dyn CryptoProvider>,
    quiet: Duration,
    child: Option<Child>,
    session: Option<Session>,
}

impl ClientSide {
    /// Listens on `listen`; no client runs yet.
    pub(crate) fn new(
        listen: &str,
        command: Vec<String>,
        server_chain: Vec<Vec<u8>>,
        wrong_chain: Option<Vec<Vec<u8>>>,
        server_key: Arc<dyn RsaPrivateKey>,
        provider: Arc<dyn CryptoProvider>,
        quiet: Duration,
    ) -> Result<Self, String> {
        let listener =
            TcpListener::bind(listen).map_err(|e| format!("listening on {listen}: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("listening address: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("listener: {e}"))?;
        Ok(Self {
            listener,
            addr,
            command,
            server_chain,
            wrong_chain,
            server_key,
            provider,
            quiet,
            child: None,
            session: None,
        })
    }

    /// Kills the running client, if any, and reaps it (no zombies).
    pub(crate) fn stop_client(&mut self) {
        self.session = None;
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the client and accepts its connection.
    fn start_client(&mut self) -> Result<TcpStream, String> {
        // A connection left over from an earlier client is not this one's.
        while self.listener.accept().is_ok() {}
        let addr = self.addr.to_string();
        let (program, args) = self.command.split_first().ok_or("no client command")?;
        let child = Command::new(program)
            .args(args.iter().map(|a| a.replace("{addr}", &addr)))
            // Its stdin stays open and empty: a client that sends its stdin
            // and closes at EOF must not close on its own.
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting {program}: {e}"))?;
        self.child = Some(child);
        let started = Instant::now();
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    stream
                        .set_nonblocking(false)
                        .map_err(|e| format!("accepted socket: {e}"))?;
                    return Ok(stream);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(format!("accepting the client: {e}")),
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!("the client exited ({status}) before connecting"));
            }
            if started.elapsed() > CLIENT_START_LIMIT {
                return Err("the client did not connect in time".into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// ServerHello selecting TLS_RSA_WITH_AES_128_GCM_SHA256 with a fresh server
/// random; the master secret will be EMS exactly when this one says so.
fn server_hello(s: &mut Session, ems: bool) -> Result<(), String> {
    let mut random = [0u8; 32];
    s.rng.fill_bytes(&mut random);
    let mut extensions = Vec::new();
    if ems {
        extensions.push(Extension::ExtendedMasterSecret);
    }
    extensions.push(Extension::RenegotiationInfo(Vec::new()));
    let hello = ServerHello {
        server_version: ProtocolVersion::TLSV1_2,
        random,
        session_id: Vec::new(),
        cipher_suite: CipherSuite::TLS_RSA_WITH_AES_128_GCM_SHA256,
        compression_method: Compression::NULL,
        extensions: Some(extensions),
    };
    s.server_random = random;
    s.ems = ems;
    s.send_handshake(&HandshakeMessage::ServerHello(hello))
}

impl Mode for ClientSide {
    fn inputs(&self) -> &'static [&'static str] {
        &INPUTS
    }

    fn reset(&mut self) -> Result<(), String> {
        self.stop_client();
        let stream = self.start_client()?;
        let mut session = Session::new(
            self.provider.clone(),
            new_rng()?,
            stream,
            Side::Server,
            self.quiet,
            Some(self.server_key.clone()),
        );
        session.read_client_hello(CLIENT_START_LIMIT)?;
        self.session = Some(session);
        Ok(())
    }

    fn session(&mut self) -> &mut Option<Session> {
        &mut self.session
    }

    fn send(&self, s: &mut Session, input: &str) -> Result<(), String> {
        match input {
            "ServerHelloEMS" => server_hello(s, true),
            "ServerHelloNoEMS" => server_hello(s, false),
            "Certificate" => {
                s.send_handshake(&HandshakeMessage::Certificate(self.server_chain.clone()))
            }
            "CertificateWrongKey" => {
                let chain = self
                    .wrong_chain
                    .clone()
                    .ok_or("CertificateWrongKey needs --wrong-cert")?;
                s.send_handshake(&HandshakeMessage::Certificate(chain))
            }
            "CertificateRequest" => {
                s.send_handshake(&HandshakeMessage::CertificateRequest(CertificateRequest {
                    certificate_types: vec![ClientCertificateType::RSA_SIGN],
                    signature_schemes: vec![SignatureScheme::RSA_PKCS1_SHA256],
                    certificate_authorities: Vec::new(),
                }))
            }
            "ServerHelloDone" => s.send_handshake(&HandshakeMessage::ServerHelloDone),
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
            other => Err(format!("unknown input {other}")),
        }
    }
}

impl Drop for ClientSide {
    fn drop(&mut self) {
        self.stop_client();
    }
}
