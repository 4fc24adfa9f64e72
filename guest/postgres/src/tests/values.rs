//! Every natively decoded type round-trips exactly, as a parameter and as
//! a stored value, through the extended and the simple protocol.

use super::*;
use driverbox_guest_sdk::time::days_from_civil;
use driverbox_guest_sdk::types::Interval;

fn all_bytes() -> Vec<u8> {
    (0..=255u8).collect()
}

/// (type, value sent, value expected back)
fn cases() -> Vec<(&'static str, Value, Value)> {
    let same = |t: &'static str, v: Value| (t, v.clone(), v);
    let bc = days_from_civil(-43, 3, 15).unwrap() as i32;
    let forty = "1234567890123456789012345678901234567890.0123456789";
    vec![
        same("bool", Value::Boolean(true)),
        same("bool", Value::Boolean(false)),
        same("int2", Value::Int(-32768)),
        same("int4", Value::Int(i32::MAX as i64)),
        same("int8", Value::Int(i64::MIN)),
        same("oid", Value::Int(u32::MAX as i64)),
        // A float4 arrives as the exact f64 of the f32 (0.1f32 is
        // 0.10000000149…); hosts print it with the f32's shortest digits.
        ("float4", Value::Float(0.1), Value::Float(0.1f32 as f64)),
        same("float4", Value::Float(f64::NAN)),
        same("float4", Value::Float(f64::NEG_INFINITY)),
        same("float8", Value::Float(f64::NAN)),
        same("float8", Value::Float(f64::INFINITY)),
        same("float8", Value::Float(f64::NEG_INFINITY)),
        same("float8", Value::Float(1e300)),
        same("float8", Value::Float(-0.0)),
        same("float8", Value::Float(0.1 + 0.2)),
        same("numeric", Value::Decimal(forty.into())),
        same("numeric", Value::Decimal(format!("-{forty}"))),
        same("numeric", Value::Decimal("NaN".into())),
        same("numeric", Value::Decimal("Infinity".into())),
        same("numeric", Value::Decimal("-Infinity".into())),
        same("numeric", Value::Decimal("0.00100".into())),
        same("numeric", Value::Decimal("0".into())),
        same("numeric", Value::Decimal("100000000".into())),
        (
            "numeric(10,4)",
            Value::Decimal("1.5".into()),
            Value::Decimal("1.5000".into()),
        ),
        ("numeric", Value::Int(7), Value::Decimal("7".into())),
        same("bytea", Value::Bytes(all_bytes())),
        same("bytea", Value::Bytes(vec![])),
        same("date", Value::Date(19_753)),
        same("date", Value::Date(i32::MAX)),
        same("date", Value::Date(i32::MIN)),
        same("date", Value::Date(bc)),
        same("time", Value::Time(45_296_500_001)),
        same("time", Value::Time(86_400_000_000)),
        same("timestamp", Value::Timestamp(1_706_702_400_500_000)),
        same("timestamp", Value::Timestamp(i64::MAX)),
        same("timestamp", Value::Timestamp(i64::MIN)),
        same("timestamp", Value::Timestamp(bc as i64 * 86_400_000_000 + 1)),
        same("timestamptz", Value::Timestamptz(1_700_000_000_123_456)),
        same("timestamptz", Value::Timestamptz(-1)),
        same("timestamptz", Value::Timestamptz(i64::MAX)),
        same("timestamptz", Value::Timestamptz(i64::MIN)),
        same("timestamptz", Value::Timestamptz(bc as i64 * 86_400_000_000)),
        same(
            "interval",
            Value::Interval(Interval {
                months: 14,
                days: -3,
                microseconds: 3_723_000_001,
            }),
        ),
        same(
            "interval",
            Value::Interval(Interval {
                months: -1,
                days: 0,
                microseconds: -7,
            }),
        ),
        same("uuid", Value::Uuid((0xa0eebc999c0b4ef8, 0xbb6d6bb9bd380a11))),
        same("json", Value::Json(r#"{"a": [1, 2.50, "x"],  "b":null}"#.into())),
        (
            "jsonb",
            Value::Json(r#"{"b":null, "a": [1, 2.50, "x\u00e9"]}"#.into()),
            Value::Json(r#"{"a": [1, 2.50, "xé"], "b": null}"#.into()),
        ),
        same("text", text("héllo\n\t'\"\\ 😀")),
        same("text", text("")),
        same("varchar(10)", text("abc")),
        ("char(5)", text("ab"), text("ab   ")),
        same("name", text("a name")),
        same("\"char\"", text("x")),
        ("int4", text("42"), Value::Int(42)),
        ("int4", Value::Float(3.0), Value::Int(3)),
        ("float8", Value::Int(3), Value::Float(3.0)),
        (
            "timestamptz",
            text("2024-01-31 12:00:00+05:30"),
            Value::Timestamptz(1_706_682_600_000_000),
        ),
        ("date", text("2024-01-31"), Value::Date(19_753)),
        same("int4[]", Value::Json("[1,null,3]".into())),
        same("int8[]", Value::Json("[[1,2],[null,4]]".into())),
        same("int4[]", Value::Json("[]".into())),
        same(
            "int4[]",
            Value::Json(r#"{"lower_bounds":[0],"elements":[1,2,3]}"#.into()),
        ),
        same(
            "int8[]",
            Value::Json(r#"{"lower_bounds":[-2,1],"elements":[[1],[null]]}"#.into()),
        ),
        same(
            "text[]",
            Value::Json(r#"["a,b","\"q\"",null,"NULL","back\\slash","{}"," sp "]"#.into()),
        ),
        same("varchar[]", Value::Json(r#"["x"]"#.into())),
        same("numeric[]", Value::Json(r#"[1.50,"NaN",-0.001]"#.into())),
        same("float8[]", Value::Json(r#"[1.5,"Infinity","-Infinity","NaN"]"#.into())),
        same("float4[]", Value::Json("[0.1]".into())),
        same("bool[]", Value::Json("[true,false,null]".into())),
        same("date[]", Value::Json(r#"["2024-01-31","infinity"]"#.into())),
        same("timestamp[]", Value::Json(r#"["2024-01-31T12:00:00.5"]"#.into())),
        same("timestamptz[]", Value::Json(r#"["2024-01-31T12:00:00.5Z"]"#.into())),
        same("time[]", Value::Json(r#"["12:00:00.25"]"#.into())),
        same("interval[]", Value::Json(r#"["P1Y2M3DT4H5M6.5S"]"#.into())),
        same(
            "uuid[]",
            Value::Json(r#"["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]"#.into()),
        ),
        same("bytea[]", Value::Json(r#"["\\x00ff"]"#.into())),
        // json and jsonb elements come back as strings of JSON text, so
        // that a JSON `null` element stays apart from a NULL one.
        (
            "jsonb[]",
            Value::Json(r#"[{"a":1},null]"#.into()),
            Value::Json(r#"["{\"a\": 1}",null]"#.into()),
        ),
        same("jsonb[]", Value::Json(r#"["null",null,"[1, 2]"]"#.into())),
        (
            "json[]",
            Value::Json(r#"[{"a":1}]"#.into()),
            Value::Json(r#"["{\"a\":1}"]"#.into()),
        ),
        same("oid[]", Value::Json("[1,4294967295]".into())),
        same("int2[]", Value::Json("[[[1]],[[2]]]".into())),
        // Types without a variant of their own travel as text.
        same("inet", text("10.0.0.1/8")),
        same("money", text("$1.50")),
        same("int4range", text("[1,5)")),
        same("inet[]", Value::Json(r#"["10.0.0.1","::1"]"#.into())),
        same("xml", text("<a>b</a>")),
        same("timetz", text("12:00:00+02")),
    ]
}

#[test]
fn parameters_round_trip() {
    let Some(mut c) = connect() else { return };
    c.run("SET TimeZone = 'Asia/Kolkata'").unwrap();
    for (ty, sent, want) in cases() {
        let got = scalar(&mut c, &format!("select $1::{ty}"), std::slice::from_ref(&sent));
        assert_eq!(dbg(&got), dbg(&want), "select $1::{ty} with {sent:?}");
        let null = scalar(&mut c, &format!("select $1::{ty}"), &[Value::Null]);
        assert_eq!(dbg(null), dbg(Value::Null), "{ty} null");
    }
}

#[test]
fn stored_values_round_trip_in_both_protocols() {
    let Some(mut c) = connect() else { return };
    fresh_schema(&mut c, "dbx_values");
    c.run("SET TimeZone = 'America/St_Johns'").unwrap();
    let cases = cases();
    let mut columns = vec!["id int primary key".to_string()];
    for (i, (ty, _, _)) in cases.iter().enumerate() {
        columns.push(format!("c{i} {ty}"));
    }
    c.run(&format!("create table dbx_values.t ({})", columns.join(", ")))
        .unwrap();
    let names: Vec<String> = (0..cases.len()).map(|i| format!("c{i}")).collect();
    let placeholders: Vec<String> = (2..cases.len() + 2).map(|i| format!("${i}")).collect();
    let insert = format!(
        "insert into dbx_values.t (id, {}) values ($1, {})",
        names.join(", "),
        placeholders.join(", ")
    );
    let mut row = vec![Value::Int(1)];
    row.extend(cases.iter().map(|(_, v, _)| v.clone()));
    assert_eq!(c.execute(&insert, &row).unwrap(), 1);
    let mut nulls = vec![Value::Int(2)];
    nulls.extend(cases.iter().map(|_| Value::Null));
    assert_eq!(c.execute(&insert, &nulls).unwrap(), 1);

    let select = format!("select {} from dbx_values.t order by id", names.join(", "));
    let extended = c.query(&select, &[]).unwrap();
    // A script makes the driver use the simple protocol (text results).
    let simple = c.query(&format!("select 1; {select}"), &[]).unwrap();
    assert_eq!(extended.rows().unwrap().len(), 2);
    assert_eq!(dbg(&extended.columns), dbg(&simple.columns));
    for (i, (ty, sent, want)) in cases.iter().enumerate() {
        assert_eq!(
            dbg(&extended.rows().unwrap()[0][i]),
            dbg(want),
            "extended {ty} {sent:?}"
        );
        assert_eq!(dbg(&simple.rows().unwrap()[0][i]), dbg(want), "simple {ty} {sent:?}");
        assert_eq!(dbg(&extended.rows().unwrap()[1][i]), dbg(Value::Null));
        assert_eq!(dbg(&simple.rows().unwrap()[1][i]), dbg(Value::Null));
    }
    drop_schema(&mut c, "dbx_values");
}

#[test]
fn column_type_names() {
    let Some(mut c) = connect() else { return };
    fresh_schema(&mut c, "dbx_typenames");
    c.run("create type dbx_typenames.mood as enum ('sad', 'happy')")
        .unwrap();
    c.run("create domain dbx_typenames.posint as int4 check (value > 0)")
        .unwrap();
    let out = c
        .query(
            "select 1::int4 a, 'x'::varchar b, array[1]::int8[] c, 'happy'::dbx_typenames.mood d, \
             array['sad']::dbx_typenames.mood[] e, 5::dbx_typenames.posint f, '1.2.3.4'::inet g",
            &[],
        )
        .unwrap();
    let names: Vec<_> = out
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.database_type.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("a", "int4"),
            ("b", "varchar"),
            ("c", "_int8"),
            ("d", "mood"),
            ("e", "_mood"),
            ("f", "int4"),
            ("g", "inet")
        ]
    );
    assert_eq!(dbg(&out.rows().unwrap()[0][3]), dbg(text("happy")));
    assert_eq!(dbg(&out.rows().unwrap()[0][4]), dbg(Value::Json(r#"["sad"]"#.into())));
    assert_eq!(dbg(&out.rows().unwrap()[0][5]), dbg(Value::Int(5)));
    // Enum arrays as parameters: a JSON array is turned into a literal.
    let v = scalar(
        &mut c,
        "select $1::dbx_typenames.mood[]",
        &[Value::Json(r#"["happy","sad"]"#.into())],
    );
    assert_eq!(dbg(v), dbg(Value::Json(r#"["happy","sad"]"#.into())));
    // The simple protocol knows the same names.
    let simple = c
        .query(
            "select 1; select 'sad'::dbx_typenames.mood m, array['sad']::dbx_typenames.mood[] n",
            &[],
        )
        .unwrap();
    assert_eq!(simple.columns[0].database_type, "mood");
    assert_eq!(
        dbg(&simple.rows().unwrap()[0][1]),
        dbg(Value::Json(r#"["sad"]"#.into()))
    );
    drop_schema(&mut c, "dbx_typenames");
}

#[test]
fn rows_affected_and_scripts() {
    let Some(mut c) = connect() else { return };
    fresh_schema(&mut c, "dbx_affected");
    c.run("create table dbx_affected.t (id int)").unwrap();
    let r = c
        .query("insert into dbx_affected.t select generate_series(1, 5)", &[])
        .unwrap()
        .into_result();
    assert_eq!(r.rows_affected, Some(5));
    assert!(r.columns.is_empty());
    let r = c
        .query(
            "update dbx_affected.t set id = id + 1 where id > $1 returning id",
            &[Value::Int(3)],
        )
        .unwrap()
        .into_result();
    assert_eq!(r.rows_affected, Some(2));
    assert_eq!(r.rows().unwrap().len(), 2);
    let r = c.query("select * from dbx_affected.t", &[]).unwrap().into_result();
    assert_eq!(r.rows_affected, None);
    assert_eq!(
        c.execute("delete from dbx_affected.t where id = $1", &[Value::Int(1)])
            .unwrap(),
        1
    );
    // Scripts: the last result with rows wins, else the last result.
    let r = c
        .query(
            "select 1 as a; insert into dbx_affected.t values (9); select 2 as b; delete from dbx_affected.t",
            &[],
        )
        .unwrap()
        .into_result();
    assert_eq!(r.columns[0].name, "b");
    assert_eq!(dbg(r.rows().unwrap()), dbg(vec![vec![Value::Int(2)]]));
    let r = c
        .query(
            "insert into dbx_affected.t values (1); insert into dbx_affected.t values (2), (3)",
            &[],
        )
        .unwrap()
        .into_result();
    assert_eq!(r.rows_affected, Some(2));
    // Empty statement.
    let r = c.query("", &[]).unwrap().into_result();
    assert!(r.columns.is_empty() && r.rows().unwrap().is_empty());
    // Scripts with parameters are refused by the server.
    assert_eq!(
        server(&c.query("select $1; select 2", &[Value::Int(1)]).unwrap_err()).code,
        "42601"
    );
    drop_schema(&mut c, "dbx_affected");
}
