//! `schema` and `table`: tables of the region (one database and one
//! schema, both named after the region), key schema and attribute definitions as
//! columns, the primary key and secondary indexes (GSIs, LSIs), and the
//! table's item count and size as statistics (DynamoDB refreshes them
//! about every six hours; an exact count is a Scan).

use driverbox_guest_sdk::types::{
    ColumnInfo, ConstraintInfo, ConstraintKind, DatabaseInfo, IndexInfo, QueryResult, SchemaInfo, TableInfo, TableKind,
    TableStatistics,
};
use driverbox_guest_sdk::{Result, SchemaIntrospection, TableOperations};
use serde_json::Value as Json;

use crate::connection::{key_names, key_schema, Connection};

/// `S`, `N` or `B` of each attribute definition.
fn attribute_types(t: &Json) -> Vec<(String, String)> {
    t.get("AttributeDefinitions")
        .and_then(|a| a.as_array())
        .into_iter()
        .flatten()
        .filter_map(|d| {
            Some((
                d.get("AttributeName")?.as_str()?.to_string(),
                d.get("AttributeType")?.as_str()?.to_string(),
            ))
        })
        .collect()
}

/// The secondary indexes of a table description: (name, `GSI`/`LSI`, key names).
pub fn secondary_indexes(t: &Json) -> Vec<(String, &'static str, Vec<String>, Json)> {
    let mut out = Vec::new();
    for (field, kind) in [("GlobalSecondaryIndexes", "GSI"), ("LocalSecondaryIndexes", "LSI")] {
        for i in t.get(field).and_then(|x| x.as_array()).into_iter().flatten() {
            if let Some(name) = i.get("IndexName").and_then(|n| n.as_str()) {
                out.push((
                    name.to_string(),
                    kind,
                    key_schema(i.get("KeySchema")),
                    i.get("Projection").cloned().unwrap_or(Json::Null),
                ));
            }
        }
    }
    out
}

fn u64_of(t: &Json, k: &str) -> Option<u64> {
    t.get(k).and_then(|v| v.as_u64())
}

impl SchemaIntrospection for Connection {
    fn get_databases(&mut self) -> Result<Vec<DatabaseInfo>> {
        Ok(vec![DatabaseInfo {
            name: self.region().to_string(),
            owner: None,
            encoding: None,
            size_bytes: None,
        }])
    }

    /// One schema, named after the region (the tables of an account in a region).
    fn get_schemas(&mut self) -> Result<Vec<SchemaInfo>> {
        Ok(vec![SchemaInfo {
            name: self.region().to_string(),
            owner: None,
        }])
    }

    fn get_tables(&mut self, schema: Option<String>) -> Result<Vec<TableInfo>> {
        if schema.as_deref().is_some_and(|s| s != self.region()) {
            return Ok(Vec::new());
        }
        let region = self.region().to_string();
        Ok(self
            .list_tables()?
            .into_iter()
            .map(|name| TableInfo {
                schema: region.clone(),
                name,
                kind: TableKind::Table,
                comment: None,
            })
            .collect())
    }

    /// The key attributes (partition key, sort key), then the other
    /// attributes the table defines (keys of secondary indexes). Other
    /// attributes have no declared type in DynamoDB.
    fn get_columns(&mut self, _schema: Option<String>, table: String) -> Result<Vec<ColumnInfo>> {
        let t = self.describe(&table)?;
        let keys = key_names(&t);
        let types = attribute_types(&t);
        let mut names: Vec<String> = keys.clone();
        for (n, _) in &types {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
        Ok(names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let is_key = keys.contains(n);
                let role = match keys.iter().position(|k| k == n) {
                    Some(0) => Some("partition key (HASH)"),
                    Some(_) => Some("sort key (RANGE)"),
                    None => Some("key of a secondary index"),
                };
                ColumnInfo {
                    name: n.clone(),
                    ordinal: i as u32 + 1,
                    data_type: types
                        .iter()
                        .find(|(a, _)| a == n)
                        .map(|(_, t)| t.clone())
                        .unwrap_or_else(|| "?".into()),
                    nullable: !is_key,
                    default: None,
                    primary_key: is_key,
                    comment: role.map(String::from),
                }
            })
            .collect())
    }
}

impl TableOperations for Connection {
    /// Items of a Scan, `offset` skipped, at most `limit`, in the Scan's order.
    fn get_table_data(
        &mut self,
        _schema: Option<String>,
        table: String,
        limit: u64,
        offset: u64,
    ) -> Result<QueryResult> {
        let items = self.scan_window(&table, limit, offset)?;
        crate::base::items_result(&items, None)
    }

    fn get_table_constraints(&mut self, _schema: Option<String>, table: String) -> Result<Vec<ConstraintInfo>> {
        let t = self.describe(&table)?;
        Ok(vec![ConstraintInfo {
            name: "PRIMARY".into(),
            kind: ConstraintKind::PrimaryKey,
            columns: key_names(&t),
            references: None,
            definition: t.get("KeySchema").map(|k| k.to_string()),
        }])
    }

    fn get_table_statistics(
        &mut self,
        _schema: Option<String>,
        table: String,
        exact_count: bool,
    ) -> Result<TableStatistics> {
        let t = self.describe(&table)?;
        let index_size: u64 = ["GlobalSecondaryIndexes", "LocalSecondaryIndexes"]
            .iter()
            .flat_map(|f| t.get(*f).and_then(|x| x.as_array()).cloned().unwrap_or_default())
            .filter_map(|i| u64_of(&i, "IndexSizeBytes"))
            .sum();
        let table_size = u64_of(&t, "TableSizeBytes");
        let exact_rows = if exact_count {
            Some(self.count_items(&table)?)
        } else {
            None
        };
        Ok(TableStatistics {
            estimated_rows: u64_of(&t, "ItemCount"),
            exact_rows,
            table_size_bytes: table_size,
            index_size_bytes: Some(index_size),
            total_size_bytes: table_size.map(|s| s + index_size),
            last_vacuum: None,
            last_analyze: None,
        })
    }

    fn get_table_indexes(&mut self, _schema: Option<String>, table: String) -> Result<Vec<IndexInfo>> {
        let t = self.describe(&table)?;
        let mut out = vec![IndexInfo {
            name: "PRIMARY".into(),
            columns: key_names(&t),
            unique: true,
            primary: true,
            method: Some("hash".into()),
            predicate: None,
            definition: None,
        }];
        for (name, kind, keys, projection) in secondary_indexes(&t) {
            out.push(IndexInfo {
                name,
                columns: keys,
                unique: false,
                primary: false,
                method: Some(kind.into()),
                predicate: None,
                definition: Some(format!("{kind} projection {projection}")),
            });
        }
        Ok(out)
    }
}

impl Connection {
    /// Scan items `offset .. offset + limit`.
    pub fn scan_window(&mut self, table: &str, limit: u64, offset: u64) -> Result<Vec<crate::connection::Item>> {
        let mut out = Vec::new();
        let mut skipped = 0u64;
        if limit == 0 {
            return Ok(out);
        }
        self.scan_all(table, |item| {
            if skipped < offset {
                skipped += 1;
                return Ok(true);
            }
            out.push(item);
            Ok((out.len() as u64) < limit)
        })?;
        Ok(out)
    }

    /// An exact item count: a Scan that counts.
    pub fn count_items(&mut self, table: &str) -> Result<u64> {
        let mut total = 0;
        let mut start = None;
        loop {
            let (_, n, next) = self.scan_page(table, start.as_ref(), None, true)?;
            total += n;
            match next {
                Some(k) => start = Some(k),
                None => return Ok(total),
            }
        }
    }
}
