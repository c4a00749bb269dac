//! Pure, I/O-free parsing code of beacon-processor.
//!
//! Everything that turns bytes into values lives here: the EventLogging line-format language and
//! its matcher, QSON (query-string JSON) decoding, JSON parsing, timestamp normalisation, the
//! capsule uuid, user-agent parsing and capsule building. No tokio, no files, no sockets: the
//! caller hands in text and gets values or typed errors back, so every function here can be
//! unit-, property- and fuzz-tested in isolation.

pub mod capsule;
pub mod datetime;
pub mod format;
pub mod json;
pub mod json_writer;
pub mod python;
pub mod qson;
pub mod scid;
pub mod useragent;
pub mod utf8;
pub mod uuid5;
