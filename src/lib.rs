//! beacon-processor: turns CDN beacon log lines into validated EventLogging events.
//!
//! Data flows one way: source -> parse -> enrich -> validate -> route -> sink, and delivery
//! acknowledgements flow back from the sinks to the sources so that checkpoints and offsets only
//! move after delivery.
//!
//! - [`source`]: stdin, files read once, files followed; cut into [`source::LineBatch`]es.
//! - [`processor`]: the per-line function (parse, enrich, validate, route) on worker threads.
//! - [`schema`]: where schema documents come from (sources, registry, caches);
//!   [`validation`]: the validators compiled from them.
//! - [`sink`]: directory (one JSON-lines file per topic) and stdout.
//! - [`pipeline`]: the threads and bounded queues between them; [`ack`]: acknowledgements.

pub mod ack;
pub mod app;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod error_event;
pub mod event_platform;
pub mod generate;
pub mod http;
pub mod input_order;
pub mod intake_request;
pub mod json_kind;
pub mod kafka;
pub mod logging;
pub mod metrics;
pub mod pipeline;
pub mod processor;
pub mod record;
pub mod reload;
pub mod route;
pub mod schema;
pub mod sink;
pub mod source;
pub mod stats;
pub mod streams;
pub mod topic;
pub mod validation;
