//! capabilities: transactions, savepoints, prepared statements.

use super::*;
use crate::capabilities;
use driverbox_guest_sdk::types::{IsolationLevel, TransactionOptions};

fn opts(isolation: Option<IsolationLevel>, read_only: bool, deferrable: bool) -> TransactionOptions {
    TransactionOptions {
        isolation,
        read_only,
        deferrable,
    }
}

#[test]
fn transactions_and_savepoints() {
    let Some(mut c) = connect() else { return };
    fresh_schema(&mut c, "dbx_tx");
    c.run("create table dbx_tx.t (id int primary key)").unwrap();

    assert!(!c.in_transaction());
    let e = capabilities::commit(&mut c).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::InvalidInput);
    let e = capabilities::rollback(&mut c).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::InvalidInput);
    let e = capabilities::savepoint(&mut c, driverbox_guest_sdk::tx::Savepoint::Set, "s").unwrap_err();
    assert_eq!(kind(&e), ErrorKind::InvalidInput);

    capabilities::begin_transaction(&mut c, &opts(None, false, false)).unwrap();
    assert!(c.in_transaction());
    let e = capabilities::begin_transaction(&mut c, &opts(None, false, false)).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::InvalidInput);
    c.execute("insert into dbx_tx.t values (1)", &[]).unwrap();
    capabilities::savepoint(&mut c, driverbox_guest_sdk::tx::Savepoint::Set, "before \"two\"").unwrap();
    c.execute("insert into dbx_tx.t values (2)", &[]).unwrap();
    capabilities::savepoint(&mut c, driverbox_guest_sdk::tx::Savepoint::RollbackTo, "before \"two\"").unwrap();
    capabilities::savepoint(&mut c, driverbox_guest_sdk::tx::Savepoint::Release, "before \"two\"").unwrap();
    let e = capabilities::savepoint(&mut c, driverbox_guest_sdk::tx::Savepoint::RollbackTo, "nope").unwrap_err();
    assert_eq!(kind(&e), ErrorKind::UndefinedObject);
    assert_eq!(c.transaction_status(), b'E');
    // A commit of a failed transaction rolls it back: reported as an error.
    let e = capabilities::commit(&mut c).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Other);
    assert!(!c.in_transaction());
    assert_eq!(
        dbg(scalar(&mut c, "select count(*) from dbx_tx.t", &[])),
        dbg(Value::Int(0))
    );

    capabilities::begin_transaction(&mut c, &opts(Some(IsolationLevel::RepeatableRead), false, false)).unwrap();
    assert_eq!(
        dbg(scalar(&mut c, "show transaction_isolation", &[])),
        dbg(text("repeatable read"))
    );
    c.execute("insert into dbx_tx.t values (1)", &[]).unwrap();
    capabilities::savepoint(&mut c, driverbox_guest_sdk::tx::Savepoint::Set, "s1").unwrap();
    c.execute("insert into dbx_tx.t values (2)", &[]).unwrap();
    assert!(c.execute("insert into dbx_tx.t values (2)", &[]).is_err());
    capabilities::savepoint(&mut c, driverbox_guest_sdk::tx::Savepoint::RollbackTo, "s1").unwrap();
    assert_eq!(c.transaction_status(), b'T');
    capabilities::commit(&mut c).unwrap();
    assert_eq!(
        dbg(scalar(&mut c, "select count(*) from dbx_tx.t", &[])),
        dbg(Value::Int(1))
    );

    capabilities::begin_transaction(&mut c, &opts(Some(IsolationLevel::Serializable), true, true)).unwrap();
    assert_eq!(dbg(scalar(&mut c, "show transaction_read_only", &[])), dbg(text("on")));
    assert_eq!(dbg(scalar(&mut c, "show transaction_deferrable", &[])), dbg(text("on")));
    let e = c.execute("insert into dbx_tx.t values (5)", &[]).unwrap_err();
    assert_eq!(server(&e).code, "25006");
    capabilities::rollback(&mut c).unwrap();

    capabilities::begin_transaction(&mut c, &opts(Some(IsolationLevel::ReadUncommitted), false, false)).unwrap();
    c.execute("insert into dbx_tx.t values (9)", &[]).unwrap();
    capabilities::rollback(&mut c).unwrap();
    assert_eq!(
        dbg(scalar(&mut c, "select count(*) from dbx_tx.t", &[])),
        dbg(Value::Int(1))
    );
    // A transaction opened with SQL counts too.
    c.execute("begin", &[]).unwrap();
    assert!(c.in_transaction());
    c.execute("commit", &[]).unwrap();
    assert!(!c.in_transaction());
    let e = capabilities::savepoint(&mut c, driverbox_guest_sdk::tx::Savepoint::Set, "").unwrap_err();
    assert_eq!(kind(&e), ErrorKind::InvalidInput);
    drop_schema(&mut c, "dbx_tx");
}

#[test]
fn prepared_statements() {
    let Some(mut c) = connect() else { return };
    let p = capabilities::prepare(&mut c, "select $1::int4 + $2::int8 as sum, $3::text as t").unwrap();
    assert_eq!(p.param_types, vec!["int4", "int8", "text"]);
    let cols: Vec<_> = p
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.database_type.as_str()))
        .collect();
    assert_eq!(cols, vec![("sum", "int8"), ("t", "text")]);
    for i in 0..3 {
        let r = capabilities::execute_prepared(&mut c, p.id, &[Value::Int(i), Value::Int(10), text("x")]).unwrap();
        assert_eq!(dbg(r.rows().unwrap()), dbg(vec![vec![Value::Int(i + 10), text("x")]]));
    }
    let e = capabilities::execute_prepared(&mut c, p.id, &[Value::Int(1)]).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::InvalidInput);
    let e = capabilities::execute_prepared(&mut c, 9999, &[]).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::InvalidInput);
    let p2 = capabilities::prepare(&mut c, "select 1").unwrap();
    assert_ne!(p.id, p2.id);
    let name = format!("dbx_p{}", p.id);
    let n = scalar(
        &mut c,
        "select count(*) from pg_prepared_statements where name = $1",
        &[text(&name)],
    );
    assert_eq!(dbg(n), dbg(Value::Int(1)));
    c.deallocate(p.id).unwrap();
    let n = scalar(
        &mut c,
        "select count(*) from pg_prepared_statements where name = $1",
        &[text(&name)],
    );
    assert_eq!(dbg(n), dbg(Value::Int(0)));
    let e = c.deallocate(p.id).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::InvalidInput);
    let e = capabilities::prepare(&mut c, "select from nowhere_at_all").unwrap_err();
    assert_eq!(kind(&e), ErrorKind::UndefinedObject);
    still_usable(&mut c);
}
