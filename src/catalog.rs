//! The reloadable part of the configuration: schema sources and stream configuration.
//!
//! Workers take a [`CatalogSnapshot`] per batch (one `Arc` clone); a reload (SIGHUP, or a
//! periodic TTL) builds a complete new snapshot and swaps it in atomically. A snapshot that fails
//! to build is rejected with its problems and the old one keeps serving.

use std::sync::{Arc, PoisonError, RwLock};

use crate::schema::SchemaRegistry;
use crate::streams::StreamConfigs;

/// Schemas and streams, as of one (re)load.
pub struct CatalogSnapshot {
    /// All schema sources and compiled validators.
    pub registry: Arc<SchemaRegistry>,
    /// Stream configuration, if configured (without one, any `$schema` may go to any stream).
    pub streams: Option<Arc<StreamConfigs>>,
}

/// The current snapshot, replaceable while workers run.
pub struct Catalog {
    current: RwLock<Arc<CatalogSnapshot>>,
}

impl Catalog {
    /// A catalog serving `snapshot`.
    pub fn new(snapshot: CatalogSnapshot) -> Self {
        Catalog {
            current: RwLock::new(Arc::new(snapshot)),
        }
    }

    /// The snapshot to use now.
    pub fn snapshot(&self) -> Arc<CatalogSnapshot> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Serves `snapshot` from now on; batches already running finish with the old one.
    pub fn replace(&self, snapshot: CatalogSnapshot) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(snapshot);
    }
}
