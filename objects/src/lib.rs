//! Object-storage inputs: `shekara scan s3://bucket/prefix` sweeps a data
//! lake where it lives, without mounting or copying it.
//!
//! A [`Sweep`] lists each root with the arrow-rs `object_store` client
//! (paginated, streamed: the listing is never held whole), fetches objects
//! with bounded concurrency (`--jobs`) and hands them to the same
//! [`Scanner`](shekara_scanner::Scanner) as files: objects up to
//! [`ObjectOptions::whole_limit`] are fetched with one GET and scanned in
//! memory (so the scanner's readers unpack Parquet, archives, …); larger
//! ones arrive as ranged GETs streamed through the windowed reader.
//! Locations are `s3://bucket/key`. Throttling (503 SlowDown), 5xx and
//! broken connections are retried with exponential backoff by the client;
//! whatever still fails goes into coverage with its reason
//! (`access_denied`, `read_error`, …), never silently. The store's own
//! location — endpoint, configured region, the bucket's region from
//! GetBucketLocation, and the country from the endpoint table — is
//! recorded in the report (`stores`) and as a `store.location` finding, so
//! a lake hosted abroad that holds IINs shows as such.
//!
//! ```no_run
//! use shekara_objects::{ObjectOptions, Sweep};
//! use shekara_scanner::{Config, NoSink, Progress};
//! let config = Config::new(vec!["s3://lake/raw".into()]);
//! let options = ObjectOptions {
//!     endpoint_url: Some("https://storage.yandexcloud.kz".into()),
//!     ..ObjectOptions::default()
//! };
//! let report = Sweep::new(config, options)?.run(&NoSink, &Progress::default())?;
//! println!("{} findings", report.findings.len());
//! # Ok::<(), String>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod cache;
pub mod store;
mod sweep;
pub mod url;

use std::sync::Arc;
use std::time::Duration;

pub use cache::{CacheKey, DirCache, ObjectCache};
pub use sweep::Sweep;
pub use url::{is_object_url, StoreUrl};

/// How a sweep talks to the store. The scan itself is set by the scanner's
/// `Config` (fingerprint key, `--max-file-size`, digests).
#[derive(Clone, Debug)]
pub struct ObjectOptions {
    /// `--endpoint-url`: an S3-compatible store (default: `AWS_ENDPOINT_URL`, else AWS).
    pub endpoint_url: Option<String>,
    /// `--region` (default: `AWS_REGION` / `AWS_DEFAULT_REGION`, else `us-east-1`).
    pub region: Option<String>,
    /// Objects fetched and scanned at once (`--jobs`).
    pub jobs: usize,
    /// Objects up to this size are fetched whole and scanned in memory.
    pub whole_limit: u64,
    /// Larger objects are fetched in ranged GETs of this size.
    pub part_size: u64,
    /// Retries of a request that failed transiently (503, 5xx, reset).
    pub retries: usize,
    /// First retry delay; doubles each time, up to 15 s.
    pub retry_backoff: Duration,
    /// Only objects whose key falls in this shard.
    pub shard: Option<shekara_scanner::shard::Shard>,
    /// Results of unchanged objects (`--cache`).
    pub cache: Option<Arc<dyn ObjectCache>>,
    /// Access key and secret to use instead of the environment's (for
    /// embedding and tests; the CLI reads credentials from `AWS_*` only).
    pub credentials: Option<(String, String)>,
}

impl Default for ObjectOptions {
    fn default() -> ObjectOptions {
        ObjectOptions {
            endpoint_url: None,
            region: None,
            jobs: 16,
            whole_limit: 64 << 20,
            part_size: 8 << 20,
            retries: 10,
            retry_backoff: Duration::from_millis(100),
            shard: None,
            cache: None,
            credentials: None,
        }
    }
}

/// Installs ring as the process's TLS crypto provider (once; a provider
/// already installed is kept).
fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(feature = "test-server")]
pub mod testing;
