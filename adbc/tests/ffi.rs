//! The C entry points called the way a careless or hostile caller would:
//! null pointers, released streams and arrays, options of the wrong type,
//! calls in the wrong state, and a driver component that traps. Each call
//! must return an ADBC error status with a message and leave the driver
//! usable — never crash the process, and never poison the driver (the
//! exporter turns a Rust panic into a permanent "driver panicked" state,
//! so a panic anywhere would show up as a failure of a later call here).
//!
//! The calls go through the function table that `AdbcDriverDriverboxInit`
//! fills, exactly as a driver manager makes them.

use std::ffi::{c_void, CStr, CString};
use std::net::TcpListener;
use std::ptr::{null, null_mut};

use adbc_core::constants::{
    ADBC_STATUS_INVALID_ARGUMENT, ADBC_STATUS_INVALID_STATE, ADBC_STATUS_OK, ADBC_VERSION_1_1_0,
};
use adbc_core::error::AdbcStatusCode;
use adbc_driver_driverbox::AdbcDriverDriverboxInit;
use adbc_ffi::{FFI_AdbcConnection, FFI_AdbcDatabase, FFI_AdbcDriver, FFI_AdbcError, FFI_AdbcStatement};
use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema};
use arrow_array::ffi_stream::{FFI_ArrowArrayStream, RecordBatchStreamReader};
use arrow_array::{Array, Int64Array};

fn driver() -> FFI_AdbcDriver {
    let mut drv = FFI_AdbcDriver::default();
    let mut err = FFI_AdbcError::default();
    let status = unsafe { AdbcDriverDriverboxInit(ADBC_VERSION_1_1_0, &mut drv as *mut _ as *mut c_void, &mut err) };
    assert_eq!(status, ADBC_STATUS_OK);
    drv
}

fn message(err: &FFI_AdbcError) -> String {
    assert!(!err.message.is_null(), "an error status without a message");
    unsafe { CStr::from_ptr(err.message) }.to_string_lossy().into_owned()
}

/// Asserts `status` is `want` and the error names `needle`; resets `err`.
fn expect(status: AdbcStatusCode, want: AdbcStatusCode, err: &mut FFI_AdbcError, needle: &str) {
    let msg = message(err);
    assert_eq!(status, want, "status {status} for: {msg}");
    assert!(
        msg.to_lowercase().contains(&needle.to_lowercase()),
        "{needle:?} not in {msg:?}"
    );
    *err = FFI_AdbcError::default();
}

fn ok(status: AdbcStatusCode, err: &FFI_AdbcError) {
    if status != ADBC_STATUS_OK {
        panic!("status {status}: {}", message(err));
    }
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// A database with the given string options, initialised.
fn database(drv: &FFI_AdbcDriver, options: &[(&str, &str)]) -> FFI_AdbcDatabase {
    let mut err = FFI_AdbcError::default();
    let mut db = FFI_AdbcDatabase::default();
    unsafe {
        ok(drv.DatabaseNew.unwrap()(&mut db, &mut err), &err);
        for (k, v) in options {
            ok(
                drv.DatabaseSetOption.unwrap()(&mut db, c(k).as_ptr(), c(v).as_ptr(), &mut err),
                &err,
            );
        }
        ok(drv.DatabaseInit.unwrap()(&mut db, &mut err), &err);
    }
    db
}

fn connection(drv: &FFI_AdbcDriver, db: &mut FFI_AdbcDatabase) -> FFI_AdbcConnection {
    let mut err = FFI_AdbcError::default();
    let mut conn = FFI_AdbcConnection::default();
    unsafe {
        ok(drv.ConnectionNew.unwrap()(&mut conn, &mut err), &err);
        ok(drv.ConnectionInit.unwrap()(&mut conn, db, &mut err), &err);
    }
    conn
}

/// Runs `sql` on a new statement; the result stream, or the failed status and message.
fn query(
    drv: &FFI_AdbcDriver,
    conn: &mut FFI_AdbcConnection,
    sql: &str,
) -> Result<FFI_ArrowArrayStream, (AdbcStatusCode, String)> {
    let mut err = FFI_AdbcError::default();
    let mut stmt = FFI_AdbcStatement::default();
    let mut out = FFI_ArrowArrayStream::empty();
    unsafe {
        ok(drv.StatementNew.unwrap()(conn, &mut stmt, &mut err), &err);
        ok(
            drv.StatementSetSqlQuery.unwrap()(&mut stmt, c(sql).as_ptr(), &mut err),
            &err,
        );
        let status = drv.StatementExecuteQuery.unwrap()(&mut stmt, &mut out, null_mut(), &mut err);
        let result = if status == ADBC_STATUS_OK {
            Ok(out)
        } else {
            Err((status, message(&err)))
        };
        ok(
            drv.StatementRelease.unwrap()(&mut stmt, &mut FFI_AdbcError::default()),
            &err,
        );
        result
    }
}

/// The first column of the first row of a query, as an i64.
fn scalar(drv: &FFI_AdbcDriver, conn: &mut FFI_AdbcConnection, sql: &str) -> i64 {
    let stream = query(drv, conn, sql).unwrap_or_else(|(s, m)| panic!("{sql}: status {s}: {m}"));
    let mut reader = RecordBatchStreamReader::try_new(stream).unwrap();
    let batch = reader.next().expect("a batch").unwrap();
    let col = arrow_cast_i64(batch.column(0).as_ref());
    col.value(0)
}

fn arrow_cast_i64(a: &dyn Array) -> Int64Array {
    a.as_any()
        .downcast_ref::<Int64Array>()
        .cloned()
        .unwrap_or_else(|| panic!("not int64: {:?}", a.data_type()))
}

#[test]
fn null_pointers_are_invalid_arguments() {
    let drv = driver();
    let mut err = FFI_AdbcError::default();
    unsafe {
        // The handle itself.
        let s = drv.DatabaseNew.unwrap()(null_mut(), &mut err);
        expect(s, ADBC_STATUS_INVALID_ARGUMENT, &mut err, "null pointer");
        let s = drv.ConnectionNew.unwrap()(null_mut(), &mut err);
        expect(s, ADBC_STATUS_INVALID_ARGUMENT, &mut err, "null pointer");
        let s = drv.StatementNew.unwrap()(null_mut(), null_mut(), &mut err);
        expect(s, ADBC_STATUS_INVALID_ARGUMENT, &mut err, "null pointer");

        // A key or value, with and without an error out-parameter.
        let mut db = FFI_AdbcDatabase::default();
        ok(drv.DatabaseNew.unwrap()(&mut db, &mut err), &err);
        let s = drv.DatabaseSetOption.unwrap()(&mut db, null(), c("x").as_ptr(), &mut err);
        expect(s, ADBC_STATUS_INVALID_ARGUMENT, &mut err, "key");
        let s = drv.DatabaseSetOption.unwrap()(&mut db, c("uri").as_ptr(), null(), &mut err);
        expect(s, ADBC_STATUS_INVALID_ARGUMENT, &mut err, "value");
        let s = drv.DatabaseSetOption.unwrap()(&mut db, null(), null(), null_mut());
        assert_eq!(s, ADBC_STATUS_INVALID_ARGUMENT);
        ok(
            drv.DatabaseSetOption.unwrap()(&mut db, c("uri").as_ptr(), c("sqlite::memory:").as_ptr(), &mut err),
            &err,
        );
        ok(drv.DatabaseInit.unwrap()(&mut db, &mut err), &err);

        let mut conn = FFI_AdbcConnection::default();
        ok(drv.ConnectionNew.unwrap()(&mut conn, &mut err), &err);
        let s = drv.ConnectionInit.unwrap()(&mut conn, null_mut(), &mut err);
        expect(s, ADBC_STATUS_INVALID_ARGUMENT, &mut err, "null pointer");
        ok(drv.ConnectionInit.unwrap()(&mut conn, &mut db, &mut err), &err);

        // Out-parameters of getters and of the catalog calls.
        let key = c("adbc.connection.autocommit");
        let mut len = 0usize;
        let s = drv.ConnectionGetOption.unwrap()(&mut conn, key.as_ptr(), null_mut(), &mut len, &mut err);
        expect(s, ADBC_STATUS_INVALID_ARGUMENT, &mut err, "null pointer");
        let mut buf = [0 as std::ffi::c_char; 16];
        let s = drv.ConnectionGetOption.unwrap()(&mut conn, key.as_ptr(), buf.as_mut_ptr(), null_mut(), &mut err);
        expect(s, ADBC_STATUS_INVALID_ARGUMENT, &mut err, "null pointer");
        let s = drv.ConnectionGetTableTypes.unwrap()(&mut conn, null_mut(), &mut err);
        expect(s, ADBC_STATUS_INVALID_ARGUMENT, &mut err, "null pointer");
        let s = drv.ConnectionGetTableSchema.unwrap()(&mut conn, null(), null(), null(), null_mut(), &mut err);
        expect(s, ADBC_STATUS_INVALID_ARGUMENT, &mut err, "null pointer");

        let mut stmt = FFI_AdbcStatement::default();
        ok(drv.StatementNew.unwrap()(&mut conn, &mut stmt, &mut err), &err);
        let s = drv.StatementSetSqlQuery.unwrap()(&mut stmt, null(), &mut err);
        expect(s, ADBC_STATUS_INVALID_ARGUMENT, &mut err, "null pointer");
        let s = drv.StatementBind.unwrap()(&mut stmt, null_mut(), null_mut(), &mut err);
        expect(s, ADBC_STATUS_INVALID_ARGUMENT, &mut err, "null pointer");
        let s = drv.StatementBindStream.unwrap()(&mut stmt, null_mut(), &mut err);
        expect(s, ADBC_STATUS_INVALID_ARGUMENT, &mut err, "null pointer");
        ok(drv.StatementRelease.unwrap()(&mut stmt, &mut err), &err);

        // After all of it the driver still answers.
        assert_eq!(scalar(&drv, &mut conn, "select 6 * 7"), 42);
        ok(drv.ConnectionRelease.unwrap()(&mut conn, &mut err), &err);
        ok(drv.DatabaseRelease.unwrap()(&mut db, &mut err), &err);
    }
}

#[test]
fn released_streams_arrays_and_handles_are_refused() {
    let drv = driver();
    let mut err = FFI_AdbcError::default();
    let mut db = database(&drv, &[("uri", "sqlite::memory:")]);
    let mut conn = connection(&drv, &mut db);
    unsafe {
        let mut stmt = FFI_AdbcStatement::default();
        ok(drv.StatementNew.unwrap()(&mut conn, &mut stmt, &mut err), &err);
        ok(
            drv.StatementSetSqlQuery.unwrap()(&mut stmt, c("select ?").as_ptr(), &mut err),
            &err,
        );

        // A stream whose producer already released it.
        let mut released = FFI_ArrowArrayStream::empty();
        assert!(released.release().is_none());
        let s = drv.StatementBindStream.unwrap()(&mut stmt, &mut released, &mut err);
        assert_ne!(s, ADBC_STATUS_OK);
        assert!(message(&err).contains("released"), "{}", message(&err));
        err = FFI_AdbcError::default();

        // A released array and schema.
        let mut array = FFI_ArrowArray::empty();
        let mut schema = FFI_ArrowSchema::empty();
        let s = drv.StatementBind.unwrap()(&mut stmt, &mut array, &mut schema, &mut err);
        assert_ne!(s, ADBC_STATUS_OK);
        assert!(!message(&err).is_empty());
        err = FFI_AdbcError::default();
        ok(drv.StatementRelease.unwrap()(&mut stmt, &mut err), &err);

        // A statement released twice, and used after release.
        let s = drv.StatementRelease.unwrap()(&mut stmt, &mut err);
        expect(s, ADBC_STATUS_INVALID_STATE, &mut err, "released");
        let s = drv.StatementSetSqlQuery.unwrap()(&mut stmt, c("select 1").as_ptr(), &mut err);
        expect(s, ADBC_STATUS_INVALID_STATE, &mut err, "uninitialized");

        // A result stream read after the consumer released it is the
        // consumer's bug; releasing it early must not disturb the connection.
        let mut stream = query(&drv, &mut conn, "select 1 union all select 2").unwrap();
        if let Some(release) = stream.release() {
            release(&mut stream);
        }
        assert!(stream.release().is_none());
        assert_eq!(scalar(&drv, &mut conn, "select 5"), 5);

        ok(drv.ConnectionRelease.unwrap()(&mut conn, &mut err), &err);
        let s = drv.ConnectionRelease.unwrap()(&mut conn, &mut err);
        expect(s, ADBC_STATUS_INVALID_STATE, &mut err, "released");
        ok(drv.DatabaseRelease.unwrap()(&mut db, &mut err), &err);
        let s = drv.DatabaseRelease.unwrap()(&mut db, &mut err);
        expect(s, ADBC_STATUS_INVALID_STATE, &mut err, "released");
    }
}

#[test]
fn wrong_option_types_and_wrong_states_are_errors() {
    let drv = driver();
    let mut err = FFI_AdbcError::default();
    unsafe {
        let mut db = FFI_AdbcDatabase::default();
        ok(drv.DatabaseNew.unwrap()(&mut db, &mut err), &err);
        // A connection on a database that is not initialised.
        let mut early = FFI_AdbcConnection::default();
        ok(drv.ConnectionNew.unwrap()(&mut early, &mut err), &err);
        let s = drv.ConnectionInit.unwrap()(&mut early, &mut db, &mut err);
        assert_ne!(s, ADBC_STATUS_OK);
        assert!(!message(&err).is_empty());
        err = FFI_AdbcError::default();
        // The URI as an integer: kept until initialisation, which refuses it.
        ok(
            drv.DatabaseSetOptionInt.unwrap()(&mut db, c("uri").as_ptr(), 5, &mut err),
            &err,
        );
        let s = drv.DatabaseInit.unwrap()(&mut db, &mut err);
        assert_ne!(s, ADBC_STATUS_OK);
        assert!(!message(&err).is_empty());
        err = FFI_AdbcError::default();
        ok(
            drv.DatabaseSetOption.unwrap()(&mut db, c("uri").as_ptr(), c("sqlite::memory:").as_ptr(), &mut err),
            &err,
        );
        ok(drv.DatabaseInit.unwrap()(&mut db, &mut err), &err);
        let s = drv.DatabaseInit.unwrap()(&mut db, &mut err);
        expect(s, ADBC_STATUS_INVALID_STATE, &mut err, "already initialized");

        let mut conn = connection(&drv, &mut db);
        // Autocommit as a double and as nonsense text; a commit with autocommit on.
        let key = c("adbc.connection.autocommit");
        let s = drv.ConnectionSetOptionDouble.unwrap()(&mut conn, key.as_ptr(), 1.5, &mut err);
        assert_ne!(s, ADBC_STATUS_OK);
        assert!(!message(&err).is_empty());
        err = FFI_AdbcError::default();
        let s = drv.ConnectionSetOption.unwrap()(&mut conn, key.as_ptr(), c("maybe").as_ptr(), &mut err);
        assert_ne!(s, ADBC_STATUS_OK);
        assert!(!message(&err).is_empty());
        err = FFI_AdbcError::default();
        let s = drv.ConnectionCommit.unwrap()(&mut conn, &mut err);
        expect(s, ADBC_STATUS_INVALID_STATE, &mut err, "autocommit");
        // A statement executed before it has SQL.
        let mut stmt = FFI_AdbcStatement::default();
        ok(drv.StatementNew.unwrap()(&mut conn, &mut stmt, &mut err), &err);
        let mut out = FFI_ArrowArrayStream::empty();
        let s = drv.StatementExecuteQuery.unwrap()(&mut stmt, &mut out, null_mut(), &mut err);
        assert_ne!(s, ADBC_STATUS_OK);
        assert!(message(&err).contains("SetSqlQuery"), "{}", message(&err));
        err = FFI_AdbcError::default();
        ok(drv.StatementRelease.unwrap()(&mut stmt, &mut err), &err);

        assert_eq!(scalar(&drv, &mut conn, "select 9"), 9);
        ok(drv.ConnectionRelease.unwrap()(&mut conn, &mut err), &err);
        ok(drv.ConnectionRelease.unwrap()(&mut early, &mut err), &err);
        ok(drv.DatabaseRelease.unwrap()(&mut db, &mut err), &err);
    }
}

#[test]
fn a_trapping_driver_fails_that_call_only() {
    // The hostile test driver (tests/guests/hostile) panics on `panic`,
    // which traps its wasm instance; its "server" is this listener.
    let endpoint = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = endpoint.local_addr().unwrap();
    let wasm = driverbox_tests::hostile_wasm();
    let uri = format!("hostile://{}:{}/", addr.ip(), addr.port());
    let drv = driver();
    let mut db = database(&drv, &[("uri", &uri), ("driverbox.driver", wasm.to_str().unwrap())]);
    let mut conn = connection(&drv, &mut db);

    let (status, msg) = query(&drv, &mut conn, "panic").map(|_| ()).unwrap_err();
    assert_ne!(status, ADBC_STATUS_OK);
    assert!(msg.contains("panics on purpose"), "{msg}");
    // The same connection, the same driver: the next call works.
    let stream = query(&drv, &mut conn, "echo after the trap").unwrap();
    let mut reader = RecordBatchStreamReader::try_new(stream).unwrap();
    let batch = reader.next().expect("a batch").unwrap();
    let text = batch
        .column(0)
        .as_any()
        .downcast_ref::<arrow_array::StringArray>()
        .expect("text column")
        .value(0)
        .to_string();
    assert_eq!(text, "echo after the trap");
    unsafe {
        let mut err = FFI_AdbcError::default();
        ok(drv.ConnectionRelease.unwrap()(&mut conn, &mut err), &err);
        ok(drv.DatabaseRelease.unwrap()(&mut db, &mut err), &err);
    }
}
