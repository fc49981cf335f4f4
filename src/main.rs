//! CLI entry: parse arguments, initialise logging, dispatch, map outcomes to exit codes.

mod cli;

#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    no_transparent_huge_pages();
    #[cfg(not(feature = "system-alloc"))]
    return_freed_memory_sooner();
    cli::main()
}

/// mimalloc keeps freed pages for `purge_delay` ms before giving them back to the OS. A run
/// frees tens of MB a second (page bodies, batches, Parquet pages): mimalloc 3's default of a
/// second held ~60 MB of RSS over the heap; 10 ms (mimalloc 2's default) cost 1.5 s more
/// system CPU per 100k issues in page faults. 100 ms held the every-object run at 195–201 MB,
/// at the 200 MB target; 20 ms holds it at 184 MB, and `issues` alone with every field at
/// 100k issues at 177 against 195 MB, for about a tenth more CPU (bench/RESULTS.md, "Memory,
/// fourth session"). `MIMALLOC_PURGE_DELAY` still wins when set.
#[cfg(not(feature = "system-alloc"))]
fn return_freed_memory_sooner() {
    /// `mi_option_purge_delay` in mimalloc 2's `mi_option_e` (include/mimalloc.h).
    const PURGE_DELAY: i32 = 15;
    unsafe extern "C" {
        fn mi_option_set(option: i32, value: std::ffi::c_long);
    }
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: mimalloc (linked as the global allocator) reads this option each time it
        // purges; setting it takes a plain integer and is safe at any time.
        unsafe { mi_option_set(PURGE_DELAY, 20) }
    }
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
