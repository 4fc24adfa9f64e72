//! The `dns` import: SRV and TXT lookups for drivers (WASI has none), and
//! the addresses of the SRV targets a driver then connects to.
//!
//! A small stub resolver of our own: messages are built and parsed with
//! `hickory-proto`; a query goes by UDP to one recursive name server (the
//! runtime's, else `DRIVERBOX_DNS_SERVER=ip[:port]`, else the first
//! `nameserver` of `/etc/resolv.conf`), is sent again after 1 s and 2 s
//! without an answer, and is repeated over TCP when the answer is
//! truncated. Everything runs under the connection's connect time-out (and
//! the call's deadline). A reply is input like any other: its size is
//! bounded (4 KiB by UDP, 64 KiB by TCP, at most [`MAX_RECORDS`] records),
//! it must answer the question asked (same id, same name and type), and a
//! malformed one is a `protocol` error, never a panic.
//!
//! Under the allow-list ([`AllowList::may_look_up`]): a driver looks up
//! only `_SERVICE._tcp.HOST` (SRV) and `HOST` (TXT) for a host of its own
//! connection config; each SRV target it gets back becomes an endpoint of
//! that connection (`transport.connect` to it resolves the target's A and
//! AAAA records through this same client).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{timeout_at, Instant};

use super::allowlist::AllowList;
use crate::bindings::Conv;
use crate::error::{ErrorKind, GuestError};
use crate::runtime::HostState;

/// The environment variable naming the name server (`ip` or `ip:port`).
pub const DNS_SERVER_ENV: &str = "DRIVERBOX_DNS_SERVER";

/// Most records taken from one answer; a longer answer is refused.
pub const MAX_RECORDS: usize = 64;

/// Most bytes of TXT text in one answer.
const MAX_TXT_BYTES: usize = 16 * 1024;

/// Largest UDP answer read (and the EDNS payload size advertised).
const UDP_PAYLOAD: u16 = 4096;

/// An SRV record, as the `dns` import returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Srv {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    /// Lower case, without the final dot.
    pub target: String,
}

type DnsResult<T> = Result<T, GuestError>;

fn fail(kind: ErrorKind, message: impl Into<String>) -> GuestError {
    GuestError::client(kind, message)
}

/// Parses `ip` or `ip:port` (`[v6]:port`), port 53 by default.
pub fn parse_server(text: &str) -> Option<SocketAddr> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Some(addr);
    }
    let ip = text.trim_start_matches('[').trim_end_matches(']');
    ip.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 53))
}

/// The first `nameserver` line of a resolv.conf text.
pub fn nameserver_of_resolv_conf(text: &str) -> Option<SocketAddr> {
    text.lines()
        .map(|l| l.split(['#', ';']).next().unwrap_or_default().trim())
        .filter_map(|l| l.strip_prefix("nameserver"))
        .filter(|rest| rest.starts_with([' ', '\t']))
        // A scoped IPv6 address (`fe80::1%eth0`) is not supported: skipped.
        .find_map(|rest| rest.trim().parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
}

/// The name server to ask: `configured` (the runtime's), else
/// `DRIVERBOX_DNS_SERVER`, else `/etc/resolv.conf`.
pub fn name_server(configured: Option<SocketAddr>) -> DnsResult<SocketAddr> {
    if let Some(addr) = configured {
        return Ok(addr);
    }
    if let Ok(text) = std::env::var(DNS_SERVER_ENV) {
        return parse_server(&text).ok_or_else(|| {
            fail(
                ErrorKind::InvalidInput,
                format!("{DNS_SERVER_ENV}={text}: expected an IP address, optionally with :port"),
            )
        });
    }
    let conf = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    nameserver_of_resolv_conf(&conf).ok_or_else(|| {
        fail(
            ErrorKind::Connection,
            format!("no DNS server: /etc/resolv.conf names none and {DNS_SERVER_ENV} is not set"),
        )
    })
}

/// A DNS name as a fully qualified `Name` (no search domains).
fn fqdn(name: &str) -> DnsResult<Name> {
    let mut n =
        Name::from_utf8(name).map_err(|e| fail(ErrorKind::InvalidInput, format!("`{name}` is not a DNS name: {e}")))?;
    n.set_fqdn(true);
    Ok(n)
}

/// A name as text: lower case ASCII (punycode), without the final dot.
fn name_text(name: &Name) -> String {
    name.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}

/// Builds a recursive query for `name`/`rtype` with message id `id`.
fn request(id: u16, name: &Name, rtype: RecordType) -> DnsResult<Vec<u8>> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(name.clone(), rtype));
    let mut edns = Edns::new();
    edns.set_max_payload(UDP_PAYLOAD);
    m.set_edns(edns);
    m.to_vec().map_err(|e| {
        fail(
            ErrorKind::InvalidInput,
            format!("cannot encode a DNS query for {name}: {e}"),
        )
    })
}

/// A reply that answers our question, or why not. `Ok(None)`: not a reply
/// to this question (another id): keep waiting.
fn check_reply(bytes: &[u8], id: u16, name: &Name, rtype: RecordType) -> DnsResult<Option<Message>> {
    let m = Message::from_vec(bytes)
        .map_err(|e| fail(ErrorKind::Protocol, format!("malformed DNS answer for {name}: {e}")))?;
    if m.metadata.id != id || m.metadata.message_type != MessageType::Response {
        return Ok(None);
    }
    let asked = m.queries.first();
    if m.queries.len() != 1 || asked.is_none_or(|q| q.name() != name || q.query_type() != rtype) {
        return Err(fail(
            ErrorKind::Protocol,
            format!("the DNS answer for {name} is for another question"),
        ));
    }
    Ok(Some(m))
}

async fn query_udp(
    server: SocketAddr,
    packet: &[u8],
    id: u16,
    name: &Name,
    rtype: RecordType,
    deadline: Instant,
) -> DnsResult<Message> {
    let local: SocketAddr = if server.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let io = |e: std::io::Error| fail(ErrorKind::Connection, format!("DNS server {server}: {e}"));
    let socket = UdpSocket::bind(local).await.map_err(io)?;
    // A connected socket takes datagrams from the server only.
    socket.connect(server).await.map_err(io)?;
    let mut buf = vec![0u8; UDP_PAYLOAD as usize];
    for wait in [1u64, 2, 4] {
        socket.send(packet).await.map_err(io)?;
        let round = (Instant::now() + Duration::from_secs(wait)).min(deadline);
        loop {
            match timeout_at(round, socket.recv(&mut buf)).await {
                Err(_) => break,
                Ok(Err(e)) => {
                    return Err(fail(
                        ErrorKind::Connection,
                        format!("DNS server {server} refused the query for {name}: {e}"),
                    ))
                }
                Ok(Ok(n)) => {
                    if let Some(m) = check_reply(&buf[..n], id, name, rtype)? {
                        return Ok(m);
                    }
                }
            }
        }
        if Instant::now() >= deadline {
            break;
        }
    }
    Err(fail(
        ErrorKind::Timeout,
        format!("DNS lookup of {name} ({rtype}) at {server} timed out"),
    ))
}

async fn tcp_exchange(
    server: SocketAddr,
    packet: &[u8],
    id: u16,
    name: &Name,
    rtype: RecordType,
) -> DnsResult<Message> {
    let io = |e: std::io::Error| fail(ErrorKind::Connection, format!("DNS server {server} (TCP): {e}"));
    let mut tcp = TcpStream::connect(server).await.map_err(io)?;
    let len = u16::try_from(packet.len()).map_err(|_| fail(ErrorKind::InvalidInput, "DNS query too long"))?;
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(packet);
    tcp.write_all(&framed).await.map_err(io)?;
    let mut len = [0u8; 2];
    tcp.read_exact(&mut len).await.map_err(io)?;
    // At most 64 KiB: the length prefix is 16 bits.
    let mut body = vec![0u8; u16::from_be_bytes(len) as usize];
    tcp.read_exact(&mut body).await.map_err(io)?;
    check_reply(&body, id, name, rtype)?
        .ok_or_else(|| fail(ErrorKind::Protocol, format!("the DNS answer for {name} has another id")))
}

async fn query_tcp(
    server: SocketAddr,
    packet: &[u8],
    id: u16,
    name: &Name,
    rtype: RecordType,
    deadline: Instant,
) -> DnsResult<Message> {
    match timeout_at(deadline, tcp_exchange(server, packet, id, name, rtype)).await {
        Ok(result) => result,
        Err(_) => Err(fail(
            ErrorKind::Timeout,
            format!("DNS lookup of {name} ({rtype}) at {server} timed out"),
        )),
    }
}

/// Asks `server` for the `rtype` records of `name` and gives the answer
/// section's data. NXDOMAIN (unless `nxdomain_is_empty`), a refusal or a
/// server failure is an error naming it; no data is an empty list.
pub async fn lookup(
    server: SocketAddr,
    name: &str,
    rtype: RecordType,
    deadline: Instant,
    nxdomain_is_empty: bool,
) -> DnsResult<Vec<(Name, RData)>> {
    let qname = fqdn(name)?;
    let mut id = [0u8; 2];
    getrandom::fill(&mut id).map_err(|e| fail(ErrorKind::Other, format!("no randomness for a DNS id: {e}")))?;
    let id = u16::from_be_bytes(id);
    let packet = request(id, &qname, rtype)?;
    let mut reply = query_udp(server, &packet, id, &qname, rtype, deadline).await?;
    if reply.metadata.truncation {
        reply = query_tcp(server, &packet, id, &qname, rtype, deadline).await?;
    }
    let shown = name_text(&qname);
    match reply.metadata.response_code {
        ResponseCode::NoError => {}
        ResponseCode::NXDomain if nxdomain_is_empty => return Ok(Vec::new()),
        ResponseCode::NXDomain => {
            return Err(fail(
                ErrorKind::Connection,
                format!("DNS: {shown} does not exist (NXDOMAIN from {server})"),
            ))
        }
        ResponseCode::Refused => {
            return Err(fail(
                ErrorKind::Connection,
                format!("DNS: {server} refused the query for {shown} ({rtype})"),
            ))
        }
        ResponseCode::ServFail => {
            return Err(fail(
                ErrorKind::Connection,
                format!("DNS: {server} failed to answer for {shown} ({rtype}): SERVFAIL"),
            ))
        }
        other => {
            return Err(fail(
                ErrorKind::Connection,
                format!("DNS: {server} answered {other} for {shown} ({rtype})"),
            ))
        }
    }
    let records: Vec<(Name, RData)> = reply
        .answers
        .into_iter()
        .filter(|r| r.record_type() == rtype)
        .map(|r| (r.name, r.data))
        .collect();
    if records.len() > MAX_RECORDS {
        return Err(fail(
            ErrorKind::Protocol,
            format!(
                "DNS: {} {rtype} records for {shown}; at most {MAX_RECORDS} are taken",
                records.len()
            ),
        ));
    }
    Ok(records)
}

/// The SRV records of `name`.
pub async fn srv(server: SocketAddr, name: &str, deadline: Instant) -> DnsResult<Vec<Srv>> {
    let qname = fqdn(name)?;
    Ok(lookup(server, name, RecordType::SRV, deadline, false)
        .await?
        .into_iter()
        .filter(|(owner, _)| *owner == qname)
        .filter_map(|(_, data)| match data {
            RData::SRV(s) => Some(Srv {
                priority: s.priority,
                weight: s.weight,
                port: s.port,
                target: name_text(&s.target),
            }),
            _ => None,
        })
        .collect())
}

/// The TXT records of `name`: per record its strings (invalid UTF-8
/// replaced), at most 16 KiB of text in all. A name without TXT records,
/// even one that does not exist (NXDOMAIN), has none: TXT options are
/// optional.
pub async fn txt(server: SocketAddr, name: &str, deadline: Instant) -> DnsResult<Vec<Vec<String>>> {
    let qname = fqdn(name)?;
    let mut total = 0usize;
    let mut out = Vec::new();
    for (owner, data) in lookup(server, name, RecordType::TXT, deadline, true).await? {
        let RData::TXT(t) = data else { continue };
        if owner != qname {
            continue;
        }
        let strings: Vec<String> = t
            .txt_data
            .iter()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
        total += strings.iter().map(String::len).sum::<usize>();
        if total > MAX_TXT_BYTES {
            return Err(fail(
                ErrorKind::Protocol,
                format!("DNS: the TXT records of {name} hold more than {MAX_TXT_BYTES} bytes"),
            ));
        }
        out.push(strings);
    }
    Ok(out)
}

/// The addresses of `name` (A, then AAAA), with `port`. An error only when
/// neither lookup gives an address.
pub async fn addresses(server: SocketAddr, name: &str, port: u16, deadline: Instant) -> DnsResult<Vec<SocketAddr>> {
    let mut addrs = Vec::new();
    let mut last = None;
    for rtype in [RecordType::A, RecordType::AAAA] {
        match lookup(server, name, rtype, deadline, false).await {
            Ok(records) => addrs.extend(records.into_iter().filter_map(|(_, d)| match d {
                RData::A(a) => Some(SocketAddr::new(IpAddr::V4(a.0), port)),
                RData::AAAA(a) => Some(SocketAddr::new(IpAddr::V6(a.0), port)),
                _ => None,
            })),
            Err(e) => last = Some(e),
        }
    }
    if addrs.is_empty() {
        return Err(last.unwrap_or_else(|| {
            fail(
                ErrorKind::Connection,
                format!("DNS: {name} has no address (no A or AAAA record)"),
            )
        }));
    }
    Ok(addrs)
}

impl HostState {
    fn dns_deadline(&self) -> Instant {
        (Instant::now() + self.net.connect_timeout).min(self.deadline)
    }

    fn dns_refused(&self, kind: &str, name: &str) -> GuestError {
        tracing::warn!(driver = &*self.driver, "refused DNS lookup: {kind} {name}");
        fail(
            ErrorKind::Permission,
            format!("DNS lookup refused: {kind} {name} is not a name of this connection"),
        )
    }

    pub(crate) async fn dns_srv(&mut self, name: String) -> DnsResult<Vec<Srv>> {
        if !self.net.allow.may_look_up(&name, true) {
            return Err(self.dns_refused("SRV", &name));
        }
        let server = name_server(self.net.dns_server)?;
        let records = srv(server, &name, self.dns_deadline()).await?;
        for r in &records {
            self.net.allow.discover(&r.target, r.port);
        }
        tracing::debug!(driver = &*self.driver, name = %name, records = records.len(), "SRV lookup");
        Ok(records)
    }

    pub(crate) async fn dns_txt(&mut self, name: String) -> DnsResult<Vec<Vec<String>>> {
        if !self.net.allow.may_look_up(&name, false) {
            return Err(self.dns_refused("TXT", &name));
        }
        let server = name_server(self.net.dns_server)?;
        txt(server, &name, self.dns_deadline()).await
    }
}

/// The addresses of an endpoint learned from an SRV answer, looked up
/// with the host's DNS client.
pub(crate) async fn discovered_addresses(
    allow: &AllowList,
    configured: Option<SocketAddr>,
    host: &str,
    port: u16,
    deadline: Instant,
) -> Option<DnsResult<Vec<SocketAddr>>> {
    if !allow.is_discovered(host, port) {
        return None;
    }
    Some(match name_server(configured) {
        Ok(server) => addresses(server, host, port, deadline).await,
        Err(e) => Err(e),
    })
}

impl crate::bindings::v0_2::dns::Host for HostState {
    async fn resolve_srv(
        &mut self,
        name: String,
    ) -> wasmtime::Result<Result<Vec<crate::bindings::v0_2::types::SrvRecord>, crate::bindings::v0_2::types::Error>>
    {
        Ok(self
            .dns_srv(name)
            .await
            .map(|records| {
                records
                    .into_iter()
                    .map(|r| crate::bindings::v0_2::types::SrvRecord {
                        priority: r.priority,
                        weight: r.weight,
                        port: r.port,
                        target: r.target,
                    })
                    .collect()
            })
            .map_err(Conv::conv))
    }

    async fn resolve_txt(
        &mut self,
        name: String,
    ) -> wasmtime::Result<Result<Vec<Vec<String>>, crate::bindings::v0_2::types::Error>> {
        Ok(self.dns_txt(name).await.map_err(Conv::conv))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    trait Kind {
        fn kind(&self) -> ErrorKind;
    }
    impl Kind for GuestError {
        fn kind(&self) -> ErrorKind {
            match self {
                GuestError::Client { kind, .. } => *kind,
                GuestError::Server(s) => s.kind,
            }
        }
    }

    #[test]
    fn name_server_settings() {
        assert_eq!(parse_server("127.0.0.1:5353"), Some("127.0.0.1:5353".parse().unwrap()));
        assert_eq!(parse_server("10.0.0.2"), Some("10.0.0.2:53".parse().unwrap()));
        assert_eq!(parse_server("[::1]:54"), Some("[::1]:54".parse().unwrap()));
        assert_eq!(parse_server("::1"), Some("[::1]:53".parse().unwrap()));
        assert_eq!(parse_server("dns.example"), None);
        let conf = "# comment\nsearch example.com\nnameserver fe80::1%eth0\nnameserver 192.0.2.7 # first usable\nnameserver 192.0.2.8\n";
        assert_eq!(nameserver_of_resolv_conf(conf), Some("192.0.2.7:53".parse().unwrap()));
        assert_eq!(nameserver_of_resolv_conf("nameservers 1.2.3.4\n"), None);
        assert_eq!(nameserver_of_resolv_conf(""), None);
    }

    #[test]
    fn replies_must_answer_the_question() {
        let name = fqdn("_mongodb._tcp.db.example").unwrap();
        let packet = request(7, &name, RecordType::SRV).unwrap();
        // The query itself is no response: ignored.
        assert!(check_reply(&packet, 7, &name, RecordType::SRV).unwrap().is_none());
        let mut reply = Message::from_vec(&packet).unwrap();
        reply.metadata.message_type = MessageType::Response;
        let bytes = reply.to_vec().unwrap();
        assert!(check_reply(&bytes, 7, &name, RecordType::SRV).unwrap().is_some());
        assert!(check_reply(&bytes, 8, &name, RecordType::SRV).unwrap().is_none());
        let other = fqdn("other.example").unwrap();
        let e = check_reply(&bytes, 7, &other, RecordType::SRV).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
        assert_eq!(
            check_reply(&bytes, 7, &name, RecordType::TXT).unwrap_err().kind(),
            ErrorKind::Protocol
        );
        // Garbage and every truncation of a valid reply: an error, no panic.
        for n in 0..bytes.len() {
            let _ = check_reply(&bytes[..n], 7, &name, RecordType::SRV);
        }
        assert_eq!(
            check_reply(b"\x00\x07\x80", 7, &name, RecordType::SRV)
                .unwrap_err()
                .kind(),
            ErrorKind::Protocol
        );
    }
}
