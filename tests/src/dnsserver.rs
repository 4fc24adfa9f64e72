//! A tiny authoritative DNS server for the tests, on 127.0.0.1 (UDP, and
//! TCP for answers too long for UDP): it answers from a fixed list of
//! records, built and parsed with `hickory-proto`. A name with no record
//! at or below it is NXDOMAIN; names under `refused.` get REFUSED; a name with
//! records of other types is an empty answer. Answers longer than 512
//! bytes over UDP are sent truncated (TC), as a server without EDNS
//! would, so the client must retry over TCP.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::{A, SRV, TXT};
use hickory_proto::rr::{Name, RData, Record};

/// One record of the test zone.
pub fn srv(name: &str, port: u16, target: &str) -> Record {
    record(name, RData::SRV(SRV::new(0, 5, port, fqdn(target))))
}

/// A TXT record of one or more strings.
pub fn txt(name: &str, strings: &[&str]) -> Record {
    record(
        name,
        RData::TXT(TXT::new(strings.iter().map(|s| s.to_string()).collect())),
    )
}

/// An A record.
pub fn a(name: &str, ip: Ipv4Addr) -> Record {
    record(name, RData::A(A(ip)))
}

fn fqdn(name: &str) -> Name {
    let mut n = Name::from_ascii(name).expect("a test name");
    n.set_fqdn(true);
    n
}

fn record(name: &str, data: RData) -> Record {
    Record::from_rdata(fqdn(name), 60, data)
}

/// The running server; stopped when dropped.
pub struct DnsServer {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    queries: Arc<AtomicUsize>,
}

impl DnsServer {
    /// Serves `records` on a free port of 127.0.0.1 (the same port for UDP and TCP).
    pub fn start(records: Vec<Record>) -> DnsServer {
        let (udp, tcp) = loop {
            let udp = UdpSocket::bind("127.0.0.1:0").expect("udp");
            let port = udp.local_addr().unwrap().port();
            if let Ok(tcp) = TcpListener::bind(("127.0.0.1", port)) {
                break (udp, tcp);
            }
        };
        let addr = udp.local_addr().unwrap();
        udp.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        tcp.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let queries = Arc::new(AtomicUsize::new(0));
        let records = Arc::new(records);
        let (s, q, r) = (stop.clone(), queries.clone(), records.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !s.load(Ordering::Relaxed) {
                if let Ok((n, peer)) = udp.recv_from(&mut buf) {
                    q.fetch_add(1, Ordering::Relaxed);
                    if let Some(reply) = answer(&r, &buf[..n], Some(512)) {
                        let _ = udp.send_to(&reply, peer);
                    }
                }
            }
        });
        let (s, q) = (stop.clone(), queries.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match tcp.accept() {
                    Ok((mut conn, _)) => {
                        q.fetch_add(1, Ordering::Relaxed);
                        let _ = conn.set_nonblocking(false);
                        let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                        let mut len = [0u8; 2];
                        if conn.read_exact(&mut len).is_err() {
                            continue;
                        }
                        let mut body = vec![0u8; u16::from_be_bytes(len) as usize];
                        if conn.read_exact(&mut body).is_err() {
                            continue;
                        }
                        if let Some(reply) = answer(&records, &body, None) {
                            let mut framed = (reply.len() as u16).to_be_bytes().to_vec();
                            framed.extend_from_slice(&reply);
                            let _ = conn.write_all(&framed);
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        DnsServer { addr, stop, queries }
    }

    /// Queries received so far (UDP datagrams and TCP connections).
    pub fn queries(&self) -> usize {
        self.queries.load(Ordering::Relaxed)
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The reply to one query, truncated to `limit` bytes (header and
/// question only, TC set) when longer.
fn answer(records: &[Record], query: &[u8], limit: Option<usize>) -> Option<Vec<u8>> {
    let request = Message::from_vec(query).ok()?;
    let question = request.queries.first()?.clone();
    let mut reply = Message::response(request.metadata.id, request.metadata.op_code);
    reply.metadata.recursion_desired = request.metadata.recursion_desired;
    reply.metadata.authoritative = true;
    reply.add_query(question.clone());
    let name = question.name();
    if name.to_ascii().to_ascii_lowercase().ends_with("refused.") {
        reply.metadata.response_code = ResponseCode::Refused;
    } else if !records.iter().any(|r| name.zone_of(&r.name)) {
        // No record at or under the name (a name with records below it
        // exists: an empty answer).
        reply.metadata.response_code = ResponseCode::NXDomain;
    } else {
        for r in records
            .iter()
            .filter(|r| &r.name == name && r.record_type() == question.query_type())
        {
            reply.add_answer(r.clone());
        }
    }
    let bytes = reply.to_vec().ok()?;
    match limit {
        Some(max) if bytes.len() > max => {
            let mut short = Message::response(request.metadata.id, request.metadata.op_code);
            short.metadata.truncation = true;
            short.metadata.recursion_desired = request.metadata.recursion_desired;
            short.add_query(question);
            short.to_vec().ok()
        }
        _ => Some(bytes),
    }
}
