//! Which DynamoDB read serves a `nosql` filter: a `Query` when the filter
//! fixes the partition key of the table or of a secondary index by
//! equality (and then the sort key by `=`, `<`, `<=`, `>`, `>=` or a
//! `BETWEEN` made of `$gte` and `$lte`), else a `Scan`. No I/O here.
//!
//! The filter stays MongoDB's query language, evaluated by the driver
//! (`filter`) on every item read: the Query's key condition and filter
//! expression only narrow what is read. So only conditions that every
//! matching document also satisfies in DynamoDB's terms are sent: the
//! key conditions (values of the key's declared type), `$exists`, and
//! equality or comparison with a string or a boolean (as `(a = :v OR
//! attribute_type(a, :L))`, since MongoDB also matches an array holding
//! the value). Comparisons with numbers stay in the driver (it compares
//! them as MongoDB does, in floating point, where DynamoDB is exact).

use bson::{Bson, Document};
use serde_json::{json, Map, Value as Json};

use crate::connection::key_schema;
use crate::item;

/// A key a Query can use: the table's primary key (`index: None`) or a
/// secondary index that projects all attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySet {
    pub index: Option<String>,
    /// Global secondary index (eventually consistent reads only).
    pub global: bool,
    /// Partition key: name and declared type (`S`, `N` or `B`).
    pub hash: (String, String),
    /// Sort key, if any.
    pub range: Option<(String, String)>,
}

/// A planned Query: the body fields beside `TableName`.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub index: Option<String>,
    pub global: bool,
    pub key_condition: String,
    pub filter_expression: Option<String>,
    pub names: Map<String, Json>,
    pub values: Map<String, Json>,
}

impl Plan {
    /// The Query request for `table`, starting after `start`.
    pub fn request(&self, table: &str, start: Option<&Json>) -> Json {
        let mut body = json!({
            "TableName": table,
            "KeyConditionExpression": self.key_condition,
            "ExpressionAttributeNames": self.names,
            "ExpressionAttributeValues": self.values,
        });
        if let Some(i) = &self.index {
            body["IndexName"] = json!(i);
        }
        if !self.global {
            body["ConsistentRead"] = json!(true);
        }
        if let Some(f) = &self.filter_expression {
            body["FilterExpression"] = json!(f);
        }
        if let Some(s) = start {
            body["ExclusiveStartKey"] = s.clone();
        }
        body
    }
}

/// The declared type of each attribute of a table description.
fn attribute_type(table: &Json, name: &str) -> Option<String> {
    table
        .get("AttributeDefinitions")?
        .as_array()?
        .iter()
        .find(|d| d.get("AttributeName").and_then(|n| n.as_str()) == Some(name))?
        .get("AttributeType")?
        .as_str()
        .map(String::from)
}

fn key_set(table: &Json, index: Option<String>, global: bool, schema: Option<&Json>) -> Option<KeySet> {
    let names = key_schema(schema);
    let typed = |n: &String| Some((n.clone(), attribute_type(table, n)?));
    Some(KeySet {
        index,
        global,
        hash: typed(names.first()?)?,
        range: match names.get(1) {
            Some(n) => Some(typed(n)?),
            None => None,
        },
    })
}

/// The keys of a table description a Query can use: the primary key
/// first, then the ACTIVE secondary indexes projecting ALL attributes
/// (an index with fewer would give partial documents).
pub fn key_sets(table: &Json) -> Vec<KeySet> {
    let mut out: Vec<KeySet> = key_set(table, None, false, table.get("KeySchema"))
        .into_iter()
        .collect();
    for (field, global) in [("GlobalSecondaryIndexes", true), ("LocalSecondaryIndexes", false)] {
        for i in table.get(field).and_then(|x| x.as_array()).into_iter().flatten() {
            let all = i.pointer("/Projection/ProjectionType").and_then(|p| p.as_str()) == Some("ALL");
            let active = i
                .get("IndexStatus")
                .and_then(|s| s.as_str())
                .is_none_or(|s| s == "ACTIVE");
            let Some(name) = i.get("IndexName").and_then(|n| n.as_str()) else {
                continue;
            };
            if all && active {
                out.extend(key_set(table, Some(name.to_string()), global, i.get("KeySchema")));
            }
        }
    }
    out
}

/// One condition every matching document meets.
#[derive(Debug, Clone, PartialEq)]
enum Cond {
    Eq(Bson),
    /// `$gt`, `$gte`, `$lt` or `$lte` and its value.
    Cmp(&'static str, Bson),
    Exists(bool),
}

/// The conditions a filter implies on its paths: its top-level fields and
/// those of (nested) `$and`. `$or`, `$nor`, `$not`, `$in`, `$ne` … imply
/// nothing here (the driver evaluates them).
fn conditions(filter: &Document, out: &mut Vec<(String, Cond)>) {
    for (k, v) in filter {
        if k == "$and" {
            if let Bson::Array(list) = v {
                for c in list {
                    if let Bson::Document(d) = c {
                        conditions(d, out);
                    }
                }
            }
            continue;
        }
        if k.starts_with('$') {
            continue;
        }
        match v {
            Bson::Document(ops) if ops.keys().next().is_some_and(|o| o.starts_with('$')) => {
                for (op, arg) in ops {
                    let c = match op.as_str() {
                        "$eq" => Cond::Eq(arg.clone()),
                        "$gt" => Cond::Cmp("$gt", arg.clone()),
                        "$gte" => Cond::Cmp("$gte", arg.clone()),
                        "$lt" => Cond::Cmp("$lt", arg.clone()),
                        "$lte" => Cond::Cmp("$lte", arg.clone()),
                        "$exists" => Cond::Exists(!matches!(
                            arg,
                            Bson::Boolean(false) | Bson::Int32(0) | Bson::Int64(0) | Bson::Null
                        )),
                        _ => continue,
                    };
                    out.push((k.clone(), c));
                }
            }
            other => out.push((k.clone(), Cond::Eq(other.clone()))),
        }
    }
}

/// Whether a filter value has the key type `t` (so DynamoDB compares it
/// as the driver does).
fn has_type(v: &Bson, t: &str) -> bool {
    match t {
        "S" => matches!(v, Bson::String(_)),
        "N" => match v {
            Bson::Int32(_) | Bson::Int64(_) | Bson::Decimal128(_) => true,
            Bson::Double(f) => f.is_finite(),
            _ => false,
        },
        "B" => matches!(v, Bson::Binary(_)),
        _ => false,
    }
}

/// Names and values of an expression being built.
#[derive(Default)]
struct Expr {
    names: Map<String, Json>,
    values: Map<String, Json>,
}

impl Expr {
    fn name(&mut self, n: &str) -> String {
        if let Some((k, _)) = self.names.iter().find(|(_, v)| v.as_str() == Some(n)) {
            return k.clone();
        }
        let k = format!("#n{}", self.names.len());
        self.names.insert(k.clone(), json!(n));
        k
    }

    /// A dotted path as `#a.#b` (see [`valid_path`]).
    fn path(&mut self, p: &str) -> String {
        p.split('.').map(|s| self.name(s)).collect::<Vec<_>>().join(".")
    }

    /// A value as a placeholder; `None` for one DynamoDB cannot hold.
    fn value(&mut self, v: &Bson, what: &str) -> Option<String> {
        let j = item::from_bson(v, what).ok()?;
        Some(self.raw_value(j))
    }

    fn raw_value(&mut self, j: Json) -> String {
        let k = format!(":v{}", self.values.len());
        self.values.insert(k.clone(), j);
        k
    }
}

/// Whether a dotted path means the same in DynamoDB: no empty or numeric
/// segment (MongoDB reads `a.0` as an array element or a field "0").
fn valid_path(p: &str) -> bool {
    p.split('.')
        .all(|s| !s.is_empty() && !s.bytes().all(|b| b.is_ascii_digit()))
}

fn comparison(op: &str) -> &'static str {
    match op {
        "$gt" => ">",
        "$gte" => ">=",
        "$lt" => "<",
        _ => "<=",
    }
}

/// The key condition of `set` from `conds`, with a score (2: partition
/// and sort key, 1: partition key only); `None` when the partition key is
/// not fixed, or when the set's sort key is not constrained on a
/// secondary index (items without it are not in the index).
fn key_condition(set: &KeySet, conds: &[(String, Cond)], e: &mut Expr) -> Option<(String, u8)> {
    let (hash, hash_type) = &set.hash;
    let hash_value = conds.iter().find_map(|(p, c)| match c {
        Cond::Eq(v) if p == hash && has_type(v, hash_type) => Some(v),
        _ => None,
    })?;
    let mut parts = Vec::new();
    let hn = e.name(hash);
    let hv = e.value(hash_value, hash)?;
    parts.push(format!("{hn} = {hv}"));
    let mut score = 1;
    if let Some((range, range_type)) = &set.range {
        let on_range =
            |f: &dyn Fn(&Cond) -> bool| conds.iter().find(|(p, c)| p == range && f(c)).map(|(_, c)| c.clone());
        let typed = |v: &Bson| has_type(v, range_type);
        // Binary order differs (the driver compares lengths first): only `=`.
        let ordered = range_type != "B";
        let eq = on_range(&|c| matches!(c, Cond::Eq(v) if typed(v)));
        let lower = on_range(&|c| matches!(c, Cond::Cmp("$gt" | "$gte", v) if ordered && typed(v)));
        let upper = on_range(&|c| matches!(c, Cond::Cmp("$lt" | "$lte", v) if ordered && typed(v)));
        let clause = match (eq, lower, upper) {
            (Some(Cond::Eq(v)), _, _) => Some(format!("{} = {}", e.name(range), e.value(&v, range)?)),
            (_, Some(Cond::Cmp("$gte", lo)), Some(Cond::Cmp("$lte", hi))) => Some(format!(
                "{} BETWEEN {} AND {}",
                e.name(range),
                e.value(&lo, range)?,
                e.value(&hi, range)?
            )),
            (_, Some(Cond::Cmp(op, v)), _) | (_, None, Some(Cond::Cmp(op, v))) => {
                Some(format!("{} {} {}", e.name(range), comparison(op), e.value(&v, range)?))
            }
            _ => None,
        };
        match clause {
            Some(c) => {
                parts.push(c);
                score = 2;
            }
            None if set.index.is_some() => return None,
            None => {}
        }
    }
    Some((parts.join(" AND "), score))
}

/// The filter expression of the conditions on attributes other than the
/// key attributes of `set` that DynamoDB evaluates as the driver does.
fn filter_expression(set: &KeySet, conds: &[(String, Cond)], e: &mut Expr) -> Option<String> {
    let keys: Vec<&str> = std::iter::once(set.hash.0.as_str())
        .chain(set.range.as_ref().map(|r| r.0.as_str()))
        .collect();
    let mut parts = Vec::new();
    for (p, c) in conds {
        let top = p.split('.').next().unwrap_or(p);
        if keys.contains(&top) {
            continue;
        }
        // Only what is sent gets names and values (DynamoDB refuses unused ones).
        let pushed = matches!(
            c,
            Cond::Exists(_) | Cond::Eq(Bson::String(_) | Bson::Boolean(_)) | Cond::Cmp(_, Bson::String(_))
        );
        if !pushed || !valid_path(p) {
            continue;
        }
        let path = e.path(p);
        match c {
            Cond::Exists(true) => parts.push(format!("attribute_exists({path})")),
            Cond::Exists(false) => parts.push(format!("attribute_not_exists({path})")),
            Cond::Eq(v) | Cond::Cmp(_, v) => {
                let op = match c {
                    Cond::Cmp(op, _) => comparison(op),
                    _ => "=",
                };
                let val = e.value(v, p)?;
                let list = e.raw_value(json!({"S": "L"}));
                parts.push(format!("({path} {op} {val} OR attribute_type({path}, {list}))"));
            }
        }
    }
    (!parts.is_empty()).then(|| parts.join(" AND "))
}

/// The Query for `filter` over the key sets of a table (primary key
/// first), or `None` for a Scan. The best set fixes the most key
/// attributes; on a tie the earlier (the table before its indexes).
pub fn plan(filter: &Document, sets: &[KeySet]) -> Option<Plan> {
    let mut conds = Vec::new();
    conditions(filter, &mut conds);
    let mut best: Option<(u8, Plan)> = None;
    for set in sets {
        let mut e = Expr::default();
        let Some((key_condition, score)) = key_condition(set, &conds, &mut e) else {
            continue;
        };
        if best.as_ref().is_some_and(|(s, _)| *s >= score) {
            continue;
        }
        let filter_expression = filter_expression(set, &conds, &mut e);
        best = Some((
            score,
            Plan {
                index: set.index.clone(),
                global: set.global,
                key_condition,
                filter_expression,
                names: e.names,
                values: e.values,
            },
        ));
    }
    best.map(|(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn table() -> Json {
        json!({
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"},
                {"AttributeName": "status", "AttributeType": "S"},
                {"AttributeName": "at", "AttributeType": "S"},
                {"AttributeName": "blob", "AttributeType": "B"},
            ],
            "GlobalSecondaryIndexes": [
                {"IndexName": "by_status", "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}, {"AttributeName": "at", "KeyType": "RANGE"}],
                 "Projection": {"ProjectionType": "ALL"}, "IndexStatus": "ACTIVE"},
                {"IndexName": "keys_only", "KeySchema": [{"AttributeName": "at", "KeyType": "HASH"}],
                 "Projection": {"ProjectionType": "KEYS_ONLY"}, "IndexStatus": "ACTIVE"},
                {"IndexName": "by_blob", "KeySchema": [{"AttributeName": "blob", "KeyType": "HASH"}],
                 "Projection": {"ProjectionType": "ALL"}, "IndexStatus": "CREATING"},
            ],
            "LocalSecondaryIndexes": [
                {"IndexName": "by_at", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "at", "KeyType": "RANGE"}],
                 "Projection": {"ProjectionType": "ALL"}},
            ],
        })
    }

    fn planned(filter: Document) -> Option<Plan> {
        plan(&filter, &key_sets(&table()))
    }

    #[test]
    fn usable_key_sets() {
        let sets = key_sets(&table());
        let names: Vec<Option<&str>> = sets.iter().map(|s| s.index.as_deref()).collect();
        assert_eq!(
            names,
            [None, Some("by_status"), Some("by_at")],
            "KEYS_ONLY and CREATING left out"
        );
        assert!(sets[1].global && !sets[2].global);
        assert_eq!(sets[0].range, Some(("sk".into(), "N".into())));
    }

    #[test]
    fn partition_and_sort_key_conditions() {
        let p = planned(doc! {"pk": "a"}).unwrap();
        assert_eq!((p.index.as_deref(), p.key_condition.as_str()), (None, "#n0 = :v0"));
        assert_eq!(p.values[":v0"], json!({"S": "a"}));
        let p = planned(doc! {"pk": {"$eq": "a"}, "sk": {"$gte": 2, "$lte": 5}}).unwrap();
        assert_eq!(p.key_condition, "#n0 = :v0 AND #n1 BETWEEN :v1 AND :v2");
        assert_eq!(
            (&p.values[":v1"], &p.values[":v2"]),
            (&json!({"N": "2"}), &json!({"N": "5"}))
        );
        let p = planned(doc! {"$and": [{"pk": "a"}, {"sk": {"$lt": 9}}]}).unwrap();
        assert_eq!(p.key_condition, "#n0 = :v0 AND #n1 < :v1");
        let p = planned(doc! {"pk": "a", "sk": {"$gt": 1, "$lt": 9}}).unwrap();
        assert_eq!(
            p.key_condition, "#n0 = :v0 AND #n1 > :v1",
            "one bound; the driver checks the other"
        );
        // The wrong type for the key, or a partition key not fixed: a Scan.
        assert_eq!(planned(doc! {"pk": 1}), None);
        assert_eq!(planned(doc! {"pk": {"$gt": "a"}}), None);
        assert_eq!(planned(doc! {"$or": [{"pk": "a"}]}), None);
        assert_eq!(planned(doc! {"pk": {"$in": ["a"]}}), None);
        assert_eq!(planned(doc! {"sk": 1}), None);
        // A sort-key condition of the wrong type is left to the driver.
        let p = planned(doc! {"pk": "a", "sk": "x"}).unwrap();
        assert_eq!(p.key_condition, "#n0 = :v0");
    }

    #[test]
    fn secondary_indexes() {
        // A GSI needs its sort key constrained too (items without it are not in it).
        assert_eq!(planned(doc! {"status": "open"}), None);
        let p = planned(doc! {"status": "open", "at": {"$gte": "2024"}}).unwrap();
        assert_eq!(p.index.as_deref(), Some("by_status"));
        assert!(p.global);
        assert_eq!(
            p.request("t", None).get("ConsistentRead"),
            None,
            "GSIs read eventually consistent"
        );
        // The table's own key wins a tie; an LSI beats the bare partition key.
        let p = planned(doc! {"pk": "a", "at": "2024-01-01"}).unwrap();
        assert_eq!(p.index.as_deref(), Some("by_at"));
        assert_eq!(p.request("t", None)["ConsistentRead"], json!(true));
        let p = planned(doc! {"pk": "a", "sk": 1, "at": "2024-01-01"}).unwrap();
        assert_eq!(p.index, None);
        assert!(p.filter_expression.is_some(), "at is no key of the table");
    }

    #[test]
    fn filter_expressions_only_where_dynamodb_agrees() {
        let p = planned(doc! {"pk": "a", "name": "x", "ok": true, "n": 5, "d.e": {"$exists": true}, "tags.0": "y", "s": {"$lt": "m"}, "g": {"$exists": false}})
            .unwrap();
        let f = p.filter_expression.unwrap();
        assert_eq!(
            f,
            "(#n1 = :v1 OR attribute_type(#n1, :v2)) AND (#n2 = :v3 OR attribute_type(#n2, :v4)) AND attribute_exists(#n3.#n4) AND (#n5 < :v5 OR attribute_type(#n5, :v6)) AND attribute_not_exists(#n6)"
        );
        assert_eq!(p.names["#n3"], json!("d"));
        assert_eq!(p.values[":v2"], json!({"S": "L"}));
        // No filter expression for key attributes.
        let p = planned(doc! {"pk": "a", "sk": {"$gt": 1}}).unwrap();
        assert_eq!(p.filter_expression, None);
    }
}
