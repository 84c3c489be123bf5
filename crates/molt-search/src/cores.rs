//! Which cores the search service may use: a query's vector ranking (the
//! query embedding, one core's work for a few milliseconds, then the theme
//! scan) can run beside its word and substring rankings on a second thread,
//! but only while a core is idle. Under load every core already answers a
//! query of its own, and a second thread per query would only add switching.
//!
//! [`Cores`] counts the threads answering queries in this process: each query
//! holds one [`Core`] while it is answered, and a spare one while its vector
//! ranking runs beside it.

use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Cores {
    busy: AtomicUsize,
    total: usize,
}

/// A core in use; given back when dropped.
pub struct Core<'a> {
    cores: &'a Cores,
}

impl Cores {
    /// `total` cores (at least 1).
    pub fn new(total: usize) -> Cores {
        Cores { busy: AtomicUsize::new(0), total: total.max(1) }
    }

    /// As many cores as the process may run on.
    pub fn of_this_machine() -> Cores {
        Cores::new(std::thread::available_parallelism().map_or(1, usize::from))
    }

    /// The core a query's own thread uses: always granted (the thread runs
    /// anyway), but counted, so that spares are refused while it runs.
    pub fn enter(&self) -> Core<'_> {
        self.busy.fetch_add(1, Ordering::AcqRel);
        Core { cores: self }
    }

    /// A second core, only if one is idle now.
    pub fn spare(&self) -> Option<Core<'_>> {
        self.busy
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |busy| (busy < self.total).then_some(busy + 1))
            .ok()
            .map(|_| Core { cores: self })
    }

    /// Cores in use now.
    pub fn busy(&self) -> usize {
        self.busy.load(Ordering::Acquire)
    }
}

impl Drop for Core<'_> {
    fn drop(&mut self) {
        self.cores.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spare_core_is_granted_only_while_one_is_idle() {
        let cores = Cores::new(2);
        let first = cores.enter();
        let spare = cores.spare().expect("one of two cores is idle");
        assert_eq!(cores.busy(), 2);
        assert!(cores.spare().is_none(), "both cores are busy");
        // A query's own thread always runs, even over the count.
        let second = cores.enter();
        assert_eq!(cores.busy(), 3);
        drop(spare);
        drop(second);
        assert!(cores.spare().is_some(), "a core was given back");
        drop(first);
        assert_eq!(cores.busy(), 0);
    }

    #[test]
    fn one_core_never_has_a_spare() {
        let cores = Cores::new(0);
        let _query = cores.enter();
        assert!(cores.spare().is_none());
    }
}
