//! The handshake against scripted servers: `caching_sha2_password` on all
//! three paths (no MySQL 8 server can be installed on our machines, and
//! MariaDB 10.11 has no such plugin), auth switches, and hostile servers.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use driverbox_guest_sdk::io::{RawSocket, Stream};
use driverbox_guest_sdk::types::{ConnectConfig, Endpoint, ErrorKind, TlsMode};
use driverbox_guest_sdk::Result;
use mysql_common::constants::{CapabilityFlags, StatusFlags};
use mysql_common::io::ParseBuf;
use mysql_common::packets::{HandshakePacket, HandshakeResponse};
use mysql_common::proto::MySerialize;
use sha2::{Digest, Sha256};

use crate::connection::Connection;
use crate::protocol::wire::frame;

/// A server that answers each client write with the next scripted reply
/// (the greeting is there before the first write) and records what the
/// client sent.
struct Scripted {
    replies: VecDeque<Vec<u8>>,
    out: Vec<u8>,
    sent: Rc<RefCell<Vec<Vec<u8>>>>,
    tls: bool,
}

impl RawSocket for Scripted {
    fn read(&mut self, _max: u32) -> Result<Vec<u8>> {
        if self.out.is_empty() {
            self.out = self.replies.pop_front().unwrap_or_default();
        }
        Ok(std::mem::take(&mut self.out))
    }
    fn write(&mut self, data: &[u8]) -> Result<()> {
        self.sent.borrow_mut().push(data.to_vec());
        Ok(())
    }
    fn upgrade_tls(&mut self) -> Result<()> {
        self.tls = true;
        Ok(())
    }
    fn is_tls(&self) -> bool {
        self.tls
    }
}

const NONCE: [u8; 20] = *b"abcdefgh0123456789AB";
const PASSWORD: &str = "s3cret pw";

fn packet(seq: u8, payload: &[u8]) -> Vec<u8> {
    let mut s = seq;
    let mut out = Vec::new();
    frame(&mut s, payload, &mut out);
    out
}

fn greeting(plugin: &[u8], tls: bool) -> Vec<u8> {
    let mut caps = CapabilityFlags::CLIENT_PROTOCOL_41
        | CapabilityFlags::CLIENT_SECURE_CONNECTION
        | CapabilityFlags::CLIENT_PLUGIN_AUTH
        | CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
        | CapabilityFlags::CLIENT_LONG_PASSWORD
        | CapabilityFlags::CLIENT_TRANSACTIONS
        | CapabilityFlags::CLIENT_DEPRECATE_EOF;
    if tls {
        caps |= CapabilityFlags::CLIENT_SSL;
    }
    let mut scramble_2 = NONCE[8..].to_vec();
    scramble_2.push(0);
    let hs = HandshakePacket::new(
        10,
        &b"8.0.40"[..],
        7,
        NONCE[..8].try_into().unwrap(),
        Some(scramble_2),
        caps,
        45,
        StatusFlags::empty(),
        Some(plugin),
    );
    let mut p = Vec::new();
    hs.serialize(&mut p);
    packet(0, &p)
}

const OK: [u8; 7] = [0, 0, 0, 2, 0, 0, 0];

fn config(tls: TlsMode) -> ConnectConfig {
    ConnectConfig {
        scheme: "mysql".into(),
        hosts: vec![Endpoint {
            host: "db".into(),
            port: 3306,
            port_given: true,
        }],
        user: Some("app".into()),
        password: Some(PASSWORD.into()),
        database: None,
        tls,
        application_name: None,
        options: Vec::new(),
    }
}

/// Runs the handshake against `replies`; gives the outcome and the client's packets' payloads.
fn run(replies: Vec<Vec<u8>>, tls: TlsMode) -> (Result<Connection>, Vec<Vec<u8>>) {
    let sent = Rc::new(RefCell::new(Vec::new()));
    let socket = Scripted {
        replies: replies.into(),
        out: Vec::new(),
        sent: sent.clone(),
        tls: false,
    };
    let result = Connection::startup(Stream::new(Box::new(socket)), &config(tls));
    let payloads = sent.borrow().iter().map(|p| p[4..].to_vec()).collect();
    (result, payloads)
}

fn sha256(parts: &[&[u8]]) -> Vec<u8> {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().to_vec()
}

/// `XOR(SHA256(pw), SHA256(SHA256(SHA256(pw)) || nonce))`, written out
/// here independently of mysql_common.
fn expected_scramble() -> Vec<u8> {
    let p1 = sha256(&[PASSWORD.as_bytes()]);
    let p2 = sha256(&[&sha256(&[&p1]), &NONCE]);
    p1.iter().zip(p2).map(|(a, b)| a ^ b).collect()
}

fn response_scramble(payload: &[u8]) -> Vec<u8> {
    let r: HandshakeResponse<'_> = ParseBuf(payload).parse(()).unwrap();
    assert_eq!(r.user(), b"app");
    r.scramble_buf().to_vec()
}

#[test]
fn caching_sha2_fast_path_sends_the_exact_scramble() {
    let replies = vec![
        greeting(b"caching_sha2_password", false),
        [packet(2, &[0x01, 0x03]), packet(3, &OK)].concat(),
        packet(1, &OK), // SET time_zone
    ];
    let (conn, sent) = run(replies, TlsMode::Prefer);
    conn.unwrap();
    assert_eq!(response_scramble(&sent[0]), expected_scramble());
    assert_eq!(sent.len(), 2, "response, then the session set-up");
}

#[test]
fn caching_sha2_full_auth_over_tls_sends_the_password() {
    let replies = vec![
        greeting(b"caching_sha2_password", true),
        [packet(3, &[0x01, 0x04])].concat(),
        packet(5, &OK),
        packet(1, &OK),
    ];
    let (conn, sent) = run(replies, TlsMode::Require);
    assert!(conn.unwrap().is_tls());
    // SSL request, handshake response, then the password in clear inside TLS.
    assert_eq!(sent[0].len(), 32, "SSL request");
    assert_eq!(response_scramble(&sent[1]), expected_scramble());
    assert_eq!(sent[2], [PASSWORD.as_bytes(), &[0]].concat());
}

#[test]
fn caching_sha2_full_auth_without_tls_uses_the_servers_rsa_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.pem");
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        key.to_str().unwrap(),
    ]);
    let public = openssl(&["pkey", "-in", key.to_str().unwrap(), "-pubout"]);
    let replies = vec![
        greeting(b"caching_sha2_password", false),
        packet(2, &[0x01, 0x04]),
        packet(4, &[&[0x01][..], &public].concat()),
        packet(6, &OK),
        packet(1, &OK),
    ];
    let (conn, sent) = run(replies, TlsMode::Prefer);
    conn.unwrap();
    assert_eq!(sent[1], [0x02], "asks for the public key");
    let encrypted = dir.path().join("pw.bin");
    std::fs::write(&encrypted, &sent[2]).unwrap();
    let plain = openssl(&[
        "pkeyutl",
        "-decrypt",
        "-inkey",
        key.to_str().unwrap(),
        "-pkeyopt",
        "rsa_padding_mode:oaep",
        "-in",
        encrypted.to_str().unwrap(),
    ]);
    // The password and a NUL, XORed with the nonce.
    let want: Vec<u8> = [PASSWORD.as_bytes(), &[0]]
        .concat()
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ NONCE[i % NONCE.len()])
        .collect();
    assert_eq!(plain, want);
}

#[test]
fn auth_switch_to_native_password() {
    let mut switch = vec![0xFE];
    switch.extend_from_slice(b"mysql_native_password\0");
    switch.extend_from_slice(b"ZYXWVUTSRQPONMLKJIHG\0");
    let replies = vec![
        greeting(b"caching_sha2_password", false),
        packet(2, &switch),
        packet(4, &OK),
        packet(1, &OK),
    ];
    let (conn, sent) = run(replies, TlsMode::Disable);
    conn.unwrap();
    // SHA1(pw) XOR SHA1(nonce || SHA1(SHA1(pw))): 20 bytes.
    assert_eq!(sent[1].len(), 20);
}

#[test]
fn hostile_servers_give_typed_errors() {
    // Wrong sequence id.
    let (conn, _) = run(vec![packet(5, &[10])], TlsMode::Prefer);
    assert_eq!(conn.err().unwrap().kind(), ErrorKind::Protocol);
    // Truncated greeting.
    let (conn, _) = run(vec![packet(0, &[10, b'8'])], TlsMode::Prefer);
    assert_eq!(conn.err().unwrap().kind(), ErrorKind::Protocol);
    // A server closing mid-handshake.
    let (conn, _) = run(vec![greeting(b"caching_sha2_password", false)], TlsMode::Prefer);
    assert_eq!(conn.err().unwrap().kind(), ErrorKind::Connection);
    // REQUIRED against a server without TLS never goes on in plaintext.
    let (conn, sent) = run(vec![greeting(b"mysql_native_password", false)], TlsMode::Require);
    assert_eq!(conn.err().unwrap().kind(), ErrorKind::Tls);
    assert!(sent.is_empty(), "nothing sent");
    // A cleartext-password request without TLS is refused.
    let mut switch = vec![0xFE];
    switch.extend_from_slice(b"mysql_clear_password\0");
    let replies = vec![greeting(b"mysql_native_password", false), packet(2, &switch)];
    let (conn, sent) = run(replies, TlsMode::Prefer);
    assert_eq!(conn.err().unwrap().kind(), ErrorKind::Authentication);
    assert!(!sent
        .iter()
        .any(|p| p.windows(PASSWORD.len()).any(|w| w == PASSWORD.as_bytes())));
    // A LOCAL INFILE request the driver never offered is refused.
    let replies = vec![
        greeting(b"mysql_native_password", false),
        packet(2, &OK),
        packet(1, &[0xFB, b'/', b'e', b't', b'c']),
    ];
    let (conn, _) = run(replies, TlsMode::Prefer);
    assert_eq!(conn.err().unwrap().kind(), ErrorKind::Protocol);
}

#[test]
fn a_greeting_with_an_auth_data_length_above_127_is_refused() {
    // Found by the mysql_packets fuzzer: mysql_common subtracted 8 from the
    // length read as an i8 (an overflow panic for 0x80..=0x87).
    for len in [0x80u8, 0x87, 0xFF] {
        let mut g = greeting(b"mysql_native_password", false);
        let nul = g[5..].iter().position(|b| *b == 0).unwrap();
        g[4 + 1 + nul + 1 + 20] = len;
        let (conn, sent) = run(vec![g], TlsMode::Prefer);
        let e = conn.err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Protocol, "{len}: {}", e.message());
        assert!(sent.is_empty());
    }
}

#[test]
fn a_malformed_or_tiny_rsa_key_from_the_server_is_refused() {
    // Found by the mysql_packets and mysql_session fuzzers: mysql_common's
    // DER reader indexed past the end of a malformed key.
    let keys: [&[u8]; 2] = [
        b"-----BEGIN PUBLIC KEY-----\nMAQwAAMA\n-----END PUBLIC KEY-----\n",
        b"-----BEGIN RSA PUBLIC KEY-----\nMAoCBQDFOpsnAgED\n-----END RSA PUBLIC KEY-----\n",
    ];
    for key in keys {
        let replies = vec![
            greeting(b"caching_sha2_password", false),
            packet(2, &[0x01, 0x04]),
            packet(4, &[&[0x01][..], key].concat()),
            packet(6, &OK),
            packet(1, &OK),
        ];
        let (conn, sent) = run(replies, TlsMode::Prefer);
        assert_eq!(conn.err().unwrap().kind(), ErrorKind::Authentication);
        assert_eq!(sent.len(), 2, "no password sent");
    }
}
