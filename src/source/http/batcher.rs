//! Coalesces what concurrent requests bring into pipeline batches: the events of all requests
//! waiting at that moment (up to the batch size) travel as one batch, which the workers process
//! request by request and the sink delivers and acknowledges once, for all of them. At one event
//! per request, a batch per request would cost the pipeline's hand-offs (queue, worker, sink,
//! flush, acknowledgement) for every event; under load they are shared instead. A lone request
//! is sent at once: nothing waits for company.
//!
//! Event requests and legacy beacon lines are not mixed in a batch: a batch holds either
//! requests' events (with their facts) or plain lines.

use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::mpsc;

use crate::ack::{AckReceiver, BatchPosition};
use crate::intake_request::IntakeRequest;
use crate::source::SourceContext;

/// What one request brings.
pub struct Pending {
    /// Its events (compact JSON) or its one beacon line.
    pub lines: Vec<Vec<u8>>,
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

/// Requests that may wait for the batcher; beyond, handlers wait (backpressure).
const QUEUE: usize = 1024;

/// Starts the batcher thread sending into `ctx`'s pipeline, batches of up to `max_lines`
/// lines. It ends when every sender is dropped (or the pipeline is gone).
pub fn start(
    ctx: SourceContext,
    max_lines: usize,
) -> std::io::Result<(mpsc::Sender<Pending>, JoinHandle<()>)> {
    let (tx, mut rx) = mpsc::channel::<Pending>(QUEUE);
    let thread = std::thread::Builder::new()
        .name("http-batcher".into())
        .spawn(move || {
            let mut next = rx.blocking_recv();
            while let Some(first) = next.take() {
                let events = first.request.is_some();
                let mut lines = first.lines.len();
                let mut group = vec![first];
                while lines < max_lines {
                    match rx.try_recv() {
                        Ok(pending) if pending.request.is_some() == events => {
                            lines += pending.lines.len();
                            group.push(pending);
                        }
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                if !send(&ctx, group, lines) {
                    // The pipeline is gone: dropping what waits tells its handlers.
                    break;
                }
                if next.is_none() {
                    next = rx.blocking_recv();
                }
            }
        })?;
    Ok((tx, thread))
}

/// Sends `group` as one batch; `false` if the pipeline no longer accepts input.
fn send(ctx: &SourceContext, group: Vec<Pending>, lines: usize) -> bool {
    let mut builder = ctx.new_builder();
    let mut requests = Vec::new();
    let mut acks = Vec::with_capacity(group.len());
    for pending in group {
        for line in &pending.lines {
            builder.push_line(line, None);
        }
        if let Some(request) = pending.request {
            requests.push((request, pending.lines.len()));
        }
        acks.push(pending.ack);
    }
    let receiver: Arc<dyn AckReceiver> = if acks.len() == 1 {
        acks.pop().unwrap_or_else(|| Arc::new(Acks(Vec::new())))
    } else {
        Arc::new(Acks(acks))
    };
    let position = BatchPosition {
        stream: 0,
        start: 0,
        end: lines as u64,
        lines: lines as u64,
    };
    let mut batch = builder.finish(Arc::clone(&ctx.name), receiver, position);
    batch.set_requests(requests);
    ctx.send(batch).is_ok()
}
