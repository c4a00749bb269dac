//! Writes raw lines into a Kafka topic, one message per line (the CDN's varnishkafka does the
//! same in production). Used by `generate --kafka` to fill a raw topic for tests and benchmarks.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};

/// Counts failed deliveries.
#[derive(Default)]
struct CountingContext {
    failed: Arc<AtomicU64>,
}

impl ClientContext for CountingContext {}

impl ProducerContext for CountingContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if result.is_err() {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A `Write` that produces every complete line as one message.
pub struct LineProducer {
    producer: BaseProducer<CountingContext>,
    topic: String,
    partial: Vec<u8>,
    failed: Arc<AtomicU64>,
    sent: u64,
}

impl LineProducer {
    /// Connects to `brokers` (idempotent producer, lz4).
    pub fn connect(brokers: &str, topic: &str) -> Result<Self, KafkaError> {
        let failed = Arc::new(AtomicU64::new(0));
        let producer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("enable.idempotence", "true")
            .set("compression.codec", "lz4")
            .set("linger.ms", "20")
            .create_with_context(CountingContext {
                failed: Arc::clone(&failed),
            })?;
        Ok(LineProducer {
            producer,
            topic: topic.to_owned(),
            partial: Vec::new(),
            failed,
            sent: 0,
        })
    }

    fn send_line(&mut self, line: &[u8]) -> io::Result<()> {
        loop {
            match self
                .producer
                .send(BaseRecord::<(), [u8]>::to(&self.topic).payload(line))
            {
                Ok(()) => {
                    self.sent += 1;
                    self.producer.poll(Duration::ZERO);
                    return Ok(());
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    self.producer.poll(Duration::from_millis(10));
                }
                Err((error, _)) => return Err(io::Error::other(error)),
            }
        }
    }

    /// Sends a last unterminated line, waits for every delivery, and returns the number of
    /// lines delivered.
    pub fn finish(mut self, timeout: Duration) -> io::Result<u64> {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.send_line(&line)?;
        }
        self.producer.flush(timeout).map_err(io::Error::other)?;
        let failed = self.failed.load(Ordering::Relaxed);
        if failed > 0 {
            return Err(io::Error::other(format!(
                "{failed} of {} lines were not delivered",
                self.sent
            )));
        }
        Ok(self.sent)
    }
}

impl Write for LineProducer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(at) = memchr::memchr(b'\n', rest) {
            let (line, tail) = rest.split_at(at);
            if self.partial.is_empty() {
                self.send_line(line)?;
            } else {
                let mut whole = std::mem::take(&mut self.partial);
                whole.extend_from_slice(line);
                self.send_line(&whole)?;
            }
            rest = tail.get(1..).unwrap_or_default();
        }
        self.partial.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
