//! extension streams: portals read in batches.

use super::*;
use crate::extension;

#[test]
fn streams_100k_rows_in_batches() {
    let Some(mut c) = connect() else { return };
    let cols = extension::stream_open(
        &mut c,
        "select g, 'row ' || g, g::numeric / 4 from generate_series(1, $1::int) g",
        &[Value::Int(100_000)],
        1000,
    )
    .unwrap();
    assert_eq!(cols.len(), 3);
    assert_eq!(cols[0].database_type, "int4");
    let mut seen = 0i64;
    let mut batches = 0;
    while let Some(batch) = c.stream_next().unwrap() {
        assert!(batch.rows <= 1000 && batch.rows > 0);
        batches += 1;
        for row in batch_rows(&cols, &batch) {
            seen += 1;
            assert_eq!(dbg(&row[0]), dbg(Value::Int(seen)));
            if seen == 99_999 {
                assert_eq!(dbg(&row[1]), dbg(text("row 99999")));
                assert_eq!(dbg(&row[2]), dbg(Value::Decimal("24999.750000000000".into())));
            }
        }
    }
    assert_eq!(seen, 100_000);
    assert_eq!(batches, 100);
    // The stream is over: a further next is an error, other calls work.
    assert_eq!(kind(&c.stream_next().unwrap_err()), ErrorKind::InvalidInput);
    still_usable(&mut c);
    c.stream_close().unwrap();
}

#[test]
fn closing_halfway_leaves_the_session_ready() {
    let Some(mut c) = connect() else { return };
    extension::stream_open(&mut c, "select g from generate_series(1, 100000) g", &[], 500).unwrap();
    for _ in 0..3 {
        assert_eq!(c.stream_next().unwrap().unwrap().rows as usize, 500);
    }
    // While the stream is open, nothing else may talk to the server.
    let e = c.query("select 1", &[]).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::InvalidInput);
    let e = extension::stream_open(&mut c, "select 1", &[], 10).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::InvalidInput);
    assert_eq!(
        kind(&crate::schema::get_schemas(&mut c).unwrap_err()),
        ErrorKind::InvalidInput
    );
    c.stream_close().unwrap();
    c.stream_close().unwrap();
    still_usable(&mut c);
    assert!(!c.in_transaction());
    // And once more inside a transaction, which stays open.
    c.run("begin").unwrap();
    extension::stream_open(&mut c, "select g from generate_series(1, 10000) g", &[], 100).unwrap();
    assert_eq!(c.stream_next().unwrap().unwrap().rows as usize, 100);
    c.stream_close().unwrap();
    assert_eq!(c.transaction_status(), b'T');
    still_usable(&mut c);
    c.run("commit").unwrap();
}

#[test]
fn stream_edge_cases() {
    let Some(mut c) = connect() else { return };
    // Empty result.
    extension::stream_open(&mut c, "select 1 where false", &[], 10).unwrap();
    assert!(c.stream_next().unwrap().is_none());
    still_usable(&mut c);
    // Exactly one batch.
    extension::stream_open(&mut c, "select g from generate_series(1, 10) g", &[], 10).unwrap();
    assert_eq!(c.stream_next().unwrap().unwrap().rows as usize, 10);
    assert!(c.stream_next().unwrap().is_none());
    // An error in the middle of the stream.
    extension::stream_open(&mut c, "select 1 / (50 - g) from generate_series(1, 100) g", &[], 10).unwrap();
    let mut err = None;
    for _ in 0..10 {
        match c.stream_next() {
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    assert_eq!(server(&err.expect("division by zero")).code, "22012");
    still_usable(&mut c);
    // An error at Bind (bad parameter) and at Parse.
    let e = extension::stream_open(&mut c, "select $1::int", &[text("x")], 10).unwrap_err();
    assert_eq!(server(&e).code, "22P02");
    let e = extension::stream_open(&mut c, "selec 1", &[], 10).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Syntax);
    still_usable(&mut c);
    // Close without a stream, next without a stream.
    c.stream_close().unwrap();
    assert_eq!(kind(&c.stream_next().unwrap_err()), ErrorKind::InvalidInput);
    // A data-changing statement can be streamed too.
    fresh_schema(&mut c, "dbx_stream");
    c.run("create table dbx_stream.t (id int)").unwrap();
    extension::stream_open(
        &mut c,
        "insert into dbx_stream.t select generate_series(1, 5) returning id",
        &[],
        2,
    )
    .unwrap();
    let mut n = 0;
    while let Some(b) = c.stream_next().unwrap() {
        n += b.rows as usize;
    }
    assert_eq!(n, 5);
    assert_eq!(
        dbg(scalar(&mut c, "select count(*) from dbx_stream.t", &[])),
        dbg(Value::Int(5))
    );
    drop_schema(&mut c, "dbx_stream");
}
