//! DuckDB extensions (ducklake, parquet, json, ...) on machines that may not
//! reach DuckDB's extension host. Order: already loadable (built in, or in
//! the extension directory); DuckDB's own `INSTALL`; the official binaries
//! from the Python registry (`duckdb-extension-<name>` wheels) via pip;
//! otherwise an error with the exact commands to run.

use std::fs::File;
use std::io::BufReader;
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
    let cannot = |what: &str, e: &dyn std::fmt::Display| {
        WarehouseError::new(format!("cannot {what} {}: {e}", dir.display()))
    };
    std::fs::create_dir_all(dest.parent().expect("has parent"))
        .map_err(|e| cannot("create", &e))?;
    let lock = File::create(dir.join(".lake-provision.lock")).map_err(|e| cannot("lock", &e))?;
    lock.lock().map_err(|e| cannot("lock", &e))?;
    if dest.is_file() {
        return Ok(dest);
    }
    // Inside `dir`, not /tmp: beside where the binary lands. Removed when
    // dropped, whichever way this function returns.
    let scratch = tempfile::Builder::new()
        .prefix(&format!(".download-{name}-"))
        .tempdir_in(dir)
        .map_err(|e| cannot("create a download folder in", &e))?;
    let package = wheel_package(name, version);
    tracing::warn!(
        "extension {name} not installed: fetching {package} with pip into {}",
        dir.display()
    );
    let wheel = pip_download(&package, scratch.path())?;
    unpack_extension(&wheel, name, &dest)?;
    Ok(dest)
}

/// Downloads `package`'s wheel into `into` and returns its path. pip, not an
/// HTTP client of our own: it knows the index URL, proxies, certificates and
/// `pip.conf` the machine is set up with, and picks the wheel whose platform
/// tag fits this machine.
fn pip_download(package: &str, into: &Path) -> Result<PathBuf, WarehouseError> {
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
        .arg(into)
        .arg(package)
        .output()
        .map_err(|e| WarehouseError::new(format!("cannot run python3 -m pip: {e}")))?;
    if !out.status.success() {
        return Err(WarehouseError::new(format!(
            "pip could not download {package}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    std::fs::read_dir(into)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or_else(|| WarehouseError::new(format!("pip downloaded no wheel for {package}")))
}

/// Copies `<name>.duckdb_extension` out of `wheel` (a zip) to `dest`
/// through a temporary file beside it, renamed into place: another process
/// never sees half a file.
fn unpack_extension(wheel: &Path, name: &str, dest: &Path) -> Result<(), WarehouseError> {
    let unreadable = |e: &dyn std::fmt::Display| {
        WarehouseError::new(format!("cannot unpack {}: {e}", wheel.display()))
    };
    let file = File::open(wheel).map_err(|e| unreadable(&e))?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| unreadable(&e))?;
    let wanted = format!("{name}.duckdb_extension");
    let index = (0..archive.len())
        .find(|&i| {
            archive
                .name_for_index(i)
                .is_some_and(|entry| entry.rsplit('/').next() == Some(wanted.as_str()))
        })
        .ok_or_else(|| WarehouseError::new(format!("{} holds no {wanted}", wheel.display())))?;
    let mut entry = archive.by_index(index).map_err(|e| unreadable(&e))?;
    let cannot_install = |e: &dyn std::fmt::Display| {
        WarehouseError::new(format!("cannot install {}: {e}", dest.display()))
    };
    let parent = dest.parent().unwrap_or(Path::new("."));
    let mut builder = tempfile::Builder::new();
    // Readable like any file written here (0666 less the umask), not
    // tempfile's owner-only 0600: a cron user and a person may share the folder.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut partial = builder
        .prefix(&format!(".{name}-"))
        .suffix(".partial")
        .tempfile_in(parent)
        .map_err(|e| cannot_install(&e))?;
    std::io::copy(&mut entry, &mut partial).map_err(|e| cannot_install(&e))?;
    partial.persist(dest).map_err(|e| cannot_install(&e))?;
    Ok(())
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

    /// A wheel as pip downloads it: a deflate zip with the binary deep inside.
    fn wheel(dir: &Path, entries: &[(&str, &[u8])]) -> PathBuf {
        use std::io::Write;
        let path = dir.join("duckdb_extension_json-1.5.5-py3-none-any.whl");
        let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            zip.start_file(*name, options).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap();
        path
    }

    #[test]
    fn unpacks_the_binary_from_the_wheel_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let binary: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let whl = wheel(
            dir.path(),
            &[
                ("duckdb_extension_json/__init__.py", b"".as_slice()),
                (
                    "duckdb_extension_json/extensions/v1.5.5/json.duckdb_extension",
                    &binary,
                ),
            ],
        );
        let dest = installed_path(&dir.path().join("ext"), "1.5.5", "linux_amd64", "json");
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        unpack_extension(&whl, "json", &dest).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), binary);
        let left: Vec<_> = std::fs::read_dir(dest.parent().unwrap()).unwrap().collect();
        assert_eq!(left.len(), 1, "no partial file left beside it");
        let err = unpack_extension(&whl, "parquet", &dest).unwrap_err();
        assert!(
            err.message.contains("holds no parquet.duckdb_extension"),
            "{}",
            err.message
        );
    }
}
