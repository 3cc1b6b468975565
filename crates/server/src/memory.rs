//! Memory given back to the system after a burst of logins.
//!
//! Each Argon2id verification allocates its memory cost (19 MiB by default) on a blocking thread.
//! glibc serves allocations that large with `mmap` and returns them on free, *but* it then raises
//! its mmap threshold to the freed size, so every later 19 MiB buffer comes from a per-thread heap
//! arena that is kept after the burst: 16 logins at once left the process at 1.4 GB for good
//! (issue 13). Fixing the threshold at 1 MiB keeps large buffers on `mmap`, so they go back to the
//! system when freed — the hasher keeps one buffer per core between verifications and frees them
//! after 10 s unused (`roster_core::password`); small allocations are unaffected.

/// Called once at start, before the runtime's threads exist.
pub fn return_large_buffers_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const ONE_MIB: libc::c_int = 1 << 20;
        // SAFETY: mallopt only sets a parameter of glibc's allocator; it is called before any
        // other thread is started, and M_MMAP_THRESHOLD with a value below the 32 MiB maximum
        // is a documented, valid setting. A zero return (refused) leaves the default behaviour.
        let accepted = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, ONE_MIB) };
        if accepted == 0 {
            eprintln!("roster: note: could not set the allocator's mmap threshold");
        }
    }
}
