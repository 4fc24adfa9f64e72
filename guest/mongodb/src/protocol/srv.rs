//! `mongodb+srv://`: the "Initial DNS Seedlist Discovery" rules, without
//! I/O. The lookups themselves are the host's (`dns` import); [`resolve`]
//! takes them as functions, so every rule is tested here with stubbed
//! answers.
//!
//! The rules:
//! - the URL names one host name, without a port, and not an address;
//! - `srvServiceName` (default `mongodb`) must be a valid SRV service
//!   name; `srvMaxHosts` a non-negative integer; both only with
//!   `mongodb+srv` (checked in [`crate::options`]);
//! - the SRV query is `_{srvServiceName}._tcp.{hostname}`; no records, or a
//!   failed lookup, is an error saying why;
//! - the `{domainname}` is the host name without its first label when it
//!   has three or more labels, else the whole host name; every target must
//!   be a name under it (one label more at least), else nothing is
//!   connected to;
//! - priority and weight are ignored; with `srvMaxHosts` > 0 and fewer than
//!   the answers, that many are picked at random (Fisher-Yates);
//! - TXT of `{hostname}`: at most one record, its strings joined, read as
//!   URI options; only `authSource`, `replicaSet` and `loadBalanced`;
//!   options of the URL win over the TXT record's;
//! - TLS is on unless the URL says `tls=false` (a scheme default the host
//!   applies, see `traits::metadata`); a TXT record cannot change it.

use driverbox_guest_sdk::types::{ConnectConfig, Endpoint, SrvRecord};
use driverbox_guest_sdk::{Error, Result};

/// The scheme of seedlist URLs.
pub const SCHEME: &str = "mongodb+srv";

/// The default `srvServiceName`.
pub const DEFAULT_SERVICE: &str = "mongodb";

/// Options a TXT record may give, as the URI Options specification spells them.
pub const TXT_OPTIONS: &[&str] = &["authSource", "replicaSet", "loadBalanced"];

/// The checked host name of a `mongodb+srv` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvHost {
    /// Lower case, without a final dot.
    pub hostname: String,
    /// What every SRV target must be under.
    pub domain: String,
}

/// Checks the URL's hosts before any lookup: exactly one host name, no
/// port, not an IP address, no empty label.
pub fn check_hosts(hosts: &[Endpoint]) -> Result<SrvHost> {
    let [host] = hosts else {
        return Err(Error::invalid(format!(
            "{SCHEME}:// takes exactly one host name (the SRV records list the servers), not {}",
            hosts.len()
        )));
    };
    if host.port_given {
        return Err(Error::invalid(format!(
            "{SCHEME}:// takes no port (the SRV records give the ports): {}:{}",
            host.host, host.port
        )));
    }
    let hostname = host.host.trim_end_matches('.').to_ascii_lowercase();
    if hostname.parse::<std::net::IpAddr>().is_ok() || hostname.contains(':') {
        return Err(Error::invalid(format!(
            "{SCHEME}:// needs a host name to look up, not the address {hostname}"
        )));
    }
    let labels: Vec<&str> = hostname.split('.').collect();
    if labels.iter().any(|l| l.is_empty() || l.len() > 63) || hostname.len() > 253 {
        return Err(Error::invalid(format!(
            "{SCHEME}:// host `{}` is not a DNS name",
            host.host
        )));
    }
    let domain = if labels.len() >= 3 {
        labels[1..].join(".")
    } else {
        hostname.clone()
    };
    Ok(SrvHost { hostname, domain })
}

/// Checks `srvServiceName` (RFC 6335 §5.1, longer names allowed as long
/// as `_NAME` fits one DNS label): letters, digits and hyphens, at least
/// one letter, no hyphen at either end or twice in a row.
pub fn check_service_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 62
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && name.bytes().any(|b| b.is_ascii_alphabetic())
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--");
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "srvServiceName={name} is not a valid service name (letters, digits and single hyphens, at most 62)"
        )))
    }
}

/// The SRV name to query.
pub fn srv_name(service: &str, host: &SrvHost) -> String {
    format!("_{service}._tcp.{}", host.hostname)
}

/// Checks one SRV target: a name under the URL's `{domainname}`.
pub fn check_target(host: &SrvHost, target: &str) -> Result<String> {
    let t = target.trim_end_matches('.').to_ascii_lowercase();
    let under = t.strip_suffix(&host.domain).is_some_and(|head| {
        head.len() > 1 && head.ends_with('.') && !head[..head.len() - 1].split('.').any(str::is_empty)
    });
    if !under {
        return Err(Error::connection(format!(
            "the SRV record of {} names {target}, which is not under {}: not connecting to it",
            host.hostname, host.domain
        )));
    }
    Ok(t)
}

/// The seed list from the SRV answer: every target checked (one bad target
/// refuses them all), at most `max_hosts` when that is > 0, picked with
/// `random(n)` (a number below `n`) by a Fisher-Yates shuffle.
pub fn seeds(
    host: &SrvHost,
    query: &str,
    records: &[SrvRecord],
    max_hosts: u32,
    mut random: impl FnMut(usize) -> usize,
) -> Result<Vec<Endpoint>> {
    if records.is_empty() {
        return Err(Error::connection(format!(
            "no SRV records for {query}: the URL names no servers"
        )));
    }
    let mut seeds = Vec::with_capacity(records.len());
    for r in records {
        let target = check_target(host, &r.target)?;
        if r.port == 0 {
            return Err(Error::connection(format!("the SRV record for {target} has port 0")));
        }
        let e = Endpoint {
            host: target,
            port: r.port,
            port_given: true,
        };
        if !seeds.contains(&e) {
            seeds.push(e);
        }
    }
    let max = max_hosts as usize;
    if max > 0 && max < seeds.len() {
        for i in (1..seeds.len()).rev() {
            let j = random(i + 1).min(i);
            seeds.swap(i, j);
        }
        seeds.truncate(max);
    }
    Ok(seeds)
}

fn percent_decode(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| Error::invalid(format!("bad percent-encoding in the TXT record: {s}")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Error::invalid("the TXT record is not UTF-8 after percent-decoding"))
}

/// The options of the TXT answer: at most one record, its strings joined,
/// `key=value` pairs separated by `&`, only [`TXT_OPTIONS`] (names
/// matched without regard to case, returned as spelled there).
pub fn txt_options(hostname: &str, records: &[Vec<String>]) -> Result<Vec<(String, String)>> {
    let text = match records {
        [] => return Ok(Vec::new()),
        [one] => one.concat(),
        _ => {
            return Err(Error::invalid(format!(
                "{hostname} has {} TXT records; at most one is allowed",
                records.len()
            )))
        }
    };
    let mut options: Vec<(String, String)> = Vec::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| Error::invalid(format!("the TXT record of {hostname} has `{pair}`, not key=value")))?;
        let key = percent_decode(key)?;
        let Some(name) = TXT_OPTIONS.iter().find(|o| o.eq_ignore_ascii_case(&key)) else {
            return Err(Error::invalid(format!(
                "the TXT record of {hostname} sets {key}; a TXT record may set only {}",
                TXT_OPTIONS.join(", ")
            )));
        };
        let value = percent_decode(value)?;
        if value.is_empty() {
            return Err(Error::invalid(format!(
                "the TXT record of {hostname} gives {name} no value"
            )));
        }
        options.retain(|(k, _)| k != name);
        options.push((name.to_string(), value));
    }
    Ok(options)
}

/// The URL's options with the TXT record's added where the URL has none.
pub fn merge(url: &[(String, String)], txt: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut out = url.to_vec();
    for (k, v) in txt {
        if !out.iter().any(|(u, _)| u.eq_ignore_ascii_case(&k)) {
            out.push((k, v));
        }
    }
    out
}

fn option<'a>(config: &'a ConnectConfig, name: &str) -> Option<&'a str> {
    config
        .options
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `srvMaxHosts`: a non-negative integer, 0 (no limit) by default.
pub fn max_hosts(config: &ConnectConfig) -> Result<u32> {
    match option(config, "srvMaxHosts") {
        None => Ok(0),
        Some(v) => v
            .parse::<u32>()
            .map_err(|_| Error::invalid(format!("srvMaxHosts={v}: expected a non-negative integer"))),
    }
}

/// Turns a `mongodb+srv` config into the config of its seed list: the
/// hosts from `srv(name)`, the options merged with `txt(hostname)`. The
/// scheme stays `mongodb+srv`, so the option checks that depend on it
/// still apply. Nothing is looked up when the URL breaks a rule.
pub fn resolve(
    config: &ConnectConfig,
    srv: impl FnOnce(&str) -> Result<Vec<SrvRecord>>,
    txt: impl FnOnce(&str) -> Result<Vec<Vec<String>>>,
    random: impl FnMut(usize) -> usize,
) -> Result<ConnectConfig> {
    let host = check_hosts(&config.hosts)?;
    let service = option(config, "srvServiceName").unwrap_or(DEFAULT_SERVICE);
    check_service_name(service)?;
    let max = max_hosts(config)?;
    let query = srv_name(service, &host);
    let records = srv(&query)?;
    let txt = txt_options(&host.hostname, &txt(&host.hostname)?)?;
    let hosts = seeds(&host, &query, &records, max, random)?;
    Ok(ConnectConfig {
        hosts,
        options: merge(&config.options, txt),
        ..config.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use driverbox_guest_sdk::types::TlsMode;
    use driverbox_guest_sdk::ErrorKind;

    fn endpoint(host: &str, port: u16, given: bool) -> Endpoint {
        Endpoint {
            host: host.into(),
            port,
            port_given: given,
        }
    }

    fn config(host: &str, options: &[(&str, &str)]) -> ConnectConfig {
        ConnectConfig {
            scheme: SCHEME.into(),
            hosts: vec![endpoint(host, 27017, false)],
            user: None,
            password: None,
            database: Some("app".into()),
            tls: TlsMode::VerifyFull,
            application_name: None,
            options: options.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    fn srv(port: u16, target: &str) -> SrvRecord {
        SrvRecord {
            priority: 0,
            weight: 0,
            port,
            target: target.into(),
        }
    }

    fn host(name: &str) -> SrvHost {
        check_hosts(&[endpoint(name, 27017, false)]).unwrap()
    }

    #[test]
    fn one_host_name_without_a_port() {
        assert_eq!(
            host("Cluster7.Shop.Example.org."),
            SrvHost {
                hostname: "cluster7.shop.example.org".into(),
                domain: "shop.example.org".into()
            }
        );
        let two = check_hosts(&[
            endpoint("a.example.org", 27017, false),
            endpoint("b.example.org", 27017, false),
        ])
        .unwrap_err();
        assert_eq!(two.kind(), ErrorKind::InvalidInput);
        assert!(two.message().contains("exactly one host"), "{}", two.message());
        assert!(check_hosts(&[]).is_err());
        // A port, even the default one written out, is refused.
        let port = check_hosts(&[endpoint("a.example.org", 27017, true)]).unwrap_err();
        assert!(port.message().contains("no port"), "{}", port.message());
        for bad in ["127.0.0.1", "::1", "a..example.org", ".example.org"] {
            assert!(check_hosts(&[endpoint(bad, 27017, false)]).is_err(), "{bad}");
        }
        assert!(check_hosts(&[endpoint(&format!("{}.example.org", "x".repeat(64)), 27017, false)]).is_err());
    }

    #[test]
    fn fewer_than_three_labels_is_its_own_domain() {
        assert_eq!(host("localhost").domain, "localhost");
        assert_eq!(host("mongo.local").domain, "mongo.local");
        assert_eq!(host("a.b.c").domain, "b.c");
    }

    #[test]
    fn targets_must_be_under_the_domain() {
        let h = host("cluster7.shop.example.org");
        assert_eq!(
            check_target(&h, "node1.shop.example.org.").unwrap(),
            "node1.shop.example.org"
        );
        assert!(check_target(&h, "a.b.shop.example.org").is_ok());
        assert!(check_target(&h, "NODE1.SHOP.EXAMPLE.ORG").is_ok());
        // A sibling of the host is fine, the host itself too (it is under the domain).
        assert!(check_target(&h, "cluster7.shop.example.org").is_ok());
        for bad in [
            "node1.example.org",
            "node1.evil.org",
            "shop.example.org",
            "node1.badshop.example.org.evil",
            "node1shop.example.org",
            "x..shop.example.org",
            ".shop.example.org",
            ".",
            "",
        ] {
            let e = check_target(&h, bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Connection, "{bad}");
        }
        let e = check_target(&h, "node1.evil.org").unwrap_err();
        assert!(e.message().contains("node1.evil.org") && e.message().contains("shop.example.org"));
    }

    #[test]
    fn short_host_names_need_one_more_label() {
        let h = host("localhost");
        assert!(check_target(&h, "db1.localhost").is_ok());
        assert!(check_target(&h, "localhost").is_err());
        assert!(check_target(&h, "db1.otherhost").is_err());
        let h = host("mongo.local");
        assert!(check_target(&h, "db1.mongo.local").is_ok());
        assert!(check_target(&h, "mongo.local").is_err());
        assert!(check_target(&h, "db1.local").is_err());
    }

    #[test]
    fn service_names() {
        for ok in ["mongodb", "customname", "a-b", "x1", &"s".repeat(62)] {
            assert!(check_service_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "a--b", "123", "a_b", "a.b", &"s".repeat(63)] {
            assert_eq!(
                check_service_name(bad).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad}"
            );
        }
        assert_eq!(
            srv_name("mongodb", &host("c.example.org")),
            "_mongodb._tcp.c.example.org"
        );
    }

    #[test]
    fn seed_list_from_the_answer() {
        let h = host("c.example.org");
        let records = [
            srv(27018, "n1.example.org."),
            srv(27019, "n2.example.org"),
            srv(27018, "n1.example.org"),
        ];
        let s = seeds(&h, "q", &records, 0, |_| 0).unwrap();
        let got: Vec<(&str, u16)> = s.iter().map(|e| (e.host.as_str(), e.port)).collect();
        assert_eq!(got, vec![("n1.example.org", 27018), ("n2.example.org", 27019)]);
        let e = seeds(&h, "_mongodb._tcp.c.example.org", &[], 0, |_| 0).unwrap_err();
        assert!(e.message().contains("no SRV records for _mongodb._tcp.c.example.org"));
        // One bad target refuses the whole answer.
        let mixed = [srv(1, "n1.example.org"), srv(2, "n2.elsewhere.org")];
        assert!(seeds(&h, "q", &mixed, 0, |_| 0).is_err());
        assert!(seeds(&h, "q", &[srv(0, "n1.example.org")], 0, |_| 0).is_err());
    }

    #[test]
    fn srv_max_hosts_picks_at_random() {
        let h = host("c.example.org");
        let records: Vec<SrvRecord> = (1..=5).map(|i| srv(27000 + i, &format!("n{i}.example.org"))).collect();
        // 0, or as many as there are or more: all, in order.
        for max in [0, 5, 9] {
            assert_eq!(seeds(&h, "q", &records, max, |_| 0).unwrap().len(), 5);
        }
        // Fewer: that many, distinct, chosen by the random numbers.
        let mut calls = Vec::new();
        let two = seeds(&h, "q", &records, 2, |n| {
            calls.push(n);
            n - 1
        })
        .unwrap();
        assert_eq!(two.len(), 2);
        assert_eq!(calls, vec![5, 4, 3, 2], "Fisher-Yates asks for one number per position");
        let other = seeds(&h, "q", &records, 2, |_| 0).unwrap();
        assert_ne!(
            two.iter().map(|e| e.port).collect::<Vec<_>>(),
            other.iter().map(|e| e.port).collect::<Vec<_>>()
        );
        let c = config("c.example.org", &[("srvMaxHosts", "-1")]);
        assert!(max_hosts(&c).is_err());
        assert_eq!(max_hosts(&config("c.example.org", &[("srvMaxHosts", "3")])).unwrap(), 3);
        assert_eq!(max_hosts(&config("c.example.org", &[])).unwrap(), 0);
    }

    #[test]
    fn txt_records() {
        let one = |parts: &[&str]| vec![parts.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
        assert_eq!(txt_options("h", &[]).unwrap(), vec![]);
        // The strings of one record are joined before parsing.
        let got = txt_options("h", &one(&["replicaSet=rs0&auth", "Source=adm%69n"])).unwrap();
        assert_eq!(
            got,
            vec![
                ("replicaSet".to_string(), "rs0".to_string()),
                ("authSource".to_string(), "admin".to_string())
            ]
        );
        assert_eq!(
            txt_options("h", &one(&["loadbalanced=true"])).unwrap(),
            vec![("loadBalanced".to_string(), "true".to_string())]
        );
        // Two records, another option (TLS included), or a malformed pair: errors.
        let two = txt_options("h", &[vec!["authSource=a".into()], vec!["replicaSet=b".into()]]).unwrap_err();
        assert!(two.message().contains("2 TXT records"), "{}", two.message());
        for bad in [
            "connectTimeoutMS=300000",
            "tls=false",
            "ssl=false",
            "authSource",
            "authSource=",
            "replicaSet=%zz",
        ] {
            let e = txt_options("h", &one(&[bad])).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
        }
        let e = txt_options("h", &one(&["authSource=a&socketTimeoutMS=1"])).unwrap_err();
        assert!(
            e.message().contains("socketTimeoutMS") && e.message().contains("authSource, replicaSet, loadBalanced")
        );
    }

    #[test]
    fn url_options_win_over_txt() {
        let url = vec![("authSource".to_string(), "fromurl".to_string())];
        let txt = vec![
            ("authSource".to_string(), "fromtxt".to_string()),
            ("replicaSet".to_string(), "rs0".to_string()),
        ];
        assert_eq!(
            merge(&url, txt),
            vec![
                ("authSource".to_string(), "fromurl".to_string()),
                ("replicaSet".to_string(), "rs0".to_string())
            ]
        );
    }

    #[test]
    fn resolve_asks_the_right_names_and_builds_the_seed_list() {
        let c = config("c0.example.org", &[("authSource", "admin")]);
        let out = resolve(
            &c,
            |q| {
                assert_eq!(q, "_mongodb._tcp.c0.example.org");
                Ok(vec![srv(27017, "a.example.org"), srv(27018, "b.example.org")])
            },
            |q| {
                assert_eq!(q, "c0.example.org");
                Ok(vec![vec!["authSource=other&replicaSet=rs0".into()]])
            },
            |_| 0,
        )
        .unwrap();
        assert_eq!(out.hosts.len(), 2);
        assert!(out.hosts.iter().all(|h| h.port_given));
        assert_eq!(out.scheme, SCHEME);
        assert_eq!(out.tls, TlsMode::VerifyFull);
        assert_eq!(
            out.options,
            vec![
                ("authSource".to_string(), "admin".to_string()),
                ("replicaSet".to_string(), "rs0".to_string())
            ]
        );
        // srvServiceName names the SRV query.
        let c = config("c0.example.org", &[("srvServiceName", "custom")]);
        let out = resolve(
            &c,
            |q| {
                assert_eq!(q, "_custom._tcp.c0.example.org");
                Ok(vec![srv(1, "a.example.org")])
            },
            |_| Ok(vec![]),
            |_| 0,
        )
        .unwrap();
        assert_eq!(out.hosts[0].host, "a.example.org");
    }

    #[test]
    fn nothing_is_looked_up_for_a_bad_url_and_lookup_errors_pass_through() {
        let mut bad = config("c0.example.org", &[]);
        bad.hosts[0].port_given = true;
        let never = |_: &str| -> Result<Vec<SrvRecord>> { panic!("no lookup for a bad URL") };
        let never_txt = |_: &str| -> Result<Vec<Vec<String>>> { panic!("no lookup for a bad URL") };
        assert!(resolve(&bad, never, never_txt, |_| 0).is_err());
        let bad = config("c0.example.org", &[("srvServiceName", "bad_name")]);
        assert!(resolve(&bad, never, never_txt, |_| 0).is_err());
        let bad = config("c0.example.org", &[("srvMaxHosts", "x")]);
        assert!(resolve(&bad, never, never_txt, |_| 0).is_err());
        let c = config("c0.example.org", &[]);
        let e = resolve(
            &c,
            |_| {
                Err(Error::connection(
                    "DNS: _mongodb._tcp.c0.example.org does not exist (NXDOMAIN)",
                ))
            },
            never_txt,
            |_| 0,
        )
        .unwrap_err();
        assert!(e.message().contains("NXDOMAIN"));
        let e = resolve(
            &c,
            |_| Ok(vec![srv(1, "a.example.org")]),
            |_| Ok(vec![vec!["a=b".into()], vec!["c=d".into()]]),
            |_| 0,
        )
        .unwrap_err();
        assert!(e.message().contains("TXT"));
    }
}
