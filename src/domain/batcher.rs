//! The state of an isolate's click batch, apart from the timers and calls that drive it: which
//! visits wait, whether a batch task is collecting them, and what happens when that task never
//! comes back. Pure, so every path is unit-tested; `http::stats` holds one per isolate.
//!
//! A batch task (a `wait_until` of the request that opened it) takes the waiting visits every
//! window until it delivers. The runtime may cancel such a task (a `wait_until` that outlives
//! its limits) or drop it; then its timer never fires and it never says it is done. So a batch
//! does not stay open on the task's word alone: a task proves it is alive each time it takes,
//! and a batch not heard from for longer than the caller's `stale_after_ms` is given up, and
//! the next visit opens a new one. Each batch has a generation: a task of a batch that was
//! given up, should it wake after all, finds its generation gone, takes nothing more and
//! delivers what it already has, so every visit is still in exactly one batch. Waiting visits
//! are bounded (`MAX_PENDING_VISITS`): beyond it the oldest is dropped and counted.

use std::collections::VecDeque;

/// Most visits waiting for a batch task. At the rates one isolate serves, a window holds a
/// few hundred; this many only gather when no task is taking them.
pub const MAX_PENDING_VISITS: usize = 5_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct OpenBatch {
    generation: u64,
    /// When its task last took visits (or the batch opened), in ms.
    alive_at: i64,
}

/// Waiting visits and the batch that collects them (see the module documentation).
#[derive(Debug)]
pub struct Batcher<T> {
    pending: VecDeque<T>,
    open: Option<OpenBatch>,
    next_generation: u64,
    dropped: u64,
}

impl<T> Default for Batcher<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Batcher<T> {
    pub const fn new() -> Self {
        Batcher {
            pending: VecDeque::new(),
            open: None,
            next_generation: 0,
            dropped: 0,
        }
    }

    /// Queues a visit at `now` (ms). `Some(generation)` when the caller must start a batch
    /// task for that generation: no batch is open, or the open one has not been heard from
    /// for more than `stale_after_ms` (its task is taken for lost).
    pub fn push(&mut self, visit: T, now: i64, stale_after_ms: i64) -> Option<u64> {
        if self.pending.len() >= MAX_PENDING_VISITS {
            self.pending.pop_front();
            self.dropped += 1;
        }
        self.pending.push_back(visit);
        if let Some(open) = self.open {
            if now.saturating_sub(open.alive_at) <= stale_after_ms {
                return None;
            }
        }
        let generation = self.next_generation;
        self.next_generation += 1;
        self.open = Some(OpenBatch {
            generation,
            alive_at: now,
        });
        Some(generation)
    }

    /// What the task of `generation` takes at `now`: every waiting visit, and how many were
    /// dropped since the last take (to be reported). `None` when that batch is no longer the
    /// open one (closed or given up): the task then stops taking and delivers what it has.
    pub fn take(&mut self, generation: u64, now: i64) -> Option<(Vec<T>, u64)> {
        let open = self.open.as_mut().filter(|o| o.generation == generation)?;
        open.alive_at = now;
        let visits = self.pending.drain(..).collect();
        Some((visits, std::mem::take(&mut self.dropped)))
    }

    /// The task of `generation` stops collecting (to deliver, or because it ended); the next
    /// visit opens a new batch. Nothing happens when a newer batch is open.
    pub fn close(&mut self, generation: u64) {
        if self.open.is_some_and(|o| o.generation == generation) {
            self.open = None;
        }
    }

    /// Visits waiting.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STALE: i64 = 2_000;

    #[test]
    fn the_first_visit_opens_a_batch_and_the_others_join_it() {
        let mut b = Batcher::new();
        assert_eq!(b.push(1, 0, STALE), Some(0));
        assert_eq!(b.push(2, 10, STALE), None);
        assert_eq!(b.take(0, 200), Some((vec![1, 2], 0)));
        assert_eq!(b.push(3, 250, STALE), None);
        assert_eq!(b.take(0, 400), Some((vec![3], 0)));
        assert_eq!(b.take(0, 600), Some((vec![], 0)));
        b.close(0);
        // Closed: the next visit opens the next batch, and the closed one takes nothing.
        assert_eq!(b.push(4, 700, STALE), Some(1));
        assert_eq!(b.take(0, 800), None);
        assert_eq!(b.take(1, 900), Some((vec![4], 0)));
    }

    #[test]
    fn a_batch_whose_task_never_comes_back_is_given_up() {
        let mut b = Batcher::new();
        assert_eq!(b.push("a", 0, STALE), Some(0));
        // Its task is cancelled: it never takes, never closes. Visits wait, until the batch
        // has not been heard from for longer than STALE.
        assert_eq!(b.push("b", STALE, STALE), None);
        assert_eq!(b.push("c", STALE + 1, STALE), Some(1));
        assert_eq!(b.take(1, STALE + 200), Some((vec!["a", "b", "c"], 0)));
        // The lost task, should it wake, takes nothing and cannot close the new batch.
        assert_eq!(b.take(0, STALE + 300), None);
        b.close(0);
        assert_eq!(b.push("d", STALE + 350, STALE), None);
        assert_eq!(b.take(1, STALE + 400), Some((vec!["d"], 0)));
    }

    #[test]
    fn a_task_that_keeps_taking_keeps_its_batch() {
        let mut b = Batcher::new();
        assert_eq!(b.push(0, 0, STALE), Some(0));
        assert_eq!(b.take(0, 200), Some((vec![0], 0)));
        // Long after the batch opened, but taken from every window: still the same batch.
        for t in 1..50 {
            let now = 200 + t * 200;
            assert_eq!(b.push(t, now - 100, STALE), None, "at {now}");
            assert_eq!(b.take(0, now), Some((vec![t], 0)));
        }
        assert_eq!(b.pending(), 0);
    }

    #[test]
    fn waiting_visits_are_bounded_the_oldest_dropped_and_counted() {
        let mut b = Batcher::new();
        assert_eq!(b.push(0, 0, i64::MAX), Some(0));
        for i in 1..MAX_PENDING_VISITS + 25 {
            assert_eq!(b.push(i, 0, i64::MAX), None);
        }
        assert_eq!(b.pending(), MAX_PENDING_VISITS);
        let (visits, dropped) = b.take(0, 1).unwrap();
        assert_eq!(dropped, 25);
        assert_eq!(visits.len(), MAX_PENDING_VISITS);
        assert_eq!(visits.first(), Some(&25));
        assert_eq!(visits.last(), Some(&(MAX_PENDING_VISITS + 24)));
        // The count is reported once.
        assert_eq!(b.take(0, 2), Some((vec![], 0)));
    }

    #[test]
    fn a_clock_that_goes_back_does_not_give_a_batch_up() {
        let mut b = Batcher::new();
        assert_eq!(b.push(1, 10_000, STALE), Some(0));
        assert_eq!(b.push(2, 0, STALE), None);
        assert_eq!(b.push(3, i64::MIN, STALE), None);
        assert_eq!(b.take(0, 10_200), Some((vec![1, 2, 3], 0)));
    }
}
