//! One subscription's bookkeeping, as plain data: no Kafka client, no locks, no clock.
//!
//! A member holds, per assigned partition, the offsets it fetched and has not acknowledged yet
//! (`pending`): fetched but not handed out (`fresh`), waiting for redelivery after a nack (`retry`), or in
//! flight under a receipt. The committable position of a partition is its lowest pending offset, or one
//! past the highest fetched offset when nothing is pending — so an ack of offset N commits past N only
//! once every earlier delivered offset of that partition is acknowledged, and gaps in the offsets
//! (compaction, control records) need no special case.
//!
//! A revoked partition is forgotten at once: its committable position is returned for one last commit,
//! its buffered messages are dropped (the new owner fetches them from that position) and its in-flight
//! receipts are remembered as revoked, so a late ack or nack of them is accepted without effect.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

/// A message fetched from the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fetched {
    /// Its partition.
    pub(crate) partition: i32,
    /// Its offset in the partition.
    pub(crate) offset: i64,
    /// Its key (lossy UTF-8; empty when the message has none).
    pub(crate) key: String,
    /// Its payload.
    pub(crate) payload: Vec<u8>,
}

/// A message handed out under a receipt and not settled yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InFlight {
    /// The message.
    pub(crate) message: Fetched,
    /// 1 on first delivery, then one more per redelivery.
    pub(crate) attempt: u32,
}

/// What settling a receipt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settled {
    /// The receipt was in flight and is settled now.
    Settled,
    /// Its partition was revoked while it was in flight: nothing to do, the new owner redelivers it.
    Revoked,
}

/// Per-partition state.
#[derive(Debug, Default)]
struct PartitionBook {
    /// Fetched offsets not yet acknowledged (fresh, waiting for redelivery or in flight).
    pending: BTreeSet<i64>,
    /// One past the highest offset fetched since the partition was assigned.
    fetched_end: Option<i64>,
    /// The last position handed out for committing.
    committed: Option<i64>,
}

impl PartitionBook {
    fn committable(&self) -> Option<i64> {
        self.pending.first().copied().or(self.fetched_end)
    }
}

/// The bookkeeping of one subscription.
#[derive(Debug, Default)]
pub(crate) struct MemberBook {
    partitions: BTreeMap<i32, PartitionBook>,
    fresh: VecDeque<Fetched>,
    retry: VecDeque<(Fetched, u32)>,
    in_flight: HashMap<u64, InFlight>,
    revoked: HashSet<u64>,
}

impl MemberBook {
    /// Partitions were assigned to this member (incrementally or as a whole new assignment).
    pub(crate) fn assign(&mut self, partitions: impl IntoIterator<Item = i32>) {
        for partition in partitions {
            self.partitions.entry(partition).or_default();
        }
    }

    /// Partitions were taken away. Returns their positions still to commit; forgets their buffered
    /// messages and marks their in-flight receipts revoked.
    pub(crate) fn revoke(&mut self, partitions: impl IntoIterator<Item = i32>) -> Vec<(i32, i64)> {
        let mut commits = Vec::new();
        let mut revoked_partitions = BTreeSet::new();
        for partition in partitions {
            if let Some(book) = self.partitions.remove(&partition) {
                // Every position, moved or not: a synchronous commit here must not depend on earlier
                // asynchronous ones having landed before the next owner reads the offsets.
                if let Some(position) = book.committable() {
                    commits.push((partition, position));
                }
                revoked_partitions.insert(partition);
            }
        }
        self.fresh.retain(|message| !revoked_partitions.contains(&message.partition));
        self.retry.retain(|(message, _)| !revoked_partitions.contains(&message.partition));
        let revoked: Vec<u64> = self
            .in_flight
            .iter()
            .filter(|(_, in_flight)| revoked_partitions.contains(&in_flight.message.partition))
            .map(|(receipt, _)| *receipt)
            .collect();
        for receipt in revoked {
            self.in_flight.remove(&receipt);
            self.revoked.insert(receipt);
        }
        commits
    }

    /// Every assigned partition.
    #[cfg(test)]
    fn assigned(&self) -> impl Iterator<Item = i32> + '_ {
        self.partitions.keys().copied()
    }

    /// Buffers a fetched message. Returns `false` (and drops it) when its partition is not assigned or the
    /// offset was fetched before.
    pub(crate) fn push_fetched(&mut self, message: Fetched) -> bool {
        let Some(book) = self.partitions.get_mut(&message.partition) else {
            return false;
        };
        if book.fetched_end.is_some_and(|end| message.offset < end) {
            return false;
        }
        book.fetched_end = Some(message.offset + 1);
        book.pending.insert(message.offset);
        self.fresh.push_back(message);
        true
    }

    /// Messages fetched and not handed out yet (what counts against the buffer bound).
    pub(crate) fn buffered(&self) -> usize {
        self.fresh.len()
    }

    /// Hands the next message out under `receipt`: redeliveries first, then fetched messages in order.
    pub(crate) fn take_next(&mut self, receipt: u64) -> Option<InFlight> {
        let (message, attempt) = match self.retry.pop_front() {
            Some(retried) => retried,
            None => (self.fresh.pop_front()?, 1),
        };
        let in_flight = InFlight { message, attempt };
        self.in_flight.insert(receipt, in_flight.clone());
        Some(in_flight)
    }

    /// The in-flight delivery under `receipt`, if any.
    pub(crate) fn in_flight(&self, receipt: u64) -> Option<&InFlight> {
        self.in_flight.get(&receipt)
    }

    /// Whether `receipt` was in flight on a partition that has been revoked since.
    pub(crate) fn is_revoked(&self, receipt: u64) -> bool {
        self.revoked.contains(&receipt)
    }

    /// Acknowledges `receipt`. `None` for a receipt this member does not hold.
    pub(crate) fn ack(&mut self, receipt: u64) -> Option<Settled> {
        if self.revoked.remove(&receipt) {
            return Some(Settled::Revoked);
        }
        let in_flight = self.in_flight.remove(&receipt)?;
        if let Some(book) = self.partitions.get_mut(&in_flight.message.partition) {
            book.pending.remove(&in_flight.message.offset);
        }
        Some(Settled::Settled)
    }

    /// Puts `receipt` back for redelivery with the next attempt number. `None` for a receipt this member
    /// does not hold.
    pub(crate) fn requeue(&mut self, receipt: u64) -> Option<Settled> {
        if self.revoked.remove(&receipt) {
            return Some(Settled::Revoked);
        }
        let in_flight = self.in_flight.remove(&receipt)?;
        self.retry.push_back((in_flight.message, in_flight.attempt.saturating_add(1)));
        Some(Settled::Settled)
    }

    /// Positions that moved since they were last handed out for committing; records them as committed.
    pub(crate) fn take_commits(&mut self) -> Vec<(i32, i64)> {
        let mut commits = Vec::new();
        for (partition, book) in &mut self.partitions {
            if let Some(position) = book.committable().filter(|position| book.committed < Some(*position)) {
                book.committed = Some(position);
                commits.push((*partition, position));
            }
        }
        commits
    }

    /// Every current committable position, moved or not (for the final commit on close).
    pub(crate) fn all_positions(&self) -> Vec<(i32, i64)> {
        self.partitions
            .iter()
            .filter_map(|(partition, book)| book.committable().map(|position| (*partition, position)))
            .collect()
    }

    /// Deliveries in flight plus messages waiting for redelivery.
    #[cfg(test)]
    fn unsettled(&self) -> usize {
        self.in_flight.len() + self.retry.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(partition: i32, offset: i64) -> Fetched {
        Fetched { partition, offset, key: "k".into(), payload: offset.to_string().into_bytes() }
    }

    fn book_with(partition: i32, offsets: impl IntoIterator<Item = i64>) -> MemberBook {
        let mut book = MemberBook::default();
        book.assign([partition]);
        for offset in offsets {
            assert!(book.push_fetched(message(partition, offset)));
        }
        book
    }

    #[test]
    fn nothing_is_committable_before_an_ack() {
        let mut book = book_with(0, 5..8);
        for receipt in 0..3 {
            book.take_next(receipt);
        }
        assert_eq!(book.take_commits(), [(0, 5)], "the starting position, a harmless commit");
        assert_eq!(book.take_commits(), [], "nothing moved");
    }

    #[test]
    fn an_ack_commits_past_its_offset_only_once_every_earlier_offset_is_acked() {
        let mut book = book_with(0, 5..8);
        for receipt in 0..3 {
            book.take_next(receipt);
        }
        book.take_commits();

        assert_eq!(book.ack(2), Some(Settled::Settled), "offset 7");
        assert_eq!(book.take_commits(), [], "5 and 6 are still in flight");
        assert_eq!(book.ack(1), Some(Settled::Settled), "offset 6");
        assert_eq!(book.take_commits(), []);
        assert_eq!(book.ack(0), Some(Settled::Settled), "offset 5");
        assert_eq!(book.take_commits(), [(0, 8)], "everything through 7 is acknowledged");
    }

    #[test]
    fn buffered_and_retried_messages_hold_the_position_back() {
        let mut book = book_with(0, 0..3);
        book.take_next(10);
        book.take_next(11);
        book.requeue(10);
        book.ack(11);
        assert_eq!(book.take_commits(), [(0, 0)], "offset 0 waits for redelivery");

        let again = book.take_next(12).map(|in_flight| (in_flight.message.offset, in_flight.attempt));
        assert_eq!(again, Some((0, 2)), "redeliveries come before fresh messages, one attempt later");
        book.ack(12);
        assert_eq!(book.take_commits(), [(0, 2)], "offset 2 was fetched but never handed out");
    }

    #[test]
    fn partitions_are_tracked_apart() {
        let mut book = book_with(0, [0]);
        book.assign([1]);
        book.push_fetched(message(1, 40));
        book.take_next(1);
        book.take_next(2);
        book.take_commits();

        book.ack(2);
        assert_eq!(book.take_commits(), [(1, 41)]);
        book.ack(1);
        assert_eq!(book.take_commits(), [(0, 1)]);
    }

    #[test]
    fn offset_gaps_need_no_special_case() {
        let mut book = book_with(0, [3, 9]);
        book.take_next(1);
        book.take_next(2);
        book.take_commits();
        book.ack(1);
        assert_eq!(book.take_commits(), [(0, 9)]);
        book.ack(2);
        assert_eq!(book.take_commits(), [(0, 10)]);
    }

    #[test]
    fn refetched_and_unassigned_messages_are_dropped() {
        let mut book = book_with(0, [0, 1]);
        assert!(!book.push_fetched(message(0, 1)), "already fetched");
        assert!(!book.push_fetched(message(0, 0)), "already fetched");
        assert!(!book.push_fetched(message(3, 0)), "partition 3 is not assigned");
        assert_eq!(book.buffered(), 2);
    }

    #[test]
    fn revoking_returns_the_last_position_and_forgets_the_partition() {
        let mut book = book_with(0, 0..4);
        book.assign([1]);
        book.push_fetched(message(1, 0));
        book.take_next(1); // 0/0
        book.take_next(2); // 0/1
        book.ack(1);

        let commits = book.revoke([0]);

        assert_eq!(commits, [(0, 1)], "offset 1 is in flight, offset 0 acknowledged");
        assert_eq!(book.assigned().collect::<Vec<_>>(), [1]);
        assert_eq!(book.buffered(), 1, "only partition 1's message is left");
        assert!(book.is_revoked(2));
        assert_eq!(book.ack(2), Some(Settled::Revoked), "a late ack is accepted without effect");
        assert_eq!(book.ack(2), None, "but only once");
        assert_eq!(book.take_next(3).map(|in_flight| in_flight.message.partition), Some(1));
    }

    #[test]
    fn revoking_a_partition_drops_its_pending_redeliveries() {
        let mut book = book_with(0, [0]);
        book.take_next(1);
        book.requeue(1);
        book.revoke([0]);
        assert_eq!(book.take_next(2), None);
        assert_eq!(book.unsettled(), 0);
    }

    #[test]
    fn a_reassigned_partition_starts_afresh() {
        let mut book = book_with(0, [0, 1]);
        book.revoke([0]);
        book.assign([0]);
        assert!(book.push_fetched(message(0, 0)), "the new assignment fetches from the committed position");
    }

    #[test]
    fn receipts_are_settled_once() {
        let mut book = book_with(0, [0, 1]);
        book.take_next(1);
        book.take_next(2);
        assert_eq!(book.ack(1), Some(Settled::Settled));
        assert_eq!(book.ack(1), None);
        assert_eq!(book.requeue(1), None);
        assert_eq!(book.requeue(2), Some(Settled::Settled));
        assert_eq!(book.requeue(2), None);
        assert_eq!(book.ack(99), None);
    }

    #[test]
    fn all_positions_include_unmoved_ones() {
        let mut book = book_with(0, [0]);
        book.assign([1]);
        book.take_next(1);
        book.ack(1);
        book.take_commits();
        assert_eq!(book.all_positions(), [(0, 1)], "partition 1 fetched nothing: no position");
    }
}
