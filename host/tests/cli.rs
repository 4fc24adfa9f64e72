//! The `driverbox` command line against the local PostgreSQL and SQLite
//! files: query output per type and format, exit codes, secrets, `shell -c`
//! and `-f`, inspect, import and export.

mod common;

use common::*;

/// One column per PostgreSQL type the CLI must print right.
const TYPES_SQL: &str = "select true as b, 32767::int2 as i2, (-2147483648)::int4 as i4, \
    9223372036854775807::int8 as i8, 1.5::float4 as f4, 'NaN'::float8 as nan, \
    'Infinity'::float8 as inf, '-Infinity'::float8 as ninf, \
    12345678901234567890.123456789012345678901234567890::numeric as num, \
    'héllo'::text as t, 'v'::varchar(5) as vc, 'c'::char(3) as ch, '\\xdeadbeef'::bytea as by, \
    '2024-02-29'::date as d, '13:14:15.123456'::time as tm, '2024-02-29 13:14:15.5'::timestamp as ts, \
    '2024-02-29 13:14:15.5+02'::timestamptz as tstz, '1 year 2 mons 3 days 04:05:06.5'::interval as iv, \
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid as u, '{\"a\": [1, 2.50]}'::json as js, \
    '{\"b\": null}'::jsonb as jb, array[1,2,3] as arr, array['x', null] as tarr, null::int as nul";

/// The text of each column of `TYPES_SQL`, as table, expanded and CSV print it.
const TYPES_TEXT: [(&str, &str); 24] = [
    ("b", "t"),
    ("i2", "32767"),
    ("i4", "-2147483648"),
    ("i8", "9223372036854775807"),
    ("f4", "1.5"),
    ("nan", "NaN"),
    ("inf", "Infinity"),
    ("ninf", "-Infinity"),
    ("num", "12345678901234567890.123456789012345678901234567890"),
    ("t", "héllo"),
    ("vc", "v"),
    ("ch", "c  "),
    ("by", "\\xdeadbeef"),
    ("d", "2024-02-29"),
    ("tm", "13:14:15.123456"),
    ("ts", "2024-02-29 13:14:15.5"),
    ("tstz", "2024-02-29 11:14:15.5+00"),
    ("iv", "1 year 2 mons 3 days 04:05:06.5"),
    ("u", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    ("js", "{\"a\": [1, 2.50]}"),
    ("jb", "{\"b\": null}"),
    ("arr", "{1,2,3}"),
    ("tarr", "{x,NULL}"),
    ("nul", ""),
];

#[test]
fn query_prints_every_postgres_type_in_each_format() {
    let table = ok(&["query", PG_URL, TYPES_SQL]);
    for (name, text) in TYPES_TEXT.iter().filter(|(_, t)| !t.is_empty()) {
        assert!(
            table.contains(text.trim_end()),
            "table output lacks {name} = {text:?}:\n{table}"
        );
    }
    assert!(table.contains("(1 row)"), "{table}");

    let expanded = ok(&["query", PG_URL, TYPES_SQL, "--format", "expanded"]);
    for (name, text) in TYPES_TEXT {
        let line = format!("{name:<4} | {text}");
        assert!(
            expanded.lines().any(|l| l.trim_end() == line.trim_end()),
            "expanded output lacks {line:?}:\n{expanded}"
        );
    }

    let csv_text = ok(&["query", PG_URL, TYPES_SQL, "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(header, TYPES_TEXT.map(|(n, _)| n.to_string()));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].iter().collect::<Vec<_>>(), TYPES_TEXT.map(|(_, t)| t));

    let json_text = ok(&["query", PG_URL, TYPES_SQL, "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json_text).unwrap();
    let expected = serde_json::json!([{
        "b": true, "i2": 32767, "i4": -2147483648i64, "i8": 9223372036854775807i64, "f4": 1.5,
        "nan": "NaN", "inf": "Infinity", "ninf": "-Infinity",
        "t": "héllo", "vc": "v", "ch": "c  ", "by": "\\xdeadbeef", "d": "2024-02-29",
        "tm": "13:14:15.123456", "ts": "2024-02-29 13:14:15.5", "tstz": "2024-02-29 11:14:15.5+00",
        "iv": "1 year 2 mons 3 days 04:05:06.5", "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "jb": {"b": null}, "arr": [1, 2, 3], "tarr": ["x", null], "nul": null
    }]);
    let mut row = json[0].as_object().unwrap().clone();
    // Every digit of the numeric survives, as a JSON number.
    assert_eq!(
        row.remove("js").unwrap().to_string(),
        "{\"a\":[1,2.50]}",
        "JSON is embedded, digits kept"
    );
    let num = row.remove("num").unwrap();
    assert!(num.is_number(), "{num}");
    assert_eq!(num.to_string(), "12345678901234567890.123456789012345678901234567890");
    assert_eq!(serde_json::Value::Array(vec![serde_json::Value::Object(row)]), expected);
}

#[test]
fn exit_codes_follow_psql() {
    let bad = run(&["query", PG_URL, "selec 1"]);
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(
        bad.stderr.contains("ERROR:  syntax error at or near \"selec\""),
        "{}",
        bad.stderr
    );
    assert!(
        bad.stderr.contains("LINE 1: selec 1\n        ^\n"),
        "caret under the position: {}",
        bad.stderr
    );

    let unreachable = run(&[
        "query",
        "postgres://postgres@127.0.0.1:1/x?connect_timeout=5",
        "select 1",
    ]);
    assert_eq!(unreachable.code, 2, "{unreachable:?}");

    let no_url = run(&["query", "not a url", "select 1"]);
    assert_eq!(no_url.code, 2, "{no_url:?}");

    let shell_bad = run(&["shell", PG_URL, "-c", "select 1 as fine; selec 2"]);
    assert_eq!(shell_bad.code, 1, "{shell_bad:?}");
    assert!(
        shell_bad.stdout.contains("fine"),
        "the first statement ran: {shell_bad:?}"
    );
    assert_eq!(
        run(&["shell", "postgres://postgres@127.0.0.1:1/x", "-c", "select 1"]).code,
        2
    );
    assert_eq!(run(&["shell", PG_URL, "-c", "\\nonsense"]).code, 1);
}

#[test]
fn the_password_is_never_printed() {
    let url = "postgres://postgres:secretpw@127.0.0.1:1/x";
    let dir = tempfile::tempdir().unwrap();
    let csv_file = dir.path().join("in.csv");
    std::fs::write(&csv_file, "a\n1\n").unwrap();
    let csv_path = csv_file.to_str().unwrap();
    let commands: [Vec<&str>; 6] = [
        vec!["query", url, "select 1"],
        vec!["-vv", "query", url, "select 1"],
        vec!["shell", url, "-c", "select 1"],
        vec!["inspect", url],
        vec!["export", url, "select 1"],
        vec!["import", url, "t", csv_path],
    ];
    for args in commands {
        let r = run_in(dir.path(), &args);
        assert_eq!(r.code, 2, "driverbox {args:?}: {r:?}");
        assert!(
            !r.all().contains("secretpw"),
            "driverbox {args:?} printed the password: {r:?}"
        );
    }
}

#[test]
fn shell_runs_commands_and_scripts() {
    let out = ok(&["shell", PG_URL, "-c", "select 1 as first; select 'two' as second"]);
    assert!(out.contains("first") && out.contains("two"), "{out}");
    let out = ok(&["shell", PG_URL, "-c", "\\dn"]);
    assert!(out.contains("public"), "{out}");

    let schema = PgSchema::create("dbx_script");
    let table = format!("{}.t", schema.0);
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("load.sql");
    std::fs::write(
        &script,
        format!(
            "create table {table} (a int);\n\
             insert into {table} values (1);\n\
             select no_such_column from {table};\n\
             insert into {table} values (2);\n"
        ),
    )
    .unwrap();
    let r = run(&["shell", PG_URL, "-f", script.to_str().unwrap()]);
    assert_eq!(r.code, 3, "{r:?}");
    let at = format!(
        "{}:3: ERROR:  column \"no_such_column\" does not exist",
        script.display()
    );
    assert!(r.stderr.contains(&at), "the error names line 3: {}", r.stderr);
    assert_eq!(
        pg_value(&format!("select string_agg(a::text, '-') from {table}")),
        "1",
        "lines 1-2 ran, 4 did not"
    );

    // BEGIN ... ROLLBACK/COMMIT hold one connection for the transaction.
    std::fs::write(
        &script,
        format!(
            "begin;\ninsert into {table} values (10);\nrollback;\n\
             begin;\ninsert into {table} values (11);\nsavepoint s;\ninsert into {table} values (12);\n\
             rollback to savepoint s;\ncommit;\n"
        ),
    )
    .unwrap();
    let out = ok(&["shell", PG_URL, "-f", script.to_str().unwrap()]);
    assert!(out.contains("ROLLBACK") && out.contains("COMMIT"), "{out}");
    assert_eq!(
        pg_value(&format!("select string_agg(a::text, '-' order by a) from {table}")),
        "1-11"
    );

    let missing = run(&["shell", PG_URL, "-f", dir.path().join("missing.sql").to_str().unwrap()]);
    assert_eq!(missing.code, 1, "{missing:?}");
}

#[test]
fn inspect_prints_a_tree_and_json() {
    let schema = PgSchema::create("dbx_inspect");
    let s = &schema.0;
    pg(&format!(
        "create table {s}.parent (id int primary key, name text not null default 'x');
         create table {s}.child (id serial primary key,
             parent_id int not null references {s}.parent(id) on delete cascade,
             qty int check (qty > 0), code text unique);
         create index child_qty on {s}.child (qty) where qty > 10;
         create view {s}.big as select id, qty from {s}.child where qty > 10;
         create function {s}.twice(n integer) returns integer language sql as 'select n * 2'"
    ));

    let tree = ok(&["inspect", PG_URL, s]);
    for needle in [
        format!("└── schema {s}"),
        "│   ├── child".to_string(),
        "parent_id integer not null".to_string(),
        "name text not null default 'x'::text".to_string(),
        "\"child_qty\" btree (qty) WHERE qty > 10".to_string(),
        format!("\"child_parent_id_fkey\" FOREIGN KEY (parent_id) REFERENCES {s}.parent(id) ON DELETE CASCADE"),
        "CHECK (qty > 0)".to_string(),
        "\"child_code_key\" UNIQUE, btree (code)".to_string(),
        "definition:".to_string(),
        "twice(n integer) → integer [function, sql]".to_string(),
    ] {
        assert!(tree.contains(&needle), "the tree lacks {needle:?}:\n{tree}");
    }

    let json: serde_json::Value = serde_json::from_str(&ok(&["inspect", PG_URL, s, "--format", "json"])).unwrap();
    let node = &json["schemas"][0];
    assert_eq!(node["name"], s.as_str());
    let tables: Vec<&str> = node["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(tables, ["child", "parent"]);
    let child = &node["tables"][0];
    assert_eq!(child["columns"][1]["name"], "parent_id");
    assert_eq!(child["columns"][1]["nullable"], false);
    assert_eq!(child["columns"][0]["primary_key"], true);
    let constraints = child["constraints"].as_array().unwrap();
    let fk = constraints.iter().find(|c| c["kind"] == "foreign-key").unwrap();
    assert_eq!(fk["references"]["table"], "parent");
    assert_eq!(fk["references"]["on_delete"], "CASCADE");
    let check = constraints.iter().find(|c| c["kind"] == "check").unwrap();
    assert!(check["definition"].as_str().unwrap().contains("qty > 0"), "{check}");
    assert!(child["indexes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["predicate"] == "qty > 10"));
    assert_eq!(node["views"][0]["name"], "big");
    assert!(node["views"][0]["definition"].as_str().unwrap().contains("qty > 10"));
    assert_eq!(node["functions"][0]["name"], "twice");
    assert_eq!(node["functions"][0]["return_type"], "integer");

    let one: serde_json::Value =
        serde_json::from_str(&ok(&["inspect", PG_URL, &format!("{s}.parent"), "--format", "json"])).unwrap();
    assert_eq!(one["schemas"][0]["tables"].as_array().unwrap().len(), 1);
    assert_eq!(one["schemas"][0]["tables"][0]["name"], "parent");

    let missing = run(&["inspect", PG_URL, &format!("{s}.nope")]);
    assert_eq!(missing.code, 1, "{missing:?}");
    assert!(
        missing.stderr.contains(&format!("table \"{s}.nope\" does not exist")),
        "{}",
        missing.stderr
    );
    assert_eq!(run(&["inspect", PG_URL, &unique("dbx_no_schema")]).code, 1);
}

#[test]
fn import_is_all_or_nothing() {
    let schema = PgSchema::create("dbx_import");
    let table = format!("{}.people", schema.0);
    pg(&format!(
        "create table {table} (id int primary key, name text not null, score numeric, born date, note text)"
    ));
    let count = || pg_value(&format!("select count(*) from {table}"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("people.csv");
    let path = file.to_str().unwrap();
    // The record on line 5 has too few fields (bob's note spans lines 3-4);
    // the header's order and case differ from the table's.
    std::fs::write(
        &file,
        "Name,id,score,born,note\nalice,1,1.5,2000-01-02,\n\"bob, jr\",2,,2001-02-03,\"multi\nline\"\ncarol,3\ndave,4,4,2004-04-04,x\n",
    )
    .unwrap();

    let r = run(&["import", PG_URL, &table, path]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(&format!("{path}:5: expected 5 fields, found 2")),
        "{}",
        r.stderr
    );
    assert_eq!(count(), "0", "nothing imported");

    let r = run(&["import", PG_URL, &table, path, "--skip-bad-rows"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains(&format!("imported 3 rows into {table} in ")),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains(&format!("{path}:5: skipped")), "{}", r.stderr);
    let rows = ok(&[
        "query",
        PG_URL,
        &format!("select id, name, score, born, note, note is null as null_note from {table} order by id"),
        "--format",
        "csv",
    ]);
    assert_eq!(
        rows,
        "id,name,score,born,note,null_note\n1,alice,1.5,2000-01-02,,t\n2,\"bob, jr\",,2001-02-03,\"multi\nline\",f\n4,dave,4,2004-04-04,x,f\n"
    );

    // A server error (duplicate key) rolls back the whole import and names
    // the line of the record the server refused.
    let r = run(&["import", PG_URL, &table, path, "--skip-bad-rows"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(&format!("{path}:2: ERROR:  duplicate key")),
        "{}",
        r.stderr
    );
    assert_eq!(count(), "3");
    // A value the server cannot convert, after a record spanning two lines:
    // located to its file line, nothing written.
    let other = dir.path().join("typed.csv");
    std::fs::write(
        &other,
        "id,name,note\n10,x,\"two\nlines\"\n11,y,\nnot-a-number,z,\n12,w,\n",
    )
    .unwrap();
    let r = run(&["import", PG_URL, &table, other.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    let expected = format!("{}:5: ERROR:  invalid input syntax for type integer", other.display());
    assert!(r.stderr.contains(&expected), "{}", r.stderr);
    assert!(
        r.stderr.contains("CONTEXT:  COPY people, line 3, column id"),
        "{}",
        r.stderr
    );
    assert_eq!(count(), "3");

    // --empty-as-empty keeps empty fields as empty strings.
    pg(&format!("truncate {table}"));
    std::fs::write(&file, "id,name,note\n7,eve,\n").unwrap();
    ok(&["import", PG_URL, &table, path, "--empty-as-empty"]);
    assert_eq!(pg_value(&format!("select note = '' from {table}")), "t");

    // Unknown header names and invalid UTF-8 are errors that name them.
    std::fs::write(&file, "id,nickname\n1,x\n").unwrap();
    let r = run(&["import", PG_URL, &table, path]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("\"nickname\""), "{}", r.stderr);
    std::fs::write(&file, b"id,name\n8,ok\n9,bad \xff\n").unwrap();
    let r = run(&["import", PG_URL, &table, path]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(&format!("{path}:3: field 2 is not valid UTF-8")),
        "{}",
        r.stderr
    );
    assert_eq!(count(), "1");

    // More rows than one chunk, with a bad row at the very end: still nothing.
    pg(&format!("truncate {table}"));
    let mut big = String::from("id,name\n");
    for i in 0..25_000 {
        big += &format!("{i},name {i}\n");
    }
    std::fs::write(&file, format!("{big}25000\n")).unwrap();
    let r = run(&["import", PG_URL, &table, path]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(count(), "0");
    std::fs::write(&file, &big).unwrap();
    let out = ok(&["import", PG_URL, &table, path]);
    assert!(out.contains("imported 25000 rows"), "{out}");
    assert_eq!(count(), "25000");
}

/// The expected `label` and `x` of row `g` of `EXPORT_SQL`.
fn export_row(g: u64) -> (Option<String>, String) {
    let label = (!g.is_multiple_of(7)).then(|| format!("row {g}"));
    let x = if g.is_multiple_of(2) {
        format!("{}.0", g * 3 / 2)
    } else {
        format!("{}.5", g * 3 / 2)
    };
    (label, x)
}

const EXPORT_SQL: &str = "select g as id, case when g % 7 = 0 then null else 'row ' || g end as label, \
    g * 1.5 as x from generate_series(1, 100000) g order by g";

#[test]
fn export_streams_100k_rows_as_csv_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rows.csv");
    let r = run(&["export", PG_URL, EXPORT_SQL, "--output", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("exported 100000 rows"), "{}", r.stderr);
    let mut reader = csv::Reader::from_path(&file).unwrap();
    assert_eq!(reader.headers().unwrap(), vec!["id", "label", "x"]);
    let mut n = 0;
    for (i, record) in reader.records().enumerate() {
        let record = record.unwrap();
        let g = i as u64 + 1;
        let (label, x) = export_row(g);
        assert_eq!(
            record.iter().collect::<Vec<_>>(),
            [g.to_string(), label.unwrap_or_default(), x]
        );
        n += 1;
    }
    assert_eq!(n, 100_000);

    let json_text = ok(&["export", PG_URL, EXPORT_SQL, "--format", "json", "--batch-size", "777"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json_text).unwrap();
    assert_eq!(rows.len(), 100_000);
    for (i, row) in rows.iter().enumerate() {
        let g = i as u64 + 1;
        let (label, x) = export_row(g);
        assert_eq!(row["id"], g);
        assert_eq!(
            row["label"],
            label.map_or(serde_json::Value::Null, serde_json::Value::from)
        );
        assert_eq!(row["x"].to_string(), x);
    }

    let empty = ok(&["export", PG_URL, "select 1 as a where false", "--format", "json"]);
    assert_eq!(empty, "[]\n");
    let bad = run(&["export", PG_URL, "select nope"]);
    assert_eq!(bad.code, 1, "{bad:?}");
}

/// `--format arrow` and `--format parquet` write what Arrow and Parquet
/// readers read back: the same rows, typed columns, the database type kept.
#[test]
fn export_writes_arrow_and_parquet() {
    use arrow_array::{Array, Float32Array, Int32Array, StringArray};
    let dir = tempfile::tempdir().unwrap();
    let sql = "select g as id, case when g % 7 = 0 then null else 'row ' || g end as label, \
        (g * 1.5)::numeric(12,1) as x, (g / 4.0)::float4 as f from generate_series(1, 100000) g order by g";
    let check = |batches: Vec<arrow_array::RecordBatch>| {
        let mut g = 0u64;
        for batch in &batches {
            let schema = batch.schema();
            let x = schema.field_with_name("x").unwrap();
            assert_eq!(x.metadata()["driverbox.database_type"], "numeric");
            let ids = batch.column(0).as_any().downcast_ref::<Int32Array>().unwrap();
            let labels = batch.column(1).as_any().downcast_ref::<StringArray>().unwrap();
            let xs = batch.column(2).as_any().downcast_ref::<StringArray>().unwrap();
            let fs = batch.column(3).as_any().downcast_ref::<Float32Array>().unwrap();
            for i in 0..batch.num_rows() {
                g += 1;
                let (label, x) = export_row(g);
                assert_eq!(ids.value(i) as u64, g);
                assert_eq!(labels.is_valid(i).then(|| labels.value(i).to_string()), label);
                assert_eq!(xs.value(i), x);
                assert_eq!(fs.value(i), g as f32 / 4.0);
            }
        }
        assert_eq!(g, 100_000);
    };

    let arrow_file = dir.path().join("rows.arrow");
    let r = run(&[
        "export",
        PG_URL,
        sql,
        "--format",
        "arrow",
        "--output",
        arrow_file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("exported 100000 rows"), "{}", r.stderr);
    let reader = arrow_ipc::reader::StreamReader::try_new(std::fs::File::open(&arrow_file).unwrap(), None).unwrap();
    check(reader.map(Result::unwrap).collect());

    let parquet_file = dir.path().join("rows.parquet");
    let r = run(&[
        "export",
        PG_URL,
        sql,
        "--format",
        "parquet",
        "--output",
        parquet_file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(&parquet_file).unwrap(),
    )
    .unwrap();
    assert_eq!(builder.metadata().file_metadata().num_rows(), 100_000);
    assert!(
        builder.metadata().num_row_groups() >= 2,
        "row groups of at most 65536 rows"
    );
    check(builder.build().unwrap().map(Result::unwrap).collect());

    // SQLite, whose expressions have no declared type, gives a dense union
    // for a column whose values differ in type.
    let db = dir.path().join("mixed.db");
    let url = format!("sqlite://{}", db.display());
    ok(&[
        "shell",
        &url,
        "-c",
        "create table m(v); insert into m values (1), ('two'), (3.5), (null)",
    ]);
    let mixed = dir.path().join("mixed.arrow");
    ok(&[
        "export",
        &url,
        "select v from m order by rowid",
        "--format",
        "arrow",
        "--output",
        mixed.to_str().unwrap(),
    ]);
    let reader = arrow_ipc::reader::StreamReader::try_new(std::fs::File::open(&mixed).unwrap(), None).unwrap();
    let batches: Vec<_> = reader.map(Result::unwrap).collect();
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 4);
    assert!(
        matches!(
            batches[0].schema().field(0).data_type(),
            arrow_schema::DataType::Union(..)
        ),
        "{:?}",
        batches[0].schema()
    );

    let bad = run(&["export", PG_URL, "select nope", "--format", "parquet"]);
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(bad.stderr.contains("42703"), "{}", bad.stderr);
}

/// Notices go to stderr as psql prints them; a script's every result is
/// printed, up to its first error.
#[test]
fn query_prints_notices_and_every_result() {
    let r = run(&[
        "query",
        PG_URL,
        "do $$ begin raise notice 'n %', 1; raise warning 'w %', 2 using hint = 'h'; end $$",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("NOTICE:  n 1\n"), "{}", r.stderr);
    assert!(r.stderr.contains("WARNING:  w 2\nHINT:  h\n"), "{}", r.stderr);

    let both = ok(&["query", PG_URL, "select 1 as a; select 'x' as b"]);
    assert_eq!(both, " a \n---\n 1 \n(1 row)\n\n b \n---\n x \n(1 row)\n");
    let csv = ok(&["query", PG_URL, "select 1 as a; select 'x' as b", "--format", "csv"]);
    assert_eq!(csv, "a\n1\nb\nx\n");

    let r = run(&["query", PG_URL, "select 1 as a; select nope; select 2 as c"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains(" a \n---\n 1 "), "{}", r.stdout);
    assert!(!r.stdout.contains(" c "), "{}", r.stdout);
    assert!(r.stderr.contains("42703"), "{}", r.stderr);
}

/// The faults of issue 9, each with its right value.
#[test]
fn values_and_statements_come_out_right() {
    // JSON `null` and SQL NULL differ; array bounds are kept in JSON too.
    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "query",
        PG_URL,
        "select 'null'::jsonb a, null::jsonb b, '[0:2]={1,2,3}'::int[] c, '{4}'::int[] d",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(
        json,
        serde_json::json!([{"a": null, "c": {"lower_bounds": [0], "elements": [1, 2, 3]}, "d": [4]}])
    );
    // BC dates, bounds, intervals and the last timestamps as psql prints them.
    assert_eq!(
        ok(&[
            "query",
            PG_URL,
            "select date '0044-03-15 BC' a, date '0001-01-01 BC' b, '[0:2]={1,2,3}'::int[] c, \
             interval '-1 year -2 mons' d, interval '-1 day +1 hour' e, \
             '294276-12-31 23:59:59'::timestamp f, '294276-12-31 23:59:59+00'::timestamptz g",
            "--format",
            "csv",
        ]),
        "a,b,c,d,e,f,g\n0044-03-15 BC,0001-01-01 BC,\"[0:2]={1,2,3}\",-1 years -2 mons,-1 days +01:00:00,\
         294276-12-31 23:59:59,294276-12-31 23:59:59+00\n"
    );
    // SQL that starts with a comment is SQL, not an option.
    assert_eq!(
        ok(&["query", PG_URL, "-- note\nselect 1 as one", "--format", "csv"]),
        "one\n1\n"
    );
    assert_eq!(
        ok(&["shell", PG_URL, "-c", "-- note\nselect 2 as two", "--format", "csv"]),
        "two\n2\n"
    );
    // Text the client cannot decode fails its statement, naming the column;
    // the session goes on.
    let r = run(&[
        "shell",
        PG_URL,
        "-c",
        "begin; set local client_encoding to 'LATIN1'; select 1 as before; select chr(233) as e; select 2 as after",
        "--format",
        "csv",
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("column \"e\"") && r.stderr.contains("UTF-8"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("broken"), "{}", r.stderr);
    // Refused when connecting, so psql's exit code for a failed connection.
    let r = run(&["query", &format!("{PG_URL}&client_encoding=LATIN1"), "select 1"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("client_encoding"), "{}", r.stderr);
    assert_eq!(pg_value("select 'still' as s"), "still");
}

/// `export` → `import` keeps every value: the empty string and NULL stay
/// apart (`""` and an empty field), BC dates, bounds and intervals read back.
#[test]
fn export_then_import_keeps_every_value() {
    let schema = PgSchema::create("dbx_roundtrip");
    let columns = "id int, t text, d date, ts timestamp, a int[], iv interval, j jsonb";
    pg(&format!(
        "create table {0}.src ({columns}); create table {0}.dst ({columns}); \
         insert into {0}.src values \
         (1, '', date '0044-03-15 BC', '0001-01-01 00:00:00 BC', '[0:2]={{1,2,3}}', '-1 day +1 hour', 'null'), \
         (2, null, date '0001-01-01 BC', '294276-12-31 23:59:59', '{{{{1,2}},{{3,4}}}}', '-1 year -2 mons', null), \
         (3, 'a,\"b\"', date '10000-01-01', null, null, null, '{{\"k\": [1, 2]}}')",
        schema.0
    ));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("src.csv");
    let r = run(&[
        "export",
        PG_URL,
        &format!("select * from {}.src order by id", schema.0),
        "--output",
        file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let csv_text = std::fs::read_to_string(&file).unwrap();
    assert!(csv_text.contains("1,\"\",0044-03-15 BC,"), "{csv_text}");
    let r = run(&["import", PG_URL, &format!("{}.dst", schema.0), file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    let differing = pg_value(&format!(
        "select count(*) from (select * from {0}.src except all select * from {0}.dst) x",
        schema.0
    ));
    assert_eq!(differing, "0");
    assert_eq!(
        pg_value(&format!("select count(*) from {}.dst where t = ''", schema.0)),
        "1"
    );
    assert_eq!(
        pg_value(&format!("select count(*) from {}.dst where t is null", schema.0)),
        "1"
    );
}

/// Unquoted names in `\\d`, `inspect` and `import` fold as PostgreSQL folds them.
#[test]
fn unquoted_names_fold_as_the_database_folds_them() {
    let schema = PgSchema::create("dbx_fold");
    pg(&format!("create table {}.Orders (Id int, \"Note\" text)", schema.0));
    let upper = schema.0.to_uppercase();
    let described = ok(&["shell", PG_URL, "-c", &format!("\\d {upper}.Orders")]);
    assert!(described.contains("id") && described.contains("Note"), "{described}");
    let inspected = ok(&["inspect", PG_URL, &format!("{upper}.ORDERS")]);
    assert!(
        inspected.contains("orders") && inspected.contains("Note"),
        "{inspected}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("o.csv");
    std::fs::write(&file, "id,Note\n1,x\n").unwrap();
    let r = run(&["import", PG_URL, &format!("{upper}.Orders"), file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(pg_value(&format!("select \"Note\" from {}.orders", schema.0)), "x");
    // A quoted name is taken as written: there is no "Orders".
    let r = run(&["shell", PG_URL, "-c", &format!("\\d {}.\"Orders\"", schema.0)]);
    assert!(!r.stdout.contains("Note") && r.stderr.contains("Orders"), "{r:?}");
}

/// A role's DateStyle input order is the server's to keep: the driver
/// only asks for ISO output.
#[test]
fn datestyle_of_the_role_is_kept() {
    let role = unique("dbx_dmy");
    pg(&format!(
        "create role {role} login; alter role {role} set datestyle = 'SQL, DMY'"
    ));
    let url = format!("postgres://{role}@127.0.0.1:5432/test?sslmode=disable");
    let out = ok(&["query", &url, "select date '01/02/03' as d", "--format", "csv"]);
    let _ = run(&["shell", PG_URL, "-c", &format!("drop role {role}")]);
    assert_eq!(out, "d\n2003-02-01\n");
}

/// SQLite triggers keep their `BEGIN … END` body, in files and piped input.
#[test]
fn trigger_bodies_are_one_statement() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("t.db").display());
    let script = "create table a(x); create table b(y);\n\
        create trigger tr after insert on a begin insert into b values (new.x); end;\n\
        insert into a values (7); select * from b;\n";
    let file = dir.path().join("t.sql");
    std::fs::write(&file, script).unwrap();
    let out = ok(&["shell", &url, "-f", file.to_str().unwrap(), "--format", "csv"]);
    assert_eq!(out, "y\n7\n");
    // Piped, line by line: the inner `;` does not end the trigger, and
    // its `end` is not a COMMIT.
    let url2 = format!("sqlite:{}", dir.path().join("t2.db").display());
    let mut child = command(&["shell", &url2, "--format", "csv"])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(
                b"create table a(x);\ncreate table b(y);\ncreate trigger tr after insert on a begin\n\
                  insert into b values (new.x);\nend;\ninsert into a values (8);\nselect * from b;\n",
            )
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("y\n8\n"), "{stdout}\n{stderr}");
    assert!(!stderr.contains("error") && !stderr.contains("WARNING"), "{stderr}");
}

/// SQLite files: query, shell, import, export and inspect (no functions).
#[test]
fn sqlite_files_work_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("shop.db").display());
    let out = ok(&[
        "shell",
        &url,
        "-c",
        "create table items (id integer primary key, name text not null unique, price real, parent integer references items(id), check (price >= 0)); \
         create index items_price on items (price); \
         create view cheap as select id, name from items where price < 5",
    ]);
    assert!(out.contains("CREATE TABLE") && out.contains("CREATE VIEW"), "{out}");

    let csv_file = dir.path().join("items.csv");
    std::fs::write(
        &csv_file,
        "id,name,price\n1,pen,1.5\n2,book\n3,lamp,30\n4,\"cup, blue\",4\n",
    )
    .unwrap();
    let r = run(&["import", &url, "items", csv_file.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        ok(&["query", &url, "select count(*) as n from items", "-f", "csv"]),
        "n\n0\n"
    );
    // A row SQLite refuses (check constraint) is located to its line.
    let refused = dir.path().join("refused.csv");
    std::fs::write(
        &refused,
        "id,name,price
1,pen,1.5
2,cup,-3
",
    )
    .unwrap();
    let r = run(&["import", &url, "items", refused.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains(&format!("{}:3: ERROR:  CHECK constraint failed", refused.display())),
        "{}",
        r.stderr
    );
    assert_eq!(
        ok(&["query", &url, "select count(*) as n from items", "-f", "csv"]),
        "n\n0\n"
    );
    let r = run(&["import", &url, "items", csv_file.to_str().unwrap(), "--skip-bad-rows"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("imported 3 rows into items"), "{}", r.stdout);

    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "query",
        &url,
        "select id, name, price from items order by id",
        "-f",
        "json",
    ]))
    .unwrap();
    assert_eq!(
        json,
        serde_json::json!([
            {"id": 1, "name": "pen", "price": 1.5},
            {"id": 3, "name": "lamp", "price": 30.0},
            {"id": 4, "name": "cup, blue", "price": 4.0}
        ])
    );
    assert_eq!(
        ok(&["export", &url, "select name from cheap order by id"]),
        "name\npen\n\"cup, blue\"\n"
    );
    let exported = ok(&["export", &url, "select id from items order by id", "--format", "json"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&exported).unwrap(),
        serde_json::json!([{"id": 1}, {"id": 3}, {"id": 4}])
    );

    let listed = ok(&["shell", &url, "-c", "\\dt"]);
    assert!(listed.contains("items") && !listed.contains("cheap"), "{listed}");
    let described = ok(&["shell", &url, "-c", "\\d items"]);
    assert!(
        described.contains("\"items_price\"") && described.contains("CHECK"),
        "{described}"
    );

    let tree = ok(&["inspect", &url]);
    assert!(
        tree.contains("└── schema main") && tree.contains("items") && tree.contains("cheap"),
        "{tree}"
    );
    assert!(!tree.contains("functions"), "SQLite has no functions to list:\n{tree}");
    let json: serde_json::Value = serde_json::from_str(&ok(&["inspect", &url, "--format", "json"])).unwrap();
    assert!(json["schemas"][0].get("functions").is_none(), "{json}");
    assert_eq!(json["schemas"][0]["views"][0]["name"], "cheap");

    let bad = run(&["query", &url, "select * from nope"]);
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(bad.stderr.contains("no such table"), "{}", bad.stderr);

    // Without a URL the CLI uses sqlite:driverbox.db in the current directory.
    let r = run_in(dir.path(), &["query", "select 6 * 7 as answer"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("42"));
    assert!(dir.path().join("driverbox.db").exists());
}

#[test]
fn drivers_list_inspect_and_check() {
    let dir = tempfile::tempdir().unwrap();
    // Built-in drivers, with their capabilities.
    let list = run_in(dir.path(), &["drivers", "list", "--format", "json"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    let drivers: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    let names: Vec<&str> = drivers
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"postgres") && names.contains(&"sqlite"), "{names:?}");
    let sqlite = drivers
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "sqlite")
        .unwrap();
    assert_eq!(sqlite["source"], "builtin");
    assert!(sqlite["capabilities"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("streaming")));

    // A driver loaded from a directory shows its file, and a broken file is reported, not fatal.
    let component = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/guests/wasm32-wasip2/guest/driverbox_postgres.wasm");
    let drivers_dir = dir.path().join("drivers");
    std::fs::create_dir(&drivers_dir).unwrap();
    std::fs::copy(&component, drivers_dir.join("pg.wasm")).unwrap();
    std::fs::write(drivers_dir.join("broken.wasm"), b"not a component").unwrap();
    let list = run_in(
        dir.path(),
        &["--drivers-dir", drivers_dir.to_str().unwrap(), "drivers", "list"],
    );
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(
        list.stdout.contains("pg.wasm") && list.stdout.contains("bulk-insert"),
        "{}",
        list.stdout
    );
    assert!(
        list.stderr.contains("broken.wasm") && list.stderr.contains("not a valid component"),
        "{}",
        list.stderr
    );

    let inspect = run_in(dir.path(), &["drivers", "inspect", component.to_str().unwrap()]);
    assert_eq!(inspect.code, 0, "{}", inspect.stderr);
    let info: serde_json::Value = serde_json::from_str(&inspect.stdout).unwrap();
    assert_eq!(info["name"], "postgres");
    assert!(info["exports"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("extension")));
    assert!(info["imports"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| !i.as_str().unwrap().starts_with("wasi:filesystem")));

    let check = run_in(dir.path(), &["drivers", "check", component.to_str().unwrap()]);
    assert_eq!(
        (check.code, check.stdout.starts_with("ok: postgres")),
        (0, true),
        "{check:?}"
    );
    let check = run_in(
        dir.path(),
        &["drivers", "check", drivers_dir.join("broken.wasm").to_str().unwrap()],
    );
    assert_eq!(check.code, 2, "{check:?}");
    assert!(check.stderr.contains("not a valid component"), "{}", check.stderr);

    // Each driver names the contract it was built against; a driver built
    // against contract 0.1 still loads.
    assert_eq!(info["contract"], "0.2.0");
    let old = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/postgres-driver-0.1.0.wasm");
    let inspect = run_in(dir.path(), &["drivers", "inspect", old.to_str().unwrap()]);
    assert_eq!(inspect.code, 0, "{}", inspect.stderr);
    let old_info: serde_json::Value = serde_json::from_str(&inspect.stdout).unwrap();
    assert_eq!(
        (&old_info["name"], &old_info["contract"]),
        (&serde_json::json!("postgres"), &serde_json::json!("0.1.0"))
    );
    let old_dir = dir.path().join("old");
    std::fs::create_dir(&old_dir).unwrap();
    std::fs::copy(&old, old_dir.join("pg-old.wasm")).unwrap();
    let list = run_in(
        dir.path(),
        &["--drivers-dir", old_dir.to_str().unwrap(), "drivers", "list"],
    );
    let row = list
        .stdout
        .lines()
        .find(|l| l.contains("pg-old.wasm"))
        .unwrap_or_default();
    assert!(row.contains("| 0.1.0 "), "{}", list.stdout);
}

/// Issue 10, faults 6 and 7: every failure to connect exits 2, as psql's
/// do, and says what went wrong.
#[test]
fn connection_failures_exit_2_and_name_the_cause() {
    let no_db = run(&[
        "query",
        "postgres://postgres@127.0.0.1:5432/dbx_no_such_database?sslmode=disable",
        "select 1",
    ]);
    assert_eq!(no_db.code, 2, "{no_db:?}");
    assert!(no_db.stderr.contains("3D000"), "{no_db:?}");

    let dns = run(&["query", "postgres://postgres@no-such-host.invalid/test", "select 1"]);
    assert_eq!(dns.code, 2, "{dns:?}");
    assert!(
        dns.stderr.contains("could not resolve host name no-such-host.invalid"),
        "{dns:?}"
    );
    assert!(dns.stderr.contains("connection error"), "{dns:?}");
    assert!(!dns.stderr.contains("permission denied"), "{dns:?}");

    // A server that accepts and never answers: connect_timeout bounds the
    // whole set-up, not only the TCP connect.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let started = std::time::Instant::now();
    let timeout = run(&[
        "query",
        &format!("postgres://postgres@127.0.0.1:{port}/test?sslmode=disable&connect_timeout=1"),
        "select 1",
    ]);
    assert_eq!(timeout.code, 2, "{timeout:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let started = std::time::Instant::now();
    let timeout = run(&[
        "-W",
        "connect-timeout=1s",
        "query",
        &format!("postgres://postgres@127.0.0.1:{port}/test?sslmode=disable"),
        "select 1",
    ]);
    assert_eq!(timeout.code, 2, "{timeout:?}");
    assert!(
        timeout.stderr.contains("connect did not finish within 1s"),
        "{timeout:?}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    drop(silent);
}

/// Issue 10, fault 4: a quote never closed is a malformed file, not one
/// long last field.
#[test]
fn import_refuses_an_unterminated_quote() {
    let table = PgTable(unique("dbx_import_quote"));
    pg(&format!("create table {} (a int, b text, c text)", table.0));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.csv");
    std::fs::write(&file, "a,b,c\n1,a,\"unterminated\n2,b,y\n").unwrap();
    let path = file.to_str().unwrap();
    for extra in [&[][..], &["--skip-bad-rows"][..]] {
        let mut args = vec!["import", PG_URL, &table.0, path];
        args.extend_from_slice(extra);
        let r = run(&args);
        assert_eq!(r.code, 1, "{r:?}");
        assert!(
            r.stderr.contains(&format!("{path}:2: a quoted field is never closed")),
            "{r:?}"
        );
        assert_eq!(pg_value(&format!("select count(*) from {}", table.0)), "0");
    }
    // Quoted fields over several lines are fine.
    std::fs::write(&file, "a,b,c\n1,a,\"two\nlines\"\n2,b,y").unwrap();
    let r = run(&["import", PG_URL, &table.0, path]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(pg_value(&format!("select count(*) from {}", table.0)), "2");
}

/// Issue 10, fault 9: an export that fails midway leaves no file.
#[test]
fn a_failed_export_leaves_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.csv");
    let path = file.to_str().unwrap();
    for format in ["csv", "json", "parquet"] {
        let r = run(&[
            "export",
            PG_URL,
            "select 1 / (5000 - g) as x from generate_series(1, 10000) g",
            "--batch-size",
            "100",
            "--format",
            format,
            "--output",
            path,
        ]);
        assert_eq!(r.code, 1, "{r:?}");
        assert!(r.stderr.contains("22012"), "division by zero: {r:?}");
        assert!(r.stderr.contains("not written"), "{r:?}");
        assert!(!file.exists(), "{format}: a partial file was left");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{format}: temporary files left: {left:?}");
    }
    let r = run(&[
        "export",
        PG_URL,
        "select g from generate_series(1, 3) g",
        "--output",
        path,
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "g\n1\n2\n3\n");
}

#[test]
fn query_runs_mongodb_commands_written_in_extended_json() {
    let server = MongoServer::start();
    let url = server.url("shop");
    let r = run(&[
        "query",
        &url,
        r#"{"insert": "orders", "documents": [{"_id": 1, "total": 120, "at": {"$date": "2024-01-02T00:00:00Z"}}, {"_id": 2, "total": 80, "tags": ["a", "b"]}]}"#,
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains(r#"{"n":2,"ok":1.0}"#), "{}", r.stdout);

    // One row per document, relaxed Extended JSON with the keys in order.
    let r = run(&["query", &url, r#"{"find": "orders", "sort": {"_id": 1}}"#]);
    assert_eq!(r.code, 0, "{}", r.all());
    let lines: Vec<&str> = r.stdout.lines().map(str::trim).collect();
    assert_eq!(lines.len(), 5, "{}", r.stdout);
    assert!(lines[1].chars().all(|c| c == '-'));
    assert_eq!(
        [lines[0], lines[2], lines[3], lines[4]],
        [
            "document",
            r#"{"_id":1,"total":120,"at":{"$date":"2024-01-02T00:00:00Z"}}"#,
            r#"{"_id":2,"total":80,"tags":["a","b"]}"#,
            "(2 rows)",
        ]
    );
    let r = run(&[
        "query",
        &url,
        r#"{"aggregate": "orders", "pipeline": [{"$group": {"_id": null, "sum": {"$sum": "$total"}}}], "cursor": {}}"#,
        "--format",
        "csv",
    ]);
    assert_eq!(
        r.stdout.trim(),
        "document\n\"{\"\"_id\"\":null,\"\"sum\"\":200}\"",
        "{}",
        r.all()
    );

    // inspect: collections with their indexes and the fields of a sample.
    let r = run(&[
        "query",
        &url,
        r#"{"createIndexes": "orders", "indexes": [{"key": {"total": -1}, "name": "total_-1", "unique": true}]}"#,
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    let r = run(&["inspect", &url]);
    assert_eq!(r.code, 0, "{}", r.all());
    for line in [
        "orders (collection, ~2 documents)",
        r#"total_-1 {"total":-1} unique"#,
        "fields, from 2 sampled documents",
        "_id (2): int 2",
        "at (1): date 1",
        "tags[] (2): string 2",
    ] {
        assert!(r.stdout.contains(line), "{line} in\n{}", r.stdout);
    }
    let r = run(&["inspect", &url, "orders", "--format", "json", "--sample", "1"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["collections"][0]["name"], "orders");
    assert_eq!(v["collections"][0]["sampled"], 1);
    let r = run(&["inspect", &url, "nosuch"]);
    assert_eq!(r.code, 1, "{}", r.all());

    // A JSON syntax error names its position; a server error its code.
    let r = run(&["query", &url, r#"{"find": "orders",, }"#]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("line 1 column 19"), "{}", r.stderr);
    let r = run(&["query", &url, r#"{"noSuchCommand": 1}"#]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("CommandNotFound"), "{}", r.stderr);
}

/// One column per MySQL type family, and its text in every format.
const MYSQL_TYPES_SQL: &str = "select cast(-5 as signed) i, cast(18446744073709551615 as unsigned) u, \
    2.5e0 d, cast('12.340' as decimal(10,3)) n, 'héllo' t, x'dead' b, date'2024-02-29' dt, \
    cast('2024-02-29 13:14:15.5' as datetime(1)) ts, cast('-30:00:01' as time) tm, null nul";

const MYSQL_TYPES_TEXT: [(&str, &str); 10] = [
    ("i", "-5"),
    ("u", "18446744073709551615"),
    ("d", "2.5"),
    ("n", "12.340"),
    ("t", "héllo"),
    ("b", "\\xdead"),
    ("dt", "2024-02-29"),
    ("ts", "2024-02-29 13:14:15.5"),
    ("tm", "-30:00:01"),
    ("nul", ""),
];

#[test]
fn mysql_query_import_export_and_inspect() {
    let expanded = ok(&["query", MYSQL_URL, MYSQL_TYPES_SQL, "--format", "expanded"]);
    for (name, text) in MYSQL_TYPES_TEXT {
        let line = format!("{name:<3} | {text}");
        assert!(
            expanded.lines().any(|l| l.trim_end() == line.trim_end()),
            "expanded output lacks {line:?}:\n{expanded}"
        );
    }
    let csv_text = ok(&["query", MYSQL_URL, MYSQL_TYPES_SQL, "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows[0].iter().collect::<Vec<_>>(), MYSQL_TYPES_TEXT.map(|(_, t)| t));
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["query", MYSQL_URL, MYSQL_TYPES_SQL, "--format", "json"])).unwrap();
    assert_eq!(
        json[0]["u"].to_string(),
        "18446744073709551615",
        "every digit, as a number"
    );
    assert_eq!(json[0]["nul"], serde_json::Value::Null);

    ok(&[
        "query",
        MYSQL_URL,
        "drop table if exists dbx_cli_my; \
         create table dbx_cli_my (id int primary key, name varchar(20) not null, price decimal(8,2))",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let csv_file = dir.path().join("in.csv");
    std::fs::write(&csv_file, "id,name,price\n1,apple,1.50\n2,pear,2.25\n").unwrap();
    let out = ok(&["import", MYSQL_URL, "dbx_cli_my", csv_file.to_str().unwrap()]);
    assert!(out.contains("imported 2 rows"), "{out}");
    let out = ok(&[
        "export",
        MYSQL_URL,
        "select * from dbx_cli_my order by id",
        "--format",
        "csv",
    ]);
    assert_eq!(out, "id,name,price\n1,apple,1.50\n2,pear,2.25\n");
    let tree = ok(&["inspect", MYSQL_URL, "test.dbx_cli_my"]);
    assert!(tree.contains("id int(11) not null primary key"), "{tree}");
    assert!(tree.contains("price decimal(8,2)"), "{tree}");
    ok(&["query", MYSQL_URL, "drop table dbx_cli_my"]);
}

/// The `mysql` client's rows in vertical form, as `mariadb -E` prints them.
fn mariadb_vertical(sql: &str) -> String {
    let out = std::process::Command::new("mariadb")
        .args(["-h", "127.0.0.1", "-u", "root", "test", "-E", "-e", sql])
        .output()
        .expect("the mariadb client runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn mysql_shell_has_the_mysql_clients_habits() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("routine.sql");
    std::fs::write(
        &script,
        "drop procedure if exists dbx_shell_p;\n\
         drop table if exists dbx_shell_my;\n\
         create table dbx_shell_my (id int primary key, name varchar(20) not null, note text);\n\
         create index dbx_shell_my_name on dbx_shell_my (name);\n\
         insert into dbx_shell_my values (1, 'a;b', null), (2, 'c//d', 'x');\n\
         DELIMITER //\n\
         create procedure dbx_shell_p(in n int)\n\
         begin\n\
         \x20 -- a ; in a comment, and one in a string: ';'\n\
         \x20 update dbx_shell_my set note = concat('seen;', n) where id = n;\n\
         end //\n\
         call dbx_shell_p(2)//\n\
         DELIMITER ;\n\
         select id, name, note from dbx_shell_my order by id\\G\n\
         select count(*) as n from dbx_shell_my;\n",
    )
    .unwrap();
    let out = ok(&["shell", MYSQL_URL, "-f", script.to_str().unwrap()]);
    // `\G` prints exactly what the mysql client prints, then its count.
    let vertical = mariadb_vertical("select id, name, note from dbx_shell_my order by id");
    assert!(
        out.contains(&format!("{vertical}2 rows in set\n")),
        "expected the mariadb client's\n{vertical}in\n{out}"
    );
    assert!(vertical.contains("note: seen;2"), "the routine ran: {vertical}");
    // The next statement is back in the session's format.
    assert!(out.contains("2 rows in set\n n \n---\n 2 \n(1 row)"), "{out}");

    // The `\d` family reads the database's catalog.
    let listed = ok(&["shell", MYSQL_URL, "-c", "\\dt dbx_shell*"]);
    assert!(listed.contains("dbx_shell_my"), "{listed}");
    let described = ok(&["shell", MYSQL_URL, "-c", "\\d dbx_shell_my"]);
    for part in ["id", "int(11)", "varchar(20)", "not null", "dbx_shell_my_name"] {
        assert!(described.contains(part), "\\d lacks {part}:\n{described}");
    }
    let indexes = ok(&["shell", MYSQL_URL, "-c", "\\di dbx_shell_my"]);
    assert!(indexes.contains("dbx_shell_my_name"), "{indexes}");
    let functions = ok(&["shell", MYSQL_URL, "-c", "\\df dbx_shell*"]);
    assert!(functions.contains("dbx_shell_p"), "{functions}");
    let databases = ok(&["shell", MYSQL_URL, "-c", "\\l"]);
    assert!(
        databases.lines().any(|l| l.trim() == "test" || l.contains(" test ")),
        "{databases}"
    );

    // `\gx` and `\g` on the command line; a bad DELIMITER names its line.
    let out = ok(&["shell", MYSQL_URL, "-c", "select 1 as a \\gx"]);
    assert!(out.contains("-[ RECORD 1 ]") && out.contains("a | 1"), "{out}");
    std::fs::write(&script, "select 1;\nDELIMITER\nselect 2;\n").unwrap();
    let r = run(&["shell", MYSQL_URL, "-f", script.to_str().unwrap()]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr.contains(&format!("{}:2: error: DELIMITER", script.display())),
        "{}",
        r.stderr
    );
    // An error inside a routine body reports the line the statement starts on.
    std::fs::write(
        &script,
        "DELIMITER $$\nselect 1$$\ncreate procedure dbx_shell_q()\nbegin\n  selec 1;\nend$$\n",
    )
    .unwrap();
    let r = run(&["shell", MYSQL_URL, "-f", script.to_str().unwrap()]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains(&format!("{}:3: ", script.display())), "{}", r.stderr);
    ok(&[
        "query",
        MYSQL_URL,
        "drop procedure dbx_shell_p; drop table dbx_shell_my",
    ]);
}

#[test]
fn drivers_portable_makes_a_wasi_only_driver_that_inspect_recognises() {
    let dir = tempfile::tempdir().unwrap();
    // From a file, as a user holding a driver component would.
    let component = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/guests/wasm32-wasip2/guest/driverbox_postgres.wasm");
    let out = dir.path().join("pg-portable.wasm");
    let made = run_in(
        dir.path(),
        &[
            "drivers",
            "portable",
            component.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(made.code, 0, "{made:?}");
    assert!(
        made.stdout.contains("portable driver postgres") && made.stdout.contains("imports only wasi:*"),
        "{}",
        made.stdout
    );
    let inspect = run_in(dir.path(), &["drivers", "inspect", out.to_str().unwrap()]);
    assert_eq!(inspect.code, 0, "{}", inspect.stderr);
    let info: serde_json::Value = serde_json::from_str(&inspect.stdout).unwrap();
    assert_eq!(info["portable"], true);
    assert_eq!(info["name"], "postgres");
    let imports: Vec<&str> = info["imports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap())
        .collect();
    assert!(imports.iter().all(|i| i.starts_with("wasi:")), "{imports:?}");
    assert!(imports.iter().any(|i| i.starts_with("wasi:sockets/tcp")), "{imports:?}");
    // The driver it was made from is not portable.
    let inspect = run_in(dir.path(), &["drivers", "inspect", component.to_str().unwrap()]);
    let info: serde_json::Value = serde_json::from_str(&inspect.stdout).unwrap();
    assert_eq!(info["portable"], false);

    // A built-in by name.
    let sqlite = dir.path().join("sqlite-portable.wasm");
    ok(&["drivers", "portable", "sqlite", "-o", sqlite.to_str().unwrap()]);
    let bytes = std::fs::read(&sqlite).unwrap();
    assert!(bytes.starts_with(b"\0asm"));

    // driverbox itself serves only drivers that import its transport.
    let check = run_in(dir.path(), &["drivers", "check", out.to_str().unwrap()]);
    assert_ne!(check.code, 0, "{check:?}");
    assert!(check.stderr.contains("portable driver"), "{}", check.stderr);
    let query = run_in(
        dir.path(),
        &["--driver", out.to_str().unwrap(), "query", PG_URL, "select 1"],
    );
    assert_ne!(query.code, 0, "{query:?}");
    assert!(query.stderr.contains("portable driver"), "{}", query.stderr);

    // Twice is refused, and so is a component that is not a driver.
    let again = run_in(
        dir.path(),
        &["drivers", "portable", out.to_str().unwrap(), "-o", "x.wasm"],
    );
    assert_ne!(again.code, 0);
    assert!(again.stderr.contains("already portable"), "{}", again.stderr);
    std::fs::write(dir.path().join("junk.wasm"), b"junk").unwrap();
    let junk = run_in(dir.path(), &["drivers", "portable", "junk.wasm", "-o", "y.wasm"]);
    assert_ne!(junk.code, 0);
    assert!(junk.stderr.contains("not a valid component"), "{}", junk.stderr);
}
