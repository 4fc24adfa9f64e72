//! Builds guest driver crates for `wasm32-wasip2` from build scripts, so a
//! plain `cargo build` of the host embeds fresh driver components.
//!
//! Guests build with the workspace's `guest` profile into
//! `target/guests` (a target dir of their own, so the nested cargo never
//! waits on the outer one's lock).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root, from a build script's `CARGO_MANIFEST_DIR` (one level down).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run from a build script"));
    manifest
        .ancestors()
        .find(|p| p.join("wit").is_dir() && p.join("Cargo.lock").exists())
        .expect("workspace root with wit/ and Cargo.lock")
        .to_path_buf()
}

/// Builds `package` (a crate under `dir`, relative to the workspace root)
/// and returns the path of its `.wasm`. Panics with a clear message when
/// the build fails, e.g. without the wasm32-wasip2 target.
pub fn build_guest(package: &str, dir: &str) -> PathBuf {
    build_guest_tagged(package, dir, None)
}

/// Builds `package` with cargo `features` into `target/guests-variants`
/// and copies the component into `OUT_DIR` as `name`: test-only variants
/// of one crate (they share that target dir, so dependencies build once).
pub fn build_guest_variant(package: &str, dir: &str, features: &str, name: &str) -> PathBuf {
    let wasm = run_cargo(package, dir, "guests-variants", None, Some(features));
    stage(&wasm, name)
}

/// Like [`build_guest`], with `DRIVERBOX_BUILD_TAG=tag` set for the guest
/// (drivers append it to their version) and a target dir of its own, so
/// tests can hold two distinguishable builds of one driver.
pub fn build_guest_tagged(package: &str, dir: &str, tag: Option<&str>) -> PathBuf {
    let target = match tag {
        Some(tag) => format!("guests-{tag}"),
        None => "guests".to_string(),
    };
    run_cargo(package, dir, &target, tag, None)
}

fn run_cargo(package: &str, dir: &str, target: &str, tag: Option<&str>, features: Option<&str>) -> PathBuf {
    let root = workspace_root();
    for watched in [dir, "guest/sdk", "wit", ".cargo/config.toml"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=DRIVERBOX_GUEST_PROFILE");
    let target_dir = root.join("target").join(target);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args([
            "build",
            "--quiet",
            "-p",
            package,
            "--target",
            "wasm32-wasip2",
            "--profile",
            "guest",
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    if let Some(features) = features {
        cmd.args(["--features", features]);
    }
    // The outer build's settings are for the host, not for wasm.
    match tag {
        Some(tag) => cmd.env("DRIVERBOX_BUILD_TAG", tag),
        None => cmd.env_remove("DRIVERBOX_BUILD_TAG"),
    };
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PROFILE_RELEASE_DEBUG",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build {package}: {e}"));
    if !status.success() {
        panic!(
            "building the {package} driver component failed (is the wasm32-wasip2 target installed? \
             run scripts/setup.sh)"
        );
    }
    let wasm = target_dir
        .join("wasm32-wasip2")
        .join("guest")
        .join(format!("{}.wasm", package.replace('-', "_")));
    assert!(wasm.exists(), "{} was not produced", wasm.display());
    wasm
}

/// Copies a built component into `OUT_DIR` under `name` and returns the path.
pub fn stage(wasm: &Path, name: &str) -> PathBuf {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join(name);
    std::fs::copy(wasm, &out).unwrap_or_else(|e| panic!("copy {}: {e}", wasm.display()));
    out
}
