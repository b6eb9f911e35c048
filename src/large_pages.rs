//! The binary's global allocator: blocks of [`LARGE`] bytes or more on 2 MiB pages where the
//! kernel allows it. Part of the `stance` binary (declared in `main.rs`), not of the library.
//!
//! Scoring looks up the word table, the bigram columns and the model's column table at nearly
//! every token. Each is a few MiB, read at random: with 4 KiB pages nearly every lookup also
//! misses the processor's address-translation cache; on 2 MiB pages they span a few pages
//! instead of hundreds. BENCHMARKS.md has the measurements that keep it.
//!
//! Linux grants such pages to a region marked `MADV_HUGEPAGE` when
//! `/sys/kernel/mm/transparent_hugepage/enabled` is `always` or `madvise`; elsewhere, or when
//! it is `never`, the blocks are ordinary pages and nothing else changes.
//!
//! Large blocks are mapped directly, aligned to 2 MiB and rounded up to whole 2 MiB pages (at
//! most 2 MiB of slack per block, and few blocks are that large); smaller ones go to the system
//! allocator. Growing or shrinking any block allocates a new one and copies (`GlobalAlloc`'s own
//! `realloc`), which was faster than passing small blocks to the system's `realloc`.
#![deny(unsafe_op_in_unsafe_fn)]

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks this large or larger are mapped on 2 MiB boundaries and marked for large pages.
pub const LARGE: usize = 1 << 20;
/// The large page size.
const PAGE: usize = 2 << 20;

/// See the module documentation. Installed in `main.rs` with `#[global_allocator]`.
#[derive(Debug, Default, Clone, Copy)]
pub struct LargePages;

/// Whether a block of this layout is mapped by [`LargePages`] rather than by [`System`]. Both
/// allocation and release decide by the layout alone, so they always agree.
#[inline]
fn mapped(layout: Layout) -> bool {
    cfg!(target_os = "linux") && layout.size() >= LARGE && layout.align() <= PAGE
}

#[cfg(target_os = "linux")]
fn mapped_len(size: usize) -> usize {
    size.div_ceil(PAGE) * PAGE
}

// SAFETY: blocks are either the system allocator's (passed through unchanged) or fresh private
// anonymous mappings of at least the requested size, aligned to 2 MiB (so to any alignment
// `mapped` accepts), released by `munmap` of exactly the length mapped: `mapped` gives the same
// answer at release as at allocation because it reads only the layout, which the caller must
// pass unchanged. The trait's own `alloc_zeroed` and `realloc` go through `alloc` and `dealloc`.
unsafe impl GlobalAlloc for LargePages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if mapped(layout) {
            // SAFETY: `mapped` holds, so the size is non-zero (at least `LARGE`).
            unsafe { map_large(layout.size()) }
        } else {
            // SAFETY: the caller's layout has a non-zero size, as `GlobalAlloc::alloc` requires.
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if mapped(layout) {
            // SAFETY: the caller passes a block this allocator returned for `layout`; `mapped`
            // held then as now, so `map_large` made it with this size.
            unsafe { unmap_large(ptr, layout.size()) }
        } else {
            // SAFETY: as above, the block came from `System.alloc` with this layout.
            unsafe { System.dealloc(ptr, layout) }
        }
    }
}

/// Maps `size` bytes rounded up to whole large pages, aligned to a large page, and marks them
/// for large pages. Null on failure, as `GlobalAlloc::alloc` requires.
///
/// # Safety
/// `size` is greater than 0. The block is released only by [`unmap_large`] with the same size.
#[cfg(target_os = "linux")]
unsafe fn map_large(size: usize) -> *mut u8 {
    let len = mapped_len(size);
    // One page more than needed, so that an aligned run of `len` bytes lies inside; the rest
    // is unmapped again.
    // SAFETY: an anonymous private mapping at an address of the kernel's choosing touches no
    // memory of the program.
    let raw = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len + PAGE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if raw == libc::MAP_FAILED {
        return std::ptr::null_mut();
    }
    let start = raw as usize;
    let aligned = start.div_ceil(PAGE) * PAGE;
    let lead = aligned - start;
    let tail = PAGE - lead;
    // SAFETY: the lead and the tail lie inside the mapping just made, outside the block
    // returned, and nothing refers to them.
    unsafe {
        if lead > 0 {
            release(raw, lead);
        }
        if tail > 0 {
            release((aligned + len) as *mut libc::c_void, tail);
        }
    }
    // Advice only: where large pages are off or unavailable the block is ordinary memory, so
    // its result needs no check.
    // SAFETY: the range is the block just mapped.
    unsafe { libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE) };
    aligned as *mut u8
}

/// Releases a block made by [`map_large`].
///
/// # Safety
/// `ptr` was returned by [`map_large`] for the same `size`, is released once, and nothing
/// refers to the block afterwards.
#[cfg(target_os = "linux")]
unsafe fn unmap_large(ptr: *mut u8, size: usize) {
    // SAFETY: the caller's contract: the whole block, mapped by `map_large` as `mapped_len`.
    unsafe { release(ptr as *mut libc::c_void, mapped_len(size)) };
}

/// Unmaps `len` bytes at `ptr`, and reports whether `munmap` did. It can fail (ENOMEM, when
/// taking a range out of a larger mapping the kernel merged it into would exceed the process's
/// mapping limit); the pages are then given back with `MADV_DONTNEED` instead, so what stays is
/// a reserved address range, not memory, and the allocator carries on.
///
/// # Safety
/// The range lies inside a mapping this allocator made, and nothing refers to it.
#[cfg(target_os = "linux")]
unsafe fn release(ptr: *mut libc::c_void, len: usize) -> bool {
    // SAFETY: the caller's contract.
    if unsafe { libc::munmap(ptr, len) } == 0 {
        return true;
    }
    // SAFETY: the same range, still mapped since `munmap` failed; its contents are not needed.
    unsafe { libc::madvise(ptr, len, libc::MADV_DONTNEED) };
    false
}

/// # Safety
/// Never called: `mapped` is false off Linux.
#[cfg(not(target_os = "linux"))]
unsafe fn map_large(_: usize) -> *mut u8 {
    unreachable!("only Linux maps large blocks")
}

/// # Safety
/// Never called: `mapped` is false off Linux.
#[cfg(not(target_os = "linux"))]
unsafe fn unmap_large(_: *mut u8, _: usize) {
    unreachable!("only Linux maps large blocks")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a pattern into the first `n` bytes of a block.
    ///
    /// # Safety
    /// `p` points to a block of at least `n` writable bytes.
    unsafe fn fill(p: *mut u8, n: usize) {
        for i in 0..n {
            // SAFETY: the caller's contract.
            unsafe { *p.add(i) = (i % 251) as u8 };
        }
    }

    /// Whether the first `n` bytes of a block hold the pattern.
    ///
    /// # Safety
    /// `p` points to a block of at least `n` initialised bytes.
    unsafe fn holds(p: *const u8, n: usize) -> bool {
        // SAFETY: the caller's contract.
        (0..n).all(|i| unsafe { *p.add(i) } == (i % 251) as u8)
    }

    /// Blocks on both sides of the threshold hold what is written, come zeroed when asked,
    /// are aligned as asked, and keep their contents when grown or shrunk across it.
    #[test]
    fn blocks_across_the_threshold_keep_their_contents() {
        let a = LargePages;
        for &(size, align) in &[
            (64usize, 8usize),
            (LARGE - 8, 8),
            (LARGE, 8),
            (3 * PAGE + 5, 64),
            (LARGE, 4096),
        ] {
            let layout = Layout::from_size_align(size, align).unwrap();
            // SAFETY: the layouts are non-zero and valid; every block is used within its size
            // and released once, with the layout it has.
            unsafe {
                let z = a.alloc_zeroed(layout);
                assert!(!z.is_null() && (z as usize).is_multiple_of(align));
                assert!(std::slice::from_raw_parts(z, size).iter().all(|&b| b == 0));
                a.dealloc(z, layout);

                for new_size in [size * 2 + 1, size / 2 + 1, size + 1] {
                    let p = a.alloc(layout);
                    assert!(!p.is_null() && (p as usize).is_multiple_of(align));
                    fill(p, size);
                    let q = a.realloc(p, layout, new_size);
                    assert!(!q.is_null() && (q as usize).is_multiple_of(align));
                    assert!(holds(q, size.min(new_size)), "{size} -> {new_size}");
                    fill(q, new_size);
                    let back =
                        a.realloc(q, Layout::from_size_align(new_size, align).unwrap(), size);
                    assert!(holds(back, size.min(new_size)), "{new_size} -> {size}");
                    a.dealloc(back, layout);
                }
            }
        }
    }

    /// `release` reports a failed `munmap` (here a misaligned range, which it refuses) and
    /// leaves the block usable; the whole block then unmaps.
    #[cfg(target_os = "linux")]
    #[test]
    fn release_reports_whether_munmap_succeeded() {
        // SAFETY: the block is mapped here and used within its size; the failed release
        // unmaps nothing, and the block is released once, then never touched.
        unsafe {
            let p = map_large(LARGE);
            assert!(!p.is_null());
            assert!(!release(p.add(1) as *mut libc::c_void, PAGE));
            fill(p, LARGE);
            assert!(holds(p, LARGE));
            assert!(release(p as *mut libc::c_void, mapped_len(LARGE)));
        }
    }
}
