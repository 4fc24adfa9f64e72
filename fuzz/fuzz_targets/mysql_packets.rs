//! The MySQL driver's decoders of server bytes on arbitrary input: the
//! first byte picks the decoder, the rest is its input. Packet framing
//! with sequence ids, the v10 handshake, OK/ERR/EOF, column definitions
//! (plain and with MariaDB's extended metadata), text and binary rows of
//! every column type into a batch (read back as values), an auth switch
//! and the auth plugins' more-data challenges.
#![no_main]

use driverbox_guest_sdk::batch::{result_rows, BatchBuilder};
use driverbox_mysql::protocol::column::{ty, ColumnDef, BINARY_CHARSET};
use driverbox_mysql::protocol::errors::parse_err;
use driverbox_mysql::protocol::handshake::{check_server_key, parse_greeting};
use driverbox_mysql::protocol::row::{parse_date, parse_datetime, parse_time, RowDecoder};
use driverbox_mysql::protocol::wire::{header, parse_eof, parse_ok, Reader, MAX_PAYLOAD};
use libfuzzer_sys::fuzz_target;
use mysql_common::auth::plugins::{AuthProc, ChallengeResponsePlugin, Context};
use mysql_common::io::ParseBuf;
use mysql_common::packets::{AuthPlugin, AuthSwitchRequest};

/// Every wire type code (`enum_field_types`).
const TYPES: &[u8] = &[
    ty::DECIMAL,
    ty::TINY,
    ty::SHORT,
    ty::LONG,
    ty::FLOAT,
    ty::DOUBLE,
    ty::NULL,
    ty::TIMESTAMP,
    ty::LONGLONG,
    ty::INT24,
    ty::DATE,
    ty::TIME,
    ty::DATETIME,
    ty::YEAR,
    ty::NEWDATE,
    ty::VARCHAR,
    ty::BIT,
    ty::TIMESTAMP2,
    ty::DATETIME2,
    ty::TIME2,
    ty::JSON,
    ty::NEWDECIMAL,
    ty::ENUM,
    ty::SET,
    ty::TINY_BLOB,
    ty::MEDIUM_BLOB,
    ty::LONG_BLOB,
    ty::BLOB,
    ty::VAR_STRING,
    ty::STRING,
    ty::GEOMETRY,
];

/// What the auth plugins ask of the session (as the driver's own).
#[derive(Clone, Copy)]
struct Ctx<'a> {
    scramble: &'a [u8],
    tls: bool,
}

impl Context for Ctx<'_> {
    fn pass(&self) -> &[u8] {
        b"pw"
    }
    fn is_ipc_transport(&self) -> bool {
        false
    }
    fn is_tls_transport(&self) -> bool {
        self.tls
    }
    fn scramble(&self) -> &[u8] {
        self.scramble
    }
    fn server_key_pem(&self) -> Option<&[u8]> {
        None
    }
}

/// A result set's columns from a compact spec: per column, the type, its
/// flags, its character set and decimals; then the rows, each a 2-byte
/// length and a payload, decoded as text or binary rows.
fn rows(data: &[u8], binary: bool, extended: bool) {
    let Some((&n, mut rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 12) + 1;
    let mut defs = Vec::with_capacity(n);
    for i in 0..n {
        let Some((spec, tail)) = rest.split_first_chunk::<4>() else {
            return;
        };
        rest = tail;
        let [t, flags, cs, decimals] = *spec;
        defs.push(ColumnDef {
            schema: "s".into(),
            table: "t".into(),
            org_table: "t".into(),
            name: format!("c{i}"),
            org_name: format!("c{i}"),
            charset: if cs & 1 == 0 { BINARY_CHARSET } else { 45 },
            length: u32::from(cs) << 4,
            ty: TYPES[usize::from(t) % TYPES.len()],
            // NOT_NULL, UNSIGNED, ENUM, SET
            flags: u16::from(flags & 1)
                | (u16::from(flags & 2) << 4)
                | (u16::from(flags & 4) << 6)
                | (u16::from(flags & 8) << 8),
            decimals,
            ext_type: (extended && flags & 16 != 0).then(|| "uuid".into()),
            ext_format: (extended && flags & 32 != 0).then(|| "json".into()),
        });
    }
    let dec = RowDecoder::new(&defs);
    let columns: Vec<_> = defs.iter().map(ColumnDef::to_column).collect();
    let mut b = BatchBuilder::new(&columns);
    while let Some((len, tail)) = rest.split_first_chunk::<2>() {
        let len = usize::from(u16::from_le_bytes(*len)).min(tail.len());
        let (payload, tail) = tail.split_at(len);
        rest = tail;
        let ok = if binary {
            dec.binary_row(payload, &mut b)
        } else {
            dec.text_row(payload, &mut b)
        };
        if ok.is_err() {
            // The driver drops a batch after a bad row.
            return;
        }
    }
    assert!(b.is_consistent(), "a row left the columns of unequal lengths");
    let result = b.into_result(columns, None);
    result_rows(&result).expect("a batch the decoder built reads back");
}

/// Walks packets as the reader does: 4-byte headers, sequence ids in
/// order, payloads of `MAX_PAYLOAD` continued in the next packet.
fn frames(mut rest: &[u8]) {
    let mut seq = 0u8;
    let mut whole = Vec::new();
    while let Some((h, tail)) = rest.split_first_chunk::<4>() {
        let (len, got) = header(h);
        if got != seq || len > tail.len() {
            return;
        }
        seq = seq.wrapping_add(1);
        whole.extend_from_slice(&tail[..len]);
        rest = &tail[len..];
        if len < MAX_PAYLOAD {
            let _ = (parse_ok(&whole, false), parse_ok(&whole, true));
            whole.clear();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    match kind % 10 {
        0 => {
            if let Ok(hs) = parse_greeting(body) {
                let _ = hs.protocol_version();
                let _ = hs.capabilities();
                let _ = hs.mariadb_ext_capabilities();
                let _ = hs.server_version_str();
                let _ = hs.server_version_parsed();
                let _ = hs.connection_id();
                let nonce = hs.nonce();
                let plugin = hs
                    .auth_plugin()
                    .map(|p| p.into_owned())
                    .unwrap_or(AuthPlugin::MysqlNativePassword);
                if let Ok(mut proc) = AuthProc::init(&plugin) {
                    let ctx = Ctx {
                        scramble: &nonce,
                        tls: kind & 0x80 != 0,
                    };
                    let _ = proc.run(ctx, &nonce);
                }
            }
        }
        1 => {
            let _ = (parse_ok(body, false), parse_ok(body, true));
            let _ = parse_eof(body);
            let _ = parse_err(body);
        }
        2 => {
            if let Ok(c) = ColumnDef::parse(body, kind & 0x80 != 0) {
                let _ = c.kind();
                let _ = c.type_name();
                let _ = c.to_column();
            }
        }
        3 => {
            // An auth switch, then the new plugin on its data and on the
            // rest as more data (`0x01` packets).
            if let Ok(switch) = ParseBuf(body).parse::<AuthSwitchRequest<'_>>(()) {
                let plugin = switch.auth_plugin().into_owned();
                let nonce = switch.plugin_data().to_vec();
                if let Ok(mut proc) = AuthProc::init(&plugin) {
                    let ctx = Ctx {
                        scramble: &nonce,
                        tls: kind & 0x80 != 0,
                    };
                    let _ = proc.run(ctx, &nonce);
                    let _ = proc.run(ctx, &nonce);
                }
            }
        }
        4 => {
            // Auth more data to a plugin after its first response.
            let Some((&which, challenge)) = body.split_first() else {
                return;
            };
            let plugin = match which % 4 {
                0 => AuthPlugin::CachingSha2Password,
                1 => AuthPlugin::Sha256Password,
                2 => AuthPlugin::Ed25519,
                _ => AuthPlugin::MysqlNativePassword,
            };
            let nonce = *b"abcdefgh0123456789AB";
            let mut proc = AuthProc::init(&plugin).expect("a known plugin");
            let ctx = Ctx {
                scramble: &nonce,
                tls: which & 0x80 != 0,
            };
            let _ = proc.run(ctx, &nonce);
            for part in challenge.split(|b| *b == 0xFF).take(3) {
                // As the driver: a server's RSA key is checked first.
                if which % 4 < 2 && check_server_key(part, ctx.pass().len()).is_err() {
                    break;
                }
                let _ = proc.run(ctx, part);
            }
        }
        5 => frames(body),
        6 => rows(body, false, kind & 0x80 != 0),
        7 => rows(body, true, kind & 0x80 != 0),
        8 => {
            if let Ok(s) = std::str::from_utf8(body) {
                let _ = parse_date(s.as_bytes());
                let _ = parse_datetime(s.as_bytes());
                let _ = parse_time(s.as_bytes());
            }
            let mut r = Reader::new(body);
            while let Ok(Some(_)) = r.lenenc_bytes("field") {}
        }
        _ => {
            // A result head: the column count, then that many definitions
            // (each a 2-byte length and a payload), as the driver reads it.
            let mut r = Reader::new(body);
            let Ok(Some(n)) = r.lenenc_int("column count") else {
                return;
            };
            let mut rest = r.rest();
            for _ in 0..n.min(4096) {
                let Some((len, tail)) = rest.split_first_chunk::<2>() else {
                    return;
                };
                let len = usize::from(u16::from_le_bytes(*len)).min(tail.len());
                if ColumnDef::parse(&tail[..len], kind & 0x80 != 0).is_err() {
                    return;
                }
                rest = &tail[len..];
            }
        }
    }
});
