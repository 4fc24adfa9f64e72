//! A scripted fake server: malformed, truncated and random replies must
//! give errors (and a broken session), never a panic. No PostgreSQL needed.

use std::cell::RefCell;
use std::rc::Rc;

use super::*;
use crate::protocol::{array, json, numeric, row, text, types};
use driverbox_guest_sdk::io::RawSocket;
use driverbox_guest_sdk::Result;

/// Replies with the script in small chunks, then end of stream.
struct Scripted {
    script: Rc<RefCell<Vec<u8>>>,
    pos: usize,
}

impl RawSocket for Scripted {
    fn read(&mut self, max: u32) -> Result<Vec<u8>> {
        let script = self.script.borrow();
        let end = (self.pos + 7).min(script.len()).min(self.pos + max as usize);
        let out = script[self.pos..end].to_vec();
        self.pos = end;
        Ok(out)
    }
    fn write(&mut self, _data: &[u8]) -> Result<()> {
        Ok(())
    }
    fn upgrade_tls(&mut self) -> Result<()> {
        Err(Error::unsupported("no TLS"))
    }
    fn is_tls(&self) -> bool {
        false
    }
}

fn msg(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![tag];
    m.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    m.extend_from_slice(body);
    m
}

fn startup() -> Vec<u8> {
    let mut s = msg(b'R', &[0, 0, 0, 0]);
    s.extend(msg(b'S', b"server_version\x0015.0\x00"));
    s.extend(msg(b'K', &[0, 0, 0, 1, 0, 0, 0, 2]));
    s.extend(msg(b'Z', b"I"));
    s
}

fn session(after_startup: Vec<u8>) -> Result<Connection> {
    let mut script = startup();
    script.extend(after_startup);
    let socket = Scripted {
        script: Rc::new(RefCell::new(script)),
        pos: 0,
    };
    let mut cfg = config();
    cfg.tls = TlsMode::Disable;
    Connection::startup(Stream::new(Box::new(socket)), &cfg)
}

/// A valid Parse/Describe reply for `select <int4>`.
fn prepared_int4() -> Vec<u8> {
    let mut s = msg(b'1', &[]);
    s.extend(msg(b't', &[0, 0]));
    let mut rd = vec![0, 1];
    rd.extend_from_slice(b"x\0");
    rd.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 23, 0, 4, 0xff, 0xff, 0xff, 0xff, 0, 0]);
    s.extend(msg(b'T', &rd));
    s.extend(msg(b'Z', b"I"));
    s
}

fn exercise(conn: &mut Connection) {
    let _ = conn.query("select 1", &[]);
    let _ = conn.query("select 1; select 2", &[]);
    let _ = conn.execute("select $1", &[Value::Int(1)]);
    let _ = conn.stream_open("select 1", &[], 2);
    let _ = conn.stream_next();
    let _ = conn.stream_close();
    let _ = conn.prepare("select 1");
    let (columns, batch) = super::batch_of(&["a".to_string()], &[vec![Value::Int(1)]]);
    let data = driverbox_guest_sdk::batch::BatchReader::new(&columns, &batch).unwrap();
    let _ = conn.copy_in("copy t from stdin", &data, crate::connection::CopyFormat::Text(&[None]));
    let _ = conn.execute_many("select $1", &data);
    let _ = conn.ping();
}

#[test]
fn malformed_replies_are_protocol_errors() {
    // Data row with the wrong field count.
    let mut s = prepared_int4();
    s.extend(msg(b'2', &[]));
    s.extend(msg(b'D', &[0, 2, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1]));
    let mut c = session(s).unwrap();
    let e = c.query("select 1", &[]).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Protocol);
    assert!(c.is_broken());
    assert_eq!(kind(&c.query("select 1", &[]).unwrap_err()), ErrorKind::Connection);

    // An int4 field of 3 bytes.
    let mut s = prepared_int4();
    s.extend(msg(b'2', &[]));
    s.extend(msg(b'D', &[0, 1, 0, 0, 0, 3, 0, 0, 1]));
    let e = session(s).unwrap().query("select 1", &[]).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Protocol);

    // A field length beyond the message.
    let mut s = prepared_int4();
    s.extend(msg(b'2', &[]));
    s.extend(msg(b'D', &[0, 1, 0x7f, 0, 0, 0, 1]));
    assert_eq!(
        kind(&session(s).unwrap().query("select 1", &[]).unwrap_err()),
        ErrorKind::Protocol
    );

    // Unknown message type, bad transaction status, negative length.
    // (A ReadyForQuery right after the startup's is caught at once.)
    for bad in [msg(b'!', &[]), msg(b'Z', b"Q"), vec![b'Z', 0xff, 0xff, 0xff, 0xff]] {
        let e = match session(bad) {
            Ok(mut c) => c.query("select 1", &[]).unwrap_err(),
            Err(e) => e,
        };
        assert_eq!(kind(&e), ErrorKind::Protocol);
    }
    // The server hangs up mid-message.
    let mut s = prepared_int4();
    s.extend_from_slice(&[b'D', 0, 0, 0, 50, 0]);
    assert_eq!(
        kind(&session(s).unwrap().query("select 1", &[]).unwrap_err()),
        ErrorKind::Connection
    );
    // Startup: unknown auth method, SASL continue without start, garbage.
    let socket = |bytes: Vec<u8>| {
        Stream::new(Box::new(Scripted {
            script: Rc::new(RefCell::new(bytes)),
            pos: 0,
        }))
    };
    for (bytes, want) in [
        (msg(b'R', &[0, 0, 0, 7]), ErrorKind::Authentication),
        (msg(b'R', &[0, 0, 0, 11, 1, 2]), ErrorKind::Protocol),
        (msg(b'R', &[0, 0, 0, 12]), ErrorKind::Protocol),
        (msg(b'X', &[]), ErrorKind::Protocol),
        (vec![], ErrorKind::Connection),
    ] {
        let e = Connection::startup(socket(bytes), &config()).err().unwrap();
        assert_eq!(kind(&e), want);
    }
    // SCRAM with a server that sends nonsense.
    let mut cfg = config();
    cfg.password = Some("pw".into());
    let mut bytes = msg(b'R', b"\0\0\0\x0aSCRAM-SHA-256\0\0");
    bytes.extend(msg(b'R', b"\0\0\0\x0br=bogus,s=???,i=1"));
    let e = Connection::startup(socket(bytes), &cfg).err().unwrap();
    assert_eq!(kind(&e), ErrorKind::Authentication);
    let mut bytes = msg(b'R', b"\0\0\0\x0aSCRAM-SHA-256-PLUS\0\0");
    bytes.extend(msg(b'Z', b"I"));
    assert_eq!(
        kind(&Connection::startup(socket(bytes), &cfg).err().unwrap()),
        ErrorKind::Authentication
    );
}

/// xorshift64*: deterministic pseudo-random bytes.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn random_replies_never_panic() {
    let tags = b"123ACDEGHIKNRSTZcdnstvW";
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..3000 {
        let mut script = Vec::new();
        if round % 2 == 0 {
            script.extend(prepared_int4());
        }
        for _ in 0..(rng.next() % 6) {
            let tag = tags[(rng.next() % tags.len() as u64) as usize];
            let len = (rng.next() % 24) as usize;
            let mut body = rng.bytes(len);
            if tag == b'Z' && !body.is_empty() && rng.next().is_multiple_of(2) {
                body = vec![b"ITE"[(rng.next() % 3) as usize]];
            }
            script.extend(msg(tag, &body));
        }
        if round % 5 == 0 {
            let n = (rng.next() % 40) as usize;
            script.extend(rng.bytes(n));
        }
        if let Ok(mut c) = session(script) {
            exercise(&mut c);
        }
    }
}

#[test]
fn random_values_never_panic() {
    let mut rng = Rng(42);
    let codecs = [
        types::Codec::Bool,
        types::Codec::Int2,
        types::Codec::Int4,
        types::Codec::Int8,
        types::Codec::Oid,
        types::Codec::Float4,
        types::Codec::Float8,
        types::Codec::Numeric,
        types::Codec::Bytea,
        types::Codec::Date,
        types::Codec::Time,
        types::Codec::Timestamp,
        types::Codec::Timestamptz,
        types::Codec::Interval,
        types::Codec::Uuid,
        types::Codec::Json,
        types::Codec::Jsonb,
        types::Codec::Text,
        types::Codec::Char,
        types::Codec::Array,
    ];
    for _ in 0..20_000 {
        let n = (rng.next() % 48) as usize;
        let mut b = rng.bytes(n);
        // Arrays and numerics with plausible headers get further.
        if rng.next().is_multiple_of(2) && b.len() >= 12 {
            b[..4].copy_from_slice(&((rng.next() % 4) as i32).to_be_bytes());
            b[8..12].copy_from_slice(&[0, 0, 0, 23]);
        }
        for codec in codecs {
            let _ = types::decode_binary(codec, &b);
        }
        let _ = numeric::to_string(&b);
        let _ = array::binary_to_json(&b);
        let decoders = [row::Decoder::Binary(types::Codec::Int4), row::Decoder::Text];
        let columns: Vec<_> = decoders
            .iter()
            .map(|d| driverbox_guest_sdk::batch::column("c", d.logical_type(), ""))
            .collect();
        let _ = row::decode_row(
            &b,
            &decoders,
            &columns,
            &mut driverbox_guest_sdk::batch::BatchBuilder::new(&columns),
        );
        let s = String::from_utf8_lossy(&b).to_string();
        let _ = json::parse(&s);
        let _ = array::json_to_literal(&s, b',');
        let _ = array::text_to_json(&s, types::oid::INT4, b',');
        let _ = array::text_to_json(&format!("{{{s}}}"), types::oid::TEXT, b',');
        for o in [
            types::oid::TIMESTAMPTZ,
            types::oid::INTERVAL,
            types::oid::BYTEA,
            types::oid::DATE,
            types::oid::FLOAT4,
        ] {
            let _ = text::decode(o, &s);
        }
    }
}
