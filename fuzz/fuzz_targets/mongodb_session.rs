//! A whole MongoDB session against a server whose every byte comes from
//! the fuzzer: `hello` (and the start of SCRAM when the first byte's top
//! bit asks for a user), then a command as text with its cursor's
//! `getMore`s, a write, `listCollections`, `listDatabases`, a cursor
//! opened, read and closed, a count. Errors are fine; panics are not.
#![no_main]

use std::rc::Rc;

use driverbox_guest_sdk::io::{RawSocket, Stream};
use driverbox_guest_sdk::types::{ConnectConfig, CursorRequest, Endpoint, FindOptions, TlsMode};
use driverbox_guest_sdk::{Driver, Error, NoSqlOperations, Result};
use driverbox_mongodb::connection::Connection;
use driverbox_mongodb::options::Options;
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

/// `{}` and `{"a": 1}` as BSON.
const EMPTY: [u8; 5] = [5, 0, 0, 0, 0];
const ONE: [u8; 12] = [12, 0, 0, 0, 0x10, b'a', 0, 1, 0, 0, 0, 0];

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
        scheme: "mongodb".into(),
        hosts: vec![Endpoint {
            host: "fuzz".into(),
            port: 27017,
            port_given: true,
        }],
        user: (first & 0x80 != 0).then(|| "u".into()),
        password: Some("pw".into()),
        database: Some("test".into()),
        tls: TlsMode::Disable,
        application_name: None,
        options: vec![],
    };
    let options = Options::from_config(&config).expect("options");
    let Ok(mut conn) = Connection::startup(Stream::new(Box::new(socket)), &config, &options) else {
        return;
    };
    let _ = Driver::query(&mut conn, r#"{"find": "c"}"#, vec![]);
    let _ = Driver::execute(&mut conn, r#"{"insert": "c", "documents": [{"a": 1}]}"#, vec![]);
    let _ = conn.list_collections(None);
    let _ = conn.list_databases();
    let find = CursorRequest::Find((
        EMPTY.to_vec(),
        FindOptions {
            projection: None,
            sort: None,
            limit: None,
            skip: None,
        },
    ));
    if conn.cursor_open("c".into(), find, 2).is_ok() {
        while let Ok(Some(_)) = conn.cursor_next() {}
        let _ = conn.cursor_close();
    }
    let _ = conn.count("c".into(), None);
    let _ = conn.insert("c".into(), ONE.to_vec(), true);
});
