//! Memory settings and advice for large buffers: process-wide allocator settings for
//! allocation-heavy decoding, and transparent huge pages for buffers of tens of
//! megabytes written once per use (volumes, loader batches).

/// Size below which glibc serves allocations from its heaps (reused after `free`)
/// rather than from a fresh `mmap` each time.
const MMAP_THRESHOLD: i32 = 32 << 20;
/// Free memory a glibc heap keeps before returning its top to the kernel.
const TRIM_THRESHOLD: i32 = 128 << 20;

/// Makes glibc's `malloc` keep freed blocks of up to 32 MiB for reuse (and heaps up to
/// 128 MiB of free memory) instead of returning them to the kernel.
///
/// Decoding a series allocates and frees many half-megabyte buffers (file bytes,
/// fragments, decoded frames) and one large volume per series. With glibc's defaults
/// each of them can be a fresh `mmap`, and every first touch of every 4 KiB page a page
/// fault with a page to clear, which serialises threads on the process's memory map
/// lock (docs/dicom.md, "Speed", has the measurement). Call it once at start-up (the
/// `medfen` executable does); it affects the whole process, so a library never calls it
/// on its own. Returns whether both settings were accepted (always `false` off glibc,
/// where it does nothing).
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

/// Asks Linux to back the buffer's whole capacity with transparent huge pages (2 MiB on
/// x86-64, in `madvise` mode, the common default); call it before the capacity is first
/// written. A volume or a batch of tens of megabytes then takes tens of page faults
/// instead of thousands, and fewer TLB misses when it is written. Only advice: where
/// the kernel declines, or on other systems, nothing changes.
pub fn advise_huge_pages<T>(buffer: &mut Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let start = buffer.as_mut_ptr() as usize;
        let end = start + buffer.capacity() * size_of::<T>();
        let first = start.next_multiple_of(PAGE);
        if end > first + PAGE {
            let len = (end - first) / PAGE * PAGE;
            // SAFETY: the range lies within the buffer's allocation; MADV_HUGEPAGE only
            // changes how the kernel backs those pages, never their contents.
            #[allow(unsafe_code)]
            unsafe {
                libc::madvise(first as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = buffer;
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

    #[test]
    fn advice_leaves_contents_and_capacity_alone() {
        let mut v: Vec<u16> = Vec::with_capacity(3 << 20);
        super::advise_huge_pages(&mut v);
        v.extend((0..3u32 << 20).map(|i| (i % 65_521) as u16));
        assert_eq!(v[65_522], 1);
        let mut tiny: Vec<u8> = vec![7; 10];
        super::advise_huge_pages(&mut tiny);
        assert_eq!(tiny, [7; 10]);
    }
}
