"""driverbox's ADBC driver used from Python as a user would: the DB-API of
adbc_driver_manager, pyarrow, polars and pandas; PostgreSQL and SQLite."""

import datetime
import decimal

import pyarrow as pa
import pytest
from adbc_driver_manager import DatabaseError, IntegrityError, ProgrammingError

from conftest import PG_URL


def fetch(conn, sql, params=None):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetch_arrow_table()


def test_types_postgres(connect):
    conn = connect(PG_URL)
    t = fetch(
        conn,
        "select 1::int2 as a, 2::int4 as b, 3::int8 as c, 1.5::float4 as d, 2.25::float8 as e, "
        "12.340::numeric(10,3) as f, 'héllo'::text as g, '\\x00ff'::bytea as h, true as i, "
        "date '2024-02-29' as j, timestamp '2024-02-29 12:34:56.789' as k, "
        "timestamptz '2024-02-29 12:34:56+00' as l, null::int4 as m",
    )
    s = t.schema
    assert s.field("a").type == pa.int16()
    assert s.field("b").type == pa.int32()
    assert s.field("c").type == pa.int64()
    assert s.field("d").type == pa.float32()
    assert s.field("e").type == pa.float64()
    assert pa.types.is_decimal(s.field("f").type) or s.field("f").type == pa.string()
    assert s.field("g").type == pa.string()
    assert s.field("h").type == pa.binary()
    assert s.field("i").type == pa.bool_()
    assert s.field("j").type == pa.date32()
    assert pa.types.is_timestamp(s.field("k").type) and s.field("k").type.tz is None
    assert pa.types.is_timestamp(s.field("l").type) and s.field("l").type.tz is not None
    row = t.to_pylist()[0]
    assert row["a"] == 1 and row["b"] == 2 and row["c"] == 3
    assert row["d"] == 1.5 and row["e"] == 2.25
    assert str(row["f"]) == "12.340"
    assert row["g"] == "héllo"
    assert row["h"] == b"\x00\xff"
    assert row["i"] is True
    assert row["j"] == datetime.date(2024, 2, 29)
    assert row["k"] == datetime.datetime(2024, 2, 29, 12, 34, 56, 789000)
    assert row["l"] == datetime.datetime(2024, 2, 29, 12, 34, 56, tzinfo=datetime.timezone.utc)
    assert row["m"] is None


def test_parameters_and_prepared_postgres(connect):
    conn = connect(PG_URL, autocommit=True)
    with conn.cursor() as cur:
        cur.execute("select $1::int8 + 1 as n, $2::text as s", (41, "x"))
        assert cur.fetchall() == [(42, "x")]
        cur.adbc_prepare("select $1::int4 * 2 as d")
        cur.execute("select $1::int4 * 2 as d", (21,))
        assert cur.fetchone() == (42,)


def test_sql_error_carries_sqlstate(connect):
    conn = connect(PG_URL, autocommit=True)
    with conn.cursor() as cur:
        with pytest.raises(ProgrammingError) as e:
            cur.execute("select * from no_such_table_adbc")
        assert e.value.sqlstate == "42P01"
        assert "no_such_table_adbc" in str(e.value)
        # The connection is usable after the error.
        cur.execute("select 1")
        assert cur.fetchone() == (1,)


def test_ingest_and_read_back(connect):
    conn = connect(PG_URL, autocommit=True)
    data = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "name": pa.array(["a", None, "c"], pa.string()),
            "score": pa.array([1.5, 2.5, None], pa.float64()),
            "day": pa.array([datetime.date(2024, 1, 1), None, datetime.date(1999, 12, 31)], pa.date32()),
        }
    )
    with conn.cursor() as cur:
        cur.execute("drop table if exists adbc_ingest")
        assert cur.adbc_ingest("adbc_ingest", data, mode="create") == 3
        assert cur.adbc_ingest("adbc_ingest", data, mode="append") == 3
        back = fetch(conn, "select * from adbc_ingest order by id, name nulls last")
        assert back.num_rows == 6
        assert back.column("id").to_pylist() == [1, 1, 2, 2, 3, 3]
        assert back.column("name").to_pylist()[:2] == ["a", "a"]
        assert back.column("day").to_pylist()[4] == datetime.date(1999, 12, 31)
        with pytest.raises(DatabaseError):
            cur.adbc_ingest("adbc_ingest", data, mode="create")
        assert cur.adbc_ingest("adbc_ingest", data, mode="replace") == 3
        assert fetch(conn, "select count(*) as n from adbc_ingest").column("n").to_pylist() == [3]
        cur.execute("drop table adbc_ingest")


def test_transactions(connect):
    setup = connect(PG_URL, autocommit=True)
    with setup.cursor() as cur:
        cur.execute("drop table if exists adbc_tx")
        cur.execute("create table adbc_tx (id int primary key)")
    conn = connect(PG_URL)  # DB-API default: autocommit off
    with conn.cursor() as cur:
        cur.execute("insert into adbc_tx values (1)")
        conn.rollback()
        cur.execute("insert into adbc_tx values (2)")
        conn.commit()
        cur.execute("insert into adbc_tx values (3)")
        # Not yet visible to another session.
        assert fetch(setup, "select id from adbc_tx order by id").column("id").to_pylist() == [2]
        conn.commit()
    assert fetch(setup, "select id from adbc_tx order by id").column("id").to_pylist() == [2, 3]
    with conn.cursor() as cur:
        with pytest.raises(IntegrityError) as e:
            cur.execute("insert into adbc_tx values (2)")
        assert e.value.sqlstate == "23505"
        conn.rollback()
    with setup.cursor() as cur:
        cur.execute("drop table adbc_tx")


def test_get_objects_and_table_schema(connect):
    conn = connect(PG_URL, autocommit=True)
    with conn.cursor() as cur:
        cur.execute("drop table if exists adbc_child")
        cur.execute("drop table if exists adbc_parent")
        cur.execute("create table adbc_parent (id int primary key, name text not null default 'x')")
        cur.execute("create table adbc_child (id int primary key, parent int references adbc_parent(id), unique (parent))")
    objs = conn.adbc_get_objects(depth="all", catalog_filter="test", db_schema_filter="public", table_name_filter="adbc_%").read_all()
    catalogs = objs.to_pylist()
    assert [c["catalog_name"] for c in catalogs] == ["test"]
    schemas = catalogs[0]["catalog_db_schemas"]
    assert [s["db_schema_name"] for s in schemas] == ["public"]
    tables = {t["table_name"]: t for t in schemas[0]["db_schema_tables"]}
    assert set(tables) == {"adbc_child", "adbc_parent"}
    parent_cols = {c["column_name"]: c for c in tables["adbc_parent"]["table_columns"]}
    assert parent_cols["id"]["ordinal_position"] == 1
    assert parent_cols["name"]["xdbc_type_name"] == "text"
    assert parent_cols["name"]["xdbc_is_nullable"] == "NO"
    assert "x" in parent_cols["name"]["xdbc_column_def"]
    cons = {c["constraint_type"]: c for c in tables["adbc_child"]["table_constraints"]}
    assert cons["PRIMARY KEY"]["constraint_column_names"] == ["id"]
    assert cons["UNIQUE"]["constraint_column_names"] == ["parent"]
    fk = cons["FOREIGN KEY"]
    assert fk["constraint_column_names"] == ["parent"]
    assert fk["constraint_column_usage"][0]["fk_table"] == "adbc_parent"
    assert fk["constraint_column_usage"][0]["fk_column_name"] == "id"
    # Shallower depths leave the deeper lists null.
    shallow = conn.adbc_get_objects(depth="db_schemas").read_all().to_pylist()
    assert shallow[0]["catalog_db_schemas"][0]["db_schema_tables"] is None
    schema = conn.adbc_get_table_schema("adbc_parent", db_schema_filter="public")
    assert schema.field("id").type == pa.int32()
    assert schema.field("name").type == pa.string()
    assert "table" in conn.adbc_get_table_types()
    with conn.cursor() as cur:
        cur.execute("drop table adbc_child")
        cur.execute("drop table adbc_parent")


def test_get_info(connect):
    conn = connect(PG_URL, autocommit=True)
    info = conn.adbc_get_info()
    assert info["vendor_name"] == "PostgreSQL"
    assert info["vendor_version"].startswith("15")
    assert "driverbox" in info["driver_name"]
    assert info["driver_adbc_version"] == 1_001_000


def test_streams_a_large_result(connect):
    conn = connect(PG_URL, autocommit=True)
    with conn.cursor() as cur:
        cur.execute("select g as n, repeat('x', 10) as s from generate_series(1, 200000) g")
        reader = cur.fetch_record_batch()
        total = 0
        batches = 0
        for batch in reader:
            total += batch.num_rows
            batches += 1
        assert total == 200000
        assert batches > 1


def test_polars_and_pandas(connect):
    import pandas as pd
    import polars as pl

    conn = connect(PG_URL, autocommit=True)
    df = pl.read_database("select g as n, g * 2 as m from generate_series(1, 5) g", connection=conn)
    assert df["m"].to_list() == [2, 4, 6, 8, 10]
    pdf = pd.read_sql("select 'a' as s, 1.25::float8 as x", conn)
    assert pdf["s"].tolist() == ["a"] and pdf["x"].tolist() == [1.25]


def test_sqlite(connect, sqlite_url):
    conn = connect(sqlite_url, autocommit=True)
    with conn.cursor() as cur:
        cur.execute("create table t (id integer primary key, name text, x real)")
        cur.execute("insert into t values (?, ?, ?)", (1, "one", 1.5))
        data = pa.table({"id": pa.array([2, 3], pa.int64()), "name": ["two", "three"], "x": [2.5, None]})
        assert cur.adbc_ingest("t", data, mode="append") == 2
        cur.execute("select id, name, x from t order by id")
        assert cur.fetchall() == [(1, "one", 1.5), (2, "two", 2.5), (3, "three", None)]
    objs = conn.adbc_get_objects(depth="columns").read_all().to_pylist()
    assert objs[0]["catalog_name"] == "main"
    tables = [t for s in objs[0]["catalog_db_schemas"] for t in (s["db_schema_tables"] or [])]
    assert [t["table_name"] for t in tables] == ["t"]
    assert [c["column_name"] for c in tables[0]["table_columns"]] == ["id", "name", "x"]


def test_bad_uri_and_bad_option(manifest_dir):
    from adbc_driver_manager import dbapi

    with pytest.raises(Exception) as e:
        dbapi.connect(driver="driverbox", db_kwargs={"uri": "nosuch://x"})
    assert "nosuch" in str(e.value)
    with pytest.raises(Exception) as e:
        dbapi.connect(driver="driverbox", db_kwargs={"uri": PG_URL, "driverbox.limit.bogus": "1"})
    assert "bogus" in str(e.value)
    with pytest.raises(Exception) as e:
        dbapi.connect(driver="driverbox", db_kwargs={"uri": "postgresql://nobody_adbc@127.0.0.1:5432/no_such_db"})
    assert "no_such_db" in str(e.value) or "nobody_adbc" in str(e.value)


def test_differential_with_official_postgres_driver(connect):
    """The same queries through adbc-driver-postgresql give the same Arrow
    schema and values (deliberate differences in docs/adbc.md)."""
    import adbc_driver_postgresql.dbapi as official

    queries = [
        "select 1::int2 as a, 2::int4 as b, 3::int8 as c, 1.5::float4 as d, 2.5::float8 as e",
        "select 'x'::text as s, null::text as n, ''::text as empty, '\\xdeadbeef'::bytea as b",
        "select true as t, false as f, null::bool as n",
        "select date '2000-01-01' as d, date '1970-01-01' as e",
        "select timestamp '2021-03-04 05:06:07.123456' as ts",
        "select g as n from generate_series(1, 1000) g",
    ]
    ours = connect(PG_URL, autocommit=True)
    theirs = official.connect(PG_URL, autocommit=True)
    try:
        for q in queries:
            a = fetch(ours, q)
            b = fetch(theirs, q)
            assert a.schema.equals(b.schema, check_metadata=False), (q, a.schema, b.schema)
            assert a.to_pylist() == b.to_pylist(), q
    finally:
        theirs.close()


def test_differential_with_official_sqlite_driver(connect, sqlite_url, tmp_path):
    import adbc_driver_sqlite.dbapi as official

    ours = connect(sqlite_url, autocommit=True)
    with ours.cursor() as cur:
        cur.execute("create table t (i integer, r real, s text, b blob)")
        cur.execute("insert into t values (1, 1.5, 'a', x'00ff'), (2, null, 'bb', null), (-3, 0.25, null, x'')")
    theirs = official.connect(str(tmp_path / "adbc.db"), autocommit=True)
    try:
        q = "select i, r, s, b from t order by i"
        a = fetch(ours, q)
        b = fetch(theirs, q)
        assert a.to_pylist() == b.to_pylist()
        assert [f.type for f in a.schema] == [f.type for f in b.schema]
    finally:
        theirs.close()


def test_calls_in_the_wrong_state(connect, manifest_dir):
    import adbc_driver_manager as m

    conn = connect(PG_URL, autocommit=True)
    # Commit with autocommit on.
    with pytest.raises(m.ProgrammingError) as e:
        conn.adbc_connection.commit()
    assert "autocommit" in str(e.value)
    # A statement executed before it has any SQL.
    stmt = m.AdbcStatement(conn.adbc_connection)
    with pytest.raises(m.ProgrammingError) as e:
        stmt.execute_query()
    assert "SetSqlQuery" in str(e.value)
    stmt.close()
    # An option of the wrong type, and an unknown one.
    with pytest.raises(m.Error):
        conn.adbc_connection.set_options(**{"adbc.connection.autocommit": "maybe"})
    with pytest.raises(m.NotSupportedError):
        conn.adbc_connection.set_options(**{"driverbox.nonsense": "1"})
    # The connection still works.
    assert fetch(conn, "select 7 as n").column("n").to_pylist() == [7]


def test_cancel_stops_a_running_query(connect):
    import threading
    import time

    conn = connect(PG_URL, autocommit=True)
    cur = conn.cursor()
    timer = threading.Timer(0.5, cur.adbc_cancel)
    timer.start()
    started = time.monotonic()
    with pytest.raises(Exception) as e:
        cur.execute("select pg_sleep(30)")
        cur.fetchall()
    assert time.monotonic() - started < 10
    assert "cancel" in str(e.value).lower()
    cur.close()


def test_statistics_postgres(connect):
    conn = connect(PG_URL, autocommit=True)
    with conn.cursor() as cur:
        cur.execute("drop table if exists stats_adbc")
        cur.execute("create table stats_adbc (id int primary key, s text)")
        cur.execute("insert into stats_adbc select g, 'row ' || g from generate_series(1, 1234) g")
        cur.execute("analyze stats_adbc")
    names_handle = conn.adbc_connection.get_statistic_names()
    names = pa.RecordBatchReader._import_from_c(names_handle.address).read_all()
    assert "driverbox.statistic.total_bytes" in names.column("statistic_name").to_pylist()

    def stats(approximate):
        handle = conn.adbc_connection.get_statistics(
            db_schema="public", table_name="stats_adbc", approximate=approximate
        )
        rows = pa.RecordBatchReader._import_from_c(handle.address).read_all().to_pylist()
        assert [r["catalog_name"] for r in rows] == ["test"]
        (schema,) = rows[0]["catalog_db_schemas"]
        assert schema["db_schema_name"] == "public"
        return {(s["table_name"], s["statistic_key"]): s for s in schema["db_schema_statistics"]}

    exact = stats(False)
    row_count = exact[("stats_adbc", 6)]  # adbc.statistic.row_count
    assert row_count["statistic_value"] == 1234 and row_count["statistic_is_approximate"] is False
    assert row_count["column_name"] is None
    assert exact[("stats_adbc", 1024)]["statistic_value"] > 8192
    estimated = stats(True)[("stats_adbc", 6)]
    assert estimated["statistic_value"] == 1234  # after ANALYZE the estimate is exact
    # A pattern that matches nothing gives no statistics, not an error.
    handle = conn.adbc_connection.get_statistics(db_schema="public", table_name="no_such_%")
    rows = pa.RecordBatchReader._import_from_c(handle.address).read_all().to_pylist()
    assert rows[0]["catalog_db_schemas"][0]["db_schema_statistics"] == []
    with conn.cursor() as cur:
        cur.execute("drop table stats_adbc")


def test_mariadb(connect):
    """The MySQL/MariaDB driver through ADBC: types, parameters, ingest,
    transactions, catalog calls, errors with the server's SQLSTATE."""
    from conftest import MARIADB_URL

    conn = connect(MARIADB_URL, autocommit=True)
    t = fetch(
        conn,
        "select cast(-5 as signed) as i, cast(18446744073709551615 as unsigned) as u, "
        "cast(12.345 as decimal(10,3)) as d, 2.5e0 as f, 'héllo' as s, x'00ff' as b, "
        "date '2024-02-29' as day, timestamp '2024-02-29 12:34:56.5' as ts, null as n",
    )
    row = t.to_pylist()[0]
    assert row["i"] == -5 and pa.types.is_signed_integer(t.schema.field("i").type)
    assert t.schema.field("u").type == pa.uint64()
    assert str(row["u"]) == "18446744073709551615"  # above i64: exact, never wrapped
    assert str(row["d"]) == "12.345"
    assert row["f"] == 2.5 and row["s"] == "héllo" and row["b"] == b"\x00\xff"
    assert row["day"] == datetime.date(2024, 2, 29)
    assert row["ts"] == datetime.datetime(2024, 2, 29, 12, 34, 56, 500000)
    assert row["n"] is None
    with conn.cursor() as cur:
        cur.execute("select ? + 1 as n, ? as s", (41, "x"))
        assert cur.fetchall() == [(42, "x")]
        cur.execute("drop table if exists adbc_my")
        data = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "name": ["a", None, "c"], "x": [0.5, 1.5, None]})
        assert cur.adbc_ingest("adbc_my", data, mode="create") == 3
        cur.execute("alter table adbc_my add primary key (id)")
        back = fetch(conn, "select id, name, x from adbc_my order by id")
        assert back.to_pylist() == data.to_pylist()
        with pytest.raises(IntegrityError) as e:
            cur.execute("insert into adbc_my (id) values (1)")
        assert e.value.sqlstate == "23000"
        assert dict(e.value.details)[b"driverbox.vendor_code"] == b"1062"
    tx = connect(MARIADB_URL)  # autocommit off
    with tx.cursor() as cur:
        cur.execute("insert into adbc_my (id) values (10)")
        tx.rollback()
        cur.execute("insert into adbc_my (id) values (11)")
        tx.commit()
    ids = fetch(conn, "select id from adbc_my order by id").column("id").to_pylist()
    assert ids == [1, 2, 3, 11]
    objs = conn.adbc_get_objects(depth="columns", table_name_filter="adbc_my").read_all().to_pylist()
    tables = [t for c in objs for s in c["catalog_db_schemas"] for t in (s["db_schema_tables"] or [])]
    assert [t["table_name"] for t in tables] == ["adbc_my"]
    assert [c["column_name"] for c in tables[0]["table_columns"]] == ["id", "name", "x"]
    assert conn.adbc_get_info()["vendor_name"] in ("MariaDB", "MySQL")
    with conn.cursor() as cur:
        cur.execute("drop table adbc_my")


def test_mongodb(connect, mongodb_url):
    """The MongoDB driver through ADBC: a database command as the statement's
    text, one relaxed Extended JSON document per row."""
    import json

    conn = connect(mongodb_url, autocommit=True)
    with conn.cursor() as cur:
        cur.execute('{"insert": "people", "documents": [{"_id": 1, "name": "ada", "age": 36}, {"_id": 2, "name": "alan", "age": 41}]}')
        cur.execute('{"find": "people", "filter": {"age": {"$gt": 40}}, "sort": {"_id": 1}}')
        t = cur.fetch_arrow_table()
    assert t.schema.names == ["document"]
    docs = [json.loads(d) for d in t.column("document").to_pylist()]
    assert docs == [{"_id": 2, "name": "alan", "age": 41}]
    with conn.cursor() as cur:
        with pytest.raises(Exception) as e:
            cur.execute('{"find": "people", "filter": {"age": ')
        assert "line 1" in str(e.value)
    objs = conn.adbc_get_objects(depth="tables").read_all().to_pylist()
    tables = [t["table_name"] for c in objs for s in c["catalog_db_schemas"] for t in (s["db_schema_tables"] or [])]
    assert "people" in tables
