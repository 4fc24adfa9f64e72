//! Table contents and structure: pages of rows, constraints, statistics
//! and indexes.

use driverbox_guest_sdk::types::QueryResult;
use driverbox_guest_sdk::{Result, Value};
use rusqlite::Connection;

use crate::connection::{run, shape_of, Conn};
use crate::ddl::{identifiers, parse_index, CreateTable, DeclaredConstraint, DeclaredKind};
use crate::errors::DbResult;
use crate::schema::{primary_key, raw_columns, resolve_table, rowid_name, TableRef};
use crate::sql::{qualified, quote_unchecked};
use driverbox_guest_sdk::types::{ConstraintInfo, ConstraintKind, ForeignKeyTarget, IndexInfo, TableStatistics};
use driverbox_guest_sdk::TableOperations;

/// The stored `CREATE` statement of a table, view or index.
pub fn object_sql(db: &Connection, schema: &str, name: &str) -> Result<Option<String>> {
    let sql = format!(
        "SELECT sql FROM {}.sqlite_schema WHERE name = ?1 COLLATE NOCASE",
        quote_unchecked(schema)
    );
    let found: Vec<Option<String>> = {
        let mut stmt = db.prepare(&sql).db()?;
        let rows = stmt.query_map([name], |r| r.get(0)).db()?;
        rows.collect::<rusqlite::Result<_>>().db()?
    };
    Ok(found.into_iter().flatten().next())
}

/// A page of rows, ordered by primary key, else by rowid; views and
/// virtual tables in the order SQLite returns them. `limit` and `offset`
/// are bound as parameters.
pub fn get_table_data(
    db: &Connection,
    schema: Option<&str>,
    table: &str,
    limit: u64,
    offset: u64,
) -> Result<QueryResult> {
    let t = resolve_table(db, schema, table)?;
    let cols = raw_columns(db, &t)?;
    let pk = primary_key(&cols);
    let order = if t.kind == "table" && !pk.is_empty() {
        let keys: Vec<String> = pk.iter().map(|c| quote_unchecked(c)).collect();
        format!(" ORDER BY {}", keys.join(", "))
    } else if t.has_rowid() {
        rowid_name(&cols).map(|r| format!(" ORDER BY {r}")).unwrap_or_default()
    } else {
        String::new()
    };
    let sql = format!("SELECT * FROM {}{order} LIMIT ?1 OFFSET ?2", t.qualified());
    let shape = shape_of(db, &sql)?;
    let mut stmt = db.prepare(&sql).db()?;
    // SQLite takes a negative LIMIT as "no limit".
    let limit = i64::try_from(limit).unwrap_or(-1);
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    let mut result = run(db, &mut stmt, &shape, vec![Value::Int(limit), Value::Int(offset)])?;
    result.rows_affected = None;
    Ok(result)
}

/// One foreign key of `PRAGMA foreign_key_list`, columns gathered.
#[derive(Debug, Default)]
struct ForeignKey {
    table: String,
    from: Vec<String>,
    to: Vec<Option<String>>,
    on_update: String,
    on_delete: String,
}

fn foreign_keys(db: &Connection, t: &TableRef) -> Result<Vec<ForeignKey>> {
    let mut stmt = db
        .prepare(
            "SELECT id, seq, \"table\", \"from\", \"to\", on_update, on_delete \
             FROM pragma_foreign_key_list(?1, ?2) ORDER BY id, seq",
        )
        .db()?;
    let rows = stmt
        .query_map([&t.name, &t.schema], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
            ))
        })
        .db()?;
    let mut out: Vec<(i64, ForeignKey)> = Vec::new();
    for r in rows {
        let (id, table, from, to, on_update, on_delete) = r.db()?;
        if out.last().is_none_or(|(last, _)| *last != id) {
            out.push((
                id,
                ForeignKey {
                    table,
                    on_update,
                    on_delete,
                    ..ForeignKey::default()
                },
            ));
        }
        if let Some((_, fk)) = out.last_mut() {
            fk.from.push(from);
            fk.to.push(to);
        }
    }
    // foreign_key_list numbers keys from the last declared one.
    out.reverse();
    Ok(out.into_iter().map(|(_, fk)| fk).collect())
}

/// One index of `PRAGMA index_list`.
#[derive(Debug, Clone)]
struct IndexRow {
    name: String,
    unique: bool,
    origin: String,
    partial: bool,
}

fn index_list(db: &Connection, t: &TableRef) -> Result<Vec<IndexRow>> {
    let mut stmt = db
        .prepare("SELECT name, \"unique\", origin, partial FROM pragma_index_list(?1, ?2) ORDER BY seq DESC")
        .db()?;
    let rows = stmt
        .query_map([&t.name, &t.schema], |r| {
            Ok(IndexRow {
                name: r.get(0)?,
                unique: r.get::<_, i64>(1)? != 0,
                origin: r.get(2)?,
                partial: r.get::<_, i64>(3)? != 0,
            })
        })
        .db()?;
    rows.collect::<rusqlite::Result<Vec<_>>>().db()
}

/// Key columns of an index: names, or `None` for an expression (cid -2).
fn index_columns(db: &Connection, schema: &str, index: &str) -> Result<Vec<Option<String>>> {
    let mut stmt = db
        .prepare("SELECT cid, name FROM pragma_index_xinfo(?1, ?2) WHERE key = 1 ORDER BY seqno")
        .db()?;
    let rows = stmt
        .query_map([index, schema], |r| {
            let cid: i64 = r.get(0)?;
            let name: Option<String> = r.get(1)?;
            Ok(match cid {
                -2 => None,
                -1 => Some("rowid".to_string()),
                _ => name,
            })
        })
        .db()?;
    rows.collect::<rusqlite::Result<Vec<_>>>().db()
}

fn same_columns(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
}

fn declared_name(declared: &[DeclaredConstraint], kind: DeclaredKind, columns: &[String]) -> Option<String> {
    declared
        .iter()
        .find(|d| d.kind == kind && same_columns(&d.columns, columns))
        .and_then(|d| d.name.clone())
}

fn quoted_list(cols: &[String]) -> String {
    cols.iter().map(|c| quote_unchecked(c)).collect::<Vec<_>>().join(", ")
}

/// Primary key, foreign keys, unique constraints and checks. Names come
/// from `CONSTRAINT name` in the table's SQL; unnamed ones get
/// PostgreSQL-style names (`t_pkey`, `t_a_fkey`, `t_a_key`, `t_check1`).
pub fn get_table_constraints(db: &Connection, schema: Option<&str>, table: &str) -> Result<Vec<ConstraintInfo>> {
    let t = resolve_table(db, schema, table)?;
    let cols = raw_columns(db, &t)?;
    let sql = object_sql(db, &t.schema, &t.name)?.unwrap_or_default();
    let declared = CreateTable::parse(&sql).map(|c| c.constraints()).unwrap_or_default();
    let mut out = Vec::new();

    let pk = primary_key(&cols);
    if !pk.is_empty() && t.kind == "table" {
        out.push(ConstraintInfo {
            name: declared_name(&declared, DeclaredKind::PrimaryKey, &pk).unwrap_or_else(|| format!("{}_pkey", t.name)),
            kind: ConstraintKind::PrimaryKey,
            definition: Some(format!("PRIMARY KEY ({})", quoted_list(&pk))),
            columns: pk,
            references: None,
        });
    }

    for fk in foreign_keys(db, &t)? {
        // A key written without columns points at the parent's primary key.
        let to: Vec<String> = if fk.to.iter().all(Option::is_some) {
            fk.to.iter().flatten().cloned().collect()
        } else {
            match resolve_table(db, Some(&t.schema), &fk.table) {
                Ok(parent) => primary_key(&raw_columns(db, &parent)?),
                Err(_) => Vec::new(),
            }
        };
        let name = declared
            .iter()
            .find(|d| {
                d.kind == DeclaredKind::ForeignKey
                    && same_columns(&d.columns, &fk.from)
                    && d.text.as_deref().is_some_and(|p| p.eq_ignore_ascii_case(&fk.table))
            })
            .and_then(|d| d.name.clone())
            .unwrap_or_else(|| format!("{}_{}_fkey", t.name, fk.from.join("_")));
        let definition = format!(
            "FOREIGN KEY ({}) REFERENCES {}({}) ON UPDATE {} ON DELETE {}",
            quoted_list(&fk.from),
            quote_unchecked(&fk.table),
            quoted_list(&to),
            fk.on_update,
            fk.on_delete
        );
        out.push(ConstraintInfo {
            name,
            kind: ConstraintKind::ForeignKey,
            columns: fk.from,
            references: Some(ForeignKeyTarget {
                schema: t.schema.clone(),
                table: fk.table,
                columns: to,
                on_update: fk.on_update,
                on_delete: fk.on_delete,
            }),
            definition: Some(definition),
        });
    }

    for idx in index_list(db, &t)?.into_iter().filter(|i| i.origin == "u") {
        let columns: Vec<String> = index_columns(db, &t.schema, &idx.name)?.into_iter().flatten().collect();
        let name = declared_name(&declared, DeclaredKind::Unique, &columns)
            .unwrap_or_else(|| format!("{}_{}_key", t.name, columns.join("_")));
        out.push(ConstraintInfo {
            name,
            kind: ConstraintKind::Unique,
            definition: Some(format!("UNIQUE ({})", quoted_list(&columns))),
            columns,
            references: None,
        });
    }

    for (i, d) in declared.iter().filter(|d| d.kind == DeclaredKind::Check).enumerate() {
        let n = i + 1;
        let expr = d.text.clone().unwrap_or_default();
        let columns = if d.columns.is_empty() {
            // A table check: the table's columns the expression mentions.
            let idents = identifiers(&expr);
            cols.iter()
                .filter(|c| idents.iter().any(|i| i.eq_ignore_ascii_case(&c.name)))
                .map(|c| c.name.clone())
                .collect()
        } else {
            d.columns.clone()
        };
        let name = d.name.clone().unwrap_or_else(|| match d.columns.as_slice() {
            [c] => format!("{}_{c}_check", t.name),
            _ => format!("{}_check{n}", t.name),
        });
        out.push(ConstraintInfo {
            name,
            kind: ConstraintKind::Check,
            columns,
            references: None,
            definition: Some(expr),
        });
    }
    Ok(out)
}

/// Row counts and sizes. Sizes come from the `dbstat` virtual table
/// (compiled into the bundled SQLite: `SQLITE_ENABLE_DBSTAT_VTAB`): the
/// table's b-tree and its indexes' b-trees. Should `dbstat` be missing,
/// only `total-size-bytes` is given, and it is the whole database
/// (`page_count * page_size`). The estimate comes from `sqlite_stat1`
/// (after `ANALYZE`); SQLite records no vacuum or analyze times.
pub fn get_table_statistics(
    db: &Connection,
    schema: Option<&str>,
    table: &str,
    exact: bool,
) -> Result<TableStatistics> {
    let t = resolve_table(db, schema, table)?;
    let exact_rows = if exact {
        let n: i64 = db
            .query_row(&format!("SELECT count(*) FROM {}", t.qualified()), [], |r| r.get(0))
            .db()?;
        u64::try_from(n).ok()
    } else {
        None
    };
    let mut stats = TableStatistics {
        estimated_rows: estimated_rows(db, &t)?,
        exact_rows,
        table_size_bytes: None,
        index_size_bytes: None,
        total_size_bytes: None,
        last_vacuum: None,
        last_analyze: None,
    };
    if t.kind != "table" {
        return Ok(stats);
    }
    let sizes = db.query_row(
        "SELECT coalesce(sum(CASE WHEN name = ?2 THEN pgsize END), 0), \
                coalesce(sum(CASE WHEN name <> ?2 THEN pgsize END), 0) \
         FROM dbstat(?1, 1) \
         WHERE name = ?2 OR name IN (SELECT name FROM pragma_index_list(?2, ?1))",
        [&t.schema, &t.name],
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
    );
    match sizes {
        Ok((table, index)) => {
            stats.table_size_bytes = u64::try_from(table).ok();
            stats.index_size_bytes = u64::try_from(index).ok();
            stats.total_size_bytes = u64::try_from(table.saturating_add(index)).ok();
        }
        Err(_) => {
            let q = quote_unchecked(&t.schema);
            let pages: i64 = db.query_row(&format!("PRAGMA {q}.page_count"), [], |r| r.get(0)).db()?;
            let size: i64 = db.query_row(&format!("PRAGMA {q}.page_size"), [], |r| r.get(0)).db()?;
            stats.total_size_bytes = u64::try_from(pages.saturating_mul(size)).ok();
        }
    }
    Ok(stats)
}

/// The row count `ANALYZE` stored in `sqlite_stat1`, if any.
fn estimated_rows(db: &Connection, t: &TableRef) -> Result<Option<u64>> {
    let has_stat: bool = db
        .query_row(
            &format!(
                "SELECT count(*) FROM {}.sqlite_schema WHERE type = 'table' AND name = 'sqlite_stat1'",
                quote_unchecked(&t.schema)
            ),
            [],
            |r| r.get::<_, i64>(0),
        )
        .db()?
        > 0;
    if !has_stat {
        return Ok(None);
    }
    let stats = crate::connection::query_strings(
        db,
        &format!(
            "SELECT stat FROM {} WHERE tbl = ?1 COLLATE NOCASE",
            qualified(&t.schema, "sqlite_stat1")
        ),
        &[&t.name],
    )?;
    Ok(stats
        .iter()
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .max())
}

/// Indexes with their columns or expressions, uniqueness, origin
/// (`pk` = primary), partial predicate and the `CREATE INDEX` text.
pub fn get_table_indexes(db: &Connection, schema: Option<&str>, table: &str) -> Result<Vec<IndexInfo>> {
    let t = resolve_table(db, schema, table)?;
    let mut out = Vec::new();
    for idx in index_list(db, &t)? {
        let definition = object_sql(db, &t.schema, &idx.name)?;
        let parts = definition.as_deref().map(parse_index).unwrap_or_default();
        let columns = index_columns(db, &t.schema, &idx.name)?
            .into_iter()
            .enumerate()
            .map(|(i, c)| c.unwrap_or_else(|| parts.terms.get(i).cloned().unwrap_or_else(|| "<expression>".into())))
            .collect();
        out.push(IndexInfo {
            name: idx.name,
            columns,
            unique: idx.unique,
            primary: idx.origin == "pk",
            method: None,
            predicate: if idx.partial { parts.predicate } else { None },
            definition,
        });
    }
    Ok(out)
}

impl TableOperations for Conn {
    fn get_table_data(
        &mut self,
        schema: Option<String>,
        table: String,
        limit: u64,
        offset: u64,
    ) -> Result<QueryResult> {
        get_table_data(self.db(), schema.as_deref(), &table, limit, offset)
    }

    fn get_table_constraints(&mut self, schema: Option<String>, table: String) -> Result<Vec<ConstraintInfo>> {
        get_table_constraints(self.db(), schema.as_deref(), &table)
    }

    fn get_table_statistics(
        &mut self,
        schema: Option<String>,
        table: String,
        exact_count: bool,
    ) -> Result<TableStatistics> {
        get_table_statistics(self.db(), schema.as_deref(), &table, exact_count)
    }

    fn get_table_indexes(&mut self, schema: Option<String>, table: String) -> Result<Vec<IndexInfo>> {
        get_table_indexes(self.db(), schema.as_deref(), &table)
    }
}
