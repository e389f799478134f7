//! DuckDB extensions (ducklake, parquet, json, ...) on machines that may not
//! reach DuckDB's extension host. Order: already loadable (built in, or in
//! the extension directory); DuckDB's own `INSTALL`; the official binaries
//! from the Python registry (`duckdb-extension-<name>` wheels) via pip;
//! otherwise an error with the exact commands to run.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::WarehouseError;

/// Where extensions live: `extension_directory` from the profile, else
/// `$LAKE_EXTENSION_DIR`, else `~/.lake/extensions`.
pub fn extension_dir(configured: Option<&Path>) -> PathBuf {
    if let Some(p) = configured {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("LAKE_EXTENSION_DIR") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".lake").join("extensions")
}

/// The pip package that ships an extension.
pub fn wheel_package(name: &str, version: &str) -> String {
    format!("duckdb-extension-{}=={version}", name.replace('_', "-"))
}

/// Where DuckDB looks for `name` inside `dir`.
pub fn installed_path(dir: &Path, version: &str, platform: &str, name: &str) -> PathBuf {
    dir.join(format!("v{version}"))
        .join(platform)
        .join(format!("{name}.duckdb_extension"))
}

/// Downloads the wheel for `name` with pip and unpacks the extension binary
/// into `dir`. Holds a file lock so parallel processes do it once.
pub fn fetch_with_pip(
    dir: &Path,
    version: &str,
    platform: &str,
    name: &str,
) -> Result<PathBuf, WarehouseError> {
    let dest = installed_path(dir, version, platform, name);
    std::fs::create_dir_all(dest.parent().expect("has parent"))
        .map_err(|e| WarehouseError::new(format!("cannot create {}: {e}", dir.display())))?;
    let lock = std::fs::File::create(dir.join(".lake-provision.lock"))
        .map_err(|e| WarehouseError::new(format!("cannot lock {}: {e}", dir.display())))?;
    lock.lock()
        .map_err(|e| WarehouseError::new(format!("cannot lock {}: {e}", dir.display())))?;
    if dest.is_file() {
        return Ok(dest);
    }
    let scratch = dir.join(format!(".download-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let package = wheel_package(name, version);
    tracing::warn!(
        "extension {name} not installed: fetching {package} with pip into {}",
        dir.display()
    );
    let out = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--quiet",
            "--disable-pip-version-check",
            "-d",
        ])
        .arg(&scratch)
        .arg(&package)
        .output()
        .map_err(|e| WarehouseError::new(format!("cannot run python3 -m pip: {e}")))?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&scratch);
        return Err(WarehouseError::new(format!(
            "pip could not download {package}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let unpack = scratch.join("unpacked");
    let wheels: Vec<PathBuf> = std::fs::read_dir(&scratch)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "whl"))
                .collect()
        })
        .unwrap_or_default();
    let Some(wheel) = wheels.first() else {
        let _ = std::fs::remove_dir_all(&scratch);
        return Err(WarehouseError::new(format!(
            "pip downloaded no wheel for {package}"
        )));
    };
    let out = Command::new("python3")
        .args(["-m", "zipfile", "-e"])
        .arg(wheel)
        .arg(&unpack)
        .output()
        .map_err(|e| WarehouseError::new(format!("cannot unpack {}: {e}", wheel.display())))?;
    let found = walkdir::WalkDir::new(&unpack)
        .into_iter()
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy() == format!("{name}.duckdb_extension"))
        .map(|e| e.path().to_path_buf());
    let result = match (out.status.success(), found) {
        (true, Some(bin)) => {
            // Rename is atomic: another process never sees half a file.
            let tmp = dest.with_extension("partial");
            std::fs::copy(&bin, &tmp)
                .and_then(|_| std::fs::rename(&tmp, &dest))
                .map(|_| dest.clone())
                .map_err(|e| WarehouseError::new(format!("cannot install {}: {e}", dest.display())))
        }
        _ => Err(WarehouseError::new(format!(
            "{} holds no {name}.duckdb_extension",
            wheel.display()
        ))),
    };
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

/// The commands a person can run when lake could not provision `name`.
pub fn manual_fix(dir: &Path, version: &str, platform: &str, name: &str) -> String {
    let dest = installed_path(dir, version, platform, name);
    format!(
        "run `lake setup` on a machine that reaches DuckDB's extension host, or install it by hand:\n  \
         python3 -m pip download --no-deps -d /tmp/ext {pkg}\n  \
         python3 -m zipfile -e /tmp/ext/*.whl /tmp/ext/unpacked\n  \
         mkdir -p {dir}\n  \
         cp /tmp/ext/unpacked/*/extensions/v{version}/{name}.duckdb_extension {dest}",
        pkg = wheel_package(name, version),
        dir = dest.parent().map(|p| p.display().to_string()).unwrap_or_default(),
        dest = dest.display(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheel_names_use_dashes() {
        assert_eq!(
            wheel_package("postgres_scanner", "1.5.5"),
            "duckdb-extension-postgres-scanner==1.5.5"
        );
        assert_eq!(
            installed_path(Path::new("/x"), "1.5.5", "linux_amd64", "ducklake"),
            PathBuf::from("/x/v1.5.5/linux_amd64/ducklake.duckdb_extension")
        );
    }
}
