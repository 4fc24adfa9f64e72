"""ADBC read and ingest: driverbox's ADBC driver beside adbc-driver-postgresql
and adbc-driver-sqlite, in one run (scripts/bench-adbc.sh).

W-read: 1 M rows (int8, float8, text) into a pyarrow Table.
W-ingest: 1 M rows of the same shape through adbc_ingest (mode replace).
Reports the best of N rounds in seconds and driverbox's ratio (peer time /
driverbox time: above 1.0 means driverbox is faster)."""

import argparse
import json
import os
import tempfile
import time

import pyarrow as pa
from adbc_driver_manager import dbapi

PG = os.environ.get("DRIVERBOX_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


def data(n):
    return pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "x": pa.array([i * 0.5 for i in range(n)], pa.float64()),
            "s": pa.array([f"row {i}" for i in range(n)], pa.string()),
        }
    )


def read(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        t = cur.fetch_arrow_table()
    return t.num_rows


def ingest(conn, table):
    with conn.cursor() as cur:
        cur.adbc_ingest("bench_adbc_ingest", table, mode="replace")


def run(name, conns, rows, rounds, read_sql, table):
    """Alternates the drivers round by round (order rotating), after one
    unrecorded warm-up round each; keeps the best round of each."""
    names = list(conns)
    times = {n: {"read_s": [], "ingest_s": []} for n in names}
    for r in range(rounds + 1):
        for k in range(len(names)):
            n = names[(k + r) % len(names)]
            conn = conns[n]
            t = time.perf_counter()
            assert read(conn, read_sql) == rows
            read_s = time.perf_counter() - t
            t = time.perf_counter()
            ingest(conn, table)
            ingest_s = time.perf_counter() - t
            if r > 0:
                times[n]["read_s"].append(read_s)
                times[n]["ingest_s"].append(ingest_s)
    out = {n: {k: min(v) for k, v in t.items()} for n, t in times.items()}
    d, peer = out["driverbox"], out["official"]
    print(f"{name}: read {rows} rows  driverbox {d['read_s']:.3f}s  official {peer['read_s']:.3f}s  "
          f"ratio {peer['read_s'] / d['read_s']:.2f}x")
    print(f"{name}: ingest {rows} rows driverbox {d['ingest_s']:.3f}s  official {peer['ingest_s']:.3f}s  "
          f"ratio {peer['ingest_s'] / d['ingest_s']:.2f}x")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json")
    a = ap.parse_args()
    import adbc_driver_postgresql.dbapi as pg
    import adbc_driver_sqlite.dbapi as sq

    table = data(a.rows)
    results = {}
    ours = dbapi.connect(driver="driverbox", db_kwargs={"uri": PG}, autocommit=True)
    theirs = pg.connect(PG, autocommit=True)
    sql = f"select g::int8 as id, g * 0.5::float8 as x, 'row ' || g as s from generate_series(0, {a.rows - 1}) g"
    results["postgresql"] = run("postgresql", {"driverbox": ours, "official": theirs}, a.rows, a.rounds, sql, table)
    ours.close()
    theirs.close()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "bench.db")
        ours = dbapi.connect(driver="driverbox", db_kwargs={"uri": f"sqlite:{path}"}, autocommit=True)
        ingest(ours, table)
        theirs = sq.connect(path, autocommit=True)
        sql = "select id, x, s from bench_adbc_ingest"
        results["sqlite"] = run("sqlite", {"driverbox": ours, "official": theirs}, a.rows, a.rounds, sql, table)
        ours.close()
        theirs.close()
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
