//! The DynamoDB driver's reading of what an endpoint answers: the HTTP/1.1
//! response decoder (`http::parse_response`: head, `Content-Length`,
//! chunked bodies, bodies until close, the size limit), fed the way the
//! driver's read loop feeds it; the AWS error body (`client::error_of`);
//! and a 200's JSON: `Items`, their attribute values as BSON documents
//! (`nosql`), as result columns and cells (`base`), as plain JSON, and the
//! `LastEvaluatedKey`.
//!
//! Input: byte 0 sets the read size (1–64 bytes) and whether the server
//! closes after the last byte; the rest is what the server sends. Checked:
//! no panic; a response decoded from a prefix is decoded the same from
//! every longer prefix (bytes after a response belong to the next one);
//! the bytes used never exceed those given; a body never exceeds the limit.
#![no_main]

use driverbox_dynamodb::{base, client, connection, http, item};
use libfuzzer_sys::fuzz_target;

/// A small limit, so the fuzzer reaches it.
const MAX_BODY: usize = 4096;

fn json(body: &[u8]) {
    let Ok(mut j) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    if let Ok(items) = connection::items_of(&mut j) {
        let columns = base::columns_of(&items);
        let _ = base::rows_of(&columns, &items);
        for it in &items {
            if let Ok(doc) = item::item_to_document(it) {
                // What `nosql` writes back: it must take what it gave.
                let _ = item::document_to_item(&doc);
            }
            for v in it.values() {
                let _ = item::to_bson(v);
                let _ = item::to_value(v);
                let mut s = String::new();
                let _ = item::to_plain_json(v, &mut s);
            }
        }
    }
    if let Some(key) = j.get("LastEvaluatedKey").and_then(|k| k.as_object()) {
        let _ = item::item_to_document(key);
    }
}

fuzz_target!(|data: &[u8]| {
    let [mode, bytes @ ..] = data else {
        return;
    };
    let step = usize::from(mode % 64) + 1;
    let closes = mode & 0x40 != 0;
    let mut first: Option<(http::Response, usize, usize)> = None;
    let mut given = 0;
    loop {
        given = (given + step).min(bytes.len());
        let last = given == bytes.len();
        let closed = closes && last;
        match http::parse_response(&bytes[..given], closed, MAX_BODY) {
            Ok(Some((resp, used))) => {
                assert!(used <= given, "used {used} of {given} bytes");
                assert!(resp.body.len() <= MAX_BODY, "a body of {} bytes", resp.body.len());
                match &first {
                    // Complete without the close: more bytes change nothing.
                    Some((r, u, _)) => assert_eq!((r, *u), (&resp, used), "decoded differently with more bytes"),
                    None if !closed => first = Some((resp.clone(), used, given)),
                    None => {}
                }
                if let Some((e, kind)) = client::error_of(&resp) {
                    assert_ne!(resp.status, 200);
                    let _ = (e.kind(), kind);
                } else {
                    json(&resp.body);
                }
            }
            Ok(None) => assert!(first.is_none(), "a response decoded from fewer bytes is incomplete now"),
            Err(_) => {
                assert!(first.is_none(), "a response decoded from fewer bytes is an error now");
                break;
            }
        }
        if last {
            break;
        }
    }
});
