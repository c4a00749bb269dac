//! What remote lookups share, possibly between an old and a new registry (reload): the HTTP
//! client with its cache of fetched documents, and the background thread pool.

use super::fetch_pool::FetchPool;
use super::http_fetch::{HttpFetchSettings, HttpSchemaFetcher};
use crate::schema::settings::SchemaRegistrySettings;

/// Everything about remote fetches that does not depend on which sources are configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RemoteFetcherSettings {
    pub(crate) http: HttpFetchSettings,
    pub(crate) threads: usize,
    pub(crate) queue: usize,
}

impl RemoteFetcherSettings {
    pub(crate) fn from_registry_settings(settings: &SchemaRegistrySettings) -> Self {
        Self {
            http: HttpFetchSettings {
                connect_timeout: settings.connect_timeout,
                total_timeout: settings.fetch_timeout,
                max_body_bytes: settings.max_schema_bytes,
                user_agent: settings.user_agent.clone(),
                use_environment_proxy: settings.use_environment_proxy,
            },
            threads: settings.fetch_threads,
            queue: settings.fetch_queue,
        }
    }
}

/// HTTP client + document cache + background pool.
pub(crate) struct RemoteFetcher {
    pub(crate) settings: RemoteFetcherSettings,
    pub(crate) http: HttpSchemaFetcher,
    pub(crate) pool: FetchPool,
}

impl RemoteFetcher {
    /// Builds the client and an idle pool (no thread, no connection).
    pub(crate) fn new(settings: RemoteFetcherSettings) -> Self {
        Self {
            http: HttpSchemaFetcher::new(settings.http.clone()),
            pool: FetchPool::new(settings.threads, settings.queue),
            settings,
        }
    }
}
