//! `driverbox inspect URL [SCHEMA[.TABLE]]`: the structure of a database as
//! a tree (schemas → tables, views, functions) or as JSON.
//!
//! Capabilities the driver lacks (e.g. functions on SQLite) are skipped: in
//! JSON their fields are left out.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;
use driverbox::function::{FunctionInfo, RoutineKind};
use driverbox::schema::{ColumnInfo, TableInfo, TableKind};
use driverbox::table::{ConstraintInfo, ConstraintKind, IndexInfo};
use driverbox::{
    Capability, DriverCapabilities, Error, FunctionOperations, SchemaIntrospection, TableOperations, ViewOperations,
    WasmDriver,
};
use serde::Serialize;

use super::output::inert;
use super::{connect, fail, qualified_for};

/// Arguments of `driverbox inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Connection URL.
    pub url: String,
    /// Only this schema, or only this table (`schema.table`).
    #[arg(value_name = "SCHEMA[.TABLE]")]
    pub target: Option<String>,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "tree")]
    pub format: InspectFormat,
    /// Document stores: documents sampled per collection (`$sample`) to infer its fields.
    #[arg(long, default_value_t = super::inspect_documents::DEFAULT_SAMPLE)]
    pub sample: u32,
}

/// Output of `inspect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InspectFormat {
    Tree,
    Json,
}

/// The whole inspection, as printed with `--format json`.
#[derive(Debug, Serialize)]
pub struct Database {
    /// The URL, without the password.
    pub url: String,
    pub driver: String,
    pub schemas: Vec<SchemaNode>,
}

/// One schema with its objects; `None` lists are capabilities the driver lacks.
#[derive(Debug, Serialize)]
pub struct SchemaNode {
    pub name: String,
    pub tables: Vec<TableNode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub views: Option<Vec<ViewNode>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub functions: Option<Vec<FunctionNode>>,
}

#[derive(Debug, Serialize)]
pub struct TableNode {
    pub name: String,
    /// `table`, `partitioned-table` or `foreign-table`.
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub columns: Vec<ColumnNode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indexes: Option<Vec<IndexNode>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraints: Option<Vec<ConstraintNode>>,
}

#[derive(Debug, Serialize)]
pub struct ColumnNode {
    pub name: String,
    pub data_type: String,
    pub nullable: bool,
    pub default: Option<String>,
    pub primary_key: bool,
}

#[derive(Debug, Serialize)]
pub struct IndexNode {
    pub name: String,
    pub columns: Vec<String>,
    pub unique: bool,
    pub primary: bool,
    pub method: Option<String>,
    pub predicate: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ConstraintNode {
    pub name: String,
    /// `primary-key`, `foreign-key`, `unique`, `check` or `exclusion`.
    pub kind: &'static str,
    pub columns: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub references: Option<ForeignKeyNode>,
    /// The check expression, or the database's full definition.
    pub definition: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ForeignKeyNode {
    pub schema: String,
    pub table: String,
    pub columns: Vec<String>,
    pub on_update: String,
    pub on_delete: String,
}

#[derive(Debug, Serialize)]
pub struct ViewNode {
    pub name: String,
    pub materialized: bool,
    pub columns: Vec<ColumnNode>,
    pub definition: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct FunctionNode {
    pub name: String,
    /// `function`, `procedure`, `aggregate` or `window`.
    pub kind: &'static str,
    pub arguments: String,
    pub return_type: Option<String>,
    pub language: String,
}

/// Runs `driverbox inspect`.
pub async fn run(rt: &driverbox::Runtime, args: &InspectArgs) -> Result<ExitCode, Error> {
    let db = connect(rt, &args.url).await?;
    if db.has_capability(Capability::NoSql) && !db.has_capability(Capability::Schema) {
        return inspect_documents(&db, args).await;
    }
    let result = inspect(&db, args.target.as_deref()).await;
    driverbox::ConnectionDriver::close(&db).await;
    let database = match result? {
        Ok(d) => d,
        Err(message) => return Ok(fail(message)),
    };
    let text = match args.format {
        InspectFormat::Json => serde_json::to_string_pretty(&database).unwrap_or_default() + "\n",
        InspectFormat::Tree => render(&tree(&database)),
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Ok(fail(format!("writing output: {e}"))),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// `inspect` of a document store: collections, indexes, inferred fields.
async fn inspect_documents(db: &WasmDriver, args: &InspectArgs) -> Result<ExitCode, Error> {
    use super::inspect_documents as docs;
    let result = docs::inspect(db, args.target.as_deref(), args.sample.max(1)).await;
    driverbox::ConnectionDriver::close(db).await;
    let database = match result? {
        Ok(d) => d,
        Err(message) => return Ok(fail(message)),
    };
    let text = match args.format {
        InspectFormat::Json => serde_json::to_string_pretty(&database).unwrap_or_default() + "\n",
        InspectFormat::Tree => render(&docs::tree(&database)),
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Ok(fail(format!("writing output: {e}"))),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// Collects the structure; `Ok(Err(message))` when the target does not exist.
pub async fn inspect(db: &WasmDriver, target: Option<&str>) -> Result<Result<Database, String>, Error> {
    let info = db.info();
    let mut database = Database {
        url: db.options().to_string(),
        driver: format!("{} {}", info.name, info.version),
        schemas: Vec::new(),
    };
    let (schema, table) = match target {
        None => (None, None),
        Some(t) => match qualified_for(db, t) {
            (Some(s), t) => (Some(s), Some(t)),
            (None, s) => (Some(s), None),
        },
    };
    let names: Vec<String> = db.get_schemas().await?.into_iter().map(|s| s.name).collect();
    // One name that is no schema, where there is only one (DynamoDB's
    // region): a table of it.
    let (schema, table) = match (schema, table) {
        (Some(s), None) if names.len() == 1 && !names.contains(&s) => (Some(names[0].clone()), Some(s)),
        other => other,
    };
    let names = match &schema {
        None => names,
        Some(s) if names.contains(s) => vec![s.clone()],
        Some(s) => return Ok(Err(format!("schema \"{s}\" does not exist"))),
    };
    for name in names {
        let node = match &table {
            None => schema_node(db, &name).await?,
            Some(t) => match single_table(db, &name, t).await? {
                Some(node) => node,
                None => return Ok(Err(format!("table \"{name}.{t}\" does not exist"))),
            },
        };
        database.schemas.push(node);
    }
    Ok(Ok(database))
}

/// One schema with everything in it.
async fn schema_node(db: &WasmDriver, schema: &str) -> Result<SchemaNode, Error> {
    let relations = db.get_tables(Some(schema)).await?;
    let mut tables = Vec::new();
    for t in relations.iter().filter(|t| is_table(t.kind)) {
        tables.push(table_node(db, schema, t).await?);
    }
    let views = if db.has_capability(Capability::View) {
        let mut views = Vec::new();
        for v in db.list_views(Some(schema)).await? {
            views.push(view_node(db, schema, &v.name, v.materialized).await?);
        }
        Some(views)
    } else {
        None
    };
    let functions = if db.has_capability(Capability::Function) {
        Some(
            db.list_functions(Some(schema))
                .await?
                .into_iter()
                .map(function_node)
                .collect(),
        )
    } else {
        None
    };
    Ok(SchemaNode {
        name: schema.to_string(),
        tables,
        views,
        functions,
    })
}

/// A schema node holding just `name` (a table or a view), if it exists.
async fn single_table(db: &WasmDriver, schema: &str, name: &str) -> Result<Option<SchemaNode>, Error> {
    let relations = db.get_tables(Some(schema)).await?;
    let Some(t) = relations.iter().find(|t| t.name == name) else {
        return Ok(None);
    };
    let mut node = SchemaNode {
        name: schema.to_string(),
        tables: Vec::new(),
        views: None,
        functions: None,
    };
    if is_table(t.kind) {
        node.tables.push(table_node(db, schema, t).await?);
    } else {
        let materialized = t.kind == TableKind::MaterializedView;
        node.views = Some(vec![view_node(db, schema, name, materialized).await?]);
    }
    Ok(Some(node))
}

/// Tables proper (not views).
pub(crate) fn is_table(kind: TableKind) -> bool {
    matches!(
        kind,
        TableKind::Table | TableKind::PartitionedTable | TableKind::ForeignTable
    )
}

async fn table_node(db: &WasmDriver, schema: &str, t: &TableInfo) -> Result<TableNode, Error> {
    let columns = db
        .get_columns(Some(schema), &t.name)
        .await?
        .into_iter()
        .map(column_node)
        .collect();
    let (indexes, constraints) = if db.has_capability(Capability::Table) {
        let indexes = db.get_table_indexes(Some(schema), &t.name).await?;
        let constraints = db.get_table_constraints(Some(schema), &t.name).await?;
        (
            Some(indexes.into_iter().map(index_node).collect()),
            Some(constraints.into_iter().map(constraint_node).collect()),
        )
    } else {
        (None, None)
    };
    Ok(TableNode {
        name: t.name.clone(),
        kind: table_kind(t.kind),
        comment: t.comment.clone(),
        columns,
        indexes,
        constraints,
    })
}

async fn view_node(db: &WasmDriver, schema: &str, name: &str, materialized: bool) -> Result<ViewNode, Error> {
    let columns = db
        .get_columns(Some(schema), name)
        .await?
        .into_iter()
        .map(column_node)
        .collect();
    let definition = if db.has_capability(Capability::View) {
        Some(db.get_view_definition(Some(schema), name).await?)
    } else {
        None
    };
    Ok(ViewNode {
        name: name.to_string(),
        materialized,
        columns,
        definition,
    })
}

/// The name of a relation kind.
pub(crate) fn table_kind(kind: TableKind) -> &'static str {
    match kind {
        TableKind::Table => "table",
        TableKind::View => "view",
        TableKind::MaterializedView => "materialized-view",
        TableKind::ForeignTable => "foreign-table",
        TableKind::PartitionedTable => "partitioned-table",
    }
}

pub(crate) fn column_node(c: ColumnInfo) -> ColumnNode {
    ColumnNode {
        name: c.name,
        data_type: c.data_type,
        nullable: c.nullable,
        default: c.default,
        primary_key: c.primary_key,
    }
}

pub(crate) fn index_node(i: IndexInfo) -> IndexNode {
    IndexNode {
        name: i.name,
        columns: i.columns,
        unique: i.unique,
        primary: i.primary,
        method: i.method,
        predicate: i.predicate,
    }
}

pub(crate) fn constraint_node(c: ConstraintInfo) -> ConstraintNode {
    ConstraintNode {
        name: c.name,
        kind: constraint_kind(c.kind),
        columns: c.columns,
        references: c.references.map(|r| ForeignKeyNode {
            schema: r.schema,
            table: r.table,
            columns: r.columns,
            on_update: r.on_update,
            on_delete: r.on_delete,
        }),
        definition: c.definition,
    }
}

fn constraint_kind(kind: ConstraintKind) -> &'static str {
    match kind {
        ConstraintKind::PrimaryKey => "primary-key",
        ConstraintKind::ForeignKey => "foreign-key",
        ConstraintKind::Unique => "unique",
        ConstraintKind::Check => "check",
        ConstraintKind::Exclusion => "exclusion",
    }
}

/// The name of a routine kind.
pub(crate) fn routine_kind(kind: RoutineKind) -> &'static str {
    match kind {
        RoutineKind::Function => "function",
        RoutineKind::Procedure => "procedure",
        RoutineKind::Aggregate => "aggregate",
        RoutineKind::Window => "window",
    }
}

fn function_node(f: FunctionInfo) -> FunctionNode {
    FunctionNode {
        name: f.name,
        kind: routine_kind(f.kind),
        arguments: f.arguments,
        return_type: f.return_type,
        language: f.language,
    }
}

/// `id integer not null default 1 primary key`.
pub(crate) fn column_line(c: &ColumnNode) -> String {
    let mut s = format!("{} {}", c.name, c.data_type);
    if !c.nullable {
        s += " not null";
    }
    if let Some(d) = &c.default {
        s += &format!(" default {d}");
    }
    if c.primary_key {
        s += " primary key";
    }
    s
}

/// psql's index line: `"t_pkey" PRIMARY KEY, btree (id)`.
pub(crate) fn index_line(i: &IndexNode) -> String {
    let kind = if i.primary {
        Some("PRIMARY KEY")
    } else if i.unique {
        Some("UNIQUE")
    } else {
        None
    };
    let mut s = format!("\"{}\"", i.name);
    match (kind, &i.method) {
        (Some(k), Some(m)) => s += &format!(" {k}, {m}"),
        (Some(k), None) => s += &format!(" {k}"),
        (None, Some(m)) => s += &format!(" {m}"),
        (None, None) => {}
    }
    s += &format!(" ({})", i.columns.join(", "));
    if let Some(p) = &i.predicate {
        s += &format!(" WHERE {p}");
    }
    s
}

/// psql's constraint line: `"t_a_fkey" FOREIGN KEY (a) REFERENCES s.o(id) ON DELETE CASCADE`.
pub(crate) fn constraint_line(c: &ConstraintNode) -> String {
    let columns = format!("({})", c.columns.join(", "));
    let body = match c.kind {
        "primary-key" => format!("PRIMARY KEY {columns}"),
        "unique" => format!("UNIQUE {columns}"),
        "foreign-key" => match &c.references {
            Some(r) => {
                let mut s = format!(
                    "FOREIGN KEY {columns} REFERENCES {}.{}({})",
                    r.schema,
                    r.table,
                    r.columns.join(", ")
                );
                for (what, action) in [("UPDATE", &r.on_update), ("DELETE", &r.on_delete)] {
                    if !action.is_empty() && !action.eq_ignore_ascii_case("NO ACTION") {
                        s += &format!(" ON {what} {action}");
                    }
                }
                s
            }
            None => format!("FOREIGN KEY {columns}"),
        },
        "check" => match &c.definition {
            Some(d) if d.trim_start().to_ascii_uppercase().starts_with("CHECK") => d.clone(),
            Some(d) => format!("CHECK ({d})"),
            None => "CHECK".to_string(),
        },
        _ => c.definition.clone().unwrap_or_else(|| format!("EXCLUDE {columns}")),
    };
    format!("\"{}\" {body}", c.name)
}

/// A node of the printed tree; a label may span several lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub label: String,
    pub children: Vec<Node>,
}

impl Node {
    fn leaf(label: impl Into<String>) -> Node {
        Node {
            label: label.into(),
            children: Vec::new(),
        }
    }

    pub(crate) fn new(label: impl Into<String>, children: Vec<Node>) -> Node {
        Node {
            label: label.into(),
            children,
        }
    }
}

/// A labelled group of children, left out when `items` is `None` (capability missing).
fn group(label: &str, items: Option<Vec<Node>>) -> Option<Node> {
    items.map(|children| Node::new(label, children))
}

fn columns_node(columns: &[ColumnNode]) -> Node {
    Node::new("columns", columns.iter().map(|c| Node::leaf(column_line(c))).collect())
}

/// The tree printed by `inspect`.
pub fn tree(db: &Database) -> Node {
    let schemas = db
        .schemas
        .iter()
        .map(|s| {
            let tables = s.tables.iter().map(|t| {
                let mut children = vec![columns_node(&t.columns)];
                children.extend(group(
                    "indexes",
                    t.indexes
                        .as_ref()
                        .map(|i| i.iter().map(|i| Node::leaf(index_line(i))).collect()),
                ));
                children.extend(group(
                    "constraints",
                    t.constraints
                        .as_ref()
                        .map(|c| c.iter().map(|c| Node::leaf(constraint_line(c))).collect()),
                ));
                let mut label = t.name.clone();
                if t.kind != "table" {
                    label += &format!(" ({})", t.kind);
                }
                if let Some(c) = &t.comment {
                    label += &format!(" -- {c}");
                }
                Node::new(label, children)
            });
            let mut children = vec![Node::new("tables", tables.collect())];
            children.extend(group(
                "views",
                s.views.as_ref().map(|views| {
                    views
                        .iter()
                        .map(|v| {
                            let mut children = vec![columns_node(&v.columns)];
                            if let Some(d) = &v.definition {
                                children.push(Node::leaf(format!("definition:\n{}", d.trim())));
                            }
                            let label = if v.materialized {
                                format!("{} (materialized)", v.name)
                            } else {
                                v.name.clone()
                            };
                            Node::new(label, children)
                        })
                        .collect()
                }),
            ));
            children.extend(group(
                "functions",
                s.functions
                    .as_ref()
                    .map(|f| f.iter().map(|f| Node::leaf(function_line(f))).collect()),
            ));
            Node::new(format!("schema {}", s.name), children)
        })
        .collect();
    Node::new(format!("{} ({})", db.url, db.driver), schemas)
}

/// `add(a integer, b integer) → integer [function, sql]`.
fn function_line(f: &FunctionNode) -> String {
    let returns = f.return_type.as_deref().map(|r| format!(" → {r}")).unwrap_or_default();
    format!("{}({}){returns} [{}, {}]", f.name, f.arguments, f.kind, f.language)
}

/// Draws `root` with box-drawing branches; every label is printed inert.
pub fn render(root: &Node) -> String {
    let mut out = String::new();
    for line in root.label.lines() {
        out += &inert(line);
        out.push('\n');
    }
    render_children(&root.children, "", &mut out);
    out
}

fn render_children(children: &[Node], prefix: &str, out: &mut String) {
    for (i, child) in children.iter().enumerate() {
        let last = i + 1 == children.len();
        let (branch, indent) = if last {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        let below = format!("{prefix}{indent}");
        // Further lines of a label hang under it, past the branch.
        let hang = if child.children.is_empty() {
            below.clone()
        } else {
            format!("{below}│   ")
        };
        for (n, line) in child.label.lines().enumerate() {
            if n == 0 {
                out.push_str(&format!("{prefix}{branch}{}\n", inert(line)));
            } else {
                out.push_str(&format!("{hang}{}\n", inert(line)));
            }
        }
        render_children(&child.children, &below, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_tree() {
        let root = Node::new(
            "db",
            vec![
                Node::new("a", vec![Node::leaf("a1"), Node::leaf("a2\nmore")]),
                Node::new("b", vec![Node::leaf("b1\u{1b}[2J")]),
            ],
        );
        assert_eq!(
            render(&root),
            "db\n├── a\n│   ├── a1\n│   └── a2\n│       more\n└── b\n    └── b1\\u{1b}[2J\n"
        );
    }

    #[test]
    fn lines() {
        let pk = ConstraintNode {
            name: "t_pkey".into(),
            kind: "primary-key",
            columns: vec!["id".into()],
            references: None,
            definition: None,
        };
        assert_eq!(constraint_line(&pk), "\"t_pkey\" PRIMARY KEY (id)");
        let fk = ConstraintNode {
            name: "t_o_fkey".into(),
            kind: "foreign-key",
            columns: vec!["o".into()],
            references: Some(ForeignKeyNode {
                schema: "s".into(),
                table: "o".into(),
                columns: vec!["id".into()],
                on_update: "NO ACTION".into(),
                on_delete: "CASCADE".into(),
            }),
            definition: None,
        };
        assert_eq!(
            constraint_line(&fk),
            "\"t_o_fkey\" FOREIGN KEY (o) REFERENCES s.o(id) ON DELETE CASCADE"
        );
        let check = ConstraintNode {
            name: "c".into(),
            kind: "check",
            columns: vec![],
            references: None,
            definition: Some("n > 0".into()),
        };
        assert_eq!(constraint_line(&check), "\"c\" CHECK (n > 0)");
        let index = IndexNode {
            name: "i".into(),
            columns: vec!["a".into(), "lower(b)".into()],
            unique: true,
            primary: false,
            method: Some("btree".into()),
            predicate: Some("a > 1".into()),
        };
        assert_eq!(index_line(&index), "\"i\" UNIQUE, btree (a, lower(b)) WHERE a > 1");
        let plain = IndexNode {
            method: None,
            predicate: None,
            ..index
        };
        assert_eq!(index_line(&plain), "\"i\" UNIQUE (a, lower(b))");
        let column = ColumnNode {
            name: "id".into(),
            data_type: "integer".into(),
            nullable: false,
            default: Some("1".into()),
            primary_key: true,
        };
        assert_eq!(column_line(&column), "id integer not null default 1 primary key");
    }
}
