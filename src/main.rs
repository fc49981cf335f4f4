//! CLI entry: parse arguments, initialise logging, dispatch, map outcomes to exit codes.

mod cli;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    no_transparent_huge_pages();
    cli::main()
}

/// mimalloc asks Linux for transparent huge pages, and every first touch of one zeroes 2 MiB:
/// with batches allocated and freed all run long, that was a sixth of the CPU time and ~80 MB
/// of resident memory that never held data (bench/RESULTS.md). This process only.
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory of ours; on a
    // kernel without it the call fails and nothing changes.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
