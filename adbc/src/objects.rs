//! Catalog calls: `GetInfo`, `GetObjects`, `GetTableSchema`,
//! `GetTableTypes`, answered from the driver's introspection interfaces
//! (`schema`, `table`) and shaped as ADBC 1.1 specifies
//! (`adbc_core::schemas`).

use std::collections::HashSet;
use std::sync::Arc;

use adbc_core::constants::ADBC_VERSION_1_1_0;
use adbc_core::error::{Result, Status};
use adbc_core::options::{InfoCode, ObjectDepth};
use adbc_core::schemas;
use arrow_array::{
    new_empty_array, ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray, UInt32Array, UnionArray,
};
use arrow_buffer::ScalarBuffer;
use arrow_schema::{DataType, Schema};
use driverbox::api::schema::TableKind;
use driverbox::api::table::ConstraintKind;
use driverbox::{QueryDriver, SchemaIntrospection, TableOperations};
use serde_json::{json, Value as Json};

use crate::connection::Session;
use crate::error::{arrow, invalid};

/// The table types this driver reports, in `GetTableTypes` and `GetObjects`.
const TABLE_TYPES: [&str; 5] = [
    "table",
    "view",
    "materialized_view",
    "foreign_table",
    "partitioned_table",
];

fn table_type(kind: TableKind) -> &'static str {
    match kind {
        TableKind::Table => "table",
        TableKind::View => "view",
        TableKind::MaterializedView => "materialized_view",
        TableKind::ForeignTable => "foreign_table",
        TableKind::PartitionedTable => "partitioned_table",
    }
}

/// The filters of `GetObjects`; names are SQL `LIKE` patterns.
pub(crate) struct Filter<'a> {
    pub catalog: Option<&'a str>,
    pub db_schema: Option<&'a str>,
    pub table_name: Option<&'a str>,
    pub table_type: Option<Vec<&'a str>>,
    pub column_name: Option<&'a str>,
}

/// SQL `LIKE`: `%` any run, `_` any one character, no escape.
fn like(pattern: Option<&str>, s: &str) -> bool {
    fn go(p: &[char], s: &[char]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some(('%', rest)) => (0..=s.len()).any(|i| go(rest, &s[i..])),
            Some(('_', rest)) => !s.is_empty() && go(rest, &s[1..]),
            Some((c, rest)) => s.first() == Some(c) && go(rest, &s[1..]),
        }
    }
    match pattern {
        None => true,
        Some(p) => go(&p.chars().collect::<Vec<_>>(), &s.chars().collect::<Vec<_>>()),
    }
}

fn catalog_name(session: &Session) -> String {
    let info = session.driver.info();
    if info.connection.file_based {
        "main".to_string()
    } else {
        session.driver.options().database.clone().unwrap_or_default()
    }
}

fn vendor_name(session: &Session) -> String {
    let info = session.driver.info();
    match info.database_type.as_str() {
        "postgresql" => "PostgreSQL".into(),
        "sqlite" => "SQLite".into(),
        "mysql" | "mariadb" if session.server_version.contains("MariaDB") => "MariaDB".into(),
        "mysql" | "mariadb" => "MySQL".into(),
        "mongodb" => "MongoDB".into(),
        other => other.to_string(),
    }
}

/// The version number in a server's version string: `15.20` of
/// `PostgreSQL 15.20 (Debian …) on x86_64…`; a string that starts with a
/// digit is kept whole (`10.11.6-MariaDB`, `3.46.0`).
fn version_number(s: &str) -> String {
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        return s.to_string();
    }
    s.split_whitespace()
        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or(s)
        .to_string()
}

enum InfoValue {
    Text(String),
    Bool(bool),
    Int(i64),
}

/// `GetInfo`: vendor name and version (from the server), driver name and
/// version, Arrow and ADBC versions.
pub(crate) fn info(session: &Session, codes: Option<HashSet<InfoCode>>) -> Result<RecordBatch> {
    let all = [
        (InfoCode::VendorName, InfoValue::Text(vendor_name(session))),
        (
            InfoCode::VendorVersion,
            InfoValue::Text(version_number(&session.server_version)),
        ),
        (
            InfoCode::VendorSql,
            InfoValue::Bool(session.driver.info().placeholder_style != driverbox::PlaceholderStyle::None),
        ),
        (
            InfoCode::DriverName,
            InfoValue::Text(format!("ADBC driverbox Driver ({})", session.driver.info().name)),
        ),
        (
            InfoCode::DriverVersion,
            InfoValue::Text(env!("CARGO_PKG_VERSION").to_string()),
        ),
        (InfoCode::DriverArrowVersion, InfoValue::Text("60.1".to_string())),
        (InfoCode::DriverAdbcVersion, InfoValue::Int(ADBC_VERSION_1_1_0 as i64)),
    ];
    let (mut names, mut type_ids, mut offsets) = (Vec::new(), Vec::new(), Vec::new());
    let (mut texts, mut bools, mut ints) = (Vec::new(), Vec::new(), Vec::new());
    for (code, value) in all {
        if codes.as_ref().is_some_and(|c| !c.contains(&code)) {
            continue;
        }
        names.push(u32::from(&code));
        match value {
            InfoValue::Text(s) => {
                type_ids.push(0i8);
                offsets.push(texts.len() as i32);
                texts.push(s);
            }
            InfoValue::Bool(b) => {
                type_ids.push(1);
                offsets.push(bools.len() as i32);
                bools.push(b);
            }
            InfoValue::Int(i) => {
                type_ids.push(2);
                offsets.push(ints.len() as i32);
                ints.push(i);
            }
        }
    }
    let schema = schemas::GET_INFO_SCHEMA.clone();
    let DataType::Union(fields, _) = schema.field(1).data_type() else {
        return Err(invalid(Status::Internal, "driverbox: GetInfo schema is not a union"));
    };
    let children: Vec<ArrayRef> = fields
        .iter()
        .map(|(id, f)| -> ArrayRef {
            match id {
                0 => Arc::new(StringArray::from(texts.clone())),
                1 => Arc::new(BooleanArray::from(bools.clone())),
                2 => Arc::new(Int64Array::from(ints.clone())),
                _ => new_empty_array(f.data_type()),
            }
        })
        .collect();
    let union = UnionArray::try_new(
        fields.clone(),
        ScalarBuffer::from(type_ids),
        Some(ScalarBuffer::from(offsets)),
        children,
    )
    .map_err(arrow)?;
    RecordBatch::try_new(schema, vec![Arc::new(UInt32Array::from(names)), Arc::new(union)]).map_err(arrow)
}

/// `GetTableTypes`.
pub(crate) fn table_types() -> Result<RecordBatch> {
    RecordBatch::try_new(
        schemas::GET_TABLE_TYPES_SCHEMA.clone(),
        vec![Arc::new(StringArray::from(TABLE_TYPES.to_vec()))],
    )
    .map_err(arrow)
}

fn constraint_type(kind: ConstraintKind) -> &'static str {
    match kind {
        ConstraintKind::PrimaryKey => "PRIMARY KEY",
        ConstraintKind::ForeignKey => "FOREIGN KEY",
        ConstraintKind::Unique => "UNIQUE",
        ConstraintKind::Check => "CHECK",
        ConstraintKind::Exclusion => "EXCLUDE",
    }
}

/// The columns and constraints of one table, as `GetObjects` nests them.
fn table_details(session: &Session, catalog: &str, schema: &str, table: &str, filter: &Filter) -> Result<(Json, Json)> {
    let d = &session.driver;
    let columns = session.block(d.get_columns(Some(schema), table))?;
    let columns: Vec<Json> = columns
        .into_iter()
        .filter(|c| like(filter.column_name, &c.name))
        .map(|c| {
            json!({
                "column_name": c.name,
                "ordinal_position": c.ordinal,
                "remarks": c.comment,
                "xdbc_type_name": c.data_type,
                "xdbc_nullable": if c.nullable { 1 } else { 0 },
                "xdbc_is_nullable": if c.nullable { "YES" } else { "NO" },
                "xdbc_column_def": c.default,
            })
        })
        .collect();
    let constraints = match session.block(d.get_table_constraints(Some(schema), table)) {
        Ok(c) => c,
        Err(e) if e.status == Status::NotImplemented => Vec::new(),
        Err(e) => return Err(e),
    };
    let constraints: Vec<Json> = constraints
        .into_iter()
        .map(|c| {
            let usage: Option<Vec<Json>> = c.references.as_ref().map(|r| {
                r.columns
                    .iter()
                    .map(|col| {
                        json!({
                            "fk_catalog": catalog,
                            "fk_db_schema": r.schema,
                            "fk_table": r.table,
                            "fk_column_name": col,
                        })
                    })
                    .collect()
            });
            json!({
                "constraint_name": c.name,
                "constraint_type": constraint_type(c.kind),
                "constraint_column_names": c.columns,
                "constraint_column_usage": usage,
            })
        })
        .collect();
    Ok((Json::Array(columns), Json::Array(constraints)))
}

/// The one schema-less entry of a document store (MongoDB): its
/// collections as tables of their kind (`collection`, `view`,
/// `timeseries`), with no columns (documents have no fixed ones) and no
/// constraints.
fn collections(session: &Session, depth: ObjectDepth, filter: &Filter) -> Result<Json> {
    use driverbox::NoSqlOperations;
    let tables = if depth == ObjectDepth::Schemas {
        Json::Null
    } else {
        let list = session.block(session.driver.list_collections(None))?;
        let detail = depth != ObjectDepth::Tables;
        Json::Array(
            list.into_iter()
                .filter(|c| {
                    like(filter.table_name, &c.name)
                        && filter.table_type.as_ref().is_none_or(|t| t.contains(&c.kind.as_str()))
                })
                .map(|c| {
                    json!({
                        "table_name": c.name,
                        "table_type": c.kind,
                        "table_columns": if detail { json!([]) } else { Json::Null },
                        "table_constraints": if detail { json!([]) } else { Json::Null },
                    })
                })
                .collect(),
        )
    };
    Ok(json!({"db_schema_name": Json::Null, "db_schema_tables": tables}))
}

/// `GetObjects` at `depth` with the filters applied. The catalog is the
/// connection's database (`main` for file databases).
pub(crate) fn objects(session: &Session, depth: ObjectDepth, filter: &Filter) -> Result<RecordBatch> {
    let catalog = catalog_name(session);
    let mut rows = Vec::new();
    if like(filter.catalog, &catalog) {
        let schemas = if depth == ObjectDepth::Catalogs {
            Json::Null
        } else {
            let mut out = Vec::new();
            let schemas = match session.block(session.driver.get_schemas()) {
                Ok(list) => list,
                // A document store: no schemas; its collections are the tables.
                Err(e) if e.status == Status::NotImplemented => {
                    if filter.db_schema.is_none() {
                        out.push(collections(session, depth, filter)?);
                    }
                    Vec::new()
                }
                Err(e) => return Err(e),
            };
            for s in schemas {
                if !like(filter.db_schema, &s.name) {
                    continue;
                }
                let tables = if depth == ObjectDepth::Schemas {
                    Json::Null
                } else {
                    let mut tables = Vec::new();
                    for t in session.block(session.driver.get_tables(Some(&s.name)))? {
                        let kind = table_type(t.kind);
                        let wanted = filter.table_type.as_ref().is_none_or(|types| types.contains(&kind));
                        if !wanted || !like(filter.table_name, &t.name) {
                            continue;
                        }
                        let (columns, constraints) = if depth == ObjectDepth::Tables {
                            (Json::Null, Json::Null)
                        } else {
                            table_details(session, &catalog, &s.name, &t.name, filter)?
                        };
                        tables.push(json!({
                            "table_name": t.name,
                            "table_type": kind,
                            "table_columns": columns,
                            "table_constraints": constraints,
                        }));
                    }
                    Json::Array(tables)
                };
                out.push(json!({"db_schema_name": s.name, "db_schema_tables": tables}));
            }
            Json::Array(out)
        };
        rows.push(json!({"catalog_name": catalog, "catalog_db_schemas": schemas}));
    }
    let schema = schemas::GET_OBJECTS_SCHEMA.clone();
    // Through JSON text: arrow-json nests lists of structs for us.
    let mut text = String::new();
    for row in &rows {
        text.push_str(&row.to_string());
        text.push('\n');
    }
    let mut decoder = arrow_json::ReaderBuilder::new(schema.clone())
        .build_decoder()
        .map_err(arrow)?;
    decoder.decode(text.as_bytes()).map_err(arrow)?;
    Ok(decoder
        .flush()
        .map_err(arrow)?
        .unwrap_or_else(|| RecordBatch::new_empty(schema)))
}

/// `GetStatisticNames`: the driver-specific statistics `GetStatistics`
/// reports beside ADBC's standard ones (keys from 1024, as ADBC reserves
/// 0–1023 for itself).
pub(crate) const STATISTIC_TOTAL_BYTES: (&str, i16) = ("driverbox.statistic.total_bytes", 1024);

/// `GetStatisticNames`.
pub(crate) fn statistic_names() -> Result<RecordBatch> {
    RecordBatch::try_new(
        schemas::GET_STATISTIC_NAMES_SCHEMA.clone(),
        vec![
            Arc::new(StringArray::from(vec![STATISTIC_TOTAL_BYTES.0])),
            Arc::new(arrow_array::Int16Array::from(vec![STATISTIC_TOTAL_BYTES.1])),
        ],
    )
    .map_err(arrow)
}

/// One statistic of one table (table-level: no column).
struct Statistic {
    table: String,
    key: i16,
    value: i64,
    approximate: bool,
}

/// `GetStatistics`: per table, `adbc.statistic.row_count` (the planner's
/// estimate when `approximate`, else a count; a table the server has no
/// estimate for is counted) and the total size on disk in bytes
/// ([`STATISTIC_TOTAL_BYTES`]) where the driver reports it. Tables only
/// (views have no statistics); `db_schema` and `table_name` are `LIKE`
/// patterns. A driver without the `table` interface gives `NotImplemented`.
pub(crate) fn statistics(
    session: &Session,
    catalog: Option<&str>,
    db_schema: Option<&str>,
    table_name: Option<&str>,
    approximate: bool,
) -> Result<RecordBatch> {
    use adbc_core::constants::ADBC_STATISTIC_ROW_COUNT_KEY;
    let d = &session.driver;
    let catalog_name = catalog_name(session);
    let mut per_schema: Vec<(String, Vec<Statistic>)> = Vec::new();
    if like(catalog, &catalog_name) {
        for s in session.block(d.get_schemas())? {
            if !like(db_schema, &s.name) {
                continue;
            }
            let mut stats = Vec::new();
            for t in session.block(d.get_tables(Some(&s.name)))? {
                if !matches!(t.kind, TableKind::Table | TableKind::PartitionedTable) || !like(table_name, &t.name) {
                    continue;
                }
                let mut st = session.block(d.get_table_statistics(Some(&s.name), &t.name, !approximate))?;
                if st.exact_rows.is_none() && st.estimated_rows.is_none() {
                    st = session.block(d.get_table_statistics(Some(&s.name), &t.name, true))?;
                }
                let rows = match (st.exact_rows, st.estimated_rows) {
                    (Some(n), _) => Some((n, false)),
                    (None, Some(n)) => Some((n, true)),
                    _ => None,
                };
                if let Some((n, approx)) = rows {
                    stats.push(Statistic {
                        table: t.name.clone(),
                        key: ADBC_STATISTIC_ROW_COUNT_KEY,
                        value: i64::try_from(n).unwrap_or(i64::MAX),
                        approximate: approx,
                    });
                }
                if let Some(bytes) = st.total_size_bytes {
                    stats.push(Statistic {
                        table: t.name.clone(),
                        key: STATISTIC_TOTAL_BYTES.1,
                        value: i64::try_from(bytes).unwrap_or(i64::MAX),
                        approximate: true,
                    });
                }
            }
            per_schema.push((s.name, stats));
        }
    }
    statistics_batch(&catalog_name, per_schema, like(catalog, &catalog_name))
}

/// Nests the statistics as `adbc_core::schemas::GET_STATISTICS_SCHEMA`
/// says: one catalog row, its schemas, their statistics (values in the
/// dense union's `int64` member).
fn statistics_batch(catalog: &str, per_schema: Vec<(String, Vec<Statistic>)>, any: bool) -> Result<RecordBatch> {
    use arrow_array::{Int16Array, ListArray, StructArray};
    use arrow_buffer::OffsetBuffer;
    let schema = schemas::GET_STATISTICS_SCHEMA.clone();
    if !any {
        return Ok(RecordBatch::new_empty(schema));
    }
    let (DataType::Struct(stat_fields), DataType::Struct(schema_fields)) =
        (&*schemas::STATISTICS_SCHEMA, &*schemas::STATISTICS_DB_SCHEMA_SCHEMA)
    else {
        return Err(invalid(
            Status::Internal,
            "driverbox: GetStatistics schema is not a struct",
        ));
    };
    let DataType::Union(union_fields, _) = &*schemas::STATISTIC_VALUE_SCHEMA else {
        return Err(invalid(Status::Internal, "driverbox: statistic value is not a union"));
    };
    let all: Vec<&Statistic> = per_schema.iter().flat_map(|(_, s)| s).collect();
    let n = all.len();
    let values: ArrayRef = Arc::new(
        UnionArray::try_new(
            union_fields.clone(),
            ScalarBuffer::from(vec![0i8; n]),
            Some(ScalarBuffer::from((0..n as i32).collect::<Vec<_>>())),
            union_fields
                .iter()
                .map(|(id, f)| -> ArrayRef {
                    if id == 0 {
                        Arc::new(Int64Array::from(all.iter().map(|s| s.value).collect::<Vec<_>>()))
                    } else {
                        new_empty_array(f.data_type())
                    }
                })
                .collect(),
        )
        .map_err(arrow)?,
    );
    let stats = StructArray::try_new(
        stat_fields.clone(),
        vec![
            Arc::new(StringArray::from(
                all.iter().map(|s| s.table.as_str()).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(vec![None::<&str>; n])),
            Arc::new(Int16Array::from(all.iter().map(|s| s.key).collect::<Vec<_>>())),
            values,
            Arc::new(BooleanArray::from(
                all.iter().map(|s| s.approximate).collect::<Vec<_>>(),
            )),
        ],
        None,
    )
    .map_err(arrow)?;
    let DataType::List(stat_item) = schema_fields[1].data_type() else {
        return Err(invalid(Status::Internal, "driverbox: statistics list type"));
    };
    let stat_lists = ListArray::try_new(
        stat_item.clone(),
        OffsetBuffer::from_lengths(per_schema.iter().map(|(_, s)| s.len())),
        Arc::new(stats),
        None,
    )
    .map_err(arrow)?;
    let schemas_arr = StructArray::try_new(
        schema_fields.clone(),
        vec![
            Arc::new(StringArray::from(
                per_schema.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>(),
            )),
            Arc::new(stat_lists),
        ],
        None,
    )
    .map_err(arrow)?;
    let DataType::List(schema_item) = schema.field(1).data_type() else {
        return Err(invalid(Status::Internal, "driverbox: db schemas list type"));
    };
    let catalogs = ListArray::try_new(
        schema_item.clone(),
        OffsetBuffer::from_lengths([per_schema.len()]),
        Arc::new(schemas_arr),
        None,
    )
    .map_err(arrow)?;
    RecordBatch::try_new(
        schema,
        vec![Arc::new(StringArray::from(vec![catalog])), Arc::new(catalogs)],
    )
    .map_err(arrow)
}

/// `GetTableSchema`: the Arrow schema of the table's rows, as a query of
/// them would return it.
pub(crate) fn table_schema(session: &Session, db_schema: Option<&str>, table: &str) -> Result<Schema> {
    let info = session.driver.info();
    let q = info.identifier_quote.as_str();
    let quote = |n: &str| format!("{q}{}{q}", n.replace(q, &format!("{q}{q}")));
    let target = match db_schema {
        Some(s) => format!("{}.{}", quote(s), quote(table)),
        None => quote(table),
    };
    let result = session.block(
        session
            .driver
            .query_arrow(&format!("SELECT * FROM {target} WHERE 1 = 0"), &[]),
    )?;
    Ok(result.batch.schema().as_ref().clone())
}

#[cfg(test)]
mod tests {
    use super::like;

    #[test]
    fn version_numbers() {
        assert_eq!(
            super::version_number("PostgreSQL 15.20 (Debian 15.20-0+deb12u1) on x86_64"),
            "15.20"
        );
        assert_eq!(
            super::version_number("10.11.6-MariaDB-0+deb12u1"),
            "10.11.6-MariaDB-0+deb12u1"
        );
        assert_eq!(super::version_number(""), "");
    }

    #[test]
    fn like_patterns() {
        assert!(like(None, "x"));
        assert!(like(Some("%"), ""));
        assert!(like(Some("t_b%"), "tab_x"));
        assert!(!like(Some("t_b"), "tab_x"));
        assert!(like(Some("ab"), "ab"));
        assert!(!like(Some("ab"), "abc"));
    }
}
