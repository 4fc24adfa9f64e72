//! extension bulk operations and database/schema management.

use super::*;
use crate::extension;
use driverbox_guest_sdk::types::Interval;

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn bulk_insert_update_delete() {
    let Some(mut c) = connect() else { return };
    fresh_schema(&mut c, "dbx_bulk");
    c.run(
        "create table dbx_bulk.t (id int primary key, name text, data bytea, ts timestamptz, \
         tags text[], grid int[], doc jsonb, j json, amount numeric, d date, iv interval, \
         u uuid, f float8, ok bool, score int check (score >= 0))",
    )
    .unwrap();
    let cols = names(&[
        "id", "name", "data", "ts", "tags", "grid", "doc", "j", "amount", "d", "iv", "u", "f", "ok", "score",
    ]);
    let row = |i: i64| {
        vec![
            Value::Int(i),
            if i % 7 == 0 {
                Value::Null
            } else {
                text(&format!("name\t{i}\n\\ \r \"x\" é"))
            },
            Value::Bytes(vec![0, 9, 10, 13, 92, (i % 256) as u8]),
            Value::Timestamptz(1_700_000_000_000_000 + i),
            Value::Json(format!(r#"["a,b","q\"{i}",null,"NULL"]"#)),
            Value::Json("[[1,null],[3,4]]".into()),
            Value::Json(format!(r#"{{"i": {i}, "s": "tab\there"}}"#)),
            Value::Json(r#"[1, "two"]"#.into()),
            Value::Decimal(format!("{i}.000000000000000000001")),
            Value::Date(i as i32),
            Value::Interval(Interval {
                months: 1,
                days: -2,
                microseconds: i,
            }),
            Value::Uuid((i as u64, u64::MAX)),
            Value::Float(if i == 3 { f64::NAN } else { i as f64 / 3.0 }),
            Value::Boolean(i % 2 == 0),
            Value::Int(i),
        ]
    };
    let rows: Vec<_> = (1..=10_000).map(row).collect();
    let n = super::bulk_insert_rows(&mut c, Some("dbx_bulk"), "t", &cols, &rows).unwrap();
    assert_eq!(n, 10_000);
    let out = c.query("select * from dbx_bulk.t order by id", &[]).unwrap();
    assert_eq!(out.rows().unwrap().len(), 10_000);
    for (i, got) in out.rows().unwrap().iter().enumerate() {
        let mut want = rows[i].clone();
        // jsonb normalizes, json keeps the text.
        want[6] = Value::Json(format!(r#"{{"i": {}, "s": "tab\there"}}"#, i + 1));
        assert_eq!(dbg(got), dbg(&want), "row {}", i + 1);
    }

    // A value that cannot be encoded at the end: CopyFail, nothing written.
    let mut bad: Vec<_> = (20_001..=30_000).map(row).collect();
    bad[9_999][1] = text("NUL \0 cannot be sent");
    let e = super::bulk_insert_rows(&mut c, Some("dbx_bulk"), "t", &cols, &bad).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::InvalidInput);
    assert!(
        matches!(&e, Error::Client(m) if m.message.starts_with("row 10000")),
        "{e:?}"
    );
    assert_eq!(
        dbg(scalar(&mut c, "select count(*) from dbx_bulk.t", &[])),
        dbg(Value::Int(10_000))
    );
    // A server-side failure (duplicate key) also leaves nothing.
    let dup: Vec<_> = (10_000..=10_100).map(row).collect();
    let e = super::bulk_insert_rows(&mut c, Some("dbx_bulk"), "t", &cols, &dup).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::UniqueViolation);
    assert_eq!(
        dbg(scalar(&mut c, "select count(*) from dbx_bulk.t", &[])),
        dbg(Value::Int(10_000))
    );
    // Batch shape and identifier checks happen first: two column
    // descriptions for a batch of one column.
    let (mut columns, batch) = super::batch_of(&cols[..1], &[vec![Value::Int(1)]]);
    columns.push(columns[0].clone());
    let e = crate::extension::bulk_insert(&mut c, Some("dbx_bulk"), "t", &columns, &batch).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::InvalidInput);
    assert_eq!(
        super::bulk_insert_rows(&mut c, Some("dbx_bulk"), "t", &cols, &[]).unwrap(),
        0
    );

    // Bulk update: keys then values, one atomic pipeline.
    let updates: Vec<_> = (1..=5000)
        .map(|i| vec![Value::Int(i), text(&format!("u{i}")), Value::Int(i * 2)])
        .collect();
    let n = super::bulk_update_rows(
        &mut c,
        Some("dbx_bulk"),
        "t",
        &names(&["id"]),
        &names(&["name", "score"]),
        &updates,
    )
    .unwrap();
    assert_eq!(n, 5000);
    assert_eq!(
        dbg(scalar(&mut c, "select name from dbx_bulk.t where id = 4321", &[])),
        dbg(text("u4321"))
    );
    // Missing keys count nothing.
    let n = super::bulk_update_rows(
        &mut c,
        Some("dbx_bulk"),
        "t",
        &names(&["id"]),
        &names(&["score"]),
        &[vec![Value::Int(-5), Value::Int(1)]],
    )
    .unwrap();
    assert_eq!(n, 0);
    // One failing row (check constraint) in the last chunk: nothing changes.
    let mut failing: Vec<_> = (1..=2500).map(|i| vec![Value::Int(i), Value::Int(7)]).collect();
    failing[2400][1] = Value::Int(-1);
    let e = super::bulk_update_rows(
        &mut c,
        Some("dbx_bulk"),
        "t",
        &names(&["id"]),
        &names(&["score"]),
        &failing,
    )
    .unwrap_err();
    assert_eq!(kind(&e), ErrorKind::CheckViolation);
    assert_eq!(
        dbg(scalar(&mut c, "select count(*) from dbx_bulk.t where score = 7", &[])),
        dbg(Value::Int(0))
    );
    // An encoding failure sends nothing.
    failing[2400][1] = Value::Int(i64::MAX);
    let e = super::bulk_update_rows(
        &mut c,
        Some("dbx_bulk"),
        "t",
        &names(&["id"]),
        &names(&["score"]),
        &failing,
    )
    .unwrap_err();
    assert_eq!(kind(&e), ErrorKind::InvalidInput);
    assert_eq!(
        dbg(scalar(&mut c, "select count(*) from dbx_bulk.t where score = 7", &[])),
        dbg(Value::Int(0))
    );

    // Bulk delete by composite key.
    let keys: Vec<_> = (1..=3000).map(|i| vec![Value::Int(i), Value::Int(i * 2)]).collect();
    let n = super::bulk_delete_rows(&mut c, Some("dbx_bulk"), "t", &names(&["id", "score"]), &keys).unwrap();
    assert_eq!(n, 3000);
    let n = super::bulk_delete_rows(
        &mut c,
        Some("dbx_bulk"),
        "t",
        &names(&["id"]),
        &[vec![Value::Int(9000)], vec![Value::Int(9000)]],
    )
    .unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        dbg(scalar(&mut c, "select count(*) from dbx_bulk.t", &[])),
        dbg(Value::Int(6999))
    );
    let e = super::bulk_delete_rows(&mut c, Some("dbx_bulk"), "t", &[], &[]).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::InvalidInput);
    still_usable(&mut c);

    // Inside a transaction bulk operations join it.
    c.run("begin").unwrap();
    super::bulk_insert_rows(&mut c, Some("dbx_bulk"), "t", &cols, &[row(50_000)]).unwrap();
    c.run("rollback").unwrap();
    assert_eq!(
        dbg(scalar(&mut c, "select count(*) from dbx_bulk.t where id = 50000", &[])),
        dbg(Value::Int(0))
    );
    drop_schema(&mut c, "dbx_bulk");
}

#[test]
fn database_and_schema_management() {
    let Some(mut c) = connect() else { return };
    let db = "dbx test db \"1\"";
    extension::drop_database(&mut c, db, true).unwrap();
    extension::create_database(&mut c, db).unwrap();
    let e = extension::create_database(&mut c, db).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::DuplicateObject);
    assert!(crate::schema::get_databases(&mut c)
        .unwrap()
        .iter()
        .any(|d| d.name == db));
    extension::drop_database(&mut c, db, false).unwrap();
    let e = extension::drop_database(&mut c, db, false).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::UndefinedObject);
    extension::drop_database(&mut c, db, true).unwrap();
    // Not inside a transaction block (the server says so).
    c.run("begin").unwrap();
    assert!(extension::create_database(&mut c, db).is_err());
    c.run("rollback").unwrap();

    let s = "dbx_mgmt";
    extension::drop_schema(&mut c, s, true, true).unwrap();
    extension::create_schema(&mut c, s).unwrap();
    assert_eq!(
        kind(&extension::create_schema(&mut c, s).unwrap_err()),
        ErrorKind::DuplicateObject
    );
    c.run("create table dbx_mgmt.t (id int)").unwrap();
    let e = extension::drop_schema(&mut c, s, false, false).unwrap_err();
    assert_eq!(server(&e).code, "2BP01");
    extension::drop_schema(&mut c, s, false, true).unwrap();
    assert_eq!(
        kind(&extension::drop_schema(&mut c, s, false, false).unwrap_err()),
        ErrorKind::UndefinedObject
    );
    extension::drop_schema(&mut c, s, true, false).unwrap();
    still_usable(&mut c);
}
