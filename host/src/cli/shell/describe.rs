//! The informational backslash commands of the shell: `\l`, `\dn`, `\d`,
//! `\dt`, `\dv`, `\df` and `\di`, answered through the introspection
//! traits and printed like query results.

use std::fmt::Write as _;

use driverbox::function::FunctionInfo;
use driverbox::schema::{TableInfo, TableKind};
use driverbox::view::ViewInfo;
use driverbox::{
    Capability, Column, DriverCapabilities, Error, FunctionOperations, LogicalType, QueryResult, SchemaIntrospection,
    TableOperations, Value, ViewOperations,
};

use super::{Ran, Shell};
use crate::cli::inspect::{self, constraint_line, index_line};
use crate::cli::output::{self, inert, Format};
use crate::cli::{qualified, qualified_for};

/// Whether `name` matches a psql-style pattern (`*` any run, `?` one
/// character), ignoring case.
fn matches(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('*', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some(('?', rest)) => !n.is_empty() && go(rest, &n[1..]),
            Some((c, rest)) => n.first().is_some_and(|f| f.to_lowercase().eq(c.to_lowercase())) && go(rest, &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

/// `SCHEMA.NAME` or `NAME` as (schema, name pattern); no pattern matches every name.
fn split_pattern(pattern: Option<&str>) -> (Option<String>, String) {
    pattern.map_or((None, "*".to_string()), qualified)
}

/// Whether a pattern has wildcards (`*`, `?`).
fn has_wildcard(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

/// A result made of text columns, for the listings of backslash commands.
fn listing(columns: &[&str], rows: Vec<Vec<Value>>) -> QueryResult {
    QueryResult {
        columns: columns
            .iter()
            .map(|c| Column::new(c.to_string(), LogicalType::Text, "text"))
            .collect(),
        rows,
        rows_affected: None,
    }
}

fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

fn opt_text(s: Option<String>) -> Value {
    s.map_or(Value::Null, Value::Text)
}

impl Shell {
    /// Prints a listing, or reports the error.
    fn show_listing(&mut self, result: Result<QueryResult, Error>) -> Ran {
        match result {
            Ok(r) => {
                self.show(&r, None);
                Ran::Ok
            }
            Err(e) => Ran::error(&e, None, ""),
        }
    }

    /// Unless the driver has `capability`, says so and gives the failure.
    fn require(&self, capability: Capability, what: &str) -> Result<(), Ran> {
        if self.db.has_capability(capability) {
            return Ok(());
        }
        eprintln!("the {} driver cannot list {what}", self.db.info().name);
        Err(Ran::Failed(1))
    }

    pub(super) async fn databases(&mut self) -> Ran {
        if let Err(ran) = self.require(Capability::Schema, "databases") {
            return ran;
        }
        let result = self.db.get_databases().await.map(|dbs| {
            let rows = dbs
                .into_iter()
                .map(|d| {
                    vec![
                        text(d.name),
                        opt_text(d.owner),
                        opt_text(d.encoding),
                        d.size_bytes.map_or(Value::Null, |s| Value::Int(s as i64)),
                    ]
                })
                .collect();
            listing(&["name", "owner", "encoding", "size_bytes"], rows)
        });
        self.show_listing(result)
    }

    pub(super) async fn schemas(&mut self, pattern: Option<&str>) -> Ran {
        let result = self.db.get_schemas().await.map(|schemas| {
            let rows = schemas
                .into_iter()
                .filter(|s| pattern.is_none_or(|p| matches(p, &s.name)))
                .map(|s| vec![text(s.name), opt_text(s.owner)])
                .collect();
            listing(&["name", "owner"], rows)
        });
        self.show_listing(result)
    }

    /// The schemas a `SCHEMA.NAME` pattern names (`None`: the default schema).
    async fn schemas_for(&self, schema: Option<&str>) -> Result<Vec<Option<String>>, Error> {
        Ok(match schema {
            None => vec![None],
            Some(s) if has_wildcard(s) => self
                .db
                .get_schemas()
                .await?
                .into_iter()
                .filter(|x| matches(s, &x.name))
                .map(|x| Some(x.name))
                .collect(),
            Some(s) => vec![Some(s.to_string())],
        })
    }

    /// What `list` gives, in each schema `pattern` names (`SCHEMA.NAME` or
    /// `NAME`), whose `name` matches the pattern.
    async fn find<T>(
        &self,
        pattern: Option<&str>,
        list: impl AsyncFn(Option<&str>) -> Result<Vec<T>, Error>,
        name: impl Fn(&T) -> &str,
    ) -> Result<Vec<T>, Error> {
        let (schema, pattern) = split_pattern(pattern);
        let mut found = Vec::new();
        for s in self.schemas_for(schema.as_deref()).await? {
            found.extend(
                list(s.as_deref())
                    .await?
                    .into_iter()
                    .filter(|x| matches(&pattern, name(x))),
            );
        }
        Ok(found)
    }

    pub(super) async fn relations(
        &mut self,
        pattern: Option<&str>,
        what: &str,
        keep: impl Fn(TableKind) -> bool,
    ) -> Ran {
        let found = self
            .find(pattern, async |s| self.db.get_tables(s).await, |t: &TableInfo| &t.name)
            .await;
        let result = found.map(|tables| {
            let rows: Vec<Vec<Value>> = tables
                .into_iter()
                .filter(|t| keep(t.kind))
                .map(|t| {
                    vec![
                        text(t.schema),
                        text(t.name),
                        text(inspect::table_kind(t.kind)),
                        opt_text(t.comment),
                    ]
                })
                .collect();
            listing(&["schema", "name", "type", "comment"], rows)
        });
        if let Ok(r) = &result {
            if r.rows.is_empty() {
                match pattern {
                    Some(p) => eprintln!("Did not find any {what} named \"{}\".", inert(p)),
                    None => eprintln!("Did not find any {what}."),
                }
                return Ran::Ok;
            }
        }
        self.show_listing(result)
    }

    pub(super) async fn views(&mut self, pattern: Option<&str>) -> Ran {
        if let Err(ran) = self.require(Capability::View, "views") {
            return ran;
        }
        let found = self
            .find(pattern, async |s| self.db.list_views(s).await, |v: &ViewInfo| &v.name)
            .await;
        let result = found.map(|views| {
            let rows = views
                .into_iter()
                .map(|v| {
                    let kind = if v.materialized { "materialized view" } else { "view" };
                    vec![text(v.schema), text(v.name), text(kind), opt_text(v.comment)]
                })
                .collect();
            listing(&["schema", "name", "type", "comment"], rows)
        });
        self.show_listing(result)
    }

    pub(super) async fn functions(&mut self, pattern: Option<&str>) -> Ran {
        if let Err(ran) = self.require(Capability::Function, "functions") {
            return ran;
        }
        let found = self
            .find(
                pattern,
                async |s| self.db.list_functions(s).await,
                |f: &FunctionInfo| &f.name,
            )
            .await;
        let result = found.map(|functions| {
            let rows = functions
                .into_iter()
                .map(|f| {
                    vec![
                        text(f.schema),
                        text(f.name),
                        opt_text(f.return_type),
                        text(f.arguments),
                        text(inspect::routine_kind(f.kind)),
                        text(f.language),
                    ]
                })
                .collect();
            listing(
                &["schema", "name", "result type", "arguments", "type", "language"],
                rows,
            )
        });
        self.show_listing(result)
    }

    pub(super) async fn indexes(&mut self, table: Option<&str>) -> Ran {
        if let Err(ran) = self.require(Capability::Table, "indexes") {
            return ran;
        }
        let result = async {
            let tables: Vec<(String, String)> = match table {
                Some(t) => {
                    let (schema, name) = qualified_for(&self.db, t);
                    let infos = self.db.get_tables(schema.as_deref()).await?;
                    let schema = infos
                        .iter()
                        .find(|i| i.name == name)
                        .map(|i| i.schema.clone())
                        .or(schema);
                    vec![(schema.unwrap_or_default(), name)]
                }
                None => self
                    .db
                    .get_tables(None)
                    .await?
                    .into_iter()
                    .filter(|t| matches!(t.kind, TableKind::Table | TableKind::PartitionedTable))
                    .map(|t| (t.schema, t.name))
                    .collect(),
            };
            let mut rows = Vec::new();
            for (schema, name) in tables {
                let s = (!schema.is_empty()).then_some(schema.as_str());
                for i in self.db.get_table_indexes(s, &name).await? {
                    let kind = if i.primary {
                        "primary key"
                    } else if i.unique {
                        "unique"
                    } else {
                        "index"
                    };
                    rows.push(vec![
                        text(schema.clone()),
                        text(i.name),
                        text(name.clone()),
                        text(i.columns.join(", ")),
                        text(kind),
                        opt_text(i.method),
                        opt_text(i.predicate),
                    ]);
                }
            }
            Ok(listing(
                &["schema", "name", "table", "columns", "kind", "method", "predicate"],
                rows,
            ))
        }
        .await;
        self.show_listing(result)
    }

    /// `\d NAME`: columns, indexes and constraints of a table, or a view's definition.
    pub(super) async fn describe(&mut self, name: &str) -> Ran {
        let (schema, table) = qualified_for(&self.db, name);
        let result: Result<Option<String>, Error> = async {
            let infos = self.db.get_tables(schema.as_deref()).await?;
            let Some(info) = infos.into_iter().find(|t| t.name == table) else {
                return Ok(None);
            };
            let s = Some(info.schema.as_str());
            let columns = self.db.get_columns(s, &info.name).await?;
            let mut text = String::new();
            let kind = match info.kind {
                TableKind::View => "View",
                TableKind::MaterializedView => "Materialized view",
                TableKind::ForeignTable => "Foreign table",
                TableKind::PartitionedTable => "Partitioned table",
                TableKind::Table => "Table",
            };
            let _ = writeln!(text, "{kind} \"{}.{}\"", info.schema, info.name);
            let rows = columns
                .into_iter()
                .map(|c| {
                    vec![
                        Value::Text(c.name),
                        Value::Text(c.data_type),
                        Value::Text(if c.nullable { "" } else { "not null" }.into()),
                        opt_text(c.default),
                        Value::Text(if c.primary_key { "yes" } else { "" }.into()),
                    ]
                })
                .collect();
            let mut table_text = Vec::new();
            let _ = output::print(
                &mut table_text,
                &listing(&["column", "type", "nullable", "default", "primary key"], rows),
                Format::Table,
            );
            text.push_str(&String::from_utf8_lossy(&table_text));
            let is_view = matches!(info.kind, TableKind::View | TableKind::MaterializedView);
            if !is_view && self.db.has_capability(Capability::Table) {
                let indexes = self.db.get_table_indexes(s, &info.name).await?;
                if !indexes.is_empty() {
                    text.push_str("Indexes:\n");
                    for i in indexes {
                        let _ = writeln!(text, "    {}", index_line(&inspect::index_node(i)));
                    }
                }
                let constraints = self.db.get_table_constraints(s, &info.name).await?;
                if !constraints.is_empty() {
                    text.push_str("Constraints:\n");
                    for c in constraints {
                        let _ = writeln!(text, "    {}", constraint_line(&inspect::constraint_node(c)));
                    }
                }
            }
            if is_view && self.db.has_capability(Capability::View) {
                let definition = self.db.get_view_definition(s, &info.name).await?;
                let _ = writeln!(text, "View definition:\n{}", definition.trim_end());
            }
            Ok(Some(text))
        }
        .await;
        match result {
            Ok(Some(text)) => {
                let written = self
                    .out
                    .write_all(inert(&text).as_bytes())
                    .and_then(|_| self.out.flush());
                if let Err(e) = written {
                    eprintln!("error: writing output: {e}");
                }
                Ran::Ok
            }
            Ok(None) => {
                eprintln!("Did not find any relation named \"{}\".", inert(name));
                Ran::Failed(1)
            }
            Err(e) => Ran::error(&e, None, ""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(matches("*", "anything"));
        assert!(matches("us*", "Users"));
        assert!(matches("t?", "t1"));
        assert!(!matches("t?", "t12"));
        assert!(!matches("users", "users2"));
    }
}
