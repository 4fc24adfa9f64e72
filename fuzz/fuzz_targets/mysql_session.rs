//! A whole MySQL session against a server whose every byte comes from
//! the fuzzer: greeting, authentication (auth switch, more data), session
//! set-up, queries in the text and binary protocols (a prepared
//! statement), a stream, a script, a ping. Errors are fine; panics are not.
#![no_main]

use std::rc::Rc;

use driverbox_guest_sdk::io::{RawSocket, Stream};
use driverbox_guest_sdk::types::{ConnectConfig, Endpoint, TlsMode, Value};
use driverbox_guest_sdk::{Error, Result};
use driverbox_mysql::connection::Connection;
use libfuzzer_sys::fuzz_target;

/// Replies with the fuzzer's bytes in chunks whose sizes the first byte
/// picks, then end of stream; writes go nowhere.
struct Scripted {
    script: Rc<Vec<u8>>,
    pos: usize,
    chunk: usize,
}

impl RawSocket for Scripted {
    fn read(&mut self, max: u32) -> Result<Vec<u8>> {
        let end = (self.pos + self.chunk)
            .min(self.script.len())
            .min(self.pos + max as usize);
        let out = self.script[self.pos..end].to_vec();
        self.pos = end;
        Ok(out)
    }
    fn write(&mut self, _data: &[u8]) -> Result<()> {
        Ok(())
    }
    fn upgrade_tls(&mut self) -> Result<()> {
        Err(Error::unsupported("no TLS here"))
    }
    fn is_tls(&self) -> bool {
        false
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, script)) = data.split_first() else {
        return;
    };
    let socket = Scripted {
        script: Rc::new(script.to_vec()),
        pos: 0,
        chunk: 1 + (first as usize % 64),
    };
    let config = ConnectConfig {
        scheme: "mysql".into(),
        hosts: vec![Endpoint {
            host: "fuzz".into(),
            port: 3306,
            port_given: true,
        }],
        user: Some("root".into()),
        password: Some("pw".into()),
        database: if first & 0x80 != 0 { Some("test".into()) } else { None },
        tls: TlsMode::Disable,
        application_name: None,
        options: vec![],
    };
    let Ok(mut conn) = Connection::startup(Stream::new(Box::new(socket)), &config) else {
        return;
    };
    let _ = conn.query("select 1", &[]);
    let _ = conn.execute("select ?", &[Value::Int(1)]);
    let _ = conn.query("select ?", &[Value::Text("x".into())]);
    let _ = conn.query("select 1; select 2", &[]);
    if conn.stream_open("select 1", &[], 2).is_ok() {
        while let Ok(Some(_)) = conn.stream_next() {}
        let _ = conn.stream_close();
    }
    let _ = conn.execute_script("select 1");
    let _ = conn.ping();
});
