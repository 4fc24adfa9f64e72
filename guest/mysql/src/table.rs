//! `table`: rows, constraints, statistics and indexes of a table.

use driverbox_guest_sdk::types::{
    ConstraintInfo, ConstraintKind, ForeignKeyTarget, IndexInfo, QueryResult, TableStatistics, Value,
};
use driverbox_guest_sdk::{Result, TableOperations};

use crate::connection::Connection;
use crate::schema::{need_table, Cells};
use crate::DIALECT;

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

/// Primary-key column names, in key order.
pub fn primary_key(conn: &mut Connection, schema: &str, table: &str) -> Result<Vec<String>> {
    let rows = conn.rows(
        "SELECT column_name FROM information_schema.key_column_usage \
         WHERE table_schema = ? AND table_name = ? AND constraint_name = 'PRIMARY' ORDER BY ordinal_position",
        &[text(schema), text(table)],
    )?;
    Ok(rows.iter().map(|r| Cells(r).str(0)).collect())
}

/// A page of rows in primary-key order (views and tables without one in
/// the server's order).
pub fn get_table_data(
    conn: &mut Connection,
    schema: Option<&str>,
    table: &str,
    limit: u64,
    offset: u64,
) -> Result<QueryResult> {
    let schema = conn.schema_or_current(schema)?;
    need_table(conn, &schema, table)?;
    let pk = primary_key(conn, &schema, table)?;
    let order = if pk.is_empty() {
        String::new()
    } else {
        format!(" ORDER BY {}", DIALECT.quote_list(&pk)?)
    };
    let sql = format!(
        "SELECT * FROM {}{order} LIMIT {limit} OFFSET {offset}",
        DIALECT.qualified(Some(&schema), table)?
    );
    conn.query(&sql, &[])
}

/// Primary key, unique, foreign key (with actions) and check constraints.
pub fn get_table_constraints(conn: &mut Connection, schema: Option<&str>, table: &str) -> Result<Vec<ConstraintInfo>> {
    let schema = conn.schema_or_current(schema)?;
    need_table(conn, &schema, table)?;
    let rows = conn.rows(
        "SELECT tc.constraint_name, tc.constraint_type, k.column_name, k.referenced_table_schema, \
           k.referenced_table_name, k.referenced_column_name, rc.update_rule, rc.delete_rule \
         FROM information_schema.table_constraints tc \
         JOIN information_schema.key_column_usage k ON k.constraint_schema = tc.constraint_schema \
           AND k.constraint_name = tc.constraint_name AND k.table_schema = tc.table_schema \
           AND k.table_name = tc.table_name \
         LEFT JOIN information_schema.referential_constraints rc ON rc.constraint_schema = tc.constraint_schema \
           AND rc.constraint_name = tc.constraint_name AND rc.table_name = tc.table_name \
         WHERE tc.table_schema = ? AND tc.table_name = ? \
           AND tc.constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY') \
         ORDER BY tc.constraint_type = 'PRIMARY KEY' DESC, tc.constraint_name, k.ordinal_position",
        &[text(&schema), text(table)],
    )?;
    let mut out: Vec<ConstraintInfo> = Vec::new();
    for r in &rows {
        let c = Cells(r);
        let name = c.str(0);
        let kind = match c.str(1).as_str() {
            "PRIMARY KEY" => ConstraintKind::PrimaryKey,
            "FOREIGN KEY" => ConstraintKind::ForeignKey,
            _ => ConstraintKind::Unique,
        };
        let same = out.last().is_some_and(|l| l.name == name && l.kind == kind);
        if !same {
            out.push(ConstraintInfo {
                name: name.clone(),
                kind,
                columns: Vec::new(),
                references: (kind == ConstraintKind::ForeignKey).then(|| ForeignKeyTarget {
                    schema: c.str(3),
                    table: c.str(4),
                    columns: Vec::new(),
                    on_update: c.str(6),
                    on_delete: c.str(7),
                }),
                definition: None,
            });
        }
        if let Some(last) = out.last_mut() {
            last.columns.push(c.str(2));
            if let Some(t) = last.references.as_mut() {
                t.columns.push(c.str(5));
            }
        }
    }
    let checks = conn.rows(
        "SELECT cc.constraint_name, cc.check_clause FROM information_schema.check_constraints cc \
         JOIN information_schema.table_constraints tc ON tc.constraint_schema = cc.constraint_schema \
           AND tc.constraint_name = cc.constraint_name AND tc.constraint_type = 'CHECK' \
         WHERE tc.table_schema = ? AND tc.table_name = ? ORDER BY cc.constraint_name",
        &[text(&schema), text(table)],
    )?;
    let mut seen = std::collections::BTreeSet::new();
    for r in &checks {
        let c = Cells(r);
        if seen.insert(c.str(0)) {
            out.push(ConstraintInfo {
                name: c.str(0),
                kind: ConstraintKind::Check,
                columns: Vec::new(),
                references: None,
                definition: c.opt_str(1).map(|d| unquote_simple(&d)),
            });
        }
    }
    Ok(out)
}

/// An expression with `` `name` `` written as `name` where the name is a
/// plain word (as PostgreSQL shows constraint expressions: quoted only
/// where needed).
pub fn unquote_simple(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '`' {
            out.push(c);
            continue;
        }
        // A quoted name up to the closing backtick (`` is a backtick inside).
        let mut name = String::new();
        loop {
            match chars.next() {
                Some('`') if chars.peek() == Some(&'`') => {
                    chars.next();
                    name.push_str("``");
                }
                Some('`') | None => break,
                Some(ch) => name.push(ch),
            }
        }
        let plain = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if plain {
            out.push_str(&name);
        } else {
            out.push('`');
            out.push_str(&name);
            out.push('`');
        }
    }
    out
}

/// Row estimate and sizes from `information_schema.tables`; an exact
/// count with `COUNT(*)` when asked.
pub fn get_table_statistics(
    conn: &mut Connection,
    schema: Option<&str>,
    table: &str,
    exact: bool,
) -> Result<TableStatistics> {
    let schema = conn.schema_or_current(schema)?;
    need_table(conn, &schema, table)?;
    let rows = conn.rows(
        "SELECT table_rows, data_length, index_length FROM information_schema.tables \
         WHERE table_schema = ? AND table_name = ?",
        &[text(&schema), text(table)],
    )?;
    let c = rows.first().map(|r| Cells(r));
    let get = |i| c.as_ref().and_then(|c| c.opt_u64(i));
    let (data, index) = (get(1), get(2));
    let exact_rows = if exact {
        let sql = format!("SELECT COUNT(*) FROM {}", DIALECT.qualified(Some(&schema), table)?);
        let r = conn.rows(&sql, &[])?;
        r.first().and_then(|r| Cells(r).opt_u64(0))
    } else {
        None
    };
    Ok(TableStatistics {
        estimated_rows: get(0),
        exact_rows,
        table_size_bytes: data,
        index_size_bytes: index,
        total_size_bytes: data.zip(index).map(|(a, b)| a + b),
        last_vacuum: None,
        last_analyze: None,
    })
}

/// Indexes with their columns in order (`name(10)` for a prefix).
pub fn get_table_indexes(conn: &mut Connection, schema: Option<&str>, table: &str) -> Result<Vec<IndexInfo>> {
    let schema = conn.schema_or_current(schema)?;
    need_table(conn, &schema, table)?;
    let rows = conn.rows(
        "SELECT index_name, non_unique, column_name, sub_part, index_type FROM information_schema.statistics \
         WHERE table_schema = ? AND table_name = ? ORDER BY index_name = 'PRIMARY' DESC, index_name, seq_in_index",
        &[text(&schema), text(table)],
    )?;
    // Column names in `columns`; prefix lengths (`note(20)`) in the definition.
    let mut out: Vec<(IndexInfo, Vec<String>)> = Vec::new();
    for r in &rows {
        let c = Cells(r);
        let name = c.str(0);
        if out.last().is_none_or(|(l, _)| l.name != name) {
            let info = IndexInfo {
                name: name.clone(),
                columns: Vec::new(),
                unique: c.opt_u64(1) == Some(0),
                primary: name == "PRIMARY",
                method: c.non_empty(4),
                predicate: None,
                definition: None,
            };
            out.push((info, Vec::new()));
        }
        let (column, part) = match (c.opt_str(2), c.opt_u64(3)) {
            (Some(col), Some(n)) => (col.clone(), format!("{}({n})", DIALECT.quote_unchecked(&col))),
            (Some(col), None) => (col.clone(), DIALECT.quote_unchecked(&col)),
            // A functional index (MySQL 8) has no column.
            (None, _) => ("(expression)".to_string(), "(expression)".to_string()),
        };
        if let Some((last, parts)) = out.last_mut() {
            last.columns.push(column);
            parts.push(part);
        }
    }
    Ok(out
        .into_iter()
        .map(|(mut info, parts)| {
            let kind = match (info.primary, info.unique) {
                (true, _) => "PRIMARY KEY".to_string(),
                (false, true) => format!("UNIQUE INDEX {}", DIALECT.quote_unchecked(&info.name)),
                (false, false) => format!("INDEX {}", DIALECT.quote_unchecked(&info.name)),
            };
            let using = info
                .method
                .as_deref()
                .map(|m| format!(" USING {m}"))
                .unwrap_or_default();
            info.definition = Some(format!("{kind} ({}){using}", parts.join(", ")));
            info
        })
        .collect())
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
    fn get_table_statistics(&mut self, schema: Option<String>, table: String, exact: bool) -> Result<TableStatistics> {
        get_table_statistics(self, schema.as_deref(), &table, exact)
    }
    fn get_table_indexes(&mut self, schema: Option<String>, table: String) -> Result<Vec<IndexInfo>> {
        get_table_indexes(self, schema.as_deref(), &table)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn unquotes_plain_names_only() {
        assert_eq!(super::unquote_simple("`qty` >= 0"), "qty >= 0");
        assert_eq!(super::unquote_simple("`a b` > `c`"), "`a b` > c");
        assert_eq!(super::unquote_simple("`x``y` = 1"), "`x``y` = 1");
    }
}
