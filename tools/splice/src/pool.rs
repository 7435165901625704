// SPDX-License-Identifier: GPL-2.0

//! Work through a list on a fixed number of threads, as `make -j` does: the generator's
//! compiles, before and after the patch and for the ordinary build of the fix.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// `f` on each of `items`, on at most `jobs` threads at once (one if `jobs` is 0); the
/// results in the order of `items`, whichever thread made them.
///
/// ```
/// let squares = splice_tools::pool::map(3, &[1, 2, 3, 4, 5], |n| n * n);
/// assert_eq!(squares, [1, 4, 9, 16, 25]);
/// ```
pub fn map<I: Sync, T: Send>(jobs: usize, items: &[I], f: impl Fn(&I) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<(usize, T)>> = Mutex::new(Vec::with_capacity(items.len()));
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else {
                    break;
                };
                let r = f(item);
                done.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push((i, r));
            });
        }
    });
    let mut done = done.into_inner().unwrap_or_else(PoisonError::into_inner);
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::map;
    use std::collections::HashSet;
    use std::sync::Mutex;

    #[test]
    fn every_item_once_in_order_on_each_number_of_jobs() {
        let items: Vec<usize> = (0..50).collect();
        for jobs in [0, 1, 2, 7, 64] {
            let seen = Mutex::new(Vec::new());
            let out = map(jobs, &items, |&n| {
                seen.lock().unwrap().push(n);
                n * 10
            });
            assert_eq!(out, items.iter().map(|n| n * 10).collect::<Vec<_>>());
            let seen = seen.into_inner().unwrap();
            assert_eq!(seen.len(), items.len(), "jobs {jobs}");
        }
    }

    #[test]
    fn at_most_jobs_threads() {
        let items = [0u8; 40];
        let threads = Mutex::new(HashSet::new());
        map(3, &items, |_| {
            threads.lock().unwrap().insert(std::thread::current().id());
            std::thread::sleep(std::time::Duration::from_millis(1));
        });
        let n = threads.into_inner().unwrap().len();
        assert!((1..=3).contains(&n), "{n} threads");
    }

    #[test]
    fn nothing_to_do() {
        let out: Vec<u8> = map(4, &[] as &[u8], |&n| n);
        assert!(out.is_empty());
    }
}
