//! The MongoDB driver's decoders of server bytes on arbitrary input: OP_MSG
//! framing (header lengths, flag bits, checksum, body and document-sequence
//! sections), reply checks and server errors, cursor batches, and the
//! documents → one-column batch conversion of `base.query` (read back as
//! values). The first byte picks the decoder, the rest is its input.
#![no_main]

use std::sync::OnceLock;

use driverbox_guest_sdk::batch::result_rows;
use driverbox_mongodb::base::{documents_result, operations_of};
use driverbox_mongodb::connection::Connection;
use driverbox_mongodb::protocol::message::{self, Header, DEFAULT_MAX_MESSAGE, HEADER_LEN, OP_MSG};
use driverbox_mongodb::protocol::scram::{Mechanism, ScramClient, ScramFinal};
use driverbox_mongodb::protocol::{extjson, reply};
use libfuzzer_sys::fuzz_target;

const CRC32C: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);

/// What the driver does with a reply body: the checks, the counts, a
/// cursor's documents into a batch, `currentOp`'s operations.
fn body(bytes: &[u8]) {
    let _ = Connection::count_in(bytes, "n");
    let _ = extjson::to_relaxed(bytes);
    if let Ok(doc) = reply::document(bytes) {
        let _ = operations_of(&doc, 7);
    }
    let Ok(raw) = reply::check(bytes) else {
        return;
    };
    if let Ok(batch) = reply::cursor_batch(raw) {
        documents(&batch.documents);
    }
}

/// Documents back to back into `base.query`'s one-column batch.
fn documents(bytes: &[u8]) {
    if let Ok(result) = documents_result(bytes, None) {
        result_rows(&result).expect("a batch the driver built reads back");
    }
}

/// A SCRAM conversation waiting for the server-final message; built once
/// (the server-first message costs 4096 PBKDF2 rounds).
fn scram_final() -> &'static ScramFinal {
    static FINAL: OnceLock<ScramFinal> = OnceLock::new();
    FINAL.get_or_init(|| {
        let client = ScramClient::new(Mechanism::Sha256, "u", "pw", "nonce".into()).expect("client");
        client
            .server_first(b"r=nonceSERVER,s=c2FsdA==,i=4096")
            .expect("server-first")
            .0
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    match kind % 5 {
        0 | 1 => {
            // A whole message: the header, then what follows it. With the
            // top bit of the first byte, a checksum flag gets a right sum so
            // the sections behind it are reached.
            let Some((head, _)) = rest.split_first_chunk::<HEADER_LEN>() else {
                return;
            };
            let Ok(header) = message::parse_header(head, DEFAULT_MAX_MESSAGE) else {
                return;
            };
            let mut payload = rest[HEADER_LEN..].to_vec();
            if kind & 0x80 != 0 && payload.len() >= 8 && payload[0] & 1 == 0x01 {
                let end = payload.len() - 4;
                let mut digest = CRC32C.digest();
                digest.update(&header.to_bytes());
                digest.update(&payload[..end]);
                let sum = digest.finalize();
                payload[end..].copy_from_slice(&sum.to_le_bytes());
            }
            let header = if kind % 5 == 1 {
                // The op code and length the reader would have checked.
                Header {
                    op_code: OP_MSG,
                    length: HEADER_LEN + payload.len(),
                    ..header
                }
            } else {
                header
            };
            let Ok(reply) = message::decode(&header, &payload) else {
                return;
            };
            body(&reply.body);
            for (_, docs) in &reply.sequences {
                documents(docs);
            }
        }
        2 => body(rest),
        3 => documents(rest),
        _ => {
            let _ = scram_final().verify(rest);
            let _ = message::document_len(rest);
        }
    }
});
