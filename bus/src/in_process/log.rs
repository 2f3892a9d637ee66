//! One topic's log and its consumer groups, as plain data: no locks, no clocks, no waiting.
//!
//! The log is modelled on a single Kafka partition. Every message gets the next offset; each consumer group
//! keeps a cursor (`next_offset`), a redelivery queue (nacked or abandoned deliveries, lowest offset first),
//! the deliveries in flight (by receipt) and the offsets acknowledged past its committed position.
//!
//! Invariant, per group: every offset in `committed..next_offset` is exactly one of acknowledged (in
//! `acked`), waiting for redelivery (in `redeliver`) or in flight; offsets at or past `next_offset` were
//! never handed out. The log keeps every message from the lowest committed position over all groups
//! (`base_offset`) to the end; messages below it were acknowledged by every group and are trimmed.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// A message kept in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredMessage {
    /// The partition key.
    pub(crate) key: String,
    /// The encoded envelope.
    pub(crate) payload: Vec<u8>,
}

/// A delivery handed to a member and not yet settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InFlight {
    /// The message's offset in the log.
    pub(crate) offset: u64,
    /// 1 on first delivery, then one more per redelivery.
    pub(crate) attempt: u32,
    /// The subscription that holds it.
    pub(crate) member: u64,
}

/// A message handed out by [`TopicLog::take_next`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HandedOut {
    /// The message's offset in the log.
    pub(crate) offset: u64,
    /// Which attempt this is.
    pub(crate) attempt: u32,
    /// The message itself.
    pub(crate) message: StoredMessage,
}

/// One consumer group's position in one topic.
#[derive(Debug)]
struct GroupState {
    /// The next offset never handed out to this group.
    next_offset: u64,
    /// Every offset below this one is acknowledged by this group.
    committed: u64,
    /// Offsets to hand out again before newer messages, with the attempt they will carry.
    redeliver: BTreeMap<u64, u32>,
    /// Deliveries in flight, by receipt.
    in_flight: HashMap<u64, InFlight>,
    /// Acknowledged offsets at or above `committed` (out-of-order acknowledgements).
    acked: BTreeSet<u64>,
}

impl GroupState {
    fn starting_at(offset: u64) -> Self {
        Self {
            next_offset: offset,
            committed: offset,
            redeliver: BTreeMap::new(),
            in_flight: HashMap::new(),
            acked: BTreeSet::new(),
        }
    }

    fn has_acked(&self, offset: u64) -> bool {
        offset < self.committed || self.acked.contains(&offset)
    }
}

/// One topic: its retained messages and the consumer groups subscribed to it.
#[derive(Debug, Default)]
pub(crate) struct TopicLog {
    /// The offset of `messages.front()`.
    base_offset: u64,
    /// Retained messages, oldest first.
    messages: VecDeque<StoredMessage>,
    /// Consumer groups by name.
    groups: HashMap<String, GroupState>,
}

impl TopicLog {
    /// The offset the next appended message will get.
    pub(crate) fn end_offset(&self) -> u64 {
        self.base_offset + self.messages.len() as u64
    }

    /// Messages retained because some group (or the first group still to come) has not acknowledged them.
    /// This is what counts against the topic's capacity.
    pub(crate) fn retained(&self) -> u64 {
        self.messages.len() as u64
    }

    /// Appends a message and returns its offset.
    pub(crate) fn append(&mut self, message: StoredMessage) -> u64 {
        let offset = self.end_offset();
        self.messages.push_back(message);
        offset
    }

    /// Creates `group` if it does not exist yet; a new group starts at the oldest retained message.
    pub(crate) fn join(&mut self, group: &str) {
        let base_offset = self.base_offset;
        self.groups.entry(group.to_owned()).or_insert_with(|| GroupState::starting_at(base_offset));
    }

    /// Hands the next message for `group` to `member` under `receipt`: redeliveries first (lowest offset
    /// first), then the next new message. `None` when the group has nothing to hand out (or does not exist).
    pub(crate) fn take_next(&mut self, group: &str, member: u64, receipt: u64) -> Option<HandedOut> {
        let end_offset = self.end_offset();
        let state = self.groups.get_mut(group)?;
        let (offset, attempt, redelivery) = if let Some((offset, attempt)) = state.redeliver.first_key_value()
        {
            (*offset, *attempt, true)
        } else if state.next_offset < end_offset {
            (state.next_offset, 1, false)
        } else {
            return None;
        };
        // Every offset at or above the group's committed position is retained, so the lookup succeeds; it
        // happens before any change so a miss could not leave the group inconsistent.
        let index = usize::try_from(offset.checked_sub(self.base_offset)?).ok()?;
        let message = self.messages.get(index)?.clone();
        if redelivery {
            state.redeliver.remove(&offset);
        } else {
            state.next_offset += 1;
        }
        state.in_flight.insert(receipt, InFlight { offset, attempt, member });
        Some(HandedOut { offset, attempt, message })
    }

    /// The delivery `receipt` of `group`, if `member` holds it.
    pub(crate) fn in_flight(&self, group: &str, member: u64, receipt: u64) -> Option<InFlight> {
        let in_flight = self.groups.get(group)?.in_flight.get(&receipt)?;
        (in_flight.member == member).then_some(*in_flight)
    }

    /// The retained message at `offset`.
    pub(crate) fn message(&self, offset: u64) -> Option<&StoredMessage> {
        let index = usize::try_from(offset.checked_sub(self.base_offset)?).ok()?;
        self.messages.get(index)
    }

    /// Acknowledges the delivery `receipt` held by `member`: the group never gets it again. Trims what
    /// every group has acknowledged. Returns how many messages were trimmed, or `None` for an unknown
    /// receipt.
    pub(crate) fn ack(&mut self, group: &str, member: u64, receipt: u64) -> Option<u64> {
        self.in_flight(group, member, receipt)?;
        let state = self.groups.get_mut(group)?;
        let in_flight = state.in_flight.remove(&receipt)?;
        state.acked.insert(in_flight.offset);
        while state.acked.remove(&state.committed) {
            state.committed += 1;
        }
        Some(self.trim())
    }

    /// Puts the delivery `receipt` held by `member` back for redelivery with `attempt + 1`, ahead of newer
    /// messages. Returns the new attempt, or `None` for an unknown receipt.
    pub(crate) fn requeue(&mut self, group: &str, member: u64, receipt: u64) -> Option<u32> {
        self.in_flight(group, member, receipt)?;
        let state = self.groups.get_mut(group)?;
        let in_flight = state.in_flight.remove(&receipt)?;
        let attempt = in_flight.attempt.saturating_add(1);
        state.redeliver.insert(in_flight.offset, attempt);
        Some(attempt)
    }

    /// Gives every delivery `member` holds in `group` back to the group, each with `attempt + 1`.
    /// Returns how many were given back.
    pub(crate) fn release_member(&mut self, group: &str, member: u64) -> usize {
        let Some(state) = self.groups.get_mut(group) else {
            return 0;
        };
        let held: Vec<u64> = state
            .in_flight
            .iter()
            .filter(|(_, in_flight)| in_flight.member == member)
            .map(|(receipt, _)| *receipt)
            .collect();
        for receipt in &held {
            if let Some(in_flight) = state.in_flight.remove(receipt) {
                state.redeliver.insert(in_flight.offset, in_flight.attempt.saturating_add(1));
            }
        }
        held.len()
    }

    /// Messages not yet acknowledged by every group subscribed to this topic (backlog plus in flight).
    /// A topic no group has joined yet counts zero: nobody is expected to work on it, which is the consumer
    /// lag a Kafka adapter reports for it too (the messages still count against capacity).
    pub(crate) fn unacknowledged(&self) -> u64 {
        if self.groups.is_empty() {
            return 0;
        }
        (self.base_offset..self.end_offset())
            .filter(|offset| self.groups.values().any(|state| !state.has_acked(*offset)))
            .count() as u64
    }

    /// Drops the messages every group has acknowledged. Returns how many were dropped.
    fn trim(&mut self) -> u64 {
        let Some(low_watermark) = self.groups.values().map(|state| state.committed).min() else {
            return 0;
        };
        let mut trimmed = 0;
        while self.base_offset < low_watermark && self.messages.pop_front().is_some() {
            self.base_offset += 1;
            trimmed += 1;
        }
        trimmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(n: u32) -> StoredMessage {
        StoredMessage { key: "k".into(), payload: n.to_string().into_bytes() }
    }

    fn log_with(n: u32) -> TopicLog {
        let mut log = TopicLog::default();
        for i in 0..n {
            log.append(message(i));
        }
        log
    }

    #[test]
    fn messages_without_a_group_are_retained_for_the_first_group() {
        let mut log = log_with(3);
        assert_eq!(log.retained(), 3);
        assert_eq!(log.unacknowledged(), 0, "no group is expected to work on them yet");

        log.join("g");
        let offsets: Vec<u64> =
            (0..3).filter_map(|receipt| log.take_next("g", 1, receipt)).map(|handed| handed.offset).collect();
        assert_eq!(offsets, [0, 1, 2]);
        assert_eq!(log.unacknowledged(), 3);
    }

    #[test]
    fn messages_are_trimmed_once_every_group_acked_them() {
        let mut log = log_with(2);
        log.join("a");
        log.join("b");
        log.take_next("a", 1, 10);
        log.take_next("b", 2, 20);

        assert_eq!(log.ack("a", 1, 10), Some(0), "group b still needs offset 0");
        assert_eq!(log.retained(), 2);
        assert_eq!(log.unacknowledged(), 2);

        assert_eq!(log.ack("b", 2, 20), Some(1));
        assert_eq!(log.retained(), 1);
        assert_eq!(log.unacknowledged(), 1);
    }

    #[test]
    fn out_of_order_acks_trim_only_up_to_the_first_gap() {
        let mut log = log_with(3);
        log.join("g");
        for receipt in 0..3 {
            log.take_next("g", 1, receipt);
        }
        assert_eq!(log.ack("g", 1, 2), Some(0));
        assert_eq!(log.ack("g", 1, 1), Some(0));
        assert_eq!(log.unacknowledged(), 1, "only offset 0 is still unacknowledged");
        assert_eq!(log.retained(), 3);
        assert_eq!(log.ack("g", 1, 0), Some(3));
        assert_eq!(log.retained(), 0);
    }

    #[test]
    fn a_late_group_starts_at_the_oldest_retained_message() {
        let mut log = log_with(3);
        log.join("early");
        log.take_next("early", 1, 0);
        log.ack("early", 1, 0);

        log.join("late");
        let first = log.take_next("late", 2, 1).map(|handed| handed.offset);
        assert_eq!(first, Some(1), "offset 0 was trimmed before the late group joined");
    }

    #[test]
    fn a_requeued_delivery_comes_back_before_newer_messages_with_the_next_attempt() {
        let mut log = log_with(3);
        log.join("g");
        log.take_next("g", 1, 0);
        log.take_next("g", 1, 1);

        assert_eq!(log.requeue("g", 1, 1), Some(2));
        assert_eq!(log.requeue("g", 1, 0), Some(2));
        let again: Vec<(u64, u32)> = (2..5)
            .filter_map(|receipt| log.take_next("g", 1, receipt))
            .map(|handed| (handed.offset, handed.attempt))
            .collect();
        assert_eq!(again, [(0, 2), (1, 2), (2, 1)]);
    }

    #[test]
    fn receipts_are_settled_only_once_and_only_by_their_holder() {
        let mut log = log_with(1);
        log.join("g");
        log.take_next("g", 1, 7);

        assert_eq!(log.ack("g", 2, 7), None, "member 2 does not hold receipt 7");
        assert_eq!(log.requeue("g", 2, 7), None);
        assert_eq!(log.ack("g", 1, 7), Some(1));
        assert_eq!(log.ack("g", 1, 7), None, "already settled");
        assert_eq!(log.requeue("g", 1, 7), None);
    }

    #[test]
    fn releasing_a_member_gives_back_only_its_deliveries() {
        let mut log = log_with(3);
        log.join("g");
        log.take_next("g", 1, 0);
        log.take_next("g", 2, 1);
        log.take_next("g", 1, 2);

        assert_eq!(log.release_member("g", 1), 2);
        assert!(log.in_flight("g", 2, 1).is_some(), "member 2 keeps its delivery");
        let again: Vec<(u64, u32)> = (3..6)
            .filter_map(|receipt| log.take_next("g", 2, receipt))
            .map(|handed| (handed.offset, handed.attempt))
            .collect();
        assert_eq!(again, [(0, 2), (2, 2)]);
    }

    #[test]
    fn take_next_returns_the_stored_message() {
        let mut log = log_with(2);
        log.join("g");
        log.take_next("g", 1, 0);
        let handed = log.take_next("g", 1, 1);
        assert_eq!(handed.map(|handed| handed.message), Some(message(1)));
        assert_eq!(log.take_next("g", 1, 2), None, "nothing left");
        assert_eq!(log.message(1), Some(&message(1)));
    }
}
