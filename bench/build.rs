//! Builds two copies of the PostgreSQL driver component that differ only in
//! their version tag (as the swap tests do), for the start-up (W5) and
//! swap-under-load (W6) workloads.

fn main() {
    for tag in ["a", "b"] {
        let wasm = build_support::build_guest_tagged("driverbox-postgres", "guest/postgres", Some(tag));
        println!(
            "cargo:rustc-env=BENCH_POSTGRES_WASM_{}={}",
            tag.to_uppercase(),
            wasm.display()
        );
    }
}
