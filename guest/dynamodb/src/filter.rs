//! MongoDB's query language on BSON documents, evaluated in the driver
//! (the `nosql` interface speaks it; DynamoDB's own expressions differ in
//! types and operators): filters (`$eq $ne $gt $gte $lt $lte $in $nin
//! $exists $and $or $nor $not`, dotted paths), sorts, projections, and
//! the updates `$set`, `$unset`, `$inc` or a replacement document.

use std::cmp::Ordering;

use bson::{Bson, Document};
use driverbox_guest_sdk::{Error, Result};

/// The value at a dotted path.
pub fn get_path<'a>(d: &'a Document, path: &str) -> Option<&'a Bson> {
    let mut parts = path.split('.');
    let mut cur = d.get(parts.next()?)?;
    for p in parts {
        cur = match cur {
            Bson::Document(inner) => inner.get(p)?,
            Bson::Array(a) => a.get(p.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn rank(b: &Bson) -> u8 {
    match b {
        Bson::Null | Bson::Undefined => 1,
        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) => 2,
        Bson::String(_) | Bson::Symbol(_) => 3,
        Bson::Document(_) => 4,
        Bson::Array(_) => 5,
        Bson::Binary(_) => 6,
        Bson::ObjectId(_) => 7,
        Bson::Boolean(_) => 8,
        Bson::DateTime(_) => 9,
        _ => 10,
    }
}

/// A number as (exact integer) or float, for comparing.
fn number(b: &Bson) -> Option<f64> {
    match b {
        Bson::Int32(n) => Some(*n as f64),
        Bson::Int64(n) => Some(*n as f64),
        Bson::Double(f) => Some(*f),
        Bson::Decimal128(d) => d.to_string().parse().ok(),
        _ => None,
    }
}

/// BSON's comparison order (types first, then values).
pub fn compare(a: &Bson, b: &Bson) -> Ordering {
    let (ra, rb) = (rank(a), rank(b));
    if ra != rb {
        return ra.cmp(&rb);
    }
    match (a, b) {
        (Bson::Int64(x), Bson::Int64(y)) => x.cmp(y),
        (Bson::Int32(x), Bson::Int32(y)) => x.cmp(y),
        _ if ra == 2 => number(a)
            .zip(number(b))
            .and_then(|(x, y)| x.partial_cmp(&y))
            .unwrap_or(Ordering::Equal),
        (Bson::String(x), Bson::String(y)) => x.cmp(y),
        (Bson::Boolean(x), Bson::Boolean(y)) => x.cmp(y),
        (Bson::Binary(x), Bson::Binary(y)) => x.bytes.len().cmp(&y.bytes.len()).then(x.bytes.cmp(&y.bytes)),
        (Bson::DateTime(x), Bson::DateTime(y)) => x.cmp(y),
        (Bson::ObjectId(x), Bson::ObjectId(y)) => x.bytes().cmp(&y.bytes()),
        (Bson::Array(x), Bson::Array(y)) => {
            for (p, q) in x.iter().zip(y) {
                let o = compare(p, q);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        (Bson::Document(x), Bson::Document(y)) => {
            for ((k1, v1), (k2, v2)) in x.iter().zip(y.iter()) {
                let o = k1.cmp(k2).then_with(|| compare(v1, v2));
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        _ => Ordering::Equal,
    }
}

fn equal(a: &Bson, b: &Bson) -> bool {
    compare(a, b) == Ordering::Equal
}

/// Whether the value at a path (an array matches when an element does)
/// satisfies `test`.
fn any_value(v: Option<&Bson>, test: &dyn Fn(&Bson) -> bool) -> bool {
    match v {
        Some(Bson::Array(a)) => test(&Bson::Array(a.clone())) || a.iter().any(test),
        Some(x) => test(x),
        None => test(&Bson::Null),
    }
}

fn operators(v: &Document) -> bool {
    v.keys().next().is_some_and(|k| k.starts_with('$'))
}

fn match_ops(doc: &Document, path: &str, ops: &Document) -> Result<bool> {
    let value = get_path(doc, path);
    for (op, arg) in ops {
        let ok = match op.as_str() {
            "$eq" => any_value(value, &|x| equal(x, arg)),
            "$ne" => !any_value(value, &|x| equal(x, arg)),
            "$gt" | "$gte" | "$lt" | "$lte" => {
                let op = op.clone();
                value.is_some()
                    && any_value(value, &|x| {
                        if rank(x) != rank(arg) {
                            return false;
                        }
                        let o = compare(x, arg);
                        match op.as_str() {
                            "$gt" => o == Ordering::Greater,
                            "$gte" => o != Ordering::Less,
                            "$lt" => o == Ordering::Less,
                            _ => o != Ordering::Greater,
                        }
                    })
            }
            "$in" | "$nin" => {
                let Bson::Array(list) = arg else {
                    return Err(Error::invalid(format!("{op} takes an array")));
                };
                let found = any_value(value, &|x| list.iter().any(|l| equal(x, l)));
                if op == "$in" {
                    found
                } else {
                    !found
                }
            }
            "$exists" => {
                let want = !matches!(arg, Bson::Boolean(false) | Bson::Int32(0) | Bson::Int64(0) | Bson::Null);
                value.is_some() == want
            }
            "$not" => match arg {
                Bson::Document(inner) => !match_ops(doc, path, inner)?,
                _ => return Err(Error::invalid("$not takes an operator document")),
            },
            other => return Err(Error::invalid(format!("unknown query operator {other}"))),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn clauses(arg: &Bson, op: &str) -> Result<Vec<Document>> {
    let Bson::Array(list) = arg else {
        return Err(Error::invalid(format!("{op} takes an array of filters")));
    };
    list.iter()
        .map(|c| match c {
            Bson::Document(d) => Ok(d.clone()),
            _ => Err(Error::invalid(format!("{op} takes an array of filters"))),
        })
        .collect()
}

/// Whether `doc` matches `filter`. Errors: `invalid-input` for an
/// operator this driver does not evaluate.
pub fn matches(doc: &Document, filter: &Document) -> Result<bool> {
    for (k, v) in filter {
        let ok = match k.as_str() {
            "$and" => {
                let mut all = true;
                for c in clauses(v, k)? {
                    all &= matches(doc, &c)?;
                }
                all
            }
            "$or" => {
                let mut any = false;
                for c in clauses(v, k)? {
                    any |= matches(doc, &c)?;
                }
                any
            }
            "$nor" => {
                let mut any = false;
                for c in clauses(v, k)? {
                    any |= matches(doc, &c)?;
                }
                !any
            }
            op if op.starts_with('$') => return Err(Error::invalid(format!("unknown top-level operator {op}"))),
            path => match v {
                Bson::Document(ops) if operators(ops) => match_ops(doc, path, ops)?,
                other => any_value(get_path(doc, path), &|x| equal(x, other)),
            },
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Checks a filter without a document (so an unknown operator fails even
/// on an empty table).
pub fn check(filter: &Document) -> Result<()> {
    matches(&Document::new(), filter).map(|_| ())
}

/// Sorts documents by a sort specification (`{a: 1, b: -1}`).
pub fn sort(docs: &mut [Document], spec: &Document) -> Result<()> {
    let mut keys = Vec::new();
    for (k, v) in spec {
        let dir = match v {
            Bson::Int32(n) => *n as i64,
            Bson::Int64(n) => *n,
            Bson::Double(f) => *f as i64,
            _ => 0,
        };
        if dir != 1 && dir != -1 {
            return Err(Error::invalid(format!("sort direction of {k} must be 1 or -1")));
        }
        keys.push((k.clone(), dir));
    }
    docs.sort_by(|a, b| {
        for (k, dir) in &keys {
            let null = Bson::Null;
            let o = compare(get_path(a, k).unwrap_or(&null), get_path(b, k).unwrap_or(&null));
            let o = if *dir < 0 { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
    Ok(())
}

/// Applies a projection: inclusion (`{a: 1}`, keeps `_id` unless
/// `_id: 0`) or exclusion (`{a: 0}`), top-level fields.
pub fn project(doc: &Document, spec: &Document) -> Result<Document> {
    let on = |v: &Bson| {
        !matches!(
            v,
            Bson::Int32(0) | Bson::Int64(0) | Bson::Boolean(false) | Bson::Double(0.0)
        )
    };
    let including: Vec<&String> = spec
        .iter()
        .filter(|(k, v)| *k != "_id" && on(v))
        .map(|(k, _)| k)
        .collect();
    let excluding: Vec<&String> = spec
        .iter()
        .filter(|(k, v)| *k != "_id" && !on(v))
        .map(|(k, _)| k)
        .collect();
    if !including.is_empty() && !excluding.is_empty() {
        return Err(Error::invalid("a projection cannot mix inclusion and exclusion"));
    }
    let id_on = spec.get("_id").is_none_or(on);
    let mut out = Document::new();
    for (k, v) in doc {
        let keep = if k == "_id" {
            id_on
        } else if !including.is_empty() {
            including.contains(&k)
        } else {
            !excluding.contains(&k)
        };
        if keep {
            out.insert(k.clone(), v.clone());
        }
    }
    Ok(out)
}

/// Most array elements `$set` adds past the end (MongoDB pads with nulls).
const MAX_PADDING: usize = 1000;

/// Sets the value at a dotted path, creating missing embedded documents;
/// a numeric segment indexes an array (padded with nulls to reach it).
/// Errors: `invalid-input` for a path through a value that is neither a
/// document nor an array, or a non-numeric segment in an array.
fn set_path(doc: &mut Document, path: &str, v: Bson) -> Result<()> {
    let segments: Vec<&str> = path.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(Error::invalid(format!("update path {path:?} has an empty segment")));
    }
    let (last, parents) = segments
        .split_last()
        .ok_or_else(|| Error::invalid("an update path is empty"))?;
    let mut cur = doc;
    let mut walked = String::new();
    // Descend through documents; an array continues in `set_in_array`.
    for (i, seg) in parents.iter().enumerate() {
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(seg);
        if !cur.contains_key(*seg) {
            cur.insert(seg.to_string(), Document::new());
        }
        match cur.get_mut(*seg) {
            Some(Bson::Document(inner)) => cur = inner,
            Some(Bson::Array(a)) => return set_in_array(a, &segments[i + 1..], v, path),
            _ => {
                return Err(Error::invalid(format!(
                    "cannot set {path}: {walked} is neither a document nor an array"
                )))
            }
        }
    }
    cur.insert(last.to_string(), v);
    Ok(())
}

fn set_in_array(a: &mut Vec<Bson>, segments: &[&str], v: Bson, path: &str) -> Result<()> {
    let (first, rest) = segments
        .split_first()
        .ok_or_else(|| Error::invalid("an update path is empty"))?;
    let i: usize = first
        .parse()
        .map_err(|_| Error::invalid(format!("cannot set {path}: {first} does not index an array")))?;
    if i >= a.len().saturating_add(MAX_PADDING) {
        return Err(Error::invalid(format!(
            "cannot set {path}: index {i} is more than {MAX_PADDING} past the array's end"
        )));
    }
    while a.len() <= i {
        a.push(Bson::Null);
    }
    if rest.is_empty() {
        a[i] = v;
        return Ok(());
    }
    if a[i] == Bson::Null {
        a[i] = Bson::Document(Document::new());
    }
    match &mut a[i] {
        Bson::Document(d) => set_path(d, &rest.join("."), v),
        Bson::Array(inner) => set_in_array(inner, rest, v, path),
        _ => Err(Error::invalid(format!(
            "cannot set {path}: element {i} is neither a document nor an array"
        ))),
    }
}

/// Removes the value at a dotted path (an array element becomes null, as
/// in MongoDB); a path that is not there is no change.
fn unset_path(doc: &mut Document, path: &str) {
    fn walk(cur: &mut Bson, segments: &[&str]) {
        let Some((first, rest)) = segments.split_first() else {
            return;
        };
        match cur {
            Bson::Document(d) if rest.is_empty() => {
                d.remove(*first);
            }
            Bson::Document(d) => {
                if let Some(next) = d.get_mut(*first) {
                    walk(next, rest);
                }
            }
            Bson::Array(a) => {
                let Some(el) = first.parse::<usize>().ok().and_then(|i| a.get_mut(i)) else {
                    return;
                };
                if rest.is_empty() {
                    *el = Bson::Null;
                } else {
                    walk(el, rest);
                }
            }
            _ => {}
        }
    }
    let segments: Vec<&str> = path.split('.').collect();
    let mut root = Bson::Document(std::mem::take(doc));
    walk(&mut root, &segments);
    if let Bson::Document(d) = root {
        *doc = d;
    }
}

/// Applies an update document to `doc`; gives the new document. Field
/// names of `$set`, `$unset` and `$inc` may be dotted paths (`a.b`,
/// `items.0`).
pub fn apply_update(doc: &Document, update: &Document) -> Result<Document> {
    if !operators(update) {
        // A replacement keeps the key attributes the caller sees via the filter.
        return Ok(update.clone());
    }
    let mut out = doc.clone();
    for (op, arg) in update {
        let Bson::Document(fields) = arg else {
            return Err(Error::invalid(format!("{op} takes a document")));
        };
        for (k, v) in fields {
            match op.as_str() {
                "$set" => set_path(&mut out, k, v.clone())?,
                "$unset" => unset_path(&mut out, k),
                "$inc" => {
                    let cur = get_path(&out, k).cloned().unwrap_or(Bson::Int32(0));
                    let sum = match (&cur, v) {
                        (Bson::Int32(a), Bson::Int32(b)) => a
                            .checked_add(*b)
                            .map(Bson::Int32)
                            .unwrap_or(Bson::Int64(*a as i64 + *b as i64)),
                        (Bson::Int32(_) | Bson::Int64(_), Bson::Int32(_) | Bson::Int64(_)) => {
                            let a = number(&cur).unwrap_or(0.0) as i64;
                            let b = number(v).unwrap_or(0.0) as i64;
                            Bson::Int64(a.checked_add(b).ok_or_else(|| Error::invalid("$inc overflows"))?)
                        }
                        _ => match (number(&cur), number(v)) {
                            (Some(a), Some(b)) => Bson::Double(a + b),
                            _ => return Err(Error::invalid(format!("$inc of {k}: not a number"))),
                        },
                    };
                    set_path(&mut out, k, sum)?;
                }
                other => {
                    return Err(Error::invalid(format!(
                        "unknown update operator {other}; the DynamoDB driver applies $set, $unset and $inc"
                    )))
                }
            }
        }
    }
    Ok(out)
}

/// Whether an update document holds operators (`$set` …) rather than
/// being a replacement.
pub fn operators_in(update: &Document) -> bool {
    operators(update)
}

/// `1`, `-1` or the text of an index key direction, as index names show it.
pub fn direction_text(v: &Bson) -> String {
    match v {
        Bson::Int32(n) => n.to_string(),
        Bson::Int64(n) => n.to_string(),
        Bson::Double(f) if f.fract() == 0.0 => (*f as i64).to_string(),
        Bson::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The equality fields of a filter (for an upsert's new document).
pub fn equalities(filter: &Document) -> Document {
    let mut out = Document::new();
    for (k, v) in filter {
        if k.starts_with('$') || k.contains('.') {
            continue;
        }
        match v {
            Bson::Document(ops) if operators(ops) => {
                if let Some(eq) = ops.get("$eq") {
                    out.insert(k.clone(), eq.clone());
                }
            }
            other => {
                out.insert(k.clone(), other.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn filters() {
        let d = doc! {"_id": 1, "n": 5, "tags": ["a", "b"], "m": {"x": 2}, "s": "hi"};
        let yes = [
            doc! {},
            doc! {"n": 5},
            doc! {"n": 5.0},
            doc! {"n": {"$gte": 5, "$lt": 6}},
            doc! {"tags": "a"},
            doc! {"m.x": 2},
            doc! {"n": {"$in": [1, 5]}},
            doc! {"missing": {"$exists": false}},
            doc! {"missing": null},
            doc! {"$or": [{"n": 1}, {"s": "hi"}]},
            doc! {"n": {"$not": {"$gt": 9}}},
            doc! {"s": {"$ne": "x"}},
        ];
        for f in yes {
            assert!(matches(&d, &f).unwrap(), "{f}");
        }
        let no = [
            doc! {"n": 4},
            doc! {"n": {"$gt": 5}},
            doc! {"n": {"$gt": "a"}},
            doc! {"s": {"$exists": false}},
            doc! {"$and": [{"n": 5}, {"s": "x"}]},
            doc! {"n": {"$nin": [5]}},
        ];
        for f in no {
            assert!(!matches(&d, &f).unwrap(), "{f}");
        }
        assert!(check(&doc! {"n": {"$nosuchop": 1}}).is_err());
        assert!(check(&doc! {"$where": "1"}).is_err());
    }

    #[test]
    fn sort_project_update() {
        let mut docs = vec![doc! {"a": 2, "b": "x"}, doc! {"a": 1}, doc! {"a": 2, "b": "a"}];
        sort(&mut docs, &doc! {"a": -1, "b": 1}).unwrap();
        assert_eq!(docs, [doc! {"a": 2, "b": "a"}, doc! {"a": 2, "b": "x"}, doc! {"a": 1}]);
        let d = doc! {"_id": 1, "a": 1, "b": 2};
        assert_eq!(project(&d, &doc! {"a": 1, "_id": 0}).unwrap(), doc! {"a": 1});
        assert_eq!(project(&d, &doc! {"a": 0}).unwrap(), doc! {"_id": 1, "b": 2});
        assert!(project(&d, &doc! {"a": 0, "b": 1}).is_err());
        let u = apply_update(&d, &doc! {"$set": {"c": 3}, "$unset": {"b": ""}, "$inc": {"a": 2}}).unwrap();
        assert_eq!(u, doc! {"_id": 1, "a": 3, "c": 3});
        assert!(apply_update(&d, &doc! {"$push": {"a": 1}}).is_err());
    }

    #[test]
    fn nested_updates() {
        let d = doc! {"_id": 1, "address": {"city": "Bergen", "zip": "5003"}, "items": [1, {"q": 2}], "n": 5};
        let u = apply_update(
            &d,
            &doc! {"$set": {"address.city": "Oslo", "new.deep.x": true, "items.0": 10, "items.3": "z"}, "$inc": {"items.1.q": 1}},
        )
        .unwrap();
        assert_eq!(
            u,
            doc! {"_id": 1, "address": {"city": "Oslo", "zip": "5003"}, "items": [10, {"q": 3}, null, "z"], "n": 5, "new": {"deep": {"x": true}}}
        );
        let u = apply_update(&d, &doc! {"$unset": {"address.zip": "", "items.0": "", "no.such": ""}}).unwrap();
        assert_eq!(
            u,
            doc! {"_id": 1, "address": {"city": "Bergen"}, "items": [null, {"q": 2}], "n": 5}
        );
        for bad in [
            doc! {"$set": {"n.x": 1}},
            doc! {"$set": {"items.x": 1}},
            doc! {"$set": {"a..b": 1}},
            doc! {"$set": {"items.100000": 1}},
        ] {
            assert_eq!(
                apply_update(&d, &bad).unwrap_err().kind(),
                driverbox_guest_sdk::ErrorKind::InvalidInput,
                "{bad}"
            );
        }
        assert_eq!(
            equalities(&doc! {"_id": 5, "n": {"$gt": 1}, "k": {"$eq": "x"}}),
            doc! {"_id": 5, "k": "x"}
        );
    }
}
