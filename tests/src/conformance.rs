//! The conformance suite every SQL driver must pass: it calls every method
//! of every SQL trait on real data and checks the results, error cases and
//! identifier torture included. What differs between databases lives in
//! [`Expectations`], one value per dialect, all in this file.

use std::collections::BTreeSet;
use std::time::Duration;

use driverbox::api::column::{ColumnChange, ColumnDefinition, DefaultChange};
use driverbox::api::table::ConstraintKind;
use driverbox::{
    BulkOperationsDriver, Capability, ColumnManagement, ConnectionDriver, DatabaseManagementDriver, DriverCapabilities,
    DriverMetadata, ErrorKind, FunctionOperations, HealthCheckDriver, PlaceholderStyle, PoolConfig,
    PreparedStatementDriver, QueryDriver, Runtime, SchemaIntrospection, StreamingDriver, TableOperations,
    TransactionDriver, TransactionOptions, Value, ViewOperations, WasmDriver,
};
use futures::StreamExt;

/// What one database does differently. Everything dialect-specific the
/// suite needs is here.
#[derive(Debug, Clone)]
pub struct Expectations {
    /// Driver name in metadata.
    pub driver: &'static str,
    /// A database `get_databases` lists.
    pub database: &'static str,
    /// Schema the suite creates and works in; `None`: the default one.
    pub schema: Option<&'static str>,
    /// The default schema's name as `get_tables` reports it.
    pub default_schema: &'static str,
    /// Introspected type names of INTEGER, VARCHAR(50), TEXT, BIGINT columns.
    pub integer: &'static str,
    pub varchar50: &'static str,
    pub text: &'static str,
    pub bigint: &'static str,
    /// Whether the primary key shows up in `get_table_indexes` (SQLite's
    /// INTEGER PRIMARY KEY is the rowid, no index).
    pub pk_index_listed: bool,
    /// Longest identifier in bytes, if the database has a limit.
    pub max_identifier_bytes: Option<usize>,
    /// Capabilities the driver must report, and those it must not.
    pub has: &'static [Capability],
    pub lacks: &'static [Capability],
    /// SQL creating function `dbx_add(a integer, b integer)` in the work
    /// schema (`{s}` is the schema prefix), if functions exist.
    pub create_function: Option<&'static str>,
    /// SQL creating an index: `{s}` schema prefix for the index name (SQLite)
    /// or `{t}` for the table (PostgreSQL).
    pub create_index: &'static str,
    /// SQL creating the partial index `child_qty_partial` (`qty > 10`);
    /// `None` where the database has no partial indexes (MySQL).
    pub create_partial_index: Option<&'static str>,
    /// The action a foreign key reports when none was given (InnoDB's
    /// default is RESTRICT, which MySQL names so).
    pub fk_default_action: &'static str,
    /// Arguments, return type and language `list_functions` reports for `dbx_add`.
    pub function_signature: (&'static str, Option<&'static str>, &'static str),
}

/// PostgreSQL.
pub const POSTGRES: Expectations = Expectations {
    driver: "postgres",
    database: "test",
    schema: Some("dbx_conformance"),
    default_schema: "public",
    integer: "integer",
    varchar50: "character varying(50)",
    text: "text",
    bigint: "bigint",
    pk_index_listed: true,
    max_identifier_bytes: Some(63),
    has: &[
        Capability::Schema,
        Capability::Table,
        Capability::Column,
        Capability::View,
        Capability::MaterializedViews,
        Capability::Function,
        Capability::Transactions,
        Capability::Savepoints,
        Capability::PreparedStatements,
        Capability::Streaming,
        Capability::BulkInsert,
        Capability::BulkUpdate,
        Capability::BulkDelete,
        Capability::CreateDatabase,
        Capability::CreateSchema,
    ],
    lacks: &[Capability::NoSql],
    create_function: Some(
        "create function {s}dbx_add(a integer, b integer) returns integer language sql as $$ select a + b $$",
    ),
    create_index: "create index child_note_idx on {s}child (note)",
    create_partial_index: Some("create index child_qty_partial on {s}child (qty) where qty > 10"),
    fk_default_action: "NO ACTION",
    function_signature: ("a integer, b integer", Some("integer"), "sql"),
};

/// SQLite.
pub const SQLITE: Expectations = Expectations {
    driver: "sqlite",
    database: "main",
    schema: None,
    default_schema: "main",
    integer: "INTEGER",
    varchar50: "VARCHAR(50)",
    text: "TEXT",
    bigint: "BIGINT",
    pk_index_listed: false,
    max_identifier_bytes: None,
    has: &[
        Capability::Schema,
        Capability::Table,
        Capability::Column,
        Capability::View,
        Capability::Transactions,
        Capability::Savepoints,
        Capability::PreparedStatements,
        Capability::Streaming,
        Capability::BulkInsert,
        Capability::BulkUpdate,
        Capability::BulkDelete,
    ],
    lacks: &[
        Capability::Function,
        Capability::CreateDatabase,
        Capability::CreateSchema,
        Capability::MaterializedViews,
        Capability::NoSql,
    ],
    create_function: None,
    create_index: "create index {s}child_note_idx on child (note)",
    create_partial_index: Some("create index {s}child_qty_partial on child (qty) where qty > 10"),
    fk_default_action: "NO ACTION",
    function_signature: ("a integer, b integer", Some("integer"), "sql"),
};

/// MySQL and MariaDB (a schema is a database).
pub const MYSQL: Expectations = Expectations {
    driver: "mysql",
    database: "test",
    schema: Some("dbx_conformance"),
    default_schema: "test",
    integer: "int(11)",
    varchar50: "varchar(50)",
    text: "text",
    bigint: "bigint(20)",
    pk_index_listed: true,
    max_identifier_bytes: Some(64),
    has: &[
        Capability::Schema,
        Capability::Table,
        Capability::Column,
        Capability::View,
        Capability::Function,
        Capability::Transactions,
        Capability::Savepoints,
        Capability::PreparedStatements,
        Capability::Streaming,
        Capability::BulkInsert,
        Capability::BulkUpdate,
        Capability::BulkDelete,
        Capability::CreateDatabase,
        Capability::CreateSchema,
    ],
    lacks: &[Capability::MaterializedViews, Capability::NoSql],
    create_function: Some(
        "create function {s}dbx_add(a integer, b integer) returns integer deterministic return a + b",
    ),
    create_index: "create index child_note_idx on {s}child (note(20))",
    create_partial_index: None,
    fk_default_action: "RESTRICT",
    function_signature: ("a int(11), b int(11)", Some("int(11)"), "SQL"),
};

/// One run of the suite against `url`.
pub struct Suite {
    rt: Runtime,
    url: String,
    pub db: WasmDriver,
    pub x: Expectations,
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Decimal(d) | Value::Text(d) => d.parse().unwrap_or_else(|_| panic!("not an integer: {d}")),
        other => panic!("not an integer: {other:?}"),
    }
}

/// The (integer, text) pairs of a two-column record batch.
fn arrow_pairs(batch: &driverbox::arrow_array::RecordBatch) -> Vec<(Option<i64>, Option<String>)> {
    use driverbox::arrow_array::{cast::AsArray, types, Array};
    use driverbox::arrow_schema::DataType;
    let n = batch.column(0);
    let ints: Vec<Option<i64>> = match n.data_type() {
        DataType::Int16 => n
            .as_primitive::<types::Int16Type>()
            .iter()
            .map(|v| v.map(i64::from))
            .collect(),
        DataType::Int32 => n
            .as_primitive::<types::Int32Type>()
            .iter()
            .map(|v| v.map(i64::from))
            .collect(),
        DataType::Int64 => n.as_primitive::<types::Int64Type>().iter().collect(),
        other => panic!("not an integer column: {other}"),
    };
    let labels = batch.column(1).as_string::<i32>();
    let texts = (0..labels.len()).map(|i| labels.is_valid(i).then(|| labels.value(i).to_string()));
    ints.into_iter().zip(texts).collect()
}

/// `$1`, `$2`… (in order) as `?`; other text is kept.
fn placeholders_as_question_marks(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            while chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                chars.next();
            }
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

impl Suite {
    /// Connects and prepares an empty work area.
    pub async fn new(rt: Runtime, url: &str, x: Expectations) -> Suite {
        let pool = PoolConfig {
            max_size: 4,
            ..PoolConfig::default()
        };
        let db = rt.connect_with(url, pool).await.expect("connect");
        Suite {
            rt,
            url: url.to_string(),
            db,
            x,
        }
    }

    /// `schema.` or nothing.
    fn s(&self) -> String {
        self.x.schema.map(|s| format!("{s}.")).unwrap_or_default()
    }

    /// A statement from a template written with `{s}` for the schema
    /// prefix and `$1`, `$2`… for parameters, in the driver's dialect
    /// (its placeholder style from the driver's metadata).
    fn sql(&self, template: &str) -> String {
        let text = template.replace("{s}", &self.s());
        match self.db.info().placeholder_style {
            PlaceholderStyle::DollarNumber => text,
            _ => placeholders_as_question_marks(&text),
        }
    }

    async fn exec(&self, template: &str) {
        let sql = self.sql(template);
        self.db
            .execute(&sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    async fn count(&self, table: &str) -> i64 {
        let r = self
            .db
            .query(&format!("select count(*) from {}{table}", self.s()), &[])
            .await
            .unwrap();
        int(&r.rows[0][0])
    }

    /// Runs every part; each part asserts what it checks.
    pub async fn run(self) {
        self.setup().await;
        self.metadata_and_health().await;
        self.base().await;
        self.schema_introspection().await;
        self.table_operations().await;
        self.error_kinds().await;
        self.column_management().await;
        self.identifiers().await;
        self.views_and_functions().await;
        self.transactions().await;
        self.prepared_statements().await;
        self.streaming().await;
        self.arrow().await;
        self.bulk().await;
        self.database_management().await;
        self.teardown().await;
    }

    async fn setup(&self) {
        if let Some(schema) = self.x.schema {
            self.db.drop_schema(schema, true, true).await.unwrap();
            self.db.create_schema(schema).await.unwrap();
        } else {
            for t in ["child_view", "numbers", "child", "parent", "dbx_tx"] {
                let kind = if t.ends_with("view") { "view" } else { "table" };
                self.db
                    .execute(&format!("drop {kind} if exists {t}"), &[])
                    .await
                    .unwrap();
            }
        }
        self.exec("create table {s}parent (id integer primary key, name varchar(50) not null unique, note text default 'none')").await;
        self.exec(
            "create table {s}child (id integer primary key, parent_id integer references {s}parent (id) on delete cascade, \
             qty integer check (qty >= 0), note text)",
        )
        .await;
        let index = self.x.create_index.replace("{s}", &self.s());
        self.db.execute(&index, &[]).await.unwrap();
        if let Some(partial) = self.x.create_partial_index {
            let partial = partial.replace("{s}", &self.s());
            self.db.execute(&partial, &[]).await.unwrap();
        }
        self.exec("create view {s}child_view as select id, qty from {s}child where qty > 0")
            .await;
        if let Some(f) = self.x.create_function {
            self.exec(f).await;
        }
        self.exec("create table {s}numbers (n integer primary key, label text)")
            .await;
        self.exec("create table {s}dbx_tx (id integer primary key, v text)")
            .await;
        for (id, name) in [(1, "one"), (2, "two"), (3, "three")] {
            let sql = self.sql("insert into {s}parent (id, name) values ($1, $2)");
            assert_eq!(
                self.db
                    .execute(&sql, &[Value::Int(id), Value::from(name)])
                    .await
                    .unwrap(),
                1
            );
        }
        for (id, parent, qty) in [(1, 1, 5), (2, 1, 0), (3, 2, 20), (4, 3, 7), (5, 3, 30)] {
            let sql = self.sql("insert into {s}child (id, parent_id, qty, note) values ($1, $2, $3, $4)");
            let note = Value::Text(format!("note {id}"));
            self.db
                .execute(&sql, &[Value::Int(id), Value::Int(parent), Value::Int(qty), note])
                .await
                .unwrap();
        }
    }

    async fn teardown(&self) {
        match self.x.schema {
            Some(schema) => self.db.drop_schema(schema, false, true).await.unwrap(),
            None => {
                for t in ["child_view", "numbers", "child", "parent", "dbx_tx"] {
                    let kind = if t.ends_with("view") { "view" } else { "table" };
                    self.db.execute(&format!("drop {kind} {t}"), &[]).await.unwrap();
                }
            }
        }
        self.db.close().await;
    }

    async fn metadata_and_health(&self) {
        assert_eq!(self.db.driver_name(), self.x.driver);
        for c in self.x.has {
            assert!(self.db.has_capability(*c), "{} should have {c}", self.x.driver);
        }
        for c in self.x.lacks {
            assert!(!self.db.has_capability(*c), "{} should lack {c}", self.x.driver);
        }
        let health = self.db.health_check().await.unwrap();
        assert!(!health.server_version.is_empty());
        self.db.test_connection().await.unwrap();
    }

    async fn base(&self) {
        let sql = self.sql("update {s}child set note = $1 where parent_id = $2");
        assert_eq!(
            self.db
                .execute(&sql, &[Value::from("updated"), Value::Int(1)])
                .await
                .unwrap(),
            2
        );
        let sql = self.sql("select id, note from {s}child where parent_id = $1 order by id");
        let r = self.db.query(&sql, &[Value::Int(1)]).await.unwrap();
        assert_eq!(
            r.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["id", "note"]
        );
        assert_eq!(
            r.rows,
            vec![
                vec![Value::Int(1), Value::from("updated")],
                vec![Value::Int(2), Value::from("updated")]
            ]
        );
        let r = self
            .db
            .execute_query(&self.sql("select count(*) as n from {s}child"), &[])
            .await
            .unwrap();
        assert_eq!(int(&r.rows[0][0]), 5);
        let r = self
            .db
            .execute_query(&self.sql("delete from {s}child where id = $1"), &[Value::Int(999)])
            .await
            .unwrap();
        assert_eq!((r.columns.len(), r.rows_affected), (0, Some(0)));
        let r = self.db.query("select null as no_value", &[]).await.unwrap();
        assert_eq!(r.rows[0][0], Value::Null);
    }

    async fn schema_introspection(&self) {
        let dbs = self.db.get_databases().await.unwrap();
        assert!(dbs.iter().any(|d| d.name == self.x.database), "databases: {dbs:?}");
        let schemas = self.db.get_schemas().await.unwrap();
        let want = self.x.schema.unwrap_or(self.x.default_schema);
        assert!(schemas.iter().any(|s| s.name == want), "schemas: {schemas:?}");

        let tables = self.db.get_tables(self.x.schema).await.unwrap();
        let names: BTreeSet<&str> = tables.iter().map(|t| t.name.as_str()).collect();
        for t in ["parent", "child", "child_view", "numbers"] {
            assert!(names.contains(t), "{t} in {names:?}");
        }
        let view = tables.iter().find(|t| t.name == "child_view").unwrap();
        assert_eq!(view.kind, driverbox::api::schema::TableKind::View);
        assert!(tables.iter().all(|t| t.schema == want), "{tables:?}");

        let cols = self.db.get_columns(self.x.schema, "parent").await.unwrap();
        let summary: Vec<(&str, &str, bool, bool)> = cols
            .iter()
            .map(|c| (c.name.as_str(), c.data_type.as_str(), c.nullable, c.primary_key))
            .collect();
        assert_eq!(
            summary,
            [
                ("id", self.x.integer, false, true),
                ("name", self.x.varchar50, false, false),
                ("note", self.x.text, true, false)
            ]
        );
        assert_eq!(cols.iter().map(|c| c.ordinal).collect::<Vec<_>>(), [1, 2, 3]);
        assert!(
            cols[2].default.as_deref().unwrap_or_default().contains("'none'"),
            "{:?}",
            cols[2].default
        );
        let err = self.db.get_columns(self.x.schema, "no_such_table").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UndefinedObject, "{err}");
    }

    async fn table_operations(&self) {
        let page = self.db.get_table_data(self.x.schema, "child", 2, 1).await.unwrap();
        assert_eq!(
            page.rows.iter().map(|r| int(&r[0])).collect::<Vec<_>>(),
            [2, 3],
            "ordered by primary key"
        );
        assert_eq!(page.columns.len(), 4);
        let err = self
            .db
            .get_table_data(self.x.schema, "no_such_table", 1, 0)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UndefinedObject, "{err}");

        let cons = self.db.get_table_constraints(self.x.schema, "child").await.unwrap();
        let pk = cons
            .iter()
            .find(|c| c.kind == ConstraintKind::PrimaryKey)
            .expect("primary key");
        assert_eq!(pk.columns, ["id"]);
        let fk = cons
            .iter()
            .find(|c| c.kind == ConstraintKind::ForeignKey)
            .expect("foreign key");
        assert_eq!(fk.columns, ["parent_id"]);
        let target = fk.references.as_ref().expect("fk target");
        assert_eq!(
            (target.table.as_str(), target.columns.clone()),
            ("parent", strings(&["id"]))
        );
        assert_eq!(target.schema, self.x.schema.unwrap_or(self.x.default_schema));
        assert_eq!(
            (target.on_delete.as_str(), target.on_update.as_str()),
            ("CASCADE", self.x.fk_default_action)
        );
        let check = cons.iter().find(|c| c.kind == ConstraintKind::Check).expect("check");
        assert!(
            check.definition.as_deref().unwrap_or_default().contains("qty >= 0"),
            "{check:?}"
        );
        let parent = self.db.get_table_constraints(self.x.schema, "parent").await.unwrap();
        let unique = parent
            .iter()
            .find(|c| c.kind == ConstraintKind::Unique)
            .expect("unique");
        assert_eq!(unique.columns, ["name"]);

        let stats = self
            .db
            .get_table_statistics(self.x.schema, "child", true)
            .await
            .unwrap();
        assert_eq!(stats.exact_rows, Some(5));
        let stats = self
            .db
            .get_table_statistics(self.x.schema, "child", false)
            .await
            .unwrap();
        assert_eq!(stats.exact_rows, None, "no count unless asked");

        let indexes = self.db.get_table_indexes(self.x.schema, "child").await.unwrap();
        let note = indexes.iter().find(|i| i.name == "child_note_idx").expect("note index");
        assert_eq!(
            (note.columns.clone(), note.unique, note.primary),
            (strings(&["note"]), false, false)
        );
        if self.x.create_partial_index.is_some() {
            let partial = indexes
                .iter()
                .find(|i| i.name == "child_qty_partial")
                .expect("partial index");
            assert!(
                partial.predicate.as_deref().unwrap_or_default().contains("qty > 10"),
                "{partial:?}"
            );
        }
        assert_eq!(indexes.iter().any(|i| i.primary), self.x.pk_index_listed);
    }

    async fn error_kinds(&self) {
        let cases = [
            (
                "insert into {s}parent (id, name) values (1, 'dup')",
                ErrorKind::UniqueViolation,
            ),
            (
                "insert into {s}parent (id, name) values (9, 'one')",
                ErrorKind::UniqueViolation,
            ),
            (
                "insert into {s}child (id, parent_id, qty) values (9, 99, 1)",
                ErrorKind::ForeignKeyViolation,
            ),
            (
                "insert into {s}parent (id, name) values (9, null)",
                ErrorKind::NotNullViolation,
            ),
            (
                "insert into {s}child (id, parent_id, qty) values (9, 1, -1)",
                ErrorKind::CheckViolation,
            ),
            ("selec 1", ErrorKind::Syntax),
            ("select * from {s}no_such_table", ErrorKind::UndefinedObject),
            ("select no_such_column from {s}parent", ErrorKind::UndefinedObject),
            ("create table {s}parent (id integer)", ErrorKind::DuplicateObject),
        ];
        for (sql, kind) in cases {
            let sql = self.sql(sql);
            let err = self.db.execute(&sql, &[]).await.unwrap_err();
            assert_eq!(err.kind(), kind, "{sql}: {err}");
            assert!(
                err.as_server_error().is_some_and(|e| !e.code.is_empty()),
                "{sql}: a server code: {err}"
            );
        }
        assert_eq!(self.count("parent").await, 3, "nothing written by the failures");
    }

    async fn column_management(&self) {
        let (s, db) = (self.x.schema, &self.db);
        let extra = ColumnDefinition {
            name: "extra".into(),
            data_type: "integer".into(),
            nullable: true,
            default: Some("7".into()),
        };
        db.add_column(s, "parent", &extra).await.unwrap();
        let err = db.add_column(s, "parent", &extra).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DuplicateObject, "{err}");
        let col = |cols: &[driverbox::api::schema::ColumnInfo], n: &str| cols.iter().find(|c| c.name == n).cloned();
        let cols = db.get_columns(s, "parent").await.unwrap();
        let c = col(&cols, "extra").expect("added");
        assert!(
            c.nullable && c.default.as_deref().unwrap_or_default().contains('7'),
            "{c:?}"
        );
        let r = db
            .query(&self.sql("select extra from {s}parent where id = 1"), &[])
            .await
            .unwrap();
        assert_eq!(int(&r.rows[0][0]), 7, "existing rows got the default");

        let change = ColumnChange {
            rename_to: Some("extra2".into()),
            data_type: Some("bigint".into()),
            using: None,
            nullable: Some(false),
            default: Some(DefaultChange::Drop),
        };
        db.alter_column(s, "parent", "extra", &change).await.unwrap();
        let cols = db.get_columns(s, "parent").await.unwrap();
        assert!(col(&cols, "extra").is_none());
        let c = col(&cols, "extra2").expect("renamed");
        assert_eq!(
            (c.data_type.as_str(), c.nullable, c.default.clone()),
            (self.x.bigint, false, None),
            "{c:?}"
        );
        let r = db
            .query(&self.sql("select extra2 from {s}parent where id = 2"), &[])
            .await
            .unwrap();
        assert_eq!(int(&r.rows[0][0]), 7, "data kept through the type change");
        let indexes = db.get_table_indexes(s, "child").await.unwrap();
        assert!(
            indexes.iter().any(|i| i.name == "child_note_idx"),
            "other tables' indexes untouched"
        );

        // A change that cannot apply (renaming onto an existing column)
        // leaves everything as it was.
        let bad = ColumnChange {
            rename_to: Some("name".into()),
            data_type: None,
            using: None,
            nullable: Some(true),
            default: Some(DefaultChange::Set("8".into())),
        };
        assert!(db.alter_column(s, "parent", "extra2", &bad).await.is_err());
        let cols = db.get_columns(s, "parent").await.unwrap();
        assert!(
            col(&cols, "extra2").is_some_and(|c| !c.nullable && c.default.is_none()),
            "all-or-nothing: {cols:?}"
        );

        // SQL fragments that carry another statement are refused before the driver sees them.
        for (data_type, default) in [
            ("integer; drop table parent", None),
            ("integer", Some("1); drop table parent; --")),
        ] {
            let evil = ColumnDefinition {
                name: "evil".into(),
                data_type: data_type.into(),
                nullable: true,
                default: default.map(String::from),
            };
            let err = db.add_column(s, "parent", &evil).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        }
        assert_eq!(self.count("parent").await, 3);

        db.drop_column(s, "parent", "extra2", false).await.unwrap();
        let err = db.drop_column(s, "parent", "extra2", false).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UndefinedObject, "{err}");
        assert_eq!(db.get_columns(s, "parent").await.unwrap().len(), 3);
    }

    async fn identifiers(&self) {
        let (s, db) = (self.x.schema, &self.db);
        let mut torture = strings(&[
            "we\"ird",
            "semi;colon",
            "--dash",
            "with space",
            "ünïcødé ✓",
            "Mixed Case",
            "select",
        ]);
        if let Some(max) = self.x.max_identifier_bytes {
            torture.push("x".repeat(max));
        }
        for name in &torture {
            let def = ColumnDefinition {
                name: name.clone(),
                data_type: "text".into(),
                nullable: true,
                default: None,
            };
            db.add_column(s, "numbers", &def)
                .await
                .unwrap_or_else(|e| panic!("add {name:?}: {e}"));
        }
        let cols: BTreeSet<String> = db
            .get_columns(s, "numbers")
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        for name in &torture {
            assert!(cols.contains(name), "{name:?} in {cols:?}");
            let change = ColumnChange {
                rename_to: Some(format!("{name}2")),
                data_type: None,
                using: None,
                nullable: None,
                default: None,
            };
            if name.len() < self.x.max_identifier_bytes.unwrap_or(usize::MAX) {
                db.alter_column(s, "numbers", name, &change)
                    .await
                    .unwrap_or_else(|e| panic!("rename {name:?}: {e}"));
                db.drop_column(s, "numbers", &format!("{name}2"), false).await.unwrap();
            } else {
                db.drop_column(s, "numbers", name, false).await.unwrap();
            }
        }
        let mut refused = vec![String::new(), "nul\0byte".to_string()];
        if let Some(max) = self.x.max_identifier_bytes {
            refused.push("x".repeat(max + 1));
        }
        for name in refused {
            let def = ColumnDefinition {
                name: name.clone(),
                data_type: "text".into(),
                nullable: true,
                default: None,
            };
            let err = db.add_column(s, "numbers", &def).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{name:?}: {err}");
        }
        assert_eq!(
            db.get_columns(s, "numbers").await.unwrap().len(),
            2,
            "only n and label are left"
        );
        // Names that look like SQL are data, not code.
        let err = db
            .get_table_data(s, "parent; drop table parent", 1, 0)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UndefinedObject, "{err}");
        assert_eq!(self.count("parent").await, 3);
    }

    async fn views_and_functions(&self) {
        let (s, db) = (self.x.schema, &self.db);
        let views = db.list_views(s).await.unwrap();
        let v = views.iter().find(|v| v.name == "child_view").expect("view listed");
        assert!(!v.materialized);
        let def = db.get_view_definition(s, "child_view").await.unwrap().to_lowercase();
        assert!(def.contains("qty > 0") && def.contains("select"), "{def}");
        let err = db.get_view_definition(s, "no_such_view").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UndefinedObject, "{err}");

        if self.x.create_function.is_some() {
            let funcs = db.list_functions(s).await.unwrap();
            let f = funcs.iter().find(|f| f.name == "dbx_add").expect("function listed");
            assert_eq!(
                (f.arguments.as_str(), f.return_type.as_deref(), f.language.as_str()),
                self.x.function_signature
            );
            let def = db.get_function_definition(s, "dbx_add", None).await.unwrap();
            assert!(def.contains("a + b") && def.to_lowercase().contains("create"), "{def}");
            let r = db.query(&self.sql("select {s}dbx_add(2, 3)"), &[]).await.unwrap();
            assert_eq!(int(&r.rows[0][0]), 5);
        } else {
            // Without stored functions a driver need not export `function`:
            // either an empty list or `unsupported`, never a trap.
            match db.list_functions(s).await {
                Ok(list) => assert!(list.is_empty()),
                Err(e) => assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}"),
            }
            let err = db.get_function_definition(s, "dbx_add", None).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        }
    }

    async fn transactions(&self) {
        let db = &self.db;
        let ins = self.sql("insert into {s}dbx_tx (id, v) values ($1, $2)");
        // Commit keeps, rollback discards, savepoints undo part.
        let mut tx = db.transaction(TransactionOptions::default()).await.unwrap();
        tx.execute(&ins, &[Value::Int(1), Value::from("a")]).await.unwrap();
        tx.savepoint("sp1").await.unwrap();
        tx.execute(&ins, &[Value::Int(2), Value::from("b")]).await.unwrap();
        tx.rollback_to_savepoint("sp1").await.unwrap();
        tx.execute(&ins, &[Value::Int(3), Value::from("c")]).await.unwrap();
        tx.release_savepoint("sp1").await.unwrap_or(());
        let inside = tx
            .query(&self.sql("select count(*) from {s}dbx_tx"), &[])
            .await
            .unwrap();
        assert_eq!(int(&inside.rows[0][0]), 2);
        tx.commit().await.unwrap();
        assert_eq!(self.count("dbx_tx").await, 2);

        let mut tx = db.transaction(TransactionOptions::default()).await.unwrap();
        tx.execute(&ins, &[Value::Int(4), Value::from("d")]).await.unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(self.count("dbx_tx").await, 2);

        // A dropped handle rolls back and its connection comes back clean.
        {
            let mut tx = db.transaction(TransactionOptions::default()).await.unwrap();
            tx.execute(&ins, &[Value::Int(5), Value::from("e")]).await.unwrap();
        }
        for _ in 0..100 {
            if db.pool_status().used == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(self.count("dbx_tx").await, 2);

        // A read-only transaction refuses writes.
        let ro = TransactionOptions {
            read_only: true,
            ..TransactionOptions::default()
        };
        let mut tx = db.transaction(ro).await.unwrap();
        assert!(tx.execute(&ins, &[Value::Int(6), Value::from("f")]).await.is_err());
        drop(tx);

        // By id; an abandoned one is rolled back by the watchdog.
        let id = db.begin_transaction(TransactionOptions::default()).await.unwrap();
        db.execute_in_transaction(id, &ins, &[Value::Int(7), Value::from("g")])
            .await
            .unwrap();
        let r = db
            .query_in_transaction(id, &self.sql("select v from {s}dbx_tx where id = 7"), &[])
            .await
            .unwrap();
        assert_eq!(r.rows[0][0], Value::from("g"));
        db.commit_transaction(id).await.unwrap();
        assert!(db.commit_transaction(id).await.is_err(), "finished");
        assert_eq!(self.count("dbx_tx").await, 3);

        // File databases allow one open connection per file: close ours first.
        db.close().await;
        let pool = PoolConfig {
            max_size: 1,
            transaction_idle_timeout: Duration::from_millis(300),
            ..PoolConfig::default()
        };
        let short = self.rt.connect_with(&self.url, pool).await.unwrap();
        let id = short.begin_transaction(TransactionOptions::default()).await.unwrap();
        short
            .execute_in_transaction(id, &ins, &[Value::Int(8), Value::from("h")])
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let err = short.commit_transaction(id).await.unwrap_err();
        assert!(err.to_string().contains("no open transaction"), "{err}");
        // The single pooled connection is free and clean again.
        let r = short
            .query(&self.sql("select count(*) from {s}dbx_tx"), &[])
            .await
            .unwrap();
        assert_eq!(int(&r.rows[0][0]), 3);
        short.close().await;
    }

    async fn prepared_statements(&self) {
        let db = &self.db;
        let stmt = db
            .prepare(&self.sql("select name from {s}parent where id = $1"))
            .await
            .unwrap();
        assert_eq!(stmt.columns.len(), 1);
        assert_eq!(stmt.param_types.len(), 1);
        let mut tasks = Vec::new();
        for t in 0..8 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..10 {
                    let id = (t + i) % 3 + 1;
                    let r = db.execute_prepared(stmt.id, &[Value::Int(id)]).await.unwrap();
                    let want = ["one", "two", "three"][id as usize - 1];
                    assert_eq!(r.rows[0][0], Value::from(want));
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let err = db.execute_prepared(stmt.id, &[]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "wrong parameter count: {err}");
        db.deallocate(stmt.id).await.unwrap();
        let err = db.execute_prepared(stmt.id, &[Value::Int(1)]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(db.prepare("selec nonsense").await.is_err());
    }

    async fn streaming(&self) {
        let db = &self.db;
        let rows: Vec<Vec<Value>> = (1..=10_000)
            .map(|n| vec![Value::Int(n), Value::Text(format!("row {n}"))])
            .collect();
        let cols = strings(&["n", "label"]);
        assert_eq!(
            db.bulk_insert(self.x.schema, "numbers", &cols, rows).await.unwrap(),
            10_000
        );

        let sql = self.sql("select n, label from {s}numbers order by n");
        let mut stream = db.stream_query(&sql, &[], 1000).await.unwrap();
        assert_eq!(stream.columns().len(), 2);
        let (mut batches, mut sum, mut last) = (0, 0i64, 0i64);
        while let Some(batch) = stream.next().await {
            let batch = batch.unwrap();
            assert!(batch.len() <= 1000);
            batches += 1;
            for row in batch {
                let n = int(&row[0]);
                assert_eq!(n, last + 1, "in order, none lost");
                last = n;
                sum += n;
            }
        }
        assert_eq!((batches, sum), (10, 10_000 * 10_001 / 2));

        // Dropping a stream halfway leaves a clean connection (pool of one).
        db.close().await;
        let single = self
            .rt
            .connect_with(
                &self.url,
                PoolConfig {
                    max_size: 1,
                    ..PoolConfig::default()
                },
            )
            .await
            .unwrap();
        let mut stream = single.stream_query(&sql, &[], 100).await.unwrap();
        assert_eq!(stream.next().await.unwrap().unwrap().len(), 100);
        drop(stream);
        let r = single
            .query(&self.sql("select count(*) from {s}numbers"), &[])
            .await
            .unwrap();
        assert_eq!(int(&r.rows[0][0]), 10_000);
        let err = single
            .stream_query("selec broken", &[], 10)
            .await
            .err()
            .expect("a bad query fails");
        assert_eq!(err.kind(), ErrorKind::Syntax);
        assert!(single.query("select 1", &[]).await.is_ok());
        single.close().await;
    }

    /// Query results, streams and bulk input as Arrow: the same rows as the
    /// row API, integer and text columns typed, one schema per stream.
    async fn arrow(&self) {
        use driverbox::arrow_array::{Array, Int64Array, RecordBatch, StringArray};
        use driverbox::arrow_schema::{DataType, Field, Schema};
        let db = &self.db;
        let sql = self.sql("select n, label from {s}numbers order by n");
        let rows: Vec<(Option<i64>, Option<String>)> = db
            .query(&sql, &[])
            .await
            .unwrap()
            .rows
            .into_iter()
            .map(|r| {
                let label = match &r[1] {
                    Value::Text(t) => Some(t.clone()),
                    _ => None,
                };
                (Some(int(&r[0])), label)
            })
            .collect();
        assert_eq!(rows.len(), 10_000);

        let whole = db.query_arrow(&sql, &[]).await.unwrap();
        assert_eq!(whole.columns.len(), 2);
        let fields = whole.batch.schema().fields().clone();
        assert!(fields[0].data_type().is_integer(), "{:?}", fields[0]);
        assert_eq!(fields[1].data_type(), &DataType::Utf8);
        assert_eq!(fields[0].name(), "n");
        assert_eq!(arrow_pairs(&whole.batch), rows);

        let mut stream = db.stream_arrow(&sql, &[], 3000).await.unwrap();
        let schema = stream.schema();
        assert_eq!(schema.fields(), &fields);
        let mut streamed = Vec::new();
        let mut batches = 0;
        while let Some(batch) = stream.next().await {
            let batch = batch.unwrap();
            assert_eq!(batch.schema(), schema);
            assert!(batch.num_rows() <= 3000);
            batches += 1;
            streamed.extend(arrow_pairs(&batch));
        }
        assert_eq!(batches, 4);
        assert_eq!(streamed, rows);

        // Bulk input from a record batch: written in one go, NULLs kept,
        // then taken out again.
        let input = RecordBatch::try_new(
            std::sync::Arc::new(Schema::new(vec![
                Field::new("n", DataType::Int64, false),
                Field::new("label", DataType::Utf8, true),
            ])),
            vec![
                std::sync::Arc::new(Int64Array::from_iter_values(900_001..=900_500)),
                std::sync::Arc::new(StringArray::from_iter(
                    (900_001..=900_500).map(|n: i64| (n % 3 != 0).then(|| format!("arrow {n}"))),
                )),
            ],
        )
        .unwrap();
        assert_eq!(
            db.bulk_insert_arrow(self.x.schema, "numbers", &input).await.unwrap(),
            500
        );
        let back = db
            .query_arrow(
                &self.sql("select n, label from {s}numbers where n > 900000 order by n"),
                &[],
            )
            .await
            .unwrap();
        assert_eq!(arrow_pairs(&back.batch), arrow_pairs(&input));
        assert!(back.batch.column(1).is_null(2), "900003 has a NULL label");
        let keys: Vec<Vec<Value>> = (900_001..=900_500).map(|n| vec![Value::Int(n)]).collect();
        assert_eq!(
            db.bulk_delete(self.x.schema, "numbers", &strings(&["n"]), keys)
                .await
                .unwrap(),
            500
        );
        assert_eq!(self.count("numbers").await, 10_000);

        let err = db.query_arrow("selec broken", &[]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Syntax, "{err}");
    }

    async fn bulk(&self) {
        let (s, db) = (self.x.schema, &self.db);
        let cols = strings(&["n", "label"]);
        // Many chunks, one transaction.
        let rows: Vec<Vec<Value>> = (10_001..=35_000)
            .map(|n| vec![Value::Int(n), Value::Text(format!("row {n}"))])
            .collect();
        assert_eq!(db.bulk_insert(s, "numbers", &cols, rows).await.unwrap(), 25_000);
        assert_eq!(self.count("numbers").await, 35_000);
        // A duplicate deep in the input: nothing of it is written.
        let mut rows: Vec<Vec<Value>> = (35_001..=55_000).map(|n| vec![Value::Int(n), Value::Null]).collect();
        rows[15_000] = vec![Value::Int(5), Value::Null];
        let err = db.bulk_insert(s, "numbers", &cols, rows).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UniqueViolation, "{err}");
        assert_eq!(self.count("numbers").await, 35_000);
        // Update and delete by key.
        let updates: Vec<Vec<Value>> = (1..=100)
            .map(|n| vec![Value::Int(n), Value::Text(format!("new {n}"))])
            .collect();
        assert_eq!(
            db.bulk_update(s, "numbers", &strings(&["n"]), &strings(&["label"]), updates)
                .await
                .unwrap(),
            100
        );
        let r = db
            .query(&self.sql("select label from {s}numbers where n = 42"), &[])
            .await
            .unwrap();
        assert_eq!(r.rows[0][0], Value::from("new 42"));
        let keys: Vec<Vec<Value>> = (1..=50).map(|n| vec![Value::Int(n * 2)]).collect();
        assert_eq!(db.bulk_delete(s, "numbers", &strings(&["n"]), keys).await.unwrap(), 50);
        assert_eq!(self.count("numbers").await, 34_950);
        let err = db
            .bulk_insert(
                s,
                "numbers",
                &strings(&["n", "no_such_col"]),
                vec![vec![Value::Int(1), Value::Null]],
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UndefinedObject, "{err}");
    }

    async fn database_management(&self) {
        let db = &self.db;
        if self.x.has.contains(&Capability::CreateDatabase) {
            let name = format!("{}_db", self.x.schema.unwrap_or("dbx_conformance"));
            let name = name.as_str();
            db.drop_database(name, true).await.unwrap();
            db.create_database(name).await.unwrap();
            let err = db.create_database(name).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::DuplicateObject, "{err}");
            assert!(db.get_databases().await.unwrap().iter().any(|d| d.name == name));
            db.drop_database(name, false).await.unwrap();
            let err = db.drop_database(name, false).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::UndefinedObject, "{err}");
        } else {
            let err = db.create_database("x").await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        }
        if self.x.has.contains(&Capability::CreateSchema) {
            let name = format!("{} \"extra\"", self.x.schema.unwrap_or("dbx_conformance"));
            let name = name.as_str();
            db.drop_schema(name, true, true).await.unwrap();
            db.create_schema(name).await.unwrap();
            assert_eq!(
                db.create_schema(name).await.unwrap_err().kind(),
                ErrorKind::DuplicateObject
            );
            assert!(db.get_schemas().await.unwrap().iter().any(|s| s.name == name));
            db.drop_schema(name, false, false).await.unwrap();
            assert_eq!(
                db.drop_schema(name, false, false).await.unwrap_err().kind(),
                ErrorKind::UndefinedObject
            );
        } else {
            let err = db.create_schema("x").await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        }
    }
}

pub mod nosql;
