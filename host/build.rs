//! Builds the built-in driver components and embeds them in the host.

fn main() {
    for (package, dir, file) in [
        ("driverbox-postgres", "guest/postgres", "postgres.wasm"),
        ("driverbox-sqlite", "guest/sqlite", "sqlite.wasm"),
        ("driverbox-mysql", "guest/mysql", "mysql.wasm"),
        ("driverbox-mongodb", "guest/mongodb", "mongodb.wasm"),
        ("driverbox-dynamodb", "guest/dynamodb", "dynamodb.wasm"),
        // The transport adapter of portable drivers (`drivers portable`).
        (
            "driverbox-wasi-transport",
            "guest/wasi-transport",
            "wasi-transport.wasm",
        ),
    ] {
        if std::env::var_os("DRIVERBOX_SKIP_GUESTS").is_some() {
            // Development only: embed nothing; loading the built-in fails clearly.
            let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join(file);
            std::fs::write(out, b"").unwrap();
            continue;
        }
        let wasm = build_support::build_guest(package, dir);
        build_support::stage(&wasm, file);
    }
    println!("cargo:rerun-if-env-changed=DRIVERBOX_SKIP_GUESTS");
}
