//! Builds the test-only driver components and tells the tests where they are.

fn main() {
    let wasm = build_support::build_guest("driverbox-hostile", "tests/guests/hostile");
    println!("cargo:rustc-env=HOSTILE_WASM={}", wasm.display());
}
