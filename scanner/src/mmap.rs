//! The one room with `unsafe`: memory-mapping files, guarded against truncation.
//!
//! A file mapped into memory that another process truncates turns every read
//! of the vanished pages into `SIGBUS`, which kills the process. We cannot
//! forbid other processes from truncating, so the guard makes it harmless:
//! while a mapping is in use its address range is registered in a fixed
//! table; a `SIGBUS` handler checks whether the faulting address lies in a
//! registered range and, if so, maps anonymous zero pages over the rest of
//! that range (`MAP_FIXED`) and marks the mapping as faulted. The faulting
//! instruction is retried and reads zeros; the scanner then reports the file
//! as changed during the scan. A `SIGBUS` outside every registered range
//! restores the default action, so real bugs still crash loudly.
//!
//! `mmap` is not on POSIX's list of async-signal-safe functions, but on Linux
//! it is a plain system call with no user-space locking, and this is the
//! technique managed runtimes use for the same problem.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Once;

const SLOTS: usize = 128;

struct Slot {
    start: AtomicUsize,
    len: AtomicUsize,
    faulted: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Slot = Slot {
    start: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    faulted: AtomicBool::new(false),
};

static TABLE: [Slot; SLOTS] = [EMPTY; SLOTS];
static PAGE: AtomicUsize = AtomicUsize::new(4096);
static INSTALL: Once = Once::new();

extern "C" fn on_sigbus(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    let page = PAGE.load(Ordering::Relaxed);
    for slot in &TABLE {
        let start = slot.start.load(Ordering::Acquire);
        let len = slot.len.load(Ordering::Acquire);
        if start == 0 || addr < start || addr >= start + len {
            continue;
        }
        let from = addr & !(page - 1);
        let end = (start + len + page - 1) & !(page - 1);
        // SAFETY: [from, end) lies inside a mapping this process owns and has
        // registered; replacing it with anonymous zero pages keeps it mapped
        // (readable) until the owner unmaps the whole range.
        let r = unsafe {
            libc::mmap(
                from as *mut libc::c_void,
                end - from,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if r != libc::MAP_FAILED {
            slot.faulted.store(true, Ordering::Release);
            return;
        }
    }
    // Not ours: let the retried access take the default action.
    // SAFETY: resetting a signal disposition is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGBUS, libc::SIG_DFL);
    }
}

fn install() {
    INSTALL.call_once(|| {
        // SAFETY: sysconf and sigaction with a zeroed, filled-in sigaction.
        unsafe {
            let p = libc::sysconf(libc::_SC_PAGESIZE);
            if p > 0 {
                PAGE.store(p as usize, Ordering::Relaxed);
            }
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_sigbus as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut());
        }
    });
}

/// Files up to this size are mapped with `MAP_POPULATE`: the kernel maps
/// all their pages in one call, not 16 at a time from page faults. On the
/// benchmark corpus's large files (page-cached) that took 65 ms for 480 MB
/// against 87 ms faulted in. A larger file is faulted in as it is read, so
/// that a file larger than memory never has to be resident at once.
const POPULATE_MAX: u64 = 512 << 20;

/// A read-only mapping of a whole file, registered with the `SIGBUS` guard.
pub struct GuardedMap {
    map: memmap2::Mmap,
    slot: usize,
}

impl GuardedMap {
    /// Maps the first `len` bytes of `file` (its size from the caller's
    /// `stat`: no second one here), or returns `Ok(None)` when `len` is 0
    /// or all guard slots are in use (the caller then reads the file
    /// instead).
    ///
    /// # Errors
    /// When `mmap` fails.
    pub fn new(file: &File, len: u64) -> io::Result<Option<GuardedMap>> {
        let Ok(map_len) = usize::try_from(len) else {
            return Ok(None);
        };
        if map_len == 0 {
            return Ok(None);
        }
        install();
        // SAFETY: the file may change while mapped; truncation is made safe by
        // the SIGBUS guard registered below before any byte is read, and other
        // changes only change what we read, which the caller detects by
        // comparing the file's metadata before and after.
        let mut options = memmap2::MmapOptions::new();
        options.len(map_len);
        if len <= POPULATE_MAX {
            options.populate();
        }
        let map = unsafe { options.map(file)? };
        if map.is_empty() {
            return Ok(None);
        }
        for (i, slot) in TABLE.iter().enumerate() {
            if slot
                .start
                .compare_exchange(0, usize::MAX, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                slot.faulted.store(false, Ordering::Release);
                slot.len.store(map.len(), Ordering::Release);
                slot.start.store(map.as_ptr() as usize, Ordering::Release);
                #[cfg(target_os = "linux")]
                let _ = map.advise(memmap2::Advice::Sequential);
                return Ok(Some(GuardedMap { map, slot: i }));
            }
        }
        Ok(None)
    }

    /// The mapped bytes (zeros where the file was truncated during the scan).
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Whether a read hit a page past the file's end (the file shrank).
    pub fn faulted(&self) -> bool {
        TABLE[self.slot].faulted.load(Ordering::Acquire)
    }
}

impl Drop for GuardedMap {
    fn drop(&mut self) {
        let slot = &TABLE[self.slot];
        slot.len.store(0, Ordering::Release);
        slot.start.store(0, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn truncation_while_mapped_reads_zeros_and_is_reported() {
        let mut f = tempfile::tempfile().unwrap();
        let data = vec![b'7'; 1 << 20];
        f.write_all(&data).unwrap();
        let map = GuardedMap::new(&f, data.len() as u64)
            .unwrap()
            .expect("a slot");
        assert_eq!(map.bytes()[100], b'7');
        assert!(!map.faulted());
        f.set_len(4096).unwrap();
        // Reading past the new end would be SIGBUS without the guard.
        let tail_sum: u64 = map.bytes()[8192..].iter().map(|&b| u64::from(b)).sum();
        assert_eq!(tail_sum, 0);
        assert!(map.faulted());
        assert_eq!(map.bytes()[0], b'7');
    }
}
