//! OP_MSG framing (MongoDB Wire Protocol, "OP_MSG"): a 16-byte header
//! (length, request id, response-to, op code, little-endian), flag bits,
//! then sections: kind 0 is the one body document, kind 1 a named sequence
//! of documents (`documents` of an insert), and a CRC-32C checksum when
//! flag bit 0 is set (checked on every reply that has one; requests carry
//! one when asked, [`encode_with_checksum`]). No I/O: the connection reads
//! and writes the bytes.

use driverbox_guest_sdk::{Error, Result};

/// The op code of OP_MSG.
pub const OP_MSG: i32 = 2013;
/// The legacy reply op code; a server that answers with it is too old.
pub const OP_REPLY: i32 = 1;
/// The size of a message header.
pub const HEADER_LEN: usize = 16;
/// The largest message accepted before `hello` tells the real limit
/// (MongoDB's default `maxMessageSizeBytes`).
pub const DEFAULT_MAX_MESSAGE: usize = 48_000_000;

const CHECKSUM_PRESENT: u32 = 1;
/// CRC-32C (Castagnoli), the checksum of OP_MSG.
const CRC32C: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);
const MORE_TO_COME: u32 = 1 << 1;
/// Bits 0–15 are "required": an unknown one must make the reader fail.
const KNOWN_REQUIRED: u32 = CHECKSUM_PRESENT | MORE_TO_COME;

/// A message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Total length of the message, header included.
    pub length: usize,
    pub request_id: i32,
    pub response_to: i32,
    pub op_code: i32,
}

/// Reads a header and checks its length against `max` (bytes, header included).
/// Errors: `protocol` for a length below the header's own or above `max`.
pub fn parse_header(bytes: &[u8; HEADER_LEN], max: usize) -> Result<Header> {
    let word = |i: usize| i32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let length = word(0);
    let header = Header {
        length: usize::try_from(length).unwrap_or(0),
        request_id: word(4),
        response_to: word(8),
        op_code: word(12),
    };
    if header.length < HEADER_LEN + 5 {
        return Err(Error::protocol(format!("message length {length} is too small")));
    }
    if header.length > max {
        return Err(Error::protocol(format!(
            "message of {length} bytes is longer than maxMessageSizeBytes ({max})"
        )));
    }
    Ok(header)
}

impl Header {
    /// The header's 16 bytes as they are on the wire.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..4].copy_from_slice(&(self.length as i32).to_le_bytes());
        out[4..8].copy_from_slice(&self.request_id.to_le_bytes());
        out[8..12].copy_from_slice(&self.response_to.to_le_bytes());
        out[12..].copy_from_slice(&self.op_code.to_le_bytes());
        out
    }
}

/// A document sequence section (kind 1): an identifier and BSON documents
/// back to back.
pub struct Sequence<'a> {
    pub identifier: &'a str,
    pub documents: &'a [u8],
}

/// Encodes one OP_MSG with `body` (one BSON document) and the given
/// sequences. Errors: `invalid-input` when the message would be larger
/// than an `i32` can say.
pub fn encode(request_id: i32, body: &[u8], sequences: &[Sequence<'_>]) -> Result<Vec<u8>> {
    let mut len = HEADER_LEN + 4 + 1 + body.len();
    for s in sequences {
        len += 1 + 4 + s.identifier.len() + 1 + s.documents.len();
    }
    let total = i32::try_from(len).map_err(|_| Error::invalid("the message is larger than 2 GiB"))?;
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(&request_id.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&OP_MSG.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.push(0);
    out.extend_from_slice(body);
    for s in sequences {
        out.push(1);
        let size = 4 + s.identifier.len() + 1 + s.documents.len();
        out.extend_from_slice(&(size as i32).to_le_bytes());
        out.extend_from_slice(s.identifier.as_bytes());
        out.push(0);
        out.extend_from_slice(s.documents);
    }
    Ok(out)
}

/// [`encode`] with flag bit 0 set and the CRC-32C of the message
/// (header included) after the sections.
pub fn encode_with_checksum(request_id: i32, body: &[u8], sequences: &[Sequence<'_>]) -> Result<Vec<u8>> {
    let mut out = encode(request_id, body, sequences)?;
    let total = i32::try_from(out.len() + 4).map_err(|_| Error::invalid("the message is larger than 2 GiB"))?;
    out[..4].copy_from_slice(&total.to_le_bytes());
    out[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(&CHECKSUM_PRESENT.to_le_bytes());
    let sum = CRC32C.checksum(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    Ok(out)
}

/// A decoded reply: the body document's bytes and the sequences.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reply {
    pub body: Vec<u8>,
    /// Identifier and documents back to back, per kind 1 section.
    pub sequences: Vec<(String, Vec<u8>)>,
    /// The server will send another reply without a request.
    pub more_to_come: bool,
}

/// The length of the BSON document at the start of `buf`, checked
/// against the buffer and for its terminator.
pub fn document_len(buf: &[u8]) -> Result<usize> {
    let head: [u8; 4] = buf
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Error::protocol("truncated BSON document"))?;
    let len = i32::from_le_bytes(head);
    let n = usize::try_from(len)
        .ok()
        .filter(|n| *n >= 5 && *n <= buf.len())
        .ok_or_else(|| Error::protocol(format!("BSON document has a bad length {len}")))?;
    if buf[n - 1] != 0 {
        return Err(Error::protocol("BSON document is not terminated"));
    }
    Ok(n)
}

/// Decodes the part of an OP_MSG after the header (`payload` is
/// `header.length - 16` bytes). Errors: `protocol` for unknown required
/// flags, a missing or repeated body, bad section kinds or lengths.
pub fn decode(header: &Header, payload: &[u8]) -> Result<Reply> {
    if header.op_code == OP_REPLY {
        return Err(Error::protocol(
            "the server answered with OP_REPLY: it is older than MongoDB 3.6, which this driver needs",
        ));
    }
    if header.op_code != OP_MSG {
        return Err(Error::protocol(format!("unexpected op code {}", header.op_code)));
    }
    let flags = u32::from_le_bytes(
        payload
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| Error::protocol("OP_MSG without flag bits"))?,
    );
    if flags & 0xffff & !KNOWN_REQUIRED != 0 {
        return Err(Error::protocol(format!("OP_MSG has unknown required flags {flags:#x}")));
    }
    let mut end = payload.len();
    if flags & CHECKSUM_PRESENT != 0 {
        end = end
            .checked_sub(4)
            .filter(|e| *e >= 4)
            .ok_or_else(|| Error::protocol("OP_MSG too short for its checksum"))?;
        let sent = u32::from_le_bytes([payload[end], payload[end + 1], payload[end + 2], payload[end + 3]]);
        let mut digest = CRC32C.digest();
        digest.update(&header.to_bytes());
        digest.update(&payload[..end]);
        let computed = digest.finalize();
        if computed != sent {
            return Err(Error::protocol(format!(
                "OP_MSG checksum mismatch: the message says {sent:#010x}, its bytes give {computed:#010x}"
            )));
        }
    }
    let mut at = 4;
    let mut reply = Reply {
        more_to_come: flags & MORE_TO_COME != 0,
        ..Reply::default()
    };
    let mut body = None;
    while at < end {
        let kind = payload[at];
        at += 1;
        match kind {
            0 => {
                let n = document_len(&payload[at..end])?;
                if body.is_some() {
                    return Err(Error::protocol("OP_MSG has two body sections"));
                }
                body = Some(payload[at..at + n].to_vec());
                at += n;
            }
            1 => {
                let size = payload
                    .get(at..at + 4)
                    .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .ok_or_else(|| Error::protocol("truncated document sequence"))?;
                let size = usize::try_from(size)
                    .ok()
                    .filter(|s| *s >= 5 && at + s <= end)
                    .ok_or_else(|| Error::protocol(format!("document sequence has a bad length {size}")))?;
                let section = &payload[at + 4..at + size];
                let nul = section
                    .iter()
                    .position(|b| *b == 0)
                    .ok_or_else(|| Error::protocol("document sequence identifier is not terminated"))?;
                let identifier = std::str::from_utf8(&section[..nul])
                    .map_err(|_| Error::protocol("document sequence identifier is not UTF-8"))?;
                let docs = &section[nul + 1..];
                let mut i = 0;
                while i < docs.len() {
                    i += document_len(&docs[i..])?;
                }
                reply.sequences.push((identifier.to_string(), docs.to_vec()));
                at += size;
            }
            k => return Err(Error::protocol(format!("OP_MSG has an unknown section kind {k}"))),
        }
    }
    reply.body = body.ok_or_else(|| Error::protocol("OP_MSG without a body section"))?;
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn header_of(msg: &[u8]) -> Header {
        parse_header(msg[..16].try_into().unwrap(), DEFAULT_MAX_MESSAGE).unwrap()
    }

    #[test]
    fn round_trips_body_and_sequence() {
        let body = doc! {"insert": "c", "$db": "test"}.to_vec().unwrap();
        let d1 = doc! {"a": 1}.to_vec().unwrap();
        let d2 = doc! {"b": "x"}.to_vec().unwrap();
        let docs = [d1.clone(), d2.clone()].concat();
        let msg = encode(
            7,
            &body,
            &[Sequence {
                identifier: "documents",
                documents: &docs,
            }],
        )
        .unwrap();
        let h = header_of(&msg);
        assert_eq!(
            (h.length, h.request_id, h.response_to, h.op_code),
            (msg.len(), 7, 0, OP_MSG)
        );
        let reply = decode(&h, &msg[16..]).unwrap();
        assert_eq!(reply.body, body);
        assert_eq!(reply.sequences, vec![("documents".to_string(), docs)]);
        assert!(!reply.more_to_come);
    }

    #[test]
    fn checks_checksums_and_reads_more_to_come() {
        // The CRC-32C check value of "123456789" (RFC 3720's parameters).
        assert_eq!(CRC32C.checksum(b"123456789"), 0xe306_9283);
        let body = doc! {"ok": 1}.to_vec().unwrap();
        let d = doc! {"a": 1}.to_vec().unwrap();
        let seq = [Sequence {
            identifier: "documents",
            documents: &d,
        }];
        let msg = encode_with_checksum(5, &body, &seq).unwrap();
        let h = header_of(&msg);
        assert_eq!(h.length, msg.len());
        let reply = decode(&h, &msg[16..]).unwrap();
        assert_eq!((reply.body.clone(), reply.sequences.len()), (body.clone(), 1));
        // Any changed byte, in the header, a section or the sum, is refused.
        for at in [8, 16 + 4 + 6, msg.len() - 1] {
            let mut bad = msg.clone();
            bad[at] ^= 0x20;
            let e = decode(&header_of(&bad), &bad[16..]).unwrap_err();
            assert!(e.message().contains("checksum mismatch"), "{at}: {}", e.message());
        }
        let mut short = encode(1, &body, &[]).unwrap();
        short[16] = 1;
        assert!(decode(&header_of(&short), &short[16..20]).is_err());
        // moreToCome with a checksum.
        let mut more = encode(1, &body, &[]).unwrap();
        let total = (more.len() + 4) as i32;
        more[..4].copy_from_slice(&total.to_le_bytes());
        more[16] = 0b11;
        let sum = CRC32C.checksum(&more);
        more.extend_from_slice(&sum.to_le_bytes());
        let reply = decode(&header_of(&more), &more[16..]).unwrap();
        assert_eq!(reply.body, body);
        assert!(reply.more_to_come);
    }

    #[test]
    fn refuses_bad_messages() {
        let body = doc! {"ok": 1}.to_vec().unwrap();
        let msg = encode(1, &body, &[]).unwrap();
        let h = header_of(&msg);
        // Lengths: too small, larger than the limit.
        let mut small = msg.clone();
        small[..4].copy_from_slice(&3i32.to_le_bytes());
        assert!(parse_header(small[..16].try_into().unwrap(), DEFAULT_MAX_MESSAGE).is_err());
        let mut big = msg.clone();
        big[..4].copy_from_slice(&i32::MAX.to_le_bytes());
        let e = parse_header(big[..16].try_into().unwrap(), DEFAULT_MAX_MESSAGE).unwrap_err();
        assert!(e.message().contains("maxMessageSizeBytes"), "{}", e.message());
        let mut neg = msg.clone();
        neg[..4].copy_from_slice(&(-1i32).to_le_bytes());
        assert!(parse_header(neg[..16].try_into().unwrap(), DEFAULT_MAX_MESSAGE).is_err());
        // Unknown required flag, unknown section, truncated body, no body, OP_REPLY.
        let mut flags = msg.clone();
        flags[16] = 0b100;
        assert!(decode(&h, &flags[16..]).is_err());
        let mut kind = msg.clone();
        kind[20] = 9;
        assert!(decode(&h, &kind[16..]).is_err());
        assert!(decode(&h, &msg[16..msg.len() - 1]).is_err());
        assert!(decode(&h, &msg[16..21]).is_err());
        let mut bad_len = msg.clone();
        bad_len[21..25].copy_from_slice(&1000i32.to_le_bytes());
        assert!(decode(&h, &bad_len[16..]).is_err());
        let old = Header { op_code: OP_REPLY, ..h };
        assert!(decode(&old, &msg[16..]).unwrap_err().message().contains("3.6"));
        // Two bodies.
        let twice = [&msg[16..], &body[..]].concat();
        let mut twice = twice;
        twice.insert(4 + body.len() + 1, 0);
        assert!(decode(&h, &twice).is_err());
    }

    #[test]
    fn refuses_bad_sequences() {
        let body = doc! {"ok": 1}.to_vec().unwrap();
        let d = doc! {"a": 1}.to_vec().unwrap();
        let msg = encode(
            1,
            &body,
            &[Sequence {
                identifier: "documents",
                documents: &d,
            }],
        )
        .unwrap();
        let h = header_of(&msg);
        let seq_at = 16 + 4 + 1 + body.len();
        let mut bad = msg.clone();
        bad[seq_at + 1..seq_at + 5].copy_from_slice(&10_000i32.to_le_bytes());
        assert!(decode(&h, &bad[16..]).is_err());
        let mut bad_doc = msg.clone();
        let doc_at = seq_at + 1 + 4 + "documents".len() + 1;
        bad_doc[doc_at..doc_at + 4].copy_from_slice(&100i32.to_le_bytes());
        assert!(decode(&h, &bad_doc[16..]).is_err());
    }
}
