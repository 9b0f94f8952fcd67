//! Memory advice for the loader's batches: a batch is tens of megabytes written once per
//! batch, and with 4 KiB pages every 4 KiB of output costs a TLB miss (measured: 4-12%
//! of the training loader's time on one thread).

/// Asks Linux to back the buffer's capacity with 2 MiB pages (transparent huge pages in
/// `madvise` mode, the common default); call it before the capacity is first written.
/// Only advice: where the kernel declines, or on other systems, nothing changes. The
/// loader's batches get it; so can any buffer of tens of megabytes written once per use.
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
