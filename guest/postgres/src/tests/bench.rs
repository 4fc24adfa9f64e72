//! Rough timings (ignored by default):
//! `cargo test -p driverbox-postgres --release bench -- --ignored --nocapture`.

use std::time::Instant;

use super::*;

#[test]
#[ignore]
fn bench_round_trips_and_fetch() {
    let Some(mut c) = connect() else { return };
    let n = 20_000;
    let t = Instant::now();
    for i in 0..n {
        c.query("select $1::int8", &[Value::Int(i)]).unwrap();
    }
    let per = t.elapsed() / n as u32;
    eprintln!("prepared round trip: {per:?} per query");

    let t = Instant::now();
    let out = c
        .query(
            "select g, 'row number ' || g, g::float8 / 3, now() from generate_series(1, 1000000) g",
            &[],
        )
        .unwrap();
    eprintln!("fetch 1M rows x 4 cols: {:?}", t.elapsed());
    assert_eq!(out.rows().unwrap().len(), 1_000_000);
    drop(out);

    let t = Instant::now();
    extension_stream(&mut c);
    eprintln!("stream 1M rows in batches of 10k: {:?}", t.elapsed());

    fresh_schema(&mut c, "dbx_bench");
    c.run("create table dbx_bench.t (id int8 primary key, name text, v float8)")
        .unwrap();
    let rows: Vec<_> = (0..200_000)
        .map(|i| vec![Value::Int(i), text(&format!("name {i}")), Value::Float(i as f64 * 0.5)])
        .collect();
    let t = Instant::now();
    let cols = vec!["id".to_string(), "name".to_string(), "v".to_string()];
    super::bulk_insert_rows(&mut c, Some("dbx_bench"), "t", &cols, &rows).unwrap();
    eprintln!("COPY 200k rows: {:?}", t.elapsed());
    let t = Instant::now();
    let upd: Vec<_> = (0..20_000).map(|i| vec![Value::Int(i), Value::Float(1.0)]).collect();
    super::bulk_update_rows(&mut c, Some("dbx_bench"), "t", &cols[..1], &cols[2..], &upd).unwrap();
    eprintln!("pipelined update of 20k rows: {:?}", t.elapsed());
    drop_schema(&mut c, "dbx_bench");
}

fn extension_stream(c: &mut Connection) {
    c.stream_open(
        "select g, 'row number ' || g from generate_series(1, 1000000) g",
        &[],
        10_000,
    )
    .unwrap();
    let mut n = 0;
    while let Some(b) = c.stream_next().unwrap() {
        n += b.rows as usize;
    }
    assert_eq!(n, 1_000_000);
}
