//! The schema registry: one set of schema sources consulted in configuration order, compiled
//! schemas cached for the life of the registry, and the entry point of the pipeline for both
//! generations of events.
//!
//! - Legacy EventLogging: (name, revision) → [`LegacyValidator`] (draft 3 via draft 4), from
//!   local legacy directories, in-memory sources or a remote API (URL template).
//! - Event Platform: `$schema` URI → [`EventSchema`] (draft-07/draft-04), from local schema
//!   repositories, remote base URIs, or an absolute URL on an allowed host.
//!
//! Caching: a compiled schema is kept forever (schema versions are immutable), Event Platform
//! schemas by the URI string the event used *and* by their `$id`. A failed lookup (not found,
//! fetch failed, unusable document) is remembered for `negative_cache_ttl`, so an unknown
//! revision costs one search (one request per remote source) per TTL, not one per event.
//! Remote documents are also cached by URL in the remote fetcher, which a reloaded registry can
//! share ([`from_settings_sharing`](SchemaRegistry::from_settings_sharing)).
//!
//! Non-blocking use: [`poll_event_schema`](SchemaRegistry::poll_event_schema) and
//! [`poll_legacy_validator`](SchemaRegistry::poll_legacy_validator) never wait for the network.
//! Local sources are asked inline; as soon as a lookup reaches a remote source, the rest of it
//! (remote and later local sources, in order, then compilation) runs on a background fetch
//! thread and the caller gets [`SchemaPoll::Pending`] with a [`FetchTicket`]. Concurrent
//! lookups of the same schema share one fetch. The blocking methods are built on the same
//! machinery.
//!
//! Hot path: for an already-compiled schema a lookup takes one read lock, finds the entry by
//! `&str` (and `i64`) without allocating, and clones an `Arc`.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use serde_json::{Map, Value};

use super::ep_repository::EventPlatformRepository;
use super::error::{
    CapsuleValidationError, SchemaLookupError, SchemaSourceError, SchemaSubject, ScidError,
};
use super::fetch_ticket::{FetchTicket, Flight, SchemaPoll};
use super::legacy_dir::LegacyDirSource;
use super::pending::{PendingLookups, PendingState, Start};
use super::ref_retriever::SourceRetriever;
use super::remote::fetch_pool::{Job, SubmitError};
use super::remote::remote_fetcher::{RemoteFetcher, RemoteFetcherSettings};
use super::schema_uri::{
    classify_schema_uri, without_query, HostAllowlist, SchemaPath, SchemaUriTarget,
};
use super::scid::extract_legacy_scid;
use super::settings::{
    check_extension, check_http_url, SchemaRegistrySettings, SchemaSettingsError,
    SchemaSettingsProblem, SchemaSourceSettings,
};
use super::source::LegacySchemaSource;
use super::source_chain::{
    EventHttpSource, Found, LegacyHttpSource, Query, SourceChain, SourceEntry, Step, Trail,
};
use crate::validation::draft3::DRAFT4_SCHEMA_URI;
use crate::validation::legacy_validator::{self, LegacyValidator};
use crate::validation::EventSchema;

/// Compiled validators by schema name, then revision.
type CompiledValidators = HashMap<String, HashMap<i64, Arc<LegacyValidator>>>;

/// Key of a legacy lookup in the negative cache and the in-flight table.
type LegacyKey = (String, i64);

/// Schema sources plus caches of compiled schemas; shared by all worker threads.
pub struct SchemaRegistry {
    shared: Arc<Shared>,
}

/// Schema lookups answered from the compiled caches, process-wide (every registry, across
/// reloads), for the `beacon_schema_cache_requests_total{result="hit"}` metric.
static CACHE_HITS: AtomicU64 = AtomicU64::new(0);
/// Schema lookups that had to load, fetch or fail (`result="miss"`).
static CACHE_MISSES: AtomicU64 = AtomicU64::new(0);

/// (hits, misses) of schema lookups since the process started.
pub fn schema_cache_counts() -> (u64, u64) {
    (
        CACHE_HITS.load(Ordering::Relaxed),
        CACHE_MISSES.load(Ordering::Relaxed),
    )
}

/// Counts `hits` schema lookups that a caller answered from its own short-lived copy of what
/// this registry gave it (e.g. a worker's per-batch memo), so that the metric still counts
/// every lookup.
pub fn count_memoised_cache_hits(hits: u64) {
    if hits > 0 {
        CACHE_HITS.fetch_add(hits, Ordering::Relaxed);
    }
}

/// The registry's state, shared with its background lookups.
struct Shared {
    chain: Arc<SourceChain>,
    allowlist: HostAllowlist,
    events: RwLock<HashMap<String, Arc<EventSchema>>>,
    legacy: RwLock<CompiledValidators>,
    event_lookups: PendingLookups<String, EventSchema>,
    legacy_lookups: PendingLookups<LegacyKey, LegacyValidator>,
}

/// Internal outcome of a non-blocking lookup.
enum Polled<T> {
    Ready(Arc<T>),
    Pending(Arc<Flight<T>>),
    Failed(SchemaLookupError),
}

impl<T: Send + Sync + 'static> Polled<T> {
    fn into_poll(self) -> SchemaPoll<Arc<T>> {
        match self {
            Self::Ready(value) => SchemaPoll::Ready(value),
            Self::Pending(flight) => SchemaPoll::Pending(FetchTicket::new(flight)),
            Self::Failed(error) => SchemaPoll::Failed(error),
        }
    }

    fn into_result(self) -> Result<Arc<T>, SchemaLookupError> {
        match self {
            Self::Ready(value) => Ok(value),
            Self::Pending(flight) => flight.wait_result(),
            Self::Failed(error) => Err(error),
        }
    }
}

impl SchemaRegistry {
    /// A registry searching the legacy `sources` in order (the first source that has a SCID
    /// wins), with default settings for everything else (no Event Platform source).
    pub fn new(sources: Vec<Box<dyn LegacySchemaSource>>) -> Self {
        let settings = SchemaRegistrySettings::default();
        let remote = Arc::new(RemoteFetcher::new(
            RemoteFetcherSettings::from_registry_settings(&settings),
        ));
        let entries = sources.into_iter().map(SourceEntry::Legacy).collect();
        Self::assemble(&settings, entries, HostAllowlist::default(), remote)
    }

    /// A registry built from `settings`: loads the legacy directories (every file), opens the
    /// Event Platform repositories (no file is read) and checks every other setting. Starts no
    /// thread and opens no connection, so it is cheap to call again on reload. Fails listing
    /// every problem.
    pub fn from_settings(settings: &SchemaRegistrySettings) -> Result<Self, SchemaSettingsError> {
        let remote = Arc::new(RemoteFetcher::new(
            RemoteFetcherSettings::from_registry_settings(settings),
        ));
        Self::build(settings, remote)
    }

    /// Like [`from_settings`](Self::from_settings), sharing `previous`'s remote fetcher
    /// (documents already fetched, background threads) when the remote-fetch settings are
    /// unchanged: a reload then fetches nothing again.
    pub fn from_settings_sharing(
        settings: &SchemaRegistrySettings,
        previous: &SchemaRegistry,
    ) -> Result<Self, SchemaSettingsError> {
        let wanted = RemoteFetcherSettings::from_registry_settings(settings);
        let current = previous.shared.chain.remote();
        let remote = if current.settings == wanted {
            Arc::clone(current)
        } else {
            Arc::new(RemoteFetcher::new(wanted))
        };
        Self::build(settings, remote)
    }

    fn build(
        settings: &SchemaRegistrySettings,
        remote: Arc<RemoteFetcher>,
    ) -> Result<Self, SchemaSettingsError> {
        let mut problems = Vec::new();
        let mut problem = |setting: String, message: String| {
            problems.push(SchemaSettingsProblem { setting, message });
        };
        let mut entries = Vec::with_capacity(settings.sources.len());
        for (index, source) in settings.sources.iter().enumerate() {
            match source_entry(source) {
                Ok(entry) => entries.push(entry),
                Err(message) => problem(format!("sources[{index}]"), message),
            }
        }
        let allowlist = HostAllowlist::new(&settings.allowed_schema_hosts).unwrap_or_else(|e| {
            problem("allowed_schema_hosts".to_owned(), e);
            HostAllowlist::default()
        });
        if let Some(extension) = &settings.schema_file_extension {
            if let Err(message) = check_extension(extension) {
                problem("schema_file_extension".to_owned(), message);
            }
        }
        for (setting, zero) in [
            ("connect_timeout", settings.connect_timeout.is_zero()),
            ("fetch_timeout", settings.fetch_timeout.is_zero()),
            ("fetch_threads", settings.fetch_threads == 0),
            ("fetch_queue", settings.fetch_queue == 0),
            ("max_schema_bytes", settings.max_schema_bytes == 0),
        ] {
            if zero {
                problem(setting.to_owned(), "must be positive".to_owned());
            }
        }
        if !problems.is_empty() {
            return Err(SchemaSettingsError { problems });
        }
        Ok(Self::assemble(settings, entries, allowlist, remote))
    }

    fn assemble(
        settings: &SchemaRegistrySettings,
        entries: Vec<SourceEntry>,
        allowlist: HostAllowlist,
        remote: Arc<RemoteFetcher>,
    ) -> Self {
        let ttl = settings.negative_cache_ttl;
        let capacity = settings.negative_cache_capacity;
        Self {
            shared: Arc::new(Shared {
                chain: Arc::new(SourceChain::new(
                    entries,
                    remote,
                    settings.schema_file_extension.clone(),
                )),
                allowlist,
                events: RwLock::new(HashMap::new()),
                legacy: RwLock::new(HashMap::new()),
                event_lookups: PendingLookups::new(ttl, capacity),
                legacy_lookups: PendingLookups::new(ttl, capacity),
            }),
        }
    }

    /// Description of every source, in search order.
    pub fn source_descriptions(&self) -> Vec<String> {
        self.shared.chain.descriptions()
    }

    /// Number of legacy validators compiled so far.
    pub fn compiled_count(&self) -> usize {
        self.shared
            .legacy
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(HashMap::len)
            .sum()
    }

    /// Number of Event Platform cache entries (one per `$schema` string looked up, plus one per
    /// `$id` when it differs).
    pub fn event_schema_cache_len(&self) -> usize {
        self.shared
            .events
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Number of failed lookups currently remembered (legacy and Event Platform).
    pub fn negative_cache_len(&self) -> usize {
        self.shared.event_lookups.failure_count() + self.shared.legacy_lookups.failure_count()
    }

    /// Number of lookups running in the background.
    pub fn lookups_in_flight(&self) -> usize {
        self.shared.event_lookups.in_flight_count() + self.shared.legacy_lookups.in_flight_count()
    }

    /// Number of background fetch threads started so far (none until the first remote
    /// lookup; shared with registries built with
    /// [`from_settings_sharing`](Self::from_settings_sharing)).
    pub fn fetch_threads_started(&self) -> usize {
        self.shared.chain.remote().pool.started_threads()
    }

    /// Number of remote documents cached by URL (shared with registries built with
    /// [`from_settings_sharing`](Self::from_settings_sharing)).
    pub fn remote_document_count(&self) -> usize {
        self.shared.chain.remote().http.cached_count()
    }

    // ---------------------------------------------------------------- Event Platform

    /// The compiled schema of an event's `$schema` URI, blocking until remote sources have
    /// answered (each request is bounded by the fetch timeout).
    pub fn event_schema(&self, schema_uri: &str) -> Result<Arc<EventSchema>, SchemaLookupError> {
        self.poll_event(schema_uri).into_result()
    }

    /// The compiled schema of an event's `$schema` URI without waiting for the network:
    /// `Ready`, `Failed`, or `Pending` while a remote lookup runs in the background.
    pub fn poll_event_schema(&self, schema_uri: &str) -> SchemaPoll<Arc<EventSchema>> {
        self.poll_event(schema_uri).into_poll()
    }

    fn poll_event(&self, as_sent: &str) -> Polled<EventSchema> {
        let uri = without_query(as_sent);
        if let Some(schema) = self.shared.cached_event(uri) {
            CACHE_HITS.fetch_add(1, Ordering::Relaxed);
            return Polled::Ready(schema);
        }
        CACHE_MISSES.fetch_add(1, Ordering::Relaxed);
        let key = uri.to_owned();
        match self.shared.event_lookups.state(&key) {
            PendingState::Failed(error) => return Polled::Failed(error),
            PendingState::InFlight(flight) => return Polled::Pending(flight),
            PendingState::Unknown => {}
        }
        let subject = SchemaSubject::EventPlatform { uri: key.clone() };
        let path = match classify_schema_uri(uri, &self.shared.allowlist) {
            Ok(SchemaUriTarget::Path(path)) => path,
            Ok(SchemaUriTarget::Absolute(url)) => {
                return self.start_event_lookup(key, subject, RemoteStart::Url(url));
            }
            Err(reason) => {
                // Named as the event spelled it, query included.
                let uri = as_sent.to_owned();
                return Polled::Failed(SchemaLookupError::Refused { uri, reason });
            }
        };
        let mut trail = Trail::default();
        match self
            .shared
            .chain
            .walk(Query::Event(&path), 0, false, &mut trail)
        {
            Step::Found(found) => {
                let result = self.shared.compile_event(&key, found);
                if let Err(error) = &result {
                    self.shared.event_lookups.record_failure(key, error.clone());
                }
                Polled::from_result(result)
            }
            Step::Exhausted => {
                let error = trail.into_error(subject);
                self.shared.event_lookups.record_failure(key, error.clone());
                Polled::Failed(error)
            }
            Step::NeedsRemote(from) => {
                self.start_event_lookup(key, subject, RemoteStart::Chain { path, from, trail })
            }
        }
    }

    fn start_event_lookup(
        &self,
        key: String,
        subject: SchemaSubject,
        start: RemoteStart,
    ) -> Polled<EventSchema> {
        let uri = key.clone();
        let cache_key = key.clone();
        self.start_background(
            |shared| &shared.event_lookups,
            key,
            subject.clone(),
            |shared| shared.cached_event(&cache_key),
            move |shared| {
                let found = start.run(&shared.chain, subject)?;
                shared.compile_event(&uri, found)
            },
        )
    }

    // ---------------------------------------------------------------- legacy

    /// The validator of `name` at `revision`, blocking until remote sources have answered.
    pub fn legacy_validator(
        &self,
        name: &str,
        revision: i64,
    ) -> Result<Arc<LegacyValidator>, SchemaLookupError> {
        self.poll_legacy(name, revision).into_result()
    }

    /// The validator of `name` at `revision` without waiting for the network.
    pub fn poll_legacy_validator(
        &self,
        name: &str,
        revision: i64,
    ) -> SchemaPoll<Arc<LegacyValidator>> {
        self.poll_legacy(name, revision).into_poll()
    }

    fn poll_legacy(&self, name: &str, revision: i64) -> Polled<LegacyValidator> {
        if let Some(validator) = self.shared.cached_legacy(name, revision) {
            CACHE_HITS.fetch_add(1, Ordering::Relaxed);
            return Polled::Ready(validator);
        }
        CACHE_MISSES.fetch_add(1, Ordering::Relaxed);
        let key = (name.to_owned(), revision);
        match self.shared.legacy_lookups.state(&key) {
            PendingState::Failed(error) => return Polled::Failed(error),
            PendingState::InFlight(flight) => return Polled::Pending(flight),
            PendingState::Unknown => {}
        }
        let subject = SchemaSubject::Legacy {
            name: name.to_owned(),
            revision,
        };
        let mut trail = Trail::default();
        let query = Query::Legacy { name, revision };
        match self.shared.chain.walk(query, 0, false, &mut trail) {
            Step::Found(found) => {
                let result = self.shared.compile_legacy(name, revision, found);
                if let Err(error) = &result {
                    self.shared
                        .legacy_lookups
                        .record_failure(key, error.clone());
                }
                Polled::from_result(result)
            }
            Step::Exhausted => {
                let error = trail.into_error(subject);
                self.shared
                    .legacy_lookups
                    .record_failure(key, error.clone());
                Polled::Failed(error)
            }
            Step::NeedsRemote(from) => {
                let (owned_name, cache_name) = (name.to_owned(), name.to_owned());
                self.start_background(
                    |shared| &shared.legacy_lookups,
                    key,
                    subject.clone(),
                    |shared| shared.cached_legacy(&cache_name, revision),
                    move |shared| {
                        let mut trail = trail;
                        let query = Query::Legacy {
                            name: &owned_name,
                            revision,
                        };
                        match shared.chain.walk(query, from, true, &mut trail) {
                            Step::Found(found) => {
                                shared.compile_legacy(&owned_name, revision, found)
                            }
                            Step::NeedsRemote(_) | Step::Exhausted => {
                                Err(trail.into_error(subject))
                            }
                        }
                    },
                )
            }
        }
    }

    // ---------------------------------------------------------------- background lookups

    /// Starts `work` on a fetch thread unless the same lookup is running (join it) or failed
    /// meanwhile. `found_meanwhile` re-checks the positive cache under the in-flight lock.
    fn start_background<K, T>(
        &self,
        lookups: fn(&Shared) -> &PendingLookups<K, T>,
        key: K,
        subject: SchemaSubject,
        found_meanwhile: impl FnOnce(&Shared) -> Option<Arc<T>>,
        work: impl FnOnce(&Shared) -> Result<Arc<T>, SchemaLookupError> + Send + 'static,
    ) -> Polled<T>
    where
        K: Hash + Eq + Clone + Send + 'static,
        T: Send + Sync + 'static,
    {
        let shared = &self.shared;
        let flight = match lookups(shared).start(&key, || found_meanwhile(shared)) {
            Err(found) => return Polled::Ready(found),
            Ok(Start::Joined(flight)) => return Polled::Pending(flight),
            Ok(Start::Failed(error)) => return Polled::Failed(error),
            Ok(Start::Started(flight)) => flight,
        };
        let guard = FlightGuard {
            shared: Arc::clone(shared),
            lookups,
            key,
            subject: subject.clone(),
            flight: Arc::clone(&flight),
            settled: false,
        };
        let job: Job = Box::new(move || {
            let result = work(&guard.shared);
            guard.settle(result);
        });
        match shared.chain.remote().pool.submit(job) {
            Ok(()) => Polled::Pending(flight),
            Err((error, job)) => {
                let error = busy_error(subject, &error);
                // Complete before the job (and its guard) is dropped, so that joiners get
                // this error rather than the guard's generic one.
                flight.complete(Err(error.clone()));
                drop(job);
                Polled::Failed(error)
            }
        }
    }

    // ---------------------------------------------------------------- capsules

    /// Validates one capsule: SCID checks (§4.1), then the encapsulated schema of its SCID
    /// (§4.2). Blocking (see [`legacy_validator`](Self::legacy_validator)).
    ///
    /// The JSON-Schema library validates a `&Value`, so this copies the map into a
    /// `Value::Object` when the SCID is usable (about three times the cost of the validation
    /// itself for a typical capsule). On the hot path use
    /// [`validate_capsule_in_place`](Self::validate_capsule_in_place) or
    /// [`validate_capsule_value`](Self::validate_capsule_value), which do not copy.
    pub fn validate_capsule(
        &self,
        capsule: &Map<String, Value>,
    ) -> Result<(), CapsuleValidationError> {
        let scid = extract_legacy_scid(capsule)?;
        let validator = self.legacy_validator(scid.name, scid.revision)?;
        validator
            .validate(&Value::Object(capsule.clone()))
            .map_err(|message| CapsuleValidationError::Invalid { message })
    }

    /// Like [`validate_capsule`](Self::validate_capsule) without copying: the map is moved
    /// into a `Value::Object` for the duration of the validation and moved back (it is left
    /// unchanged).
    pub fn validate_capsule_in_place(
        &self,
        capsule: &mut Map<String, Value>,
    ) -> Result<(), CapsuleValidationError> {
        legacy_validator::with_object_value(capsule, |value| self.validate_capsule_value(value))
    }

    /// Like [`validate_capsule`](Self::validate_capsule) for a capsule held as a `Value`,
    /// validated borrowed, without a copy (the hot path: a read lock and an `Arc` clone for an
    /// already-compiled SCID). A non-object has no SCID.
    pub fn validate_capsule_value(&self, capsule: &Value) -> Result<(), CapsuleValidationError> {
        let Value::Object(map) = capsule else {
            return Err(ScidError::NotExtractable.into());
        };
        let scid = extract_legacy_scid(map)?;
        let validator = self.legacy_validator(scid.name, scid.revision)?;
        validator
            .validate(capsule)
            .map_err(|message| CapsuleValidationError::Invalid { message })
    }

    /// Compiles every SCID the local legacy sources can list (see
    /// [`LegacySchemaSource::known_scids`]), so that unusable schemas are reported at
    /// start-up. Returns the number compiled and the failures.
    pub fn precompile_known(&self) -> (usize, Vec<SchemaLookupError>) {
        let scids: Vec<(String, i64)> = self
            .shared
            .chain
            .legacy_sources()
            .flat_map(|source| source.known_scids())
            .collect();
        let mut compiled = 0;
        let mut failures = Vec::new();
        for (name, revision) in scids {
            match self.legacy_validator(&name, revision) {
                Ok(_) => compiled += 1,
                Err(error) => failures.push(error),
            }
        }
        (compiled, failures)
    }
}

impl<T> Polled<T> {
    fn from_result(result: Result<Arc<T>, SchemaLookupError>) -> Self {
        match result {
            Ok(value) => Self::Ready(value),
            Err(error) => Self::Failed(error),
        }
    }
}

/// Where the background part of an Event Platform lookup starts.
enum RemoteStart {
    /// Continue the walk of the sources at index `from`.
    Chain {
        path: SchemaPath,
        from: usize,
        trail: Trail,
    },
    /// Fetch an allowed absolute URL.
    Url(String),
}

impl RemoteStart {
    fn run(self, chain: &SourceChain, subject: SchemaSubject) -> Result<Found, SchemaLookupError> {
        match self {
            Self::Chain {
                path,
                from,
                mut trail,
            } => match chain.walk(Query::Event(&path), from, true, &mut trail) {
                Step::Found(found) => Ok(found),
                Step::NeedsRemote(_) | Step::Exhausted => Err(trail.into_error(subject)),
            },
            Self::Url(url) => {
                let mut trail = Trail::default();
                chain
                    .fetch_url(&url, &mut trail)
                    .ok_or_else(|| trail.into_error(subject))
            }
        }
    }
}

impl Shared {
    fn cached_event(&self, uri: &str) -> Option<Arc<EventSchema>> {
        self.events
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(uri)
            .map(Arc::clone)
    }

    fn cached_legacy(&self, name: &str, revision: i64) -> Option<Arc<LegacyValidator>> {
        self.legacy
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .and_then(|revisions| revisions.get(&revision))
            .map(Arc::clone)
    }

    /// Compiles (or reuses, by `$id`) the schema found for `uri` and caches it under `uri`
    /// and its `$id`.
    fn compile_event(
        &self,
        uri: &str,
        found: Found,
    ) -> Result<Arc<EventSchema>, SchemaLookupError> {
        let existing = declared_id(&found.document).and_then(|id| self.cached_event(id));
        let schema = match existing {
            Some(schema) => schema,
            None => {
                let retriever = SourceRetriever {
                    chain: Arc::clone(&self.chain),
                    allowlist: self.allowlist.clone(),
                };
                let origin = found.origin.clone();
                let schema = EventSchema::compile_with(
                    uri.to_owned(),
                    origin,
                    found.document,
                    Some(retriever),
                )
                .map_err(|error| SchemaLookupError::Compile {
                    subject: SchemaSubject::EventPlatform {
                        uri: uri.to_owned(),
                    },
                    source_description: found.origin,
                    error,
                })?;
                tracing::debug!(
                    uri,
                    origin = schema.origin(),
                    id = schema.id(),
                    "compiled event schema"
                );
                Arc::new(schema)
            }
        };
        let mut events = self.events.write().unwrap_or_else(PoisonError::into_inner);
        // Another thread may have compiled the same schema meanwhile; keep the first one.
        let stored = Arc::clone(events.entry(uri.to_owned()).or_insert(schema));
        if let Some(id) = stored.id() {
            if !events.contains_key(id) {
                events.insert(id.to_owned(), Arc::clone(&stored));
            }
        }
        Ok(stored)
    }

    /// Compiles the legacy schema found for `name`/`revision` and caches it.
    fn compile_legacy(
        &self,
        name: &str,
        revision: i64,
        found: Found,
    ) -> Result<Arc<LegacyValidator>, SchemaLookupError> {
        let validator =
            LegacyValidator::compile(name, revision, &found.document).map_err(|error| {
                SchemaLookupError::Compile {
                    subject: SchemaSubject::Legacy {
                        name: name.to_owned(),
                        revision,
                    },
                    source_description: found.origin.clone(),
                    error,
                }
            })?;
        tracing::debug!(schema = name, revision, source = %found.origin, "compiled legacy schema");
        let mut compiled = self.legacy.write().unwrap_or_else(PoisonError::into_inner);
        // Another thread may have compiled the same SCID meanwhile; keep the first one.
        let slot = compiled
            .entry(name.to_owned())
            .or_default()
            .entry(revision)
            .or_insert_with(|| Arc::new(validator));
        Ok(Arc::clone(slot))
    }
}

/// The `$id` a schema document declares (`id` for draft-04 documents).
fn declared_id(document: &Value) -> Option<&str> {
    let is_draft4 = document
        .get("$schema")
        .and_then(Value::as_str)
        .is_some_and(|uri| {
            uri.trim_end_matches('#') == DRAFT4_SCHEMA_URI.trim_end_matches('#')
                || uri.trim_end_matches('#') == "https://json-schema.org/draft-04/schema"
        });
    let keyword = if is_draft4 { "id" } else { "$id" };
    document.get(keyword).and_then(Value::as_str)
}

/// The error of a lookup that could not be queued.
fn busy_error(subject: SchemaSubject, error: &SubmitError) -> SchemaLookupError {
    SchemaLookupError::Source {
        subject,
        source_description: "background schema fetcher".to_owned(),
        error: Box::new(SchemaSourceError::Unreachable {
            location: "the remote schema sources".to_owned(),
            reason: error.to_string(),
        }),
        also_searched: Vec::new(),
    }
}

/// Finishes a background lookup exactly once: with its result, or, if the job is dropped or
/// panics before that, with an "abandoned" error that is not negatively cached.
struct FlightGuard<K: Hash + Eq + Clone, T> {
    shared: Arc<Shared>,
    lookups: fn(&Shared) -> &PendingLookups<K, T>,
    key: K,
    subject: SchemaSubject,
    flight: Arc<Flight<T>>,
    settled: bool,
}

impl<K: Hash + Eq + Clone, T> FlightGuard<K, T> {
    /// Stores the result: the positive cache was filled by the work itself; a failure goes
    /// to the negative cache. Then wakes the waiters.
    fn settle(mut self, result: Result<Arc<T>, SchemaLookupError>) {
        let failure = result.as_ref().err().cloned();
        (self.lookups)(&self.shared).finish(&self.key, failure);
        self.flight.complete(result);
        self.settled = true;
    }
}

impl<K: Hash + Eq + Clone, T> Drop for FlightGuard<K, T> {
    fn drop(&mut self) {
        if !self.settled {
            (self.lookups)(&self.shared).finish(&self.key, None);
            self.flight.complete(Err(SchemaLookupError::Source {
                subject: self.subject.clone(),
                source_description: "background schema fetcher".to_owned(),
                error: Box::new(SchemaSourceError::Unreachable {
                    location: "the remote schema sources".to_owned(),
                    reason: "the background lookup was abandoned".to_owned(),
                }),
                also_searched: Vec::new(),
            }));
        }
    }
}

/// Builds the source for one source setting; the error says what is wrong.
fn source_entry(settings: &SchemaSourceSettings) -> Result<SourceEntry, String> {
    match settings {
        SchemaSourceSettings::LegacyDirectory(path) => LegacyDirSource::load(path)
            .map(|source| SourceEntry::Legacy(Box::new(source)))
            .map_err(|error| error.to_string()),
        SchemaSourceSettings::EventPlatformRepository(path) => {
            EventPlatformRepository::open(path).map(SourceEntry::Repository)
        }
        SchemaSourceSettings::EventPlatformHttp { base_uri } => {
            check_http_url(base_uri)?;
            if base_uri.contains(['?', '#']) {
                return Err(format!(
                    "{base_uri:?}: a schema base URI cannot have a query or a fragment"
                ));
            }
            Ok(SourceEntry::EventHttp(EventHttpSource {
                base_uri: base_uri.clone(),
            }))
        }
        SchemaSourceSettings::LegacyHttp { url_template } => {
            check_http_url(url_template)?;
            for placeholder in ["{name}", "{revision}"] {
                if !url_template.contains(placeholder) {
                    return Err(format!(
                        "{url_template:?}: a legacy schema URL template needs {placeholder}"
                    ));
                }
            }
            Ok(SourceEntry::LegacyHttp(LegacyHttpSource {
                url_template: url_template.clone(),
            }))
        }
    }
}

impl fmt::Debug for SchemaRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchemaRegistry")
            .field("sources", &self.source_descriptions())
            .field("compiled", &self.compiled_count())
            .field("event_schemas", &self.event_schema_cache_len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::memory_source::InMemorySchemaSource;
    use serde_json::json;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn generic_schema() -> Value {
        json!({"properties": {
            "articleId": {"type": "integer", "required": true},
            "articleTitle": {"type": "string"}
        }})
    }

    fn registry() -> SchemaRegistry {
        SchemaRegistry::new(vec![Box::new(
            InMemorySchemaSource::new("test schemas").with_schema("Generic", 13, generic_schema()),
        )])
    }

    /// TV-1's parsed capsule.
    fn tv1_capsule() -> Value {
        serde_json::from_str(
            r#"{"dt": "2013-01-19T23:16:38Z", "event": {"articleId": 1, "articleTitle": "Héctor Elizondo"},
                "recvFrom": "srv0.example.org", "revision": 13, "schema": "Generic", "seqId": 132073,
                "userAgent": {"browser_family": "Firefox", "browser_major": "10", "browser_minor": "0",
                              "device_family": "Other", "is_bot": false, "is_mediawiki": false,
                              "os_family": "Linux", "os_major": null, "os_minor": null,
                              "wmf_app_version": "-"},
                "uuid": "749684341abf513186c71f74c6a09502", "webHost": "test.wikipedia.org",
                "wiki": "testwiki"}"#,
        )
        .expect("TV-1 JSON")
    }

    fn set(mut capsule: Value, key: &str, value: Value) -> Value {
        if let Value::Object(map) = &mut capsule {
            map.insert(key.to_owned(), value);
        }
        capsule
    }

    fn invalid(message: &str) -> Result<(), CapsuleValidationError> {
        Err(CapsuleValidationError::Invalid {
            message: message.to_owned(),
        })
    }

    #[test]
    fn tv1_capsule_is_valid_and_the_validator_is_cached() {
        let registry = registry();
        assert_eq!(registry.compiled_count(), 0);
        assert_eq!(registry.validate_capsule_value(&tv1_capsule()), Ok(()));
        assert_eq!(registry.compiled_count(), 1);
        let first = registry.legacy_validator("Generic", 13).expect("cached");
        let second = registry.legacy_validator("Generic", 13).expect("cached");
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(registry.compiled_count(), 1);
    }

    #[test]
    fn map_and_value_entry_points_agree() {
        let registry = registry();
        let cases = [
            tv1_capsule(),
            set(tv1_capsule(), "bogusCapsule", json!(1)),
            set(tv1_capsule(), "revision", json!(1.5)),
            set(tv1_capsule(), "revision", json!(99)),
        ];
        for capsule in cases {
            let Value::Object(map) = &capsule else {
                panic!("object")
            };
            let expected = registry.validate_capsule_value(&capsule);
            assert_eq!(registry.validate_capsule(map), expected, "{capsule}");
            let mut in_place = map.clone();
            assert_eq!(
                registry.validate_capsule_in_place(&mut in_place),
                expected,
                "{capsule}"
            );
            assert_eq!(&in_place, map, "the map is restored");
        }
        assert_eq!(
            registry.validate_capsule(match &set(tv1_capsule(), "bogusCapsule", json!(1)) {
                Value::Object(map) => map,
                _ => panic!("object"),
            }),
            invalid("Additional properties are not allowed ('bogusCapsule' was unexpected)")
        );
    }

    #[test]
    fn schema_violations_are_validation_errors() {
        let registry = registry();
        let capsule = set(tv1_capsule(), "event", json!({"articleTitle": "x"}));
        let error = registry
            .validate_capsule_value(&capsule)
            .expect_err("invalid");
        assert_eq!(error.code(), "validation");
        assert_eq!(
            error.message(),
            "/event: \"articleId\" is a required property"
        );
    }

    #[test]
    fn scid_problems_are_validation_errors() {
        let registry = registry();
        assert_eq!(
            registry.validate_capsule_value(&set(tv1_capsule(), "revision", json!("13"))),
            invalid("Invalid revision ID type: <class 'str'>")
        );
        assert_eq!(
            registry.validate_capsule_value(&set(tv1_capsule(), "revision", json!(-1))),
            invalid("Invalid revision ID -1")
        );
        assert_eq!(
            registry.validate_capsule_value(&set(tv1_capsule(), "schema", json!("Bad Name!"))),
            invalid("Invalid schema name: Bad Name!")
        );
        assert_eq!(
            registry.validate_capsule_value(&set(tv1_capsule(), "meta", json!({}))),
            invalid("scid could not be extracted from event.")
        );
        assert_eq!(
            registry.validate_capsule_value(&json!([1, 2])),
            invalid("scid could not be extracted from event.")
        );
        assert_eq!(registry.compiled_count(), 0, "nothing was looked up");
    }

    #[test]
    fn unknown_scid_is_schema_unavailable_naming_the_sources() {
        let registry = registry();
        let error = registry
            .validate_capsule_value(&set(tv1_capsule(), "revision", json!(14)))
            .expect_err("unknown");
        assert_eq!(error.code(), "processor");
        assert_eq!(
            error,
            CapsuleValidationError::SchemaUnavailable {
                name: "Generic".to_owned(),
                revision: 14,
                message: "Schema Generic revision 14 not found (searched: test schemas)".to_owned(),
            }
        );
        let empty = SchemaRegistry::new(Vec::new());
        assert_eq!(
            empty.legacy_validator("Generic", 13).map(|_| ()),
            Err(SchemaLookupError::NotFound {
                subject: SchemaSubject::Legacy {
                    name: "Generic".to_owned(),
                    revision: 13
                },
                searched: Vec::new()
            })
        );
        assert_eq!(
            empty
                .legacy_validator("Generic", 13)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err(
                "Schema Generic revision 13 not found (searched: no schema sources configured)"
                    .to_owned()
            )
        );
    }

    #[test]
    fn uncompilable_schema_is_schema_unavailable() {
        let registry = SchemaRegistry::new(vec![Box::new(
            InMemorySchemaSource::new("broken schemas").with_schema(
                "Generic",
                13,
                json!({"properties": {"a": {"pattern": "(oops"}}}),
            ),
        )]);
        let error = registry
            .validate_capsule_value(&tv1_capsule())
            .expect_err("broken");
        assert_eq!(error.code(), "processor");
        assert!(
            error.message().starts_with(
                "Schema Generic revision 13 from broken schemas is unusable: invalid schema: "
            ),
            "{error}"
        );
        let (compiled, failures) = registry.precompile_known();
        assert_eq!(compiled, 0);
        assert_eq!(failures.len(), 1);
    }

    /// A source that always fails, counting its lookups.
    struct FailingSource(AtomicUsize);

    impl LegacySchemaSource for FailingSource {
        fn describe(&self) -> String {
            "failing source".to_owned()
        }
        fn lookup(&self, name: &str, _revision: i64) -> Result<Option<Value>, SchemaSourceError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Err(SchemaSourceError::Unreachable {
                location: format!("test://{name}"),
                reason: "connection refused".to_owned(),
            })
        }
    }

    #[test]
    fn source_failures_are_reported_unless_a_later_source_has_the_schema() {
        let failing = Arc::new(FailingSource(AtomicUsize::new(0)));
        struct Shared(Arc<FailingSource>);
        impl LegacySchemaSource for Shared {
            fn describe(&self) -> String {
                self.0.describe()
            }
            fn lookup(
                &self,
                name: &str,
                revision: i64,
            ) -> Result<Option<Value>, SchemaSourceError> {
                self.0.lookup(name, revision)
            }
        }
        let registry = SchemaRegistry::new(vec![
            Box::new(Shared(Arc::clone(&failing))),
            Box::new(InMemorySchemaSource::new("test schemas").with_schema(
                "Generic",
                13,
                generic_schema(),
            )),
        ]);
        assert_eq!(registry.validate_capsule_value(&tv1_capsule()), Ok(()));
        assert_eq!(registry.validate_capsule_value(&tv1_capsule()), Ok(()));
        assert_eq!(
            failing.0.load(Ordering::SeqCst),
            1,
            "second event used the cache"
        );

        let error = registry
            .validate_capsule_value(&set(tv1_capsule(), "schema", json!("Other")))
            .expect_err("unavailable");
        assert_eq!(
            error.message(),
            "Schema Other revision 13: failing source: \
             Schema fetch from test://Other failed: connection refused \
             (also searched: test schemas)"
        );
        assert_eq!(
            registry
                .legacy_validator("Other", 13)
                .map(|_| ())
                .map_err(|e| e.reason()),
            Err("schema_fetch")
        );
        // Failures are negatively cached: the next events do not ask again within the TTL.
        let _ = registry.validate_capsule_value(&set(tv1_capsule(), "schema", json!("Other")));
        assert_eq!(failing.0.load(Ordering::SeqCst), 2);
        assert_eq!(registry.negative_cache_len(), 1);
    }

    #[test]
    fn first_source_wins() {
        let registry = SchemaRegistry::new(vec![
            Box::new(InMemorySchemaSource::new("first").with_schema(
                "Generic",
                13,
                json!({"properties": {"articleId": {"type": "string"}}}),
            )),
            Box::new(InMemorySchemaSource::new("second").with_schema(
                "Generic",
                13,
                generic_schema(),
            )),
        ]);
        assert_eq!(
            registry.validate_capsule_value(&tv1_capsule()),
            invalid("/event/articleId: 1 is not of type \"string\"")
        );
        assert_eq!(registry.source_descriptions(), ["first", "second"]);
    }

    #[test]
    fn shared_between_threads() {
        let registry = Arc::new(registry());
        let handles: Vec<_> = (0..4)
            .map(|thread| {
                let registry = Arc::clone(&registry);
                std::thread::spawn(move || {
                    for i in 0..50 {
                        let capsule = set(tv1_capsule(), "seqId", json!(thread * 1000 + i));
                        assert_eq!(registry.validate_capsule_value(&capsule), Ok(()));
                    }
                })
            })
            .collect();
        for handle in handles {
            assert!(handle.join().is_ok());
        }
        assert_eq!(registry.compiled_count(), 1);
    }
}
