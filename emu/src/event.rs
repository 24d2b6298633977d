//! The machine's one event queue (DESIGN.md section 2).
//!
//! Devices schedule future events at ticks; the machine runs the CPU without
//! per-instruction checks up to the earliest one. Events are ordered by (tick, sequence
//! number): two events at the same tick fire in the order they were scheduled (FIFO). The
//! queue is a vector kept sorted in that order, which is also its serialized form, so a
//! snapshot of the queue is canonical (equal queues serialize to equal bytes) and restores
//! to the same order. Queues hold a handful of events (one or two per device), so sorted
//! insertion is cheaper than a heap and allocation stops once the vector has grown.

use serde::{Deserialize, Serialize};

/// One scheduled event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event<K> {
    /// When it fires.
    pub tick: u64,
    /// Scheduling order: unique, increasing; breaks ties between events at the same tick.
    pub seq: u64,
    pub kind: K,
}

/// Pending events in firing order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventQueue<K> {
    events: Vec<Event<K>>,
    next_seq: u64,
}

impl<K> Default for EventQueue<K> {
    fn default() -> EventQueue<K> {
        EventQueue {
            events: Vec::new(),
            next_seq: 0,
        }
    }
}

impl<K> EventQueue<K> {
    pub fn new() -> EventQueue<K> {
        EventQueue::default()
    }

    /// Schedules `kind` at `tick`, after every event already scheduled at that tick.
    /// Returns its sequence number.
    pub fn schedule(&mut self, tick: u64, kind: K) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        // Every queued event has a smaller sequence number, so the new one goes after all
        // events at ticks <= `tick`.
        let at = self.events.partition_point(|e| e.tick <= tick);
        self.events.insert(at, Event { tick, seq, kind });
        seq
    }

    /// The tick of the earliest event.
    #[inline]
    pub fn next_tick(&self) -> Option<u64> {
        self.events.first().map(|e| e.tick)
    }

    /// Removes and returns the earliest event if it is due at `now` (its tick <= `now`).
    pub fn pop_due(&mut self, now: u64) -> Option<Event<K>> {
        if self.next_tick()? <= now {
            Some(self.events.remove(0))
        } else {
            None
        }
    }

    /// Removes every event whose kind matches `pred`; returns how many.
    pub fn cancel_where(&mut self, mut pred: impl FnMut(&K) -> bool) -> usize {
        let before = self.events.len();
        self.events.retain(|e| !pred(&e.kind));
        before - self.events.len()
    }

    /// Pending events in firing order.
    pub fn iter(&self) -> impl Iterator<Item = &Event<K>> {
        self.events.iter()
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(q: &mut EventQueue<&'static str>, now: u64) -> Vec<(u64, &'static str)> {
        std::iter::from_fn(|| q.pop_due(now))
            .map(|e| (e.tick, e.kind))
            .collect()
    }

    #[test]
    fn events_fire_in_tick_order() {
        let mut q = EventQueue::new();
        q.schedule(30, "c");
        q.schedule(10, "a");
        q.schedule(20, "b");
        assert_eq!(q.next_tick(), Some(10));
        assert_eq!(drain(&mut q, 25), vec![(10, "a"), (20, "b")]);
        assert_eq!(q.next_tick(), Some(30));
        assert_eq!(drain(&mut q, 29), vec![]);
        assert_eq!(drain(&mut q, 30), vec![(30, "c")]);
        assert!(q.is_empty());
    }

    #[test]
    fn ties_are_first_in_first_out() {
        // DESIGN.md section 2: events at the same tick fire in scheduling order.
        let mut q = EventQueue::new();
        q.schedule(5, "first");
        q.schedule(9, "later");
        q.schedule(5, "second");
        q.schedule(5, "third");
        q.schedule(1, "earliest");
        assert_eq!(
            drain(&mut q, 10),
            vec![
                (1, "earliest"),
                (5, "first"),
                (5, "second"),
                (5, "third"),
                (9, "later")
            ]
        );
    }

    #[test]
    fn cancelled_events_never_fire() {
        let mut q = EventQueue::new();
        q.schedule(5, "timer");
        q.schedule(6, "uart");
        q.schedule(7, "timer");
        assert_eq!(q.cancel_where(|k| *k == "timer"), 2);
        assert_eq!(drain(&mut q, 100), vec![(6, "uart")]);
    }

    #[test]
    fn a_restored_queue_keeps_order_and_numbering() {
        let mut q = EventQueue::new();
        q.schedule(5, "a".to_string());
        q.schedule(5, "b".to_string());
        let json = serde_json::to_string(&q).unwrap();
        let mut r: EventQueue<String> = serde_json::from_str(&json).unwrap();
        assert_eq!(r, q);
        // A later schedule at the same tick still goes last in both.
        q.schedule(5, "c".to_string());
        r.schedule(5, "c".to_string());
        assert_eq!(r, q);
        assert_eq!(
            r.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
    }
}
