//! Runs the Python tests (adbc/python) against the driver built with this
//! test: adbc_driver_manager loads `libadbc_driver_driverbox.so` by name
//! through a manifest, as any ADBC application would. The virtual
//! environment `.venv-adbc` is made by scripts/setup.sh.

use std::path::PathBuf;
use std::process::Command;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf()
}

/// The cdylib cargo built for this test run: as a dependency of the test
/// it stays beside the test binary (`target/<profile>/deps/`); only
/// `cargo build` copies it up to `target/<profile>/`.
fn driver_library() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .expect("target/<profile>/deps")
        .join("libadbc_driver_driverbox.so")
}

#[test]
fn python_adbc_suite() {
    let python = repo_root().join(".venv-adbc/bin/python");
    assert!(python.exists(), "{} is missing: run scripts/setup.sh", python.display());
    let lib = driver_library();
    assert!(lib.exists(), "{} was not built", lib.display());
    let out = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "adbc/python"])
        .current_dir(repo_root())
        .env("DRIVERBOX_ADBC_LIB", &lib)
        .output()
        .expect("run pytest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}\n{stderr}");
    assert!(
        out.status.success(),
        "the Python ADBC tests failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("passed") && !stdout.contains("skipped"), "{stdout}");
}
