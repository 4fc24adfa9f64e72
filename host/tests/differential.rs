//! Differential test: every item of a corpus of our own runs through
//! `driverbox shell -f --format csv` and through the reference client
//! (`psql --csv -X`, `sqlite3 -csv -header`), and the texts must be equal.
//!
//! The corpus covers every type at its extremes (BC and year > 9999 dates,
//! timestamps near the ends of PostgreSQL's range, NaN and ±Infinity,
//! arrays with bounds and dimensions, intervals of every sign, JSON `null`)
//! and scripts (empty and comment-only SQL, several results, `BEGIN … END`
//! bodies, DDL inside a transaction). Each side runs the whole corpus as
//! one script, items separated by a marker query, so the test takes a few
//! seconds.
//!
//! Deliberate differences are listed in `docs/differences.md`; an item that
//! meets one names its entry and gives driverbox's own text, which is then
//! asserted, and the reference client must still differ (else the entry is
//! stale).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// One corpus item: SQL, and when driverbox deliberately differs, the
/// entry of `docs/differences.md` and driverbox's expected text.
struct Item {
    sql: String,
    differs: Option<(&'static str, &'static str)>,
}

fn same(sql: impl Into<String>) -> Item {
    Item {
        sql: sql.into(),
        differs: None,
    }
}

fn differs(sql: impl Into<String>, entry: &'static str, driverbox: &'static str) -> Item {
    Item {
        sql: sql.into(),
        differs: Some((entry, driverbox)),
    }
}

/// `select V::T` for each value of each type.
fn casts(items: &mut Vec<Item>, ty: &str, values: &[&str]) {
    for v in values {
        items.push(same(format!("select {v}::{ty} as v")));
    }
    // All values in one row and as one array, too.
    let list = values
        .iter()
        .map(|v| format!("{v}::{ty}"))
        .collect::<Vec<_>>()
        .join(", ");
    items.push(same(format!("select {list}")));
    items.push(same(format!("select array[{list}] as a")));
}

fn postgres_corpus() -> Vec<Item> {
    let mut items = Vec::new();
    casts(&mut items, "bool", &["true", "false", "null"]);
    casts(&mut items, "int2", &["0", "'-32768'", "32767", "null"]);
    casts(&mut items, "int4", &["'-2147483648'", "2147483647", "-1"]);
    casts(
        &mut items,
        "int8",
        &["'-9223372036854775808'", "9223372036854775807", "0"],
    );
    casts(
        &mut items,
        "numeric",
        &[
            "0",
            "'-0.0'",
            "0.000001",
            "'1e-20'",
            "'NaN'",
            "'Infinity'",
            "'-Infinity'",
            "123456789012345678901234567890.123456789",
            "'-1.50'",
            "'1e30'",
        ],
    );
    items.push(same("select 1.50::numeric(10,3) as a, 7::numeric(5,0) as b"));
    casts(
        &mut items,
        "float8",
        &[
            "0",
            "'-0'",
            "0.1",
            "'1e-5'",
            "'1e-4'",
            "'1e15'",
            "'1e16'",
            "123456789012345",
            "'1.7976931348623157e308'",
            "'5e-324'",
            "'2.2250738585072014e-308'",
            "'NaN'",
            "'Infinity'",
            "'-Infinity'",
            "(1.0/3)",
            "'-2.5e-7'",
        ],
    );
    casts(
        &mut items,
        "float4",
        &[
            "0",
            "'-0'",
            "0.1",
            "305404.125",
            "'1e-5'",
            "123456",
            "1234567",
            "'3.4028235e38'",
            "'1.17549435e-38'",
            "'1e-45'",
            "'NaN'",
            "'-Infinity'",
        ],
    );
    casts(
        &mut items,
        "text",
        &[
            "'plain'",
            "' spaced '",
            "'a,b'",
            "'say \"hi\"'",
            "E'two\\nlines'",
            "E'tab\\there'",
            "'back\\slash'",
            "'NULL'",
            "'héllo ✓ 😀'",
            "'{'",
        ],
    );
    // Empty strings: psql's CSV writes them as it writes NULL.
    items.push(differs(
        "select ''::text as e, null::text as n",
        "csv-empty-string",
        "e,n\n\"\",\n",
    ));
    items.push(same("select array[''] as a"));
    casts(&mut items, "varchar(5)", &["'abc'", "'abcde'"]);
    casts(&mut items, "char(5)", &["'ab'", "''"]);
    casts(&mut items, "name", &["'pg_class'"]);
    casts(&mut items, "\"char\"", &["'x'"]);
    casts(&mut items, "bytea", &["'\\x'", "'\\x00ff10'", "'abc'"]);
    casts(
        &mut items,
        "uuid",
        &[
            "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
            "'00000000-0000-0000-0000-000000000000'",
        ],
    );
    casts(
        &mut items,
        "date",
        &[
            "'2024-02-29'",
            "'1970-01-01'",
            "'1969-12-31'",
            "'0001-01-01'",
            "'0001-12-31 BC'",
            "'0001-01-01 BC'",
            "'0044-03-15 BC'",
            "'4713-01-01 BC'",
            "'9999-12-31'",
            "'10000-01-01'",
            "'5874897-12-31'",
            "'infinity'",
            "'-infinity'",
        ],
    );
    casts(
        &mut items,
        "time",
        &[
            "'00:00'",
            "'23:59:59.999999'",
            "'24:00:00'",
            "'12:34:56.5'",
            "'00:00:00.000001'",
        ],
    );
    casts(
        &mut items,
        "timestamp",
        &[
            "'2000-01-01 00:00:00'",
            "'1999-12-31 23:59:59.999999'",
            "'1970-01-01 00:00:00.000001'",
            "'1969-12-31 23:59:59.5'",
            "'0001-01-01 00:00:00'",
            "'0001-12-31 23:59:59 BC'",
            "'0044-03-15 12:00:00 BC'",
            "'4713-01-01 00:00:00 BC'",
            "'10000-01-01 00:00:00'",
            "'294247-01-10 04:00:54.775807'",
            "'294247-01-10 04:00:54.775808'",
            "'294276-12-31 23:59:59'",
            "'294276-12-31 23:59:59.999999'",
            "'infinity'",
            "'-infinity'",
        ],
    );
    casts(
        &mut items,
        "timestamptz",
        &[
            "'2024-02-29 13:14:15.5+02'",
            "'0044-03-15 12:00:00+00 BC'",
            "'4713-01-01 00:00:00+00 BC'",
            "'294276-12-31 23:59:59+00'",
            "'infinity'",
            "'-infinity'",
        ],
    );
    casts(
        &mut items,
        "interval",
        &[
            "'0'",
            "'1 year'",
            "'-1 year'",
            "'2 years'",
            "'1 mon'",
            "'-1 year -2 mons'",
            "'-1 year +2 mons'",
            "'1 year -2 mons'",
            "'1 day'",
            "'-1 day'",
            "'-1 day +1 hour'",
            "'1 day -1 hour'",
            "'-1 day -1 hour'",
            "'-00:00:01'",
            "'1 mon -1 day'",
            "'-1 mon 1 day -00:00:01'",
            "'1.5 seconds'",
            "'-1.5 seconds'",
            "'100 hours'",
            "'00:00:00.000001'",
            "'1 year 2 mons 3 days 04:05:06.789'",
            "'-1 year -2 mons -3 days -04:05:06.789'",
            "'178000000 years'",
            "'-178000000 years'",
            "'2147483647 days 2562047788 hours'",
        ],
    );
    casts(
        &mut items,
        "json",
        &[
            "'null'",
            "'{\"b\": 1, \"a\": [1, 2.50]}'",
            "'\"s\"'",
            "' [1, null] '",
            "'123.0'",
        ],
    );
    casts(
        &mut items,
        "jsonb",
        &["'null'", "'{\"b\": 1, \"a\": [1, 2.50]}'", "'\"s\"'", "'[]'", "'1e3'"],
    );
    items.push(same("select 'null'::jsonb a, null::jsonb b"));
    // Arrays: bounds, dimensions, quoting, every element type.
    for a in [
        "'{}'::int[]",
        "'{1,2,3}'::int[]",
        "'[0:2]={1,2,3}'::int[]",
        "'[-5:-4]={7,8}'::int8[]",
        "'{{1,2},{3,4}}'::int[]",
        "'[2:3][1:2]={{1,2},{3,4}}'::int[]",
        "'{{{1}},{{2}}}'::int[]",
        "array[null]::int[]",
        "array[null, 1]::int2[]",
        "array['a b', null, '\"', '\\', 'NULL', 'null', 'x,y', '{', ' lead', 'é']",
        "array[[true, false], [null, true]]",
        "array[1.5, 'NaN', 'Infinity', 1e100, 0.1, '-0']::float8[]",
        "array[0.1, 305404.125, 1e-7]::float4[]",
        "array[1.50, 'NaN', 0.000001]::numeric[]",
        "array[date '2024-01-01', date '0044-03-15 BC', 'infinity']",
        "array[timestamp '2024-01-01 12:00:00.5', timestamp '0001-01-01 00:00:00 BC']",
        "array[timestamptz '2024-01-01 12:00:00.5+02']",
        "array[time '12:00:00.25', time '24:00']",
        "array[interval '-1 day +1 hour', interval '1 year', interval '0']",
        "array['\\x00ff'::bytea, '\\x'::bytea]",
        "array['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid]",
        "array['{\"a\": 1}'::jsonb, 'null'::jsonb]",
        "array['{\"a\": 1}'::json]",
        "array['x'::varchar, 'y z'::varchar]",
        "array['ab'::char(3)]",
        "array[1::oid]",
        "'[1:1]={5}'::int[]",
    ] {
        items.push(same(format!("select {a} as a")));
    }
    // Types the driver has no decoder of its own for: the server's text.
    for v in [
        "'(1,2)'::point",
        "'192.168.0.1/24'::inet",
        "'10.0.0.0/8'::cidr",
        "'08:00:2b:01:02:03'::macaddr",
        "12.5::money",
        "B'1010'::bit(4)",
        "B'10'::varbit",
        "'a fat cat'::tsvector",
        "'[1,5)'::int4range",
        "'empty'::int4range",
        "row(1, 'a b', null)",
        "'12:00+05:30'::timetz",
        "array['(1,2)'::point]",
        "array['[1,2)'::int4range]",
        "1::regclass::oid",
        "'<a>x</a>'::xml",
    ] {
        items.push(same(format!("select {v} as v")));
    }
    // Names, and several columns and rows.
    items.push(same(
        "select 1 as \"Mixed Case\", 2 as \"with,comma\", 3 as \"quote\"\"d\"",
    ));
    items.push(same("select * from (values (1, 'a'), (2, null), (3, 'c')) as t(n, s)"));
    items.push(same("select generate_series(1, 5) as n"));
    items.push(same("select n, n * 1.5 as f from generate_series(-2, 2) as n"));
    items.push(same("select * from (values (1)) t(n) where false"));
    // Scripts.
    items.push(same("select 1 as a; select 'x' as b"));
    items.push(same("-- only a comment"));
    items.push(same("/* a block comment */"));
    items.push(same(";"));
    items.push(same("select 1 as a; -- trailing comment"));
    items.push(same("/* lead */ select 2 as b"));
    items.push(same("select 'semi;colon' as a, $q$dollar; quoted$q$ as b"));
    items.push(same("do $$ begin perform 1; end $$; select 'after do' as a"));
    items.push(same(
        "create function pg_temp.dbx_diff_atomic() returns int language sql\n\
         begin atomic\n  select 41;\n  select 42;\nend;\n\
         select pg_temp.dbx_diff_atomic() as v",
    ));
    items.push(same(
        "create temp table dbx_diff_t(x int); insert into dbx_diff_t values (1), (2);\n\
         begin;\nselect * from dbx_diff_t;\nalter table dbx_diff_t add column b int default 7;\n\
         select * from dbx_diff_t;\ncommit;\nselect * from dbx_diff_t order by x;\ndrop table dbx_diff_t",
    ));
    items.push(same(
        "create temp table dbx_diff_u(x int); begin; insert into dbx_diff_u values (1); rollback;\n\
         select count(*) from dbx_diff_u; drop table dbx_diff_u",
    ));
    // Time zones: driverbox prints timestamptz in UTC.
    items.push(differs(
        "set timezone to 'Asia/Tokyo'; select timestamptz '2024-01-01 00:00:00+00' as t; reset timezone",
        "timestamptz-utc",
        "t\n2024-01-01 00:00:00+00\n",
    ));
    items
}

fn sqlite_corpus() -> Vec<Item> {
    let mut items = Vec::new();
    for v in [
        "0",
        "-9223372036854775808",
        "9223372036854775807",
        "1.5",
        "0.1",
        "123456789012345678",
        "'text'",
        "'a,b'",
        "'say \"hi\"'",
        "'two\nlines'",
        "null",
        "1 = 1",
        "typeof(1.0)",
        "json_array(1, 'a', null)",
        "json('null')",
        "date('2024-02-29')",
        "cast('12' as integer) + 1",
        "10 / 3",
    ] {
        items.push(same(format!("select {v} as v")));
    }
    // sqlite3 prints 15 significant digits ("%!.15g"); driverbox the
    // shortest that read back as the same double, as psql does.
    for (v, ours) in [
        ("-0.0", "v\n-0\n"),
        ("1e100", "v\n1e+100\n"),
        ("1e-7", "v\n1e-07\n"),
        ("10 / 3.0", "v\n3.3333333333333335\n"),
    ] {
        items.push(differs(format!("select {v} as v"), "sqlite-float-digits", ours));
    }
    items.push(differs("select 'héllo ✓' as v", "csv-quoting", "v\nhéllo ✓\n"));
    items.push(differs(
        "select datetime(0, 'unixepoch') as v",
        "csv-quoting",
        "v\n1970-01-01 00:00:00\n",
    ));
    items.push(differs("select x'414243' as v", "bytes-hex", "v\n\\x414243\n"));
    items.push(same("select '' as e, null as n"));
    items.push(same("select 1 as a, 'x' as b union all select 2, null"));
    items.push(same("select 1 as a; select 'x' as b"));
    items.push(same("-- only a comment"));
    items.push(same(";"));
    items.push(same(
        "create table dbx_a(x); create table dbx_b(y);\n\
         create trigger dbx_tr after insert on dbx_a begin insert into dbx_b values (new.x); insert into dbx_b values (new.x * 10); end;\n\
         insert into dbx_a values (7); select * from dbx_b order by y;\n\
         drop table dbx_a; drop table dbx_b",
    ));
    items.push(same(
        "create table dbx_c(x); begin; insert into dbx_c values (1); end; select count(*) as n from dbx_c; drop table dbx_c",
    ));
    items.push(same(
        "create table dbx_d(x); begin transaction; insert into dbx_d values (1); rollback; select count(*) as n from dbx_d; drop table dbx_d",
    ));
    items.push(same(
        "create table dbx_e(k integer primary key, v text, r real);\n\
         insert into dbx_e values (1, 'one', 1.25), (2, null, -3.5), (3, '', null);\n\
         select * from dbx_e order by k; drop table dbx_e",
    ));
    items.push(same(
        "with recursive c(n) as (select 1 union all select n + 1 from c where n < 5) select n from c",
    ));
    items
}

/// The script both clients run: each item after a marker query.
fn script(items: &[Item]) -> String {
    let mut s = String::new();
    for (i, item) in items.iter().enumerate() {
        s.push_str(&format!("select 'item_{i}' as \"@@\";\n{}\n;\n", item.sql));
    }
    s.push_str(&format!("select 'item_{}' as \"@@\";\n", items.len()));
    s
}

/// The output of each item, split at the marker results.
fn split(output: &str, n: usize) -> Vec<String> {
    let mut parts = vec![String::new(); n + 1];
    let mut current: Option<usize> = None;
    let mut lines = output.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        if line == "@@\n" {
            if let Some(next) = lines.peek().and_then(|l| l.trim_end().strip_prefix("item_")) {
                if let Ok(i) = next.parse::<usize>() {
                    current = Some(i);
                    lines.next();
                    continue;
                }
            }
        }
        if let Some(i) = current {
            parts[i].push_str(line);
        }
    }
    parts.truncate(n);
    parts
}

/// The entries of `docs/differences.md` (the first column of its table).
fn documented_differences() -> Vec<String> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/differences.md"))
        .expect("docs/differences.md");
    text.lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(id, _)| id.to_string()))
        .collect()
}

/// Runs a client: its output, and its stderr when it failed.
fn run_output(c: &mut Command, what: &str) -> (String, Option<String>) {
    let out = c.output().unwrap_or_else(|e| panic!("{what} runs: {e}"));
    let stdout = String::from_utf8(out.stdout).unwrap_or_else(|e| panic!("{what} printed non-UTF-8: {e}"));
    let failed = (!out.status.success()).then(|| String::from_utf8_lossy(&out.stderr).into_owned());
    (stdout, failed)
}

/// Runs the corpus on both sides and asserts every item.
fn compare(
    items: &[Item],
    reference: &str,
    reference_run: (String, Option<String>),
    driverbox: (String, Option<String>),
) {
    let (reference_out, reference_failed) = reference_run;
    assert_eq!(reference_failed, None, "{reference} failed on the corpus");
    let (driverbox_out, driverbox_failed) = driverbox;
    let documented = documented_differences();
    let ours = split(&driverbox_out, items.len());
    let theirs = split(&reference_out, items.len());
    let mut failures = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.differs {
            None if ours[i] != theirs[i] => failures.push(format!(
                "item {i}: {}\n  {reference}: {:?}\n  driverbox: {:?}",
                item.sql, theirs[i], ours[i]
            )),
            None => {}
            Some((entry, expected)) => {
                if !documented.iter().any(|d| d == entry) {
                    failures.push(format!("item {i}: `{entry}` is not in docs/differences.md"));
                }
                if ours[i] != expected {
                    failures.push(format!(
                        "item {i} ({entry}): {}\n  expected: {expected:?}\n  driverbox: {:?}",
                        item.sql, ours[i]
                    ));
                }
                if theirs[i] == ours[i] {
                    failures.push(format!(
                        "item {i} ({entry}): {reference} now agrees; the entry is stale"
                    ));
                }
            }
        }
    }
    if let Some(stderr) = driverbox_failed {
        failures.push(format!("driverbox stopped with an error: {stderr}"));
    }
    assert!(
        failures.is_empty(),
        "{} of {} items differ from {reference}:\n{}",
        failures.len(),
        items.len(),
        failures.join("\n")
    );
}

#[test]
fn postgres_matches_psql() {
    let items = postgres_corpus();
    assert!(items.len() > 200, "{} items", items.len());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("corpus.sql");
    std::fs::write(&file, script(&items)).unwrap();
    let file = file.to_str().unwrap();
    let psql = run_output(
        Command::new("psql")
            .args(["-X", "-q", "--csv", "-v", "ON_ERROR_STOP=1", "-f", file, PG_URL])
            .env("PGTZ", "UTC")
            .env_remove("PGDATESTYLE")
            .env_remove("PGCLIENTENCODING")
            .env_remove("PGOPTIONS"),
        "psql",
    );
    let ours = run_output(
        command(&["shell", PG_URL, "-f", file, "--format", "csv"])
            .env_remove("PGCLIENTENCODING")
            .current_dir(dir.path()),
        "driverbox",
    );
    compare(&items, "psql", psql, ours);
}

#[test]
fn sqlite_matches_sqlite3() {
    let items = sqlite_corpus();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("corpus.sql");
    std::fs::write(&file, script(&items)).unwrap();
    let sqlite3 = run_output(
        Command::new("sqlite3")
            .args(["-csv", "-header", "-bail"])
            .arg(dir.path().join("theirs.db"))
            .stdin(std::fs::File::open(&file).unwrap()),
        "sqlite3",
    );
    let url = format!("sqlite:{}", dir.path().join("ours.db").display());
    let ours = run_output(
        command(&["shell", &url, "-f", file.to_str().unwrap(), "--format", "csv"]).current_dir(dir.path()),
        "driverbox",
    );
    compare(&items, "sqlite3", sqlite3, ours);
}
