//! The `lake` binary: everything lives in the library; see `lake::cli`.

fn main() -> std::process::ExitCode {
    lake::cli::main()
}
