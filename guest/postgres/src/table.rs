//! `table`: rows, constraints, statistics and indexes of a table.

use driverbox_guest_sdk::types::{QueryResult, Value};
use driverbox_guest_sdk::{Error, Result};

use crate::connection::{Cells, Connection};
use crate::schema::resolve_relation;
use crate::DIALECT;
use driverbox_guest_sdk::types::{ConstraintInfo, ConstraintKind, ForeignKeyTarget, IndexInfo, TableStatistics};
use driverbox_guest_sdk::TableOperations;

fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Primary-key column names of a relation, in key order.
pub fn primary_key(conn: &mut Connection, rel_oid: i64) -> Result<Vec<String>> {
    conn.query_map(
        "select a.attname from pg_catalog.pg_index i \
         cross join lateral unnest(i.indkey) with ordinality as k(attnum, ord) \
         join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum \
         where i.indrelid = $1 and i.indisprimary order by k.ord",
        &[Value::Int(rel_oid)],
        |c| c.str(0),
    )
}

/// A page of rows ordered by the primary key, else by `ctid` (physical
/// order) for tables and materialized views; views keep the server's order.
pub fn get_table_data(
    conn: &mut Connection,
    schema: Option<&str>,
    table: &str,
    limit: u64,
    offset: u64,
) -> Result<QueryResult> {
    let rel = resolve_relation(conn, schema, table, "rvmfp")?;
    let pk = primary_key(conn, rel.oid)?;
    let order = if !pk.is_empty() {
        format!(" ORDER BY {}", DIALECT.quote_list(&pk)?)
    } else if matches!(rel.kind.as_str(), "r" | "m" | "p") {
        " ORDER BY ctid".to_string()
    } else {
        String::new()
    };
    let sql = format!("SELECT * FROM {}{order} LIMIT $1 OFFSET $2", rel.quoted()?);
    Ok(conn
        .query(&sql, &[Value::Int(clamp(limit)), Value::Int(clamp(offset))])?
        .into_result())
}

fn action(code: &str) -> String {
    match code {
        "r" => "RESTRICT",
        "c" => "CASCADE",
        "n" => "SET NULL",
        "d" => "SET DEFAULT",
        _ => "NO ACTION",
    }
    .to_string()
}

/// Primary key, unique, foreign key, check and exclusion constraints.
pub fn get_table_constraints(conn: &mut Connection, schema: Option<&str>, table: &str) -> Result<Vec<ConstraintInfo>> {
    let rel = resolve_relation(conn, schema, table, "rvmfp")?;
    conn.query_map(
        "select c.conname, c.contype, \
           array(select a.attname from unnest(c.conkey) with ordinality k(n, o) \
                 join pg_catalog.pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.n \
                 order by k.o)::text[], \
           rn.nspname, rc.relname, \
           array(select a.attname from unnest(c.confkey) with ordinality k(n, o) \
                 join pg_catalog.pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.n \
                 order by k.o)::text[], \
           c.confupdtype, c.confdeltype, \
           case when c.contype = 'c' then pg_catalog.pg_get_expr(c.conbin, c.conrelid, true) \
                else pg_catalog.pg_get_constraintdef(c.oid, true) end \
         from pg_catalog.pg_constraint c \
         left join pg_catalog.pg_class rc on rc.oid = c.confrelid \
         left join pg_catalog.pg_namespace rn on rn.oid = rc.relnamespace \
         where c.conrelid = $1 and c.contype in ('p', 'u', 'f', 'c', 'x') \
         order by case c.contype when 'p' then 0 when 'u' then 1 when 'f' then 2 \
                  when 'c' then 3 else 4 end, c.conname",
        &[Value::Int(rel.oid)],
        |c| {
            let kind = match c.str(1)?.as_str() {
                "p" => ConstraintKind::PrimaryKey,
                "u" => ConstraintKind::Unique,
                "f" => ConstraintKind::ForeignKey,
                "c" => ConstraintKind::Check,
                _ => ConstraintKind::Exclusion,
            };
            let references = if kind == ConstraintKind::ForeignKey {
                Some(ForeignKeyTarget {
                    schema: c.opt_str(3)?.unwrap_or_default(),
                    table: c.opt_str(4)?.unwrap_or_default(),
                    columns: c.strings(5)?,
                    on_update: action(&c.opt_str(6)?.unwrap_or_default()),
                    on_delete: action(&c.opt_str(7)?.unwrap_or_default()),
                })
            } else {
                None
            };
            Ok(ConstraintInfo {
                name: c.str(0)?,
                kind,
                columns: c.strings(2)?,
                references,
                definition: c.opt_str(8)?,
            })
        },
    )
}

/// Size and maintenance figures; `exact_count` also counts the rows.
pub fn get_table_statistics(
    conn: &mut Connection,
    schema: Option<&str>,
    table: &str,
    exact_count: bool,
) -> Result<TableStatistics> {
    let rel = resolve_relation(conn, schema, table, "rvmfp")?;
    let out = conn.query(
        "select c.reltuples::float8, pg_catalog.pg_table_size(c.oid), \
           pg_catalog.pg_indexes_size(c.oid), pg_catalog.pg_total_relation_size(c.oid), \
           greatest(s.last_vacuum, s.last_autovacuum), \
           greatest(s.last_analyze, s.last_autoanalyze) \
         from pg_catalog.pg_class c \
         left join pg_catalog.pg_stat_all_tables s on s.relid = c.oid \
         where c.oid = $1",
        &[Value::Int(rel.oid)],
    )?;
    let rows = out.rows()?;
    let row = rows.first().ok_or_else(|| Error::protocol("no statistics row"))?;
    let c = Cells(row);
    // -1 means never vacuumed or analyzed (PostgreSQL 14+).
    let estimated_rows = c.opt_f64(0)?.filter(|v| *v >= 0.0).map(|v| v.round() as u64);
    let size = |i| -> Result<Option<u64>> { Ok(c.opt_i64(i)?.map(|v| v.max(0) as u64)) };
    let exact_rows = if exact_count {
        let sql = format!("SELECT count(*) FROM {}", rel.quoted()?);
        let n = conn.query_first(&sql, &[], |c| c.i64(0))?.unwrap_or(0);
        Some(n.max(0) as u64)
    } else {
        None
    };
    Ok(TableStatistics {
        estimated_rows,
        exact_rows,
        table_size_bytes: size(1)?,
        index_size_bytes: size(2)?,
        total_size_bytes: size(3)?,
        last_vacuum: c.opt_timestamp(4)?,
        last_analyze: c.opt_timestamp(5)?,
    })
}

/// Indexes with their key columns (or expressions), method, predicate and
/// full definition.
pub fn get_table_indexes(conn: &mut Connection, schema: Option<&str>, table: &str) -> Result<Vec<IndexInfo>> {
    let rel = resolve_relation(conn, schema, table, "rvmfp")?;
    conn.query_map(
        "select ic.relname, \
           array(select case when i.indkey[k - 1] <> 0 then \
                         (select a.attname::text from pg_catalog.pg_attribute a \
                          where a.attrelid = i.indrelid and a.attnum = i.indkey[k - 1]) \
                       else pg_catalog.pg_get_indexdef(i.indexrelid, k, true) end \
                 from generate_series(1, i.indnkeyatts) k order by k)::text[], \
           i.indisunique, i.indisprimary, am.amname, \
           pg_catalog.pg_get_expr(i.indpred, i.indrelid, true), \
           pg_catalog.pg_get_indexdef(i.indexrelid) \
         from pg_catalog.pg_index i \
         join pg_catalog.pg_class ic on ic.oid = i.indexrelid \
         join pg_catalog.pg_am am on am.oid = ic.relam \
         where i.indrelid = $1 order by ic.relname",
        &[Value::Int(rel.oid)],
        |c| {
            Ok(IndexInfo {
                name: c.str(0)?,
                columns: c.strings(1)?,
                unique: c.bool(2)?,
                primary: c.bool(3)?,
                method: c.opt_str(4)?,
                predicate: c.opt_str(5)?,
                definition: c.opt_str(6)?,
            })
        },
    )
}

impl TableOperations for Connection {
    fn get_table_data(
        &mut self,
        schema: Option<String>,
        table: String,
        limit: u64,
        offset: u64,
    ) -> Result<QueryResult> {
        get_table_data(self, schema.as_deref(), &table, limit, offset)
    }

    fn get_table_constraints(&mut self, schema: Option<String>, table: String) -> Result<Vec<ConstraintInfo>> {
        get_table_constraints(self, schema.as_deref(), &table)
    }

    fn get_table_statistics(
        &mut self,
        schema: Option<String>,
        table: String,
        exact_count: bool,
    ) -> Result<TableStatistics> {
        get_table_statistics(self, schema.as_deref(), &table, exact_count)
    }

    fn get_table_indexes(&mut self, schema: Option<String>, table: String) -> Result<Vec<IndexInfo>> {
        get_table_indexes(self, schema.as_deref(), &table)
    }
}
