//! Operators' view: Prometheus metrics (prometheus-client), the status page's data and the
//! readiness state. Everything is updated per batch (never per line) from the pipeline, the
//! sinks (on delivery), the sources and the Kafka clients, through [`crate::stats::Stats`].

mod families;
mod label_cap;
mod rate_history;
mod status;

pub use families::{Families, Labels, LABEL_CAP};
pub use label_cap::{LabelCap, OTHER};
pub use rate_history::{RateHistory, Series, HISTORY_SECONDS};
pub use status::{cut, describe_error, ErrorDescription, StatusBoard, StatusInputs};
