//! The host's connection-URL parser (`driverbox_core::config`, what
//! `Runtime::connect` calls) with the URL tables the drivers declare
//! (PostgreSQL, MySQL, MongoDB with its `mongodb+srv` default, DynamoDB)
//! and the host's own for file databases and 0.1 drivers, and `redact`.
//!
//! Input: byte 0 picks the table, byte 1 the environment, the rest is the
//! URL (UTF-8, lossy). The password `Pw9xQ` is planted in the URL by the
//! fuzzer (the seeds hold it) or by the environment. Checked: no panic;
//! `Debug` and `Display` of parsed options do not depend on the password
//! or on secret parameters (`*password*`, `*secret*`, `*token*`): they
//! print the same with other values there; an error never quotes a
//! password that the URL held intact (once, also after percent-decoding)
//! in its userinfo or a `password=` parameter, nor one that came from the
//! environment; `redact` hides an intact userinfo password.
#![no_main]

use driverbox_core::config::{
    legacy_parameters, redact, ConnectOptions, ConnectionSettings, SchemeDefault, Setting, UrlParameter,
};
use driverbox_guest_sdk::types as sdk;
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "Pw9xQ";

fn setting(s: sdk::Setting) -> Setting {
    use sdk::Setting as S;
    match s {
        S::Host => Setting::Host,
        S::Port => Setting::Port,
        S::User => Setting::User,
        S::Password => Setting::Password,
        S::Database => Setting::Database,
        S::TlsMode => Setting::TlsMode,
        S::TlsEnabled => Setting::TlsEnabled,
        S::TlsInsecure => Setting::TlsInsecure,
        S::TlsRootCert => Setting::TlsRootCert,
        S::ConnectTimeoutSeconds => Setting::ConnectTimeoutSeconds,
        S::ConnectTimeoutMilliseconds => Setting::ConnectTimeoutMilliseconds,
        S::ApplicationName => Setting::ApplicationName,
        S::FileMode => Setting::FileMode,
    }
}

/// A driver's table as the host receives it.
fn settings(c: sdk::ConnectionSettings) -> ConnectionSettings {
    ConnectionSettings {
        schemes: c.schemes,
        default_port: c.default_port,
        file_based: c.file_based,
        parameters: c
            .parameters
            .into_iter()
            .map(|p| UrlParameter {
                name: p.name,
                aliases: p.aliases,
                env: p.env,
                default: p.default,
                description: p.description,
                setting: p.setting.map(setting),
            })
            .collect(),
        scheme_defaults: c
            .scheme_defaults
            .into_iter()
            .map(|d| SchemeDefault {
                scheme: d.scheme,
                parameter: d.parameter,
                value: d.value,
            })
            .collect(),
    }
}

fn legacy(schemes: &[&str], file_based: bool, postgres: bool) -> ConnectionSettings {
    ConnectionSettings {
        schemes: schemes.iter().map(|s| s.to_string()).collect(),
        default_port: (!file_based).then_some(4000),
        file_based,
        parameters: legacy_parameters(file_based, postgres),
        scheme_defaults: Vec::new(),
    }
}

fn table(pick: u8) -> ConnectionSettings {
    match pick % 7 {
        0 => settings(driverbox_postgres::traits::metadata().connection),
        1 => settings(driverbox_mysql::traits::metadata().connection),
        2 => settings(driverbox_mongodb::traits::metadata().connection),
        3 => settings(driverbox_dynamodb::traits::metadata().connection),
        4 => legacy(&["sqlite", "file"], true, false),
        5 => legacy(&["postgres", "postgresql"], false, true),
        _ => legacy(&["db"], false, false),
    }
}

/// The environment: nothing, or every variable the drivers read set to
/// something plausible and the password variables to the secret.
fn env(pick: u8) -> impl Fn(&str) -> Option<String> {
    move |k: &str| {
        if pick % 3 == 0 {
            return None;
        }
        let v = match k {
            "PGPASSWORD" | "AWS_SECRET_ACCESS_KEY" | "AWS_SESSION_TOKEN" | "MYSQL_PWD" => SECRET,
            "PGHOST" => "envhost,[::1]:1",
            "PGPORT" => "5433",
            "AWS_REGION" | "AWS_DEFAULT_REGION" => "eu-west-3",
            "AWS_ENDPOINT_URL_DYNAMODB" if pick % 3 == 2 => "http://127.0.0.1:8000",
            _ if pick % 3 == 2 => "x",
            _ => return None,
        };
        Some(v.to_string())
    }
}

/// `%XX` escapes decoded, anything else kept (for the "intact" test only).
fn decoded(url: &str) -> String {
    let b = url.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("password") || k.contains("secret") || k.contains("token")
}

/// The options with the password and secret parameters replaced.
fn other_secrets(o: &ConnectOptions) -> ConnectOptions {
    let mut other = o.clone();
    other.set_password(o.password().map(|p| format!("other-{p}")));
    for (k, v) in &mut other.params {
        if is_secret(k) {
            *v = format!("other-{v}");
        }
    }
    other
}

fuzz_target!(|data: &[u8]| {
    let [pick, env_pick, rest @ ..] = data else {
        return;
    };
    let url = String::from_utf8_lossy(rest);
    let url = url.as_ref();
    let plain = decoded(url);
    let once = url.matches(SECRET).count() == 1 && plain.matches(SECRET).count() == 1;
    let from_env = !plain.contains(SECRET) && env_pick % 3 != 0;
    // The password is intact where the URL gives it: in the userinfo of
    // the authority, or as a `password=` pair of its own.
    let authority = url
        .split_once(':')
        .and_then(|(_, rest)| rest.strip_prefix("//"))
        .map_or("", |rest| rest.split(['/', '?', '#']).next().unwrap_or(""));
    let in_userinfo = once && authority.contains(&format!(":{SECRET}@"));
    let in_param =
        once && (url.contains(&format!("?password={SECRET}")) || url.contains(&format!("&password={SECRET}")));

    let redacted = redact(url);
    if in_userinfo {
        assert!(!redacted.contains(SECRET), "redact({url:?}) = {redacted:?}");
    }

    let settings = table(*pick);
    match ConnectOptions::parse_with_env(url, &settings, env(*env_pick)) {
        Ok(o) => {
            let shown = format!("{o:?} {o}");
            let other = other_secrets(&o);
            assert_eq!(shown, format!("{other:?} {other}"), "{url:?}: a secret shows");
            let _ = (o.host(), o.port());
        }
        Err(e) => {
            let text = e.to_string();
            if in_userinfo || in_param || from_env {
                assert!(!text.contains(SECRET), "{url:?}: the error quotes the password: {text}");
            }
        }
    }
});
