//! What a source and a transactional Kafka sink share in exactly-once delivery.
//!
//! - Kafka source: the consumer group's current metadata, which the sink passes with the input
//!   offsets into each transaction (`send_offsets_to_transaction`), so that the broker refuses
//!   the offsets of an instance that is no longer the group member it was (a zombie); and a way
//!   for the source to forbid any further commit when it gave partitions up without their
//!   offsets committed.
//! - File source: the checkpoint the sink read back from its checkpoint topic at start (the last
//!   one committed with records), from which the tailer resumes.

use std::sync::{Mutex, MutexGuard, PoisonError};

use rdkafka::consumer::ConsumerGroupMetadata;

/// Shared between the Kafka source (which writes) and the transactional sink (which reads).
#[derive(Default)]
pub struct TransactionLink {
    state: Mutex<LinkState>,
}

#[derive(Default)]
struct LinkState {
    group: Option<ConsumerGroupMetadata>,
    abandoned: Option<String>,
    committed_checkpoint: Option<Vec<u8>>,
}

impl TransactionLink {
    /// Records the consumer's current group metadata (after joining and after every rebalance).
    pub fn set_group_metadata(&self, group: Option<ConsumerGroupMetadata>) {
        if group.is_some() {
            self.lock().group = group;
        }
    }

    /// Calls `commit` with the group metadata, or returns `Err` with the reason no offset may be
    /// committed: none is known yet, or the source gave up partitions whose offsets were not
    /// committed (another instance reads them now: committing ours would repeat or skip lines).
    pub fn with_group_metadata<T>(
        &self,
        commit: impl FnOnce(&ConsumerGroupMetadata) -> T,
    ) -> Result<T, String> {
        let state = self.lock();
        if let Some(why) = &state.abandoned {
            return Err(why.clone());
        }
        match &state.group {
            Some(group) => Ok(commit(group)),
            None => Err("the consumer has not joined its group yet".to_owned()),
        }
    }

    /// Records the file checkpoint last committed in the checkpoint topic (sink, at start).
    pub fn set_committed_checkpoint(&self, checkpoint: Option<Vec<u8>>) {
        self.lock().committed_checkpoint = checkpoint;
    }

    /// The file checkpoint last committed in the checkpoint topic, if any (source, at start).
    pub fn committed_checkpoint(&self) -> Option<Vec<u8>> {
        self.lock().committed_checkpoint.clone()
    }

    /// Forbids every further offset commit, saying why.
    pub fn abandon(&self, why: String) {
        let mut state = self.lock();
        if state.abandoned.is_none() {
            state.abandoned = Some(why);
        }
    }

    /// Why commits are forbidden, if they are.
    pub fn abandoned(&self) -> Option<String> {
        self.lock().abandoned.clone()
    }

    fn lock(&self) -> MutexGuard<'_, LinkState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for TransactionLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("TransactionLink")
            .field("joined", &state.group.is_some())
            .field("abandoned", &state.abandoned)
            .finish()
    }
}
