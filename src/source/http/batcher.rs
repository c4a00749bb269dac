//! Coalesces what concurrent requests bring into pipeline batches: the events of all requests
//! waiting at that moment (up to the batch size) travel as one batch, which the workers process
//! request by request and the sink delivers and acknowledges once, for all of them. At one event
//! per request, a batch per request would cost the pipeline's hand-offs (queue, worker, sink,
//! flush, acknowledgement) for every event; under load they are shared instead.
//!
//! It runs on the intake's own runtime, without a thread of its own: a request's handler queues
//! what it brings, and the first one to find no flush scheduled spawns a flush task, which
//! yields once, so that every handler ready in the same round of the runtime queues its events
//! first, then sends all of them. (A batcher thread between the runtime and the pipeline cost a
//! thread wake-up per batch: measured in docs/BENCHMARKS.md.) A lone request is sent at the end
//! of its round: nothing waits for company.
//!
//! Event requests and legacy beacon lines are not mixed in a batch: a batch holds either
//! requests' events (with their facts) or plain lines.

use std::sync::{Arc, Mutex};

use crate::ack::{AckReceiver, BatchPosition};
use crate::intake_request::IntakeRequest;
use crate::source::batch::BatchBuilder;
use crate::source::SourceContext;

/// What one request brings.
pub struct Pending {
    /// Its events (compact JSON) or its one beacon line.
    pub lines: BatchBuilder,
    /// The request's facts, for events; `None` for beacon lines.
    pub request: Option<Arc<IntakeRequest>>,
    /// Told when the request's lines are delivered.
    pub ack: Arc<dyn AckReceiver>,
}

/// Acknowledges every request of a batch.
struct Acks(Vec<Arc<dyn AckReceiver>>);

impl AckReceiver for Acks {
    fn acknowledge(&self, position: BatchPosition) {
        for ack in &self.0 {
            ack.acknowledge(position);
        }
    }
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Pending>,
    /// A flush task is scheduled or running: it will take what is queued.
    flushing: bool,
    /// The pipeline no longer takes input.
    closed: bool,
}

/// The requests waiting to be sent, and the pipeline they go to.
pub struct Batcher {
    ctx: SourceContext,
    max_lines: usize,
    queue: Mutex<Queue>,
}

impl Batcher {
    /// A batcher sending into `ctx`'s pipeline, batches of up to `max_lines` lines.
    pub fn new(ctx: SourceContext, max_lines: usize) -> Arc<Self> {
        Arc::new(Batcher {
            ctx,
            max_lines: max_lines.max(1),
            queue: Mutex::new(Queue::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues what a request brings; `false` (and `pending` dropped, which tells its handler)
    /// when the pipeline no longer takes input. Must be called on the intake's runtime.
    pub fn submit(self: &Arc<Self>, pending: Pending) -> bool {
        let mut queue = self.lock();
        if queue.closed {
            return false;
        }
        queue.waiting.push(pending);
        if !queue.flushing {
            queue.flushing = true;
            let batcher = Arc::clone(self);
            tokio::spawn(async move {
                // Let the other handlers of this round queue theirs first. (Waiting longer, 1 or
                // 2 ms, for more company cut throughput by two thirds and saved no CPU.)
                tokio::task::yield_now().await;
                batcher.flush();
            });
        }
        true
    }

    /// Sends what is still queued when the server has stopped (a flush task the stopping
    /// runtime dropped before it ran).
    pub fn flush_remaining(&self) {
        self.flush();
    }

    /// Sends everything queued, in batches, until the queue is empty.
    fn flush(&self) {
        loop {
            let group = {
                let mut queue = self.lock();
                if queue.waiting.is_empty() || queue.closed {
                    queue.flushing = false;
                    return;
                }
                take_group(&mut queue.waiting, self.max_lines)
            };
            let lines = group.iter().map(|p| p.lines.len()).sum();
            if !send(&self.ctx, group, lines) {
                // The pipeline is gone: dropping what waits tells its handlers.
                let mut queue = self.lock();
                queue.closed = true;
                queue.flushing = false;
                queue.waiting.clear();
                return;
            }
        }
    }
}

/// The first requests of `waiting` that make one batch: up to `max_lines` lines (at least one
/// request), all event requests or all beacon lines.
fn take_group(waiting: &mut Vec<Pending>, max_lines: usize) -> Vec<Pending> {
    let events = waiting.first().is_some_and(|p| p.request.is_some());
    let mut lines = 0;
    let mut count = 0;
    for pending in waiting.iter() {
        if pending.request.is_some() != events
            || (count > 0 && lines + pending.lines.len() > max_lines)
        {
            break;
        }
        lines += pending.lines.len();
        count += 1;
    }
    let rest = waiting.split_off(count);
    std::mem::replace(waiting, rest)
}

/// Sends `group` as one batch; `false` if the pipeline no longer accepts input.
fn send(ctx: &SourceContext, group: Vec<Pending>, lines: usize) -> bool {
    let mut builder = ctx.new_builder();
    let mut requests = Vec::new();
    let mut acks = Vec::with_capacity(group.len() + 1);
    for pending in group {
        builder.append(&pending.lines);
        if let Some(request) = pending.request {
            requests.push((request, pending.lines.len()));
        }
        acks.push(pending.ack);
    }
    // The source's tracker counts the delivered lines, as for the other sources.
    let tracker: Arc<dyn AckReceiver> = ctx.tracker.clone();
    acks.push(tracker);
    let receiver: Arc<dyn AckReceiver> = Arc::new(Acks(acks));
    let position = BatchPosition {
        stream: 0,
        start: 0,
        end: lines as u64,
        lines: lines as u64,
    };
    let mut batch = builder.finish(Arc::clone(&ctx.name), receiver, position);
    batch.set_requests(requests);
    // A full pipeline: wait for room without stopping the runtime's other requests.
    ctx.send_or_wait(batch, |batch| {
        tokio::task::block_in_place(|| ctx.send_blocking(batch))
    })
    .is_ok()
}
