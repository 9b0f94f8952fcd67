//! Process-wide memory settings for allocation-heavy decoding.

/// Size below which glibc serves allocations from its heaps (reused after `free`)
/// rather than from a fresh `mmap` each time.
const MMAP_THRESHOLD: i32 = 32 << 20;
/// Free memory a glibc heap keeps before returning its top to the kernel.
const TRIM_THRESHOLD: i32 = 128 << 20;

/// Makes glibc's `malloc` keep freed blocks of up to 256 MiB for reuse (and heaps up
/// to 512 MiB of free memory) instead of returning them to the kernel.
///
/// Decoding a series allocates and frees many half-megabyte buffers (file bytes,
/// fragments, decoded frames) and one large volume per series. With glibc's defaults
/// each of them can be a fresh `mmap`, and every first touch of every 4 KiB page a
/// page fault with a page to clear: measured on RLE series, that was 3-4x the decoding
/// itself, and the faults serialise threads on the process's memory map lock. Call it
/// once at start-up (the `medfen` binary does); it affects the whole process, so a
/// library never calls it on its own. Returns whether both settings were accepted
/// (always `false` off glibc, where it does nothing).
pub fn reuse_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes allocator parameters; it is safe to call at any
        // time, from any thread.
        #[allow(unsafe_code)]
        let ok = unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
        };
        ok
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    false
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_accepts_both_settings() {
        assert!(super::reuse_freed_memory());
        // and a large allocation below the threshold still works
        let v = vec![1u8; 24 << 20];
        assert_eq!(v.iter().map(|&b| usize::from(b)).sum::<usize>(), 24 << 20);
    }
}
