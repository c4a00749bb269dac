//! Schema documents fetched over the network: the HTTP(S) client with its cache of fetched
//! documents ([`http_fetch`]), the pool of background threads that runs lookups needing the
//! network ([`fetch_pool`]), and what an old and a new registry share of both on reload
//! ([`remote_fetcher`]).

pub mod fetch_pool;
pub mod http_fetch;
pub mod remote_fetcher;
