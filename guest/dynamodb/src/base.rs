//! `base`: PartiQL statements through `ExecuteStatement`, every page of
//! the answer (`NextToken`) read; items as rows. The columns of a result
//! are the attributes of its items in the order they first appear; a
//! column whose values all have one scalar DynamoDB type has that type
//! (`S` text, `N` exact decimal, `B` bytes, `BOOL` boolean), any other
//! (maps, lists, sets, mixed) is JSON with every digit kept.

use driverbox_guest_sdk::batch::{column, result_from_values};
use driverbox_guest_sdk::types::{Column, ConnectConfig, DriverMetadata, Health, LogicalType, QueryResult, Value};
use driverbox_guest_sdk::{Driver, Error, Result};
use serde_json::{json, Value as Json};

use crate::client::Idempotent;
use crate::connection::{is_select, Connection, Item};
use crate::item;

/// The parameters of a statement as attribute values.
pub fn parameters(params: &[Value]) -> Result<Vec<Json>> {
    params
        .iter()
        .enumerate()
        .map(|(i, v)| item::from_value(v, &format!("parameter {}", i + 1)))
        .collect()
}

/// The columns for `items`: attribute names in order of first appearance,
/// typed by the DynamoDB types they hold.
pub fn columns_of(items: &[Item]) -> Vec<Column> {
    let mut names: Vec<(String, Vec<String>)> = Vec::new();
    for it in items {
        for (k, v) in it {
            let t = item::type_name(v).to_string();
            let at = match names.iter().position(|(n, _)| n == k) {
                Some(i) => i,
                None => {
                    names.push((k.clone(), Vec::new()));
                    names.len() - 1
                }
            };
            if t != "NULL" && !names[at].1.contains(&t) {
                names[at].1.push(t);
            }
        }
    }
    names
        .into_iter()
        .map(|(name, types)| {
            let (logical, db) = match types.as_slice() {
                [t] if t == "S" => (LogicalType::Text, "S".to_string()),
                [t] if t == "N" => (LogicalType::Decimal, "N".to_string()),
                [t] if t == "B" => (LogicalType::Bytes, "B".to_string()),
                [t] if t == "BOOL" => (LogicalType::Boolean, "BOOL".to_string()),
                [] => (LogicalType::Text, "NULL".to_string()),
                many => (LogicalType::Json, many.join("|")),
            };
            let mut c = column(name, logical, db);
            c.nullable = Some(true);
            c
        })
        .collect()
}

/// The cell of attribute value `v` in column `c`.
pub fn cell(c: &Column, v: Option<&Json>) -> Result<Value> {
    let Some(v) = v else { return Ok(Value::Null) };
    let tag = item::type_name(v);
    if tag == "NULL" {
        return Ok(Value::Null);
    }
    let fits = matches!(
        (c.logical_type, tag),
        (LogicalType::Text, "S")
            | (LogicalType::Decimal, "N")
            | (LogicalType::Bytes, "B")
            | (LogicalType::Boolean, "BOOL")
    );
    if fits {
        return item::to_value(v);
    }
    if matches!(c.logical_type, LogicalType::Json | LogicalType::Text) {
        let mut s = String::new();
        item::to_plain_json(v, &mut s)?;
        return Ok(if c.logical_type == LogicalType::Json {
            Value::Json(s)
        } else {
            Value::Text(s)
        });
    }
    Err(driverbox_guest_sdk::client_error(
        driverbox_guest_sdk::ErrorKind::Data,
        format!(
            "attribute {:?} holds a {tag} value after the first page, which made it a {} column; name the attributes in the SELECT",
            c.name, c.database_type
        ),
    ))
}

/// The rows of `items` for `columns`. Errors: `data` for an attribute
/// that is not one of the columns (streams declare them from their first page).
pub fn rows_of(columns: &[Column], items: &[Item]) -> Result<Vec<Vec<Value>>> {
    items
        .iter()
        .map(|it| {
            if let Some(extra) = it.keys().find(|k| !columns.iter().any(|c| &c.name == *k)) {
                return Err(driverbox_guest_sdk::client_error(
                    driverbox_guest_sdk::ErrorKind::Data,
                    format!("attribute {extra:?} first appears after the first page of the stream; name the attributes in the SELECT"),
                ));
            }
            columns.iter().map(|c| cell(c, it.get(&c.name))).collect()
        })
        .collect()
}

/// The attribute names a `SELECT a, "b" FROM …` lists, in order; empty
/// for `SELECT *` or a statement that is no plain SELECT.
pub fn projection_order(sql: &str) -> Vec<String> {
    let s = sql.trim_start();
    if !is_select(s) {
        return Vec::new();
    }
    let rest = &s[6..];
    let lower = rest.to_ascii_lowercase();
    let Some(from) = lower.find(" from ").or_else(|| lower.find("\nfrom ")) else {
        return Vec::new();
    };
    rest[..from]
        .split(',')
        .map(|p| p.trim().trim_matches('"').to_string())
        .filter(|p| !p.is_empty() && p != "*" && !p.contains(['(', ' ', '.', '[']))
        .collect()
}

/// Puts the columns named in `order` first, in that order.
pub fn reorder(mut columns: Vec<Column>, order: &[String]) -> Vec<Column> {
    if order.is_empty() {
        return columns;
    }
    columns.sort_by_key(|c| order.iter().position(|o| o == &c.name).unwrap_or(usize::MAX));
    columns
}

/// Items as a result, columns in the SELECT's order where it names them.
pub fn statement_result(sql: &str, items: &[Item], rows_affected: Option<u64>) -> Result<QueryResult> {
    let columns = reorder(columns_of(items), &projection_order(sql));
    let rows = rows_of(&columns, items)?;
    let mut r = result_from_values(columns, &rows)?;
    r.rows_affected = rows_affected;
    Ok(r)
}

/// Items as a result.
pub fn items_result(items: &[Item], rows_affected: Option<u64>) -> Result<QueryResult> {
    let columns = columns_of(items);
    let rows = rows_of(&columns, items)?;
    let mut r = result_from_values(columns, &rows)?;
    r.rows_affected = rows_affected;
    Ok(r)
}

impl Connection {
    /// Runs a statement to its last page; gives every item.
    pub fn run_statement(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Item>> {
        let parameters = parameters(params)?;
        if self.transaction.is_some() && !is_select(sql) {
            let mut s = json!({"Statement": sql});
            if !parameters.is_empty() {
                s["Parameters"] = Json::Array(parameters);
            }
            let tx = self.transaction.get_or_insert_with(Vec::new);
            if tx.len() >= crate::connection::TRANSACTION_MAX {
                return Err(Error::invalid(format!(
                    "a DynamoDB transaction holds at most {} statements",
                    crate::connection::TRANSACTION_MAX
                )));
            }
            tx.push(s);
            return Ok(Vec::new());
        }
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let (items, next) = self.statement_page(sql, &parameters, token.as_deref(), None)?;
            all.extend(items);
            match next {
                Some(t) if Some(&t) != token.as_ref() => token = Some(t),
                _ => return Ok(all),
            }
        }
    }
}

impl Driver for Connection {
    fn metadata() -> DriverMetadata {
        crate::traits::metadata()
    }

    fn connect(config: ConnectConfig) -> Result<Self> {
        Connection::open(&config)
    }

    fn test_connection(&mut self) -> Result<()> {
        self.call("ListTables", json!({"Limit": 1}), Idempotent::Yes)
            .map(|_| ())
    }

    /// A SELECT gives the number of items; an INSERT, UPDATE or DELETE that
    /// succeeded 1 (DynamoDB's PartiQL writes one item per statement), or
    /// the items it returned (`RETURNING`). In a transaction, 0: the
    /// statement runs at commit.
    fn execute(&mut self, sql: &str, params: Vec<Value>) -> Result<u64> {
        let in_tx = self.transaction.is_some() && !is_select(sql);
        let items = self.run_statement(sql, &params)?;
        Ok(if in_tx {
            0
        } else if is_select(sql) || !items.is_empty() {
            items.len() as u64
        } else {
            1
        })
    }

    fn query(&mut self, sql: &str, params: Vec<Value>) -> Result<QueryResult> {
        let in_tx = self.transaction.is_some() && !is_select(sql);
        let items = self.run_statement(sql, &params)?;
        let affected = if is_select(sql) {
            None
        } else if in_tx {
            Some(0)
        } else {
            Some(items.len().max(1) as u64)
        };
        statement_result(sql, &items, affected)
    }

    fn close(&mut self) {
        self.client.close();
    }

    fn health_check(&mut self) -> Result<Health> {
        crate::traits::health(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(v: Json) -> Vec<Item> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_object().unwrap().clone())
            .collect()
    }

    #[test]
    fn columns_by_type() {
        let its = items(json!([
            {"pk": {"S": "a"}, "n": {"N": "1.50"}, "b": {"B": "AQ=="}},
            {"pk": {"S": "b"}, "n": {"NULL": true}, "m": {"M": {"x": {"N": "1"}}}, "mixed": {"S": "x"}},
            {"pk": {"S": "c"}, "mixed": {"N": "2"}, "t": {"BOOL": false}},
        ]));
        let cols = columns_of(&its);
        let shape: Vec<(&str, LogicalType, &str)> = cols
            .iter()
            .map(|c| (c.name.as_str(), c.logical_type, c.database_type.as_str()))
            .collect();
        assert_eq!(
            shape,
            [
                ("pk", LogicalType::Text, "S"),
                ("n", LogicalType::Decimal, "N"),
                ("b", LogicalType::Bytes, "B"),
                ("m", LogicalType::Json, "M"),
                ("mixed", LogicalType::Json, "S|N"),
                ("t", LogicalType::Boolean, "BOOL"),
            ]
        );
        let rows = rows_of(&cols, &its).unwrap();
        assert_eq!(rows[0][1], Value::Decimal("1.50".into()));
        assert_eq!(rows[1][1], Value::Null);
        assert_eq!(rows[1][3], Value::Json(r#"{"x":1}"#.into()));
        assert_eq!(rows[1][4], Value::Json(r#""x""#.into()));
        assert_eq!(rows[2][4], Value::Json("2".into()));
        assert_eq!(rows[0][3], Value::Null);
        let r = items_result(&its, None).unwrap();
        assert_eq!(r.batch.rows, 3);
        assert_eq!(projection_order("select \"b\", a FROM t"), ["b", "a"]);
        assert!(projection_order("SELECT * FROM t").is_empty());
        let ordered = reorder(cols.clone(), &["t".to_string(), "pk".to_string()]);
        assert_eq!(ordered[0].name, "t");
        assert_eq!(ordered[1].name, "pk");
        // A later page with an attribute the first did not have.
        let later = items(json!([{"pk": {"S": "d"}, "new": {"S": "x"}}]));
        assert!(rows_of(&cols, &later).unwrap_err().message().contains("new"));
        let later = items(json!([{"pk": {"N": "1"}}]));
        assert_eq!(rows_of(&cols, &later).unwrap()[0][0], Value::Text("1".into()));
        let later = items(json!([{"n": {"S": "x"}}]));
        assert!(rows_of(&cols, &later).is_err());
    }
}
