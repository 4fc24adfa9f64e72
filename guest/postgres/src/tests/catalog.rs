//! schema, table, view, function and column functions on real objects.

use super::*;
use crate::{column, function, schema, table, view};
use driverbox_guest_sdk::types::ConstraintKind;
use driverbox_guest_sdk::types::RoutineKind;
use driverbox_guest_sdk::types::TableKind;
use driverbox_guest_sdk::types::{ColumnChange, ColumnDefinition, DefaultChange};

const SETUP: &str = "
create table dbx_cat.parent (id int primary key, code text unique);
create table dbx_cat.child (
    a int, b int, note varchar(20) default 'n/a', r int4range,
    parent_id int constraint child_parent_fk references dbx_cat.parent (id)
        on update cascade on delete set null,
    constraint child_pk primary key (b, a),
    constraint child_note_check check (length(note) > 0),
    constraint child_no_overlap exclude using gist (r with &&)
);
comment on table dbx_cat.child is 'the child table';
comment on column dbx_cat.child.note is 'a note';
create index child_note_idx on dbx_cat.child (lower(note), a) where a > 0;
create view dbx_cat.v as select a, b from dbx_cat.child;
comment on view dbx_cat.v is 'a view';
create materialized view dbx_cat.mv as select 1 as one;
create function dbx_cat.add(a integer, b integer) returns integer language sql as 'select a + b';
create function dbx_cat.add(a text, b text) returns text language sql as 'select a || b';
create function dbx_cat.solo(x int default 3) returns int language plpgsql as 'begin return x; end';
create procedure dbx_cat.proc(x int) language sql as 'select 1';
create aggregate dbx_cat.mysum(int) (sfunc = int4pl, stype = int, initcond = '0');
create function dbx_cat.win() returns bigint language internal window as 'window_row_number';
insert into dbx_cat.parent values (1, 'one'), (2, 'two');
insert into dbx_cat.child (a, b, parent_id) values (2, 1, 1), (1, 1, 2), (1, 0, null);
analyze dbx_cat.child;
";

#[test]
fn schema_introspection() {
    let Some(mut c) = connect() else { return };
    fresh_schema(&mut c, "dbx_cat");
    c.query(SETUP, &[]).unwrap();

    let dbs = schema::get_databases(&mut c).unwrap();
    let test = dbs.iter().find(|d| d.name == "test").expect("database test");
    assert_eq!(test.encoding.as_deref(), Some("UTF8"));
    assert!(test.owner.is_some());
    assert!(test.size_bytes.unwrap() > 0);
    assert!(!dbs.iter().any(|d| d.name.starts_with("template")));

    let schemas = schema::get_schemas(&mut c).unwrap();
    assert!(schemas.iter().any(|s| s.name == "public"));
    assert!(schemas
        .iter()
        .any(|s| s.name == "dbx_cat" && s.owner.as_deref() == Some("postgres")));
    assert!(!schemas
        .iter()
        .any(|s| s.name.starts_with("pg_") || s.name == "information_schema"));

    let tables = schema::get_tables(&mut c, Some("dbx_cat")).unwrap();
    let names: Vec<_> = tables.iter().map(|t| (t.name.as_str(), t.kind)).collect();
    assert_eq!(
        names,
        vec![
            ("child", TableKind::Table),
            ("mv", TableKind::MaterializedView),
            ("parent", TableKind::Table),
            ("v", TableKind::View)
        ]
    );
    assert_eq!(tables[0].comment.as_deref(), Some("the child table"));
    assert_eq!(tables[0].schema, "dbx_cat");
    // Default schema follows the search path.
    c.run("set search_path = dbx_cat, public").unwrap();
    assert_eq!(schema::get_tables(&mut c, None).unwrap().len(), 4);
    let cols = schema::get_columns(&mut c, None, "child").unwrap();
    c.run("reset search_path").unwrap();
    assert_eq!(cols.len(), 5);

    let cols = schema::get_columns(&mut c, Some("dbx_cat"), "child").unwrap();
    let a = &cols[0];
    assert_eq!((a.name.as_str(), a.ordinal, a.data_type.as_str()), ("a", 1, "integer"));
    assert!(a.primary_key && !a.nullable);
    let note = &cols[2];
    assert_eq!(note.data_type, "character varying(20)");
    assert_eq!(note.default.as_deref(), Some("'n/a'::character varying"));
    assert_eq!(note.comment.as_deref(), Some("a note"));
    assert!(note.nullable && !note.primary_key);
    let e = schema::get_columns(&mut c, Some("dbx_cat"), "nope").unwrap_err();
    assert_eq!(kind(&e), ErrorKind::UndefinedObject);
    let e = schema::get_columns(&mut c, Some("no_such_schema"), "child").unwrap_err();
    assert_eq!(kind(&e), ErrorKind::UndefinedObject);
    assert!(schema::get_columns(&mut c, Some("dbx_cat"), "v").unwrap().len() == 2);
    drop_schema(&mut c, "dbx_cat");
}

#[test]
fn table_operations() {
    let Some(mut c) = connect() else { return };
    fresh_schema(&mut c, "dbx_tab");
    c.query(&SETUP.replace("dbx_cat", "dbx_tab"), &[]).unwrap();

    // Ordered by the primary key (b, a); LIMIT/OFFSET as parameters.
    let page = table::get_table_data(&mut c, Some("dbx_tab"), "child", 2, 1).unwrap();
    assert_eq!(page.columns.len(), 5);
    let keys: Vec<_> = page.rows().unwrap().iter().map(|r| (dbg(&r[1]), dbg(&r[0]))).collect();
    assert_eq!(
        keys,
        vec![
            (dbg(Value::Int(1)), dbg(Value::Int(1))),
            (dbg(Value::Int(1)), dbg(Value::Int(2)))
        ]
    );
    let all = table::get_table_data(&mut c, Some("dbx_tab"), "child", u64::MAX, 0).unwrap();
    assert_eq!(all.rows().unwrap().len(), 3);
    assert_eq!(
        table::get_table_data(&mut c, Some("dbx_tab"), "v", 10, 0)
            .unwrap()
            .rows()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        table::get_table_data(&mut c, Some("dbx_tab"), "mv", 10, 0)
            .unwrap()
            .rows()
            .unwrap()
            .len(),
        1
    );
    let e = table::get_table_data(&mut c, Some("dbx_tab"), "nope", 10, 0).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::UndefinedObject);
    let e = table::get_table_data(&mut c, Some("dbx_tab"), "", 10, 0).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::InvalidInput);

    let cons = table::get_table_constraints(&mut c, Some("dbx_tab"), "child").unwrap();
    let summary: Vec<_> = cons
        .iter()
        .map(|k| (k.name.as_str(), k.kind, k.columns.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "child_pk",
                ConstraintKind::PrimaryKey,
                vec!["b".to_string(), "a".to_string()]
            ),
            (
                "child_parent_fk",
                ConstraintKind::ForeignKey,
                vec!["parent_id".to_string()]
            ),
            ("child_note_check", ConstraintKind::Check, vec!["note".to_string()]),
            ("child_no_overlap", ConstraintKind::Exclusion, vec!["r".to_string()]),
        ]
    );
    let fk = cons[1].references.as_ref().unwrap();
    assert_eq!((fk.schema.as_str(), fk.table.as_str()), ("dbx_tab", "parent"));
    assert_eq!(fk.columns, vec!["id"]);
    assert_eq!((fk.on_update.as_str(), fk.on_delete.as_str()), ("CASCADE", "SET NULL"));
    assert_eq!(cons[2].definition.as_deref(), Some("length(note::text) > 0"));
    assert_eq!(cons[0].definition.as_deref(), Some("PRIMARY KEY (b, a)"));
    assert!(cons[3].definition.as_deref().unwrap().starts_with("EXCLUDE USING gist"));
    let parent = table::get_table_constraints(&mut c, Some("dbx_tab"), "parent").unwrap();
    assert_eq!(parent[1].kind, ConstraintKind::Unique);

    let stats = table::get_table_statistics(&mut c, Some("dbx_tab"), "child", true).unwrap();
    assert_eq!(stats.exact_rows, Some(3));
    assert_eq!(stats.estimated_rows, Some(3));
    assert!(stats.total_size_bytes.unwrap() >= stats.table_size_bytes.unwrap());
    assert!(stats.index_size_bytes.unwrap() > 0);
    assert!(stats.last_analyze.unwrap() > 1_600_000_000_000_000);
    let stats = table::get_table_statistics(&mut c, Some("dbx_tab"), "parent", false).unwrap();
    assert_eq!(stats.exact_rows, None);
    assert_eq!(stats.estimated_rows, None, "never analyzed");
    assert_eq!(stats.last_vacuum, None);

    let idx = table::get_table_indexes(&mut c, Some("dbx_tab"), "child").unwrap();
    let names: Vec<_> = idx.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, vec!["child_no_overlap", "child_note_idx", "child_pk"]);
    let note_idx = &idx[1];
    assert_eq!(note_idx.columns, vec!["lower(note::text)", "a"]);
    assert_eq!(note_idx.predicate.as_deref(), Some("a > 0"));
    assert_eq!(note_idx.method.as_deref(), Some("btree"));
    assert!(!note_idx.unique && !note_idx.primary);
    assert!(note_idx
        .definition
        .as_deref()
        .unwrap()
        .starts_with("CREATE INDEX child_note_idx"));
    assert!(idx[2].primary && idx[2].unique);
    assert_eq!(idx[2].columns, vec!["b", "a"]);
    assert_eq!(idx[0].method.as_deref(), Some("gist"));
    drop_schema(&mut c, "dbx_tab");
}

#[test]
fn views_and_functions() {
    let Some(mut c) = connect() else { return };
    fresh_schema(&mut c, "dbx_fn");
    c.query(&SETUP.replace("dbx_cat", "dbx_fn"), &[]).unwrap();

    let views = view::list_views(&mut c, Some("dbx_fn")).unwrap();
    let v: Vec<_> = views
        .iter()
        .map(|v| (v.name.as_str(), v.materialized, v.comment.clone()))
        .collect();
    assert_eq!(v, vec![("mv", true, None), ("v", false, Some("a view".to_string()))]);
    let def = view::get_view_definition(&mut c, Some("dbx_fn"), "v").unwrap();
    assert!(def.contains("SELECT child.a") || def.contains("SELECT a"), "{def}");
    assert!(view::get_view_definition(&mut c, Some("dbx_fn"), "mv")
        .unwrap()
        .contains("1 AS one"));
    let e = view::get_view_definition(&mut c, Some("dbx_fn"), "child").unwrap_err();
    assert_eq!(kind(&e), ErrorKind::UndefinedObject);

    let fns = function::list_functions(&mut c, Some("dbx_fn")).unwrap();
    let summary: Vec<_> = fns
        .iter()
        .map(|f| {
            (
                f.name.as_str(),
                f.kind,
                f.arguments.as_str(),
                f.return_type.as_deref(),
                f.language.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "add",
                RoutineKind::Function,
                "a integer, b integer",
                Some("integer"),
                "sql"
            ),
            ("add", RoutineKind::Function, "a text, b text", Some("text"), "sql"),
            ("mysum", RoutineKind::Aggregate, "integer", Some("integer"), "internal"),
            ("proc", RoutineKind::Procedure, "IN x integer", None, "sql"),
            (
                "solo",
                RoutineKind::Function,
                "x integer DEFAULT 3",
                Some("integer"),
                "plpgsql"
            ),
            ("win", RoutineKind::Window, "", Some("bigint"), "internal"),
        ]
    );

    let def = function::get_function_definition(&mut c, Some("dbx_fn"), "solo", None).unwrap();
    assert!(
        def.starts_with("CREATE OR REPLACE FUNCTION dbx_fn.solo(x integer DEFAULT 3)"),
        "{def}"
    );
    let e = function::get_function_definition(&mut c, Some("dbx_fn"), "add", None).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::InvalidInput);
    assert!(
        matches!(&e, Error::Client(m) if m.message.contains("add(a integer, b integer)") && m.message.contains("add(a text, b text)"))
    );
    let def = function::get_function_definition(&mut c, Some("dbx_fn"), "add", Some("a text, b text")).unwrap();
    assert!(def.contains("a || b"));
    let def = function::get_function_definition(&mut c, Some("dbx_fn"), "add", Some("int, int")).unwrap();
    assert!(def.contains("a + b"));
    let e = function::get_function_definition(&mut c, Some("dbx_fn"), "add", Some("bool")).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::UndefinedObject);
    let e = function::get_function_definition(&mut c, Some("dbx_fn"), "nope", None).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::UndefinedObject);
    let def = function::get_function_definition(&mut c, Some("dbx_fn"), "proc", None).unwrap();
    assert!(def.starts_with("CREATE OR REPLACE PROCEDURE"));
    let def = function::get_function_definition(&mut c, Some("dbx_fn"), "mysum", None).unwrap();
    assert!(
        def.contains("SFUNC = int4pl") && def.contains("INITCOND = '0'"),
        "{def}"
    );
    // The rebuilt aggregate definition is valid SQL.
    c.run(&def).unwrap();
    still_usable(&mut c);
    drop_schema(&mut c, "dbx_fn");
}

#[test]
fn column_management() {
    let Some(mut c) = connect() else { return };
    fresh_schema(&mut c, "dbx_col");
    c.run("create table dbx_col.t (id int primary key, v text)").unwrap();
    c.execute("insert into dbx_col.t values (1, '10'), (2, 'x')", &[])
        .unwrap();
    let def = |name: &str, ty: &str, nullable, default: Option<&str>| ColumnDefinition {
        name: name.into(),
        data_type: ty.into(),
        nullable,
        default: default.map(Into::into),
    };
    column::add_column(&mut c, Some("dbx_col"), "t", &def("n", "integer", false, Some("7"))).unwrap();
    let e = column::add_column(&mut c, Some("dbx_col"), "t", &def("n", "integer", true, None)).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::DuplicateObject);
    let e = column::add_column(&mut c, Some("dbx_col"), "nope", &def("z", "int", true, None)).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::UndefinedObject);
    let e = column::add_column(
        &mut c,
        Some("dbx_col"),
        "t",
        &def("a; drop table x", "int; drop table dbx_col.t", true, None),
    )
    .unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Syntax, "Parse refuses a second statement");
    let cols = schema::get_columns(&mut c, Some("dbx_col"), "t").unwrap();
    assert_eq!(cols[2].name, "n");
    assert!(!cols[2].nullable);
    assert_eq!(cols[2].default.as_deref(), Some("7"));

    // Several changes, one transaction; a failing change undoes them all.
    let failing = ColumnChange {
        rename_to: Some("renamed".into()),
        data_type: Some("integer".into()),
        using: Some("v::integer".into()),
        nullable: Some(true),
        default: None,
    };
    let e = column::alter_column(&mut c, Some("dbx_col"), "t", "v", &failing).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Data);
    assert!(!c.in_transaction());
    let cols = schema::get_columns(&mut c, Some("dbx_col"), "t").unwrap();
    assert_eq!((cols[1].name.as_str(), cols[1].data_type.as_str()), ("v", "text"));

    c.execute("delete from dbx_col.t where id = 2", &[]).unwrap();
    let change = ColumnChange {
        rename_to: Some("renamed".into()),
        data_type: Some("bigint".into()),
        using: Some("v::bigint".into()),
        nullable: Some(false),
        default: Some(DefaultChange::Set("42".into())),
    };
    column::alter_column(&mut c, Some("dbx_col"), "t", "v", &change).unwrap();
    let cols = schema::get_columns(&mut c, Some("dbx_col"), "t").unwrap();
    assert_eq!(
        (
            cols[1].name.as_str(),
            cols[1].data_type.as_str(),
            cols[1].nullable,
            cols[1].default.as_deref()
        ),
        ("renamed", "bigint", false, Some("42"))
    );

    // Inside an open transaction a savepoint keeps the transaction alive.
    c.run("begin").unwrap();
    let bad = ColumnChange {
        rename_to: Some("r2".into()),
        data_type: Some("no_such_type".into()),
        using: None,
        nullable: None,
        default: Some(DefaultChange::Drop),
    };
    let e = column::alter_column(&mut c, Some("dbx_col"), "t", "renamed", &bad).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::UndefinedObject);
    assert_eq!(c.transaction_status(), b'T');
    let ok = ColumnChange {
        rename_to: Some("r2".into()),
        data_type: None,
        using: None,
        nullable: None,
        default: Some(DefaultChange::Drop),
    };
    column::alter_column(&mut c, Some("dbx_col"), "t", "renamed", &ok).unwrap();
    c.run("commit").unwrap();
    let cols = schema::get_columns(&mut c, Some("dbx_col"), "t").unwrap();
    assert_eq!((cols[1].name.as_str(), cols[1].default.as_deref()), ("r2", None));

    column::drop_column(&mut c, Some("dbx_col"), "t", "r2", false).unwrap();
    let e = column::drop_column(&mut c, Some("dbx_col"), "t", "r2", false).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::UndefinedObject);
    c.run("create view dbx_col.vn as select n from dbx_col.t").unwrap();
    let e = column::drop_column(&mut c, Some("dbx_col"), "t", "n", false).unwrap_err();
    assert_eq!(server(&e).code, "2BP01");
    column::drop_column(&mut c, Some("dbx_col"), "t", "n", true).unwrap();
    assert_eq!(schema::get_columns(&mut c, Some("dbx_col"), "t").unwrap().len(), 1);
    drop_schema(&mut c, "dbx_col");
}
