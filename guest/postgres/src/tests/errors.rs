//! Server errors keep every field, map to the right kind, and leave the
//! session usable; the statement cache survives stale plans and DISCARD.

use super::*;

#[test]
fn syntax_error_with_position() {
    let Some(mut c) = connect() else { return };
    let e = c.query("select 1 frm x", &[]).unwrap_err();
    let s = server(&e);
    assert_eq!(s.code, "42601");
    assert_eq!(s.kind, ErrorKind::Syntax);
    assert_eq!(s.position, Some(14)); // `frm` parses as a column alias
    still_usable(&mut c);
    // The same in a script (simple protocol).
    let e = c.query("select 1; select 1 frm x", &[]).unwrap_err();
    assert_eq!(server(&e).code, "42601");
    still_usable(&mut c);
}

#[test]
fn division_by_zero() {
    let Some(mut c) = connect() else { return };
    let e = c.query("select 1 / $1::int", &[Value::Int(0)]).unwrap_err();
    assert_eq!(server(&e).code, "22012");
    assert_eq!(kind(&e), ErrorKind::Data);
    still_usable(&mut c);
    // An error after some rows were sent.
    let e = c
        .query("select 10 / (5 - g) from generate_series(1, 10) g", &[])
        .unwrap_err();
    assert_eq!(server(&e).code, "22012");
    still_usable(&mut c);
}

#[test]
fn constraint_violations_carry_names() {
    let Some(mut c) = connect() else { return };
    fresh_schema(&mut c, "dbx_errors");
    c.run("create table dbx_errors.p (id int primary key)").unwrap();
    c.run(
        "create table dbx_errors.t (id int constraint t_uniq unique, \
         n int not null default 0, ch int constraint t_pos check (ch > 0), \
         p int constraint t_fk references dbx_errors.p)",
    )
    .unwrap();
    c.execute("insert into dbx_errors.t (id) values ($1)", &[Value::Int(1)])
        .unwrap();
    let e = c
        .execute("insert into dbx_errors.t (id) values ($1)", &[Value::Int(1)])
        .unwrap_err();
    let s = server(&e);
    assert_eq!(s.kind, ErrorKind::UniqueViolation);
    assert_eq!(s.code, "23505");
    assert_eq!(s.constraint_name.as_deref(), Some("t_uniq"));
    assert_eq!(s.table_name.as_deref(), Some("t"));
    assert_eq!(s.schema_name.as_deref(), Some("dbx_errors"));
    assert_eq!(s.detail.as_deref(), Some("Key (id)=(1) already exists."));
    still_usable(&mut c);

    let e = c
        .execute("insert into dbx_errors.t (id, n) values (2, null)", &[])
        .unwrap_err();
    assert_eq!(kind(&e), ErrorKind::NotNullViolation);
    assert_eq!(server(&e).column_name.as_deref(), Some("n"));
    let e = c
        .execute("insert into dbx_errors.t (id, ch) values (3, -1)", &[])
        .unwrap_err();
    assert_eq!(kind(&e), ErrorKind::CheckViolation);
    assert_eq!(server(&e).constraint_name.as_deref(), Some("t_pos"));
    let e = c
        .execute("insert into dbx_errors.t (id, p) values (4, 99)", &[])
        .unwrap_err();
    assert_eq!(kind(&e), ErrorKind::ForeignKeyViolation);
    let e = c.query("select * from dbx_errors.nope", &[]).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::UndefinedObject);
    let e = c.run("create table dbx_errors.t (x int)").unwrap_err();
    assert_eq!(kind(&e), ErrorKind::DuplicateObject);
    still_usable(&mut c);
    drop_schema(&mut c, "dbx_errors");
}

#[test]
fn client_side_refusals_send_nothing() {
    let Some(mut c) = connect() else { return };
    let e = c.query("select $1::int2", &[Value::Int(40_000)]).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::InvalidInput);
    assert!(matches!(&e, Error::Client(m) if m.message.contains("$1")));
    let e = c.query("select $1::int4, $2::int4", &[Value::Int(1)]).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::InvalidInput);
    let e = c.query("select 1\0", &[]).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::InvalidInput);
    let e = c
        .query("select $1::text", &[Value::Document(vec![5, 0, 0, 0, 0])])
        .unwrap_err();
    assert_eq!(kind(&e), ErrorKind::InvalidInput);
    let e = c
        .query("select $1::int[]", &[Value::Json("{\"a\":1}".into())])
        .unwrap_err();
    assert_eq!(kind(&e), ErrorKind::InvalidInput);
    still_usable(&mut c);
}

#[test]
fn errors_in_transactions() {
    let Some(mut c) = connect() else { return };
    c.run("begin").unwrap();
    assert_eq!(c.transaction_status(), b'T');
    assert!(c.query("select 1/0", &[]).is_err());
    assert_eq!(c.transaction_status(), b'E');
    let e = c.query("select 1", &[]).unwrap_err();
    assert_eq!(server(&e).code, "25P02");
    c.run("rollback").unwrap();
    assert_eq!(c.transaction_status(), b'I');
    still_usable(&mut c);
}

#[test]
fn stale_cached_plans_are_prepared_again() {
    let Some(mut c) = connect() else { return };
    fresh_schema(&mut c, "dbx_stale");
    c.run("create table dbx_stale.t (a int)").unwrap();
    c.execute("insert into dbx_stale.t values (1)", &[]).unwrap();
    let sql = "select * from dbx_stale.t";
    assert_eq!(c.query(sql, &[]).unwrap().columns.len(), 1);
    c.run("alter table dbx_stale.t add column b text default 'x'").unwrap();
    // The cached statement's result type changed: one transparent retry.
    let out = c.query(sql, &[]).unwrap();
    assert_eq!(out.columns.len(), 2);
    assert_eq!(dbg(&out.rows().unwrap()[0]), dbg(vec![Value::Int(1), text("x")]));
    // In a transaction a retry is impossible, but the session's own DDL
    // drops the cached statements first: the query sees the new columns
    // and the transaction goes on.
    c.run("begin").unwrap();
    assert_eq!(c.query(sql, &[]).unwrap().columns.len(), 2);
    c.run("alter table dbx_stale.t drop column b").unwrap();
    assert_eq!(c.query(sql, &[]).unwrap().columns.len(), 1);
    c.run("alter table dbx_stale.t add column c int default 7").unwrap();
    let out = c.query(sql, &[]).unwrap();
    assert_eq!(dbg(&out.rows().unwrap()[0]), dbg(vec![Value::Int(1), Value::Int(7)]));
    c.run("commit").unwrap();
    assert_eq!(c.query(sql, &[]).unwrap().columns.len(), 2);
    // DISCARD ALL / DEALLOCATE ALL drop the server's statements: the cache follows.
    c.execute("discard all", &[]).unwrap();
    assert_eq!(c.cached_statements(), 0);
    assert_eq!(c.query(sql, &[]).unwrap().rows().unwrap().len(), 1);
    c.execute("deallocate all", &[]).unwrap();
    assert_eq!(c.query(sql, &[]).unwrap().rows().unwrap().len(), 1);
    // A DEALLOCATE of one of ours by name.
    let name = {
        let out = c
            .query(
                "select name from pg_prepared_statements where statement = $1",
                &[text(sql)],
            )
            .unwrap();
        match &out.rows().unwrap()[0][0] {
            Value::Text(n) => n.clone(),
            other => panic!("{other:?}"),
        }
    };
    c.run(&format!("deallocate {name}")).unwrap();
    assert_eq!(c.query(sql, &[]).unwrap().rows().unwrap().len(), 1);
    drop_schema(&mut c, "dbx_stale");
}

#[test]
fn statement_cache_is_bounded() {
    let Some(mut c) = connect() else { return };
    for i in 0..150 {
        let v = scalar(&mut c, &format!("select {i}::int8 + $1"), &[Value::Int(1)]);
        assert_eq!(dbg(v), dbg(Value::Int(i + 1)));
    }
    assert_eq!(c.cached_statements(), driverbox_guest_sdk::cache::DEFAULT_CAPACITY);
    let n = scalar(
        &mut c,
        "select count(*) from pg_prepared_statements where name like 'dbx_s%'",
        &[],
    );
    assert_eq!(
        dbg(n),
        dbg(Value::Int(driverbox_guest_sdk::cache::DEFAULT_CAPACITY as i64))
    );
    // Evicted ones are prepared again on demand.
    assert_eq!(
        dbg(scalar(&mut c, "select 0::int8 + $1", &[Value::Int(1)])),
        dbg(Value::Int(1))
    );
}

#[test]
fn notices_and_parameter_status_are_handled() {
    let Some(mut c) = connect() else { return };
    c.query("do $$ begin raise notice 'hello'; end $$", &[]).unwrap();
    c.run("set application_name = 'changed'").unwrap();
    assert_eq!(c.server_param("application_name"), Some("changed"));
    assert!(c.server_param("server_version").is_some());
    assert!(c.backend_key().is_some());
    c.ping().unwrap();
    still_usable(&mut c);
}

#[test]
fn fatal_errors_break_the_session() {
    let Some(mut c) = connect() else { return };
    let Some(mut killer) = connect() else { return };
    let (pid, _) = c.backend_key().unwrap();
    killer
        .query("select pg_terminate_backend($1)", &[Value::Int(pid as i64)])
        .unwrap();
    // The server sends FATAL 57P01 and closes the socket.
    let e = c.query("select 1", &[]).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Connection);
    assert!(c.is_broken());
    let e = c.query("select 1", &[]).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Connection);
}
