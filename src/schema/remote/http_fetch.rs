//! Blocking HTTP(S) fetches of schema documents, with a cache of the documents fetched.
//!
//! One `GET` per URL, with a connect timeout and a total timeout (DNS, connect, TLS, headers
//! and body), a size limit on the body, and no status-as-error magic: 2xx is a document,
//! 400/404/410 mean "not here", anything else is a failure. Successful documents are cached
//! forever by URL (schema versions are immutable), so a new registry built on reload that
//! shares this fetcher does not fetch them again. Failures are not cached here: the registry
//! keeps a negative cache with a TTL per lookup.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use serde_json::Value;

use crate::schema::document::{parse_schema_document, DocumentSyntax};
use crate::schema::error::SchemaSourceError;

/// HTTP client settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpFetchSettings {
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Total timeout of one request, body included.
    pub total_timeout: Duration,
    /// Largest body accepted, in bytes.
    pub max_body_bytes: u64,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Whether `HTTP(S)_PROXY`/`ALL_PROXY`/`NO_PROXY` from the environment apply.
    pub use_environment_proxy: bool,
}

/// The answer of a server to one schema `GET`.
#[derive(Debug, Clone, PartialEq)]
pub enum HttpFetched {
    /// A schema document (from the server or the cache).
    Document(Arc<Value>),
    /// The server says it does not have it (HTTP 400, 404 or 410).
    Missing {
        /// The HTTP status.
        status: u16,
    },
}

/// Fetches schema documents over HTTP(S) and caches the ones found.
pub struct HttpSchemaFetcher {
    agent: ureq::Agent,
    settings: HttpFetchSettings,
    documents: RwLock<HashMap<String, Arc<Value>>>,
}

impl HttpSchemaFetcher {
    /// A fetcher with `settings`; opens no connection.
    pub fn new(settings: HttpFetchSettings) -> Self {
        let mut config = ureq::Agent::config_builder()
            .timeout_connect(Some(settings.connect_timeout))
            .timeout_global(Some(settings.total_timeout))
            .http_status_as_error(false)
            .user_agent(settings.user_agent.as_str());
        if !settings.use_environment_proxy {
            config = config.proxy(None);
        }
        Self {
            agent: ureq::Agent::new_with_config(config.build()),
            settings,
            documents: RwLock::new(HashMap::new()),
        }
    }

    /// The settings this fetcher was built with.
    pub fn settings(&self) -> &HttpFetchSettings {
        &self.settings
    }

    /// Number of documents cached.
    pub fn cached_count(&self) -> usize {
        self.documents
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// The cached document of `url`, if it was fetched before.
    pub fn cached(&self, url: &str) -> Option<Arc<Value>> {
        self.documents
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(url)
            .map(Arc::clone)
    }

    /// The document at `url`: from the cache, or fetched (blocking, bounded by the timeouts)
    /// and cached. Errors are `Schema fetch from <url> failed: <reason>`.
    pub fn fetch(&self, url: &str) -> Result<HttpFetched, SchemaSourceError> {
        if let Some(document) = self.cached(url) {
            return Ok(HttpFetched::Document(document));
        }
        let unreachable = |reason: String| SchemaSourceError::Unreachable {
            location: url.to_owned(),
            reason,
        };
        let mut response = self
            .agent
            .get(url)
            .header(
                "Accept",
                "application/json, application/yaml;q=0.9, text/yaml;q=0.9, */*;q=0.1",
            )
            .call()
            .map_err(|error| unreachable(error.to_string()))?;
        let status = response.status().as_u16();
        match status {
            200..=299 => {}
            400 | 404 | 410 => return Ok(HttpFetched::Missing { status }),
            _ => return Err(unreachable(format!("HTTP {status}"))),
        }
        let bytes = response
            .body_mut()
            .with_config()
            .limit(self.settings.max_body_bytes)
            .read_to_vec()
            .map_err(|error| unreachable(format!("reading the body: {error}")))?;
        let document = parse_schema_document(bytes, DocumentSyntax::Unknown).map_err(|reason| {
            SchemaSourceError::Malformed {
                location: url.to_owned(),
                reason,
            }
        })?;
        let document = Arc::new(document);
        let mut documents = self
            .documents
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let cached = documents
            .entry(url.to_owned())
            .or_insert_with(|| Arc::clone(&document));
        Ok(HttpFetched::Document(Arc::clone(cached)))
    }
}

impl std::fmt::Debug for HttpSchemaFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSchemaFetcher")
            .field("settings", &self.settings)
            .field("cached", &self.cached_count())
            .finish_non_exhaustive()
    }
}
