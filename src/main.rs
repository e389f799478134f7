//! The `lake` binary: everything lives in the library; see `lake::cli`.

// Compiling a large project allocates many small strings on two threads;
// mimalloc handles that far better than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    lake::cli::main()
}
