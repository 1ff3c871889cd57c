//! The sweep: list each root (streamed, paginated), fetch objects with
//! bounded concurrency, scan them with the scanner, assemble one report.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectMeta, ObjectStore, ObjectStoreExt};
use shekara_scanner::model::{Evidence, Location, NotScanned, Reason, Summary};
use shekara_scanner::shard::Shard;
use shekara_scanner::{
    timestamp, Config, Finding, FingerprintKey, Input, Kind, Outcome, Place, Progress, Report,
    Scanner, Severity, Sink, Store,
};
use tokio::sync::watch;

use crate::cache::{reroot, CacheKey};
use crate::store::{connect, Connected};
use crate::url::StoreUrl;
use crate::ObjectOptions;

/// A configured sweep of one or more `s3://` roots.
#[derive(Debug)]
pub struct Sweep {
    scanner: Arc<Scanner>,
    urls: Vec<StoreUrl>,
    options: ObjectOptions,
    key: FingerprintKey,
    context: String,
    max_size: Option<u64>,
}

/// What sweeping one root gave.
struct RootResult {
    info: Store,
    outcomes: Vec<(String, Outcome)>,
    not_scanned: Vec<NotScanned>,
    interrupted: bool,
}

/// Per-root state shared by the object tasks.
struct RootCtx<'a> {
    root: usize,
    url: &'a StoreUrl,
    conn: &'a Connected,
    fetched: AtomicU64,
    cached: AtomicU64,
}

impl Sweep {
    /// Checks the roots (every input must be an `s3://` URL) and builds the scanner.
    ///
    /// # Errors
    /// A root that is not an object-store URL, or a scanner that cannot be built.
    pub fn new(mut config: Config, options: ObjectOptions) -> Result<Sweep, String> {
        let urls = config
            .inputs
            .iter()
            .map(|i| match i {
                Input::Path(p) => StoreUrl::parse(&p.to_string_lossy()),
                Input::Stdin => Err(
                    "standard input and s3:// roots cannot be scanned in one run: scan them separately".into(),
                ),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let key = match &config.key {
            Some(k) => k.clone(),
            None => FingerprintKey::ephemeral().map_err(|e| e.to_string())?,
        };
        config.key = Some(key.clone());
        let context = format!(
            "{} {} key={} reveal={} sha256={} window={}",
            env!("CARGO_PKG_VERSION"),
            shekara_detectors::Ruleset::builtin().digest(),
            key.id(),
            config.reveal,
            config.hash_files,
            config.window,
        );
        let max_size = config.max_file_size;
        let scanner = Scanner::new(config).map_err(|e| e.to_string())?;
        Ok(Sweep {
            scanner: Arc::new(scanner),
            urls,
            options,
            key,
            context,
            max_size,
        })
    }

    /// Sweeps every root until done or Ctrl-C (then the report is marked partial).
    ///
    /// # Errors
    /// When a store cannot be configured or the async runtime cannot start.
    pub fn run(&self, sink: &dyn Sink, progress: &Progress) -> Result<Report, String> {
        self.run_until(sink, progress, async {
            if tokio::signal::ctrl_c().await.is_err() {
                // No signal handler: never stop early.
                std::future::pending::<()>().await;
            }
        })
    }

    /// Sweeps every root until done or until `stop` completes; what was
    /// scanned by then is reported, the report is marked `partial` and
    /// coverage gets an `interrupted` entry per root not finished.
    ///
    /// # Errors
    /// As [`Sweep::run`].
    pub fn run_until(
        &self,
        sink: &dyn Sink,
        progress: &Progress,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> Result<Report, String> {
        crate::install_tls_provider();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("shekara-io")
            .build()
            .map_err(|e| format!("cannot start the I/O runtime: {e}"))?;
        let started = timestamp();
        let results = rt.block_on(async {
            let (tx, rx) = watch::channel(false);
            let stopper = tokio::spawn(async move {
                stop.await;
                let _ = tx.send(true);
            });
            let mut results = Vec::new();
            for (root, url) in self.urls.iter().enumerate() {
                results.push(
                    self.sweep_root(root, url, rx.clone(), sink, progress)
                        .await?,
                );
            }
            stopper.abort();
            Ok::<_, String>(results)
        })?;
        rt.shutdown_background();
        Ok(self.report(started, results))
    }

    async fn sweep_root(
        &self,
        root: usize,
        url: &StoreUrl,
        mut stop: watch::Receiver<bool>,
        sink: &dyn Sink,
        progress: &Progress,
    ) -> Result<RootResult, String> {
        let mut conn = connect(url, root, &self.options)?;
        let mut result = RootResult {
            info: Store::default(),
            outcomes: Vec::new(),
            not_scanned: Vec::new(),
            interrupted: false,
        };
        if *stop.borrow() {
            result.interrupted = true;
        } else {
            tokio::select! {
                () = conn.locate() => {}
                Ok(_) = stop.wait_for(|s| *s) => result.interrupted = true,
            }
        }
        let ctx = RootCtx {
            root,
            url,
            conn: &conn,
            fetched: AtomicU64::new(0),
            cached: AtomicU64::new(0),
        };
        let listed = AtomicU64::new(0);
        let other_shards = AtomicU64::new(0);
        let list_error: Mutex<Option<(Reason, String)>> = Mutex::new(None);
        if !result.interrupted {
            let prefix = (!url.prefix.is_empty()).then(|| ObjectPath::from(url.prefix.as_str()));
            let wanted = conn.s3.list(prefix.as_ref()).filter_map(|item| {
                let keep = match item {
                    Ok(meta) => {
                        listed.fetch_add(1, Ordering::Relaxed);
                        if self.owns(&meta) {
                            progress.files_total.fetch_add(1, Ordering::Relaxed);
                            progress.bytes_total.fetch_add(meta.size, Ordering::Relaxed);
                            Some(meta)
                        } else {
                            other_shards.fetch_add(1, Ordering::Relaxed);
                            None
                        }
                    }
                    Err(e) => {
                        let mut slot = list_error.lock().unwrap_or_else(|p| p.into_inner());
                        slot.get_or_insert_with(|| listing_problem(&e));
                        None
                    }
                };
                std::future::ready(keep)
            });
            let mut tasks = std::pin::pin!(wanted
                .map(|meta| self.object(&ctx, meta))
                .buffer_unordered(self.options.jobs.max(1)));
            loop {
                tokio::select! {
                    biased;
                    Ok(_) = stop.wait_for(|s| *s) => {
                        result.interrupted = true;
                        break;
                    }
                    next = tasks.next() => match next {
                        Some((key, outcome)) => {
                            sink.file(usize::MAX, &outcome);
                            progress.files_done.fetch_add(1, Ordering::Relaxed);
                            progress.bytes_done.fetch_add(outcome.bytes, Ordering::Relaxed);
                            progress.findings.fetch_add(outcome.findings.len() as u64, Ordering::Relaxed);
                            result.outcomes.push((key, outcome));
                        }
                        None => break,
                    }
                }
            }
        }
        let root_entry = |reason, detail: String| NotScanned {
            path: url.to_string(),
            path_base64: None,
            root,
            inner: Vec::new(),
            reason,
            detail,
            bytes_scanned: None,
        };
        if let Some((reason, detail)) = list_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
            let n = listed.load(Ordering::Relaxed);
            result.not_scanned.push(root_entry(
                reason,
                format!("listing failed after {n} objects: {detail}; objects past that point were not scanned"),
            ));
        }
        if result.interrupted {
            result.not_scanned.push(root_entry(
                Reason::Interrupted,
                format!(
                    "stopped (Ctrl-C) after {} objects; the rest of this root was not scanned",
                    result.outcomes.len()
                ),
            ));
        }
        result.info = conn.info.clone();
        result.info.objects_listed = listed.load(Ordering::Relaxed);
        result.info.objects_fetched = ctx.fetched.load(Ordering::Relaxed);
        result.info.objects_cached = ctx.cached.load(Ordering::Relaxed);
        result.info.objects_other_shards = other_shards.load(Ordering::Relaxed);
        Ok(result)
    }

    fn owns(&self, meta: &ObjectMeta) -> bool {
        self.options
            .shard
            .is_none_or(|s: Shard| s.owns(meta.location.as_ref().as_bytes()))
    }

    /// Fetches and scans one object (or answers it from the cache).
    async fn object(&self, ctx: &RootCtx<'_>, meta: ObjectMeta) -> (String, Outcome) {
        let key = meta.location.as_ref().to_string();
        let location = ctx.url.object(&key);
        let place = Place::file(ctx.root, location.clone());
        if let Some(max) = self.max_size.filter(|&m| meta.size > m) {
            let detail = format!("{} bytes > --max-file-size {max}", meta.size);
            return (key, failed(&place, Reason::TooLarge, detail, 0));
        }
        let cache_key = CacheKey {
            input: location,
            version: version(&meta),
            context: self.context.clone(),
        };
        if let Some(cache) = &self.options.cache {
            if let Some(mut hit) = cache.lookup(&cache_key) {
                ctx.cached.fetch_add(1, Ordering::Relaxed);
                reroot(&mut hit, ctx.root);
                // Digests and findings from the last sweep, marked as such.
                for f in &mut hit.files {
                    f.cached = true;
                }
                return (key, hit);
            }
        }
        ctx.fetched.fetch_add(1, Ordering::Relaxed);
        let mut outcome = if meta.size <= self.options.whole_limit {
            self.fetch_whole(ctx.conn, &meta, place).await
        } else {
            self.fetch_ranged(ctx.conn, &meta, place).await
        };
        for f in outcome.files.iter_mut().filter(|f| f.etag.is_none()) {
            f.etag.clone_from(&meta.e_tag);
        }
        if let (Some(cache), true) = (&self.options.cache, outcome.complete) {
            cache.store(&cache_key, &outcome);
        }
        (key, outcome)
    }

    /// One GET for the whole object, then the scanner's in-memory path (so
    /// containers such as Parquet or .tar.gz are unpacked by its readers).
    async fn fetch_whole(&self, conn: &Connected, meta: &ObjectMeta, place: Place) -> Outcome {
        let mut etag = None;
        let body = match conn.s3.get(&meta.location).await {
            Ok(r) => {
                etag = r.meta.e_tag.clone();
                r.bytes().await
            }
            Err(e) => Err(e),
        };
        let bytes = match body {
            Ok(b) => b,
            Err(e) => {
                let (reason, detail) = fetch_problem(&e);
                return failed(&place, reason, detail, 0);
            }
        };
        let scanner = Arc::clone(&self.scanner);
        let p = place.clone();
        match tokio::task::spawn_blocking(move || scanner.scan_bytes(&p, &bytes)).await {
            Ok(mut o) => {
                // The listing may not carry ETags (some S3-compatible stores); the GET does.
                for f in &mut o.files {
                    f.etag.clone_from(&etag);
                }
                o
            }
            Err(e) => failed(
                &place,
                Reason::ReadError,
                format!("scan task failed: {e}"),
                0,
            ),
        }
    }

    /// Ranged GETs of `part_size` bytes, streamed into the scanner's
    /// windowed reader while the next part downloads. Each range is pinned
    /// to the listed ETag: an object rewritten mid-sweep is caught.
    async fn fetch_ranged(&self, conn: &Connected, meta: &ObjectMeta, place: Place) -> Outcome {
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(2);
        let scanner = Arc::clone(&self.scanner);
        let size = meta.size;
        let p = place.clone();
        let scan = tokio::task::spawn_blocking(move || {
            let mut reader = ChannelReader {
                rx,
                current: Bytes::new(),
            };
            scanner.scan_reader(&p, &mut reader, size)
        });
        let part = self.options.part_size.max(1);
        let mut start = 0;
        let mut changed = None;
        // Pinned to the listed ETag, else to the first part's.
        let mut etag = meta.e_tag.clone();
        while start < size {
            let end = start.saturating_add(part).min(size);
            let options = GetOptions {
                range: Some(GetRange::Bounded(start..end)),
                if_match: etag.clone(),
                ..GetOptions::default()
            };
            let got = match conn.s3.get_opts(&meta.location, options).await {
                Ok(r) => {
                    if etag.is_none() {
                        etag.clone_from(&r.meta.e_tag);
                    }
                    r.bytes().await
                }
                Err(e) => Err(e),
            };
            let item = got.map_err(|e| {
                let (reason, detail) = fetch_problem(&e);
                if reason == Reason::ChangedDuringScan {
                    changed = Some(detail.clone());
                }
                std::io::Error::other(detail)
            });
            let last = item.is_err();
            if tx.send(item).await.is_err() || last {
                break;
            }
            start = end;
        }
        drop(tx);
        let mut outcome = match scan.await {
            Ok(o) => o,
            Err(e) => {
                return failed(
                    &place,
                    Reason::ReadError,
                    format!("scan task failed: {e}"),
                    0,
                )
            }
        };
        for f in &mut outcome.files {
            f.etag.clone_from(&etag);
        }
        if let Some(detail) = changed {
            for n in &mut outcome.not_scanned {
                n.reason = Reason::ChangedDuringScan;
                n.detail.clone_from(&detail);
            }
        }
        outcome
    }

    /// The report: the scanner's assembly, plus the stores, their location
    /// findings, and the partial mark.
    fn report(&self, started: String, results: Vec<RootResult>) -> Report {
        let mut outcomes = Vec::new();
        let mut not_scanned = Vec::new();
        let mut stores = Vec::new();
        let mut partial = false;
        for mut r in results {
            r.outcomes.sort_by(|a, b| a.0.cmp(&b.0));
            outcomes.extend(r.outcomes.into_iter().map(|(_, o)| o));
            not_scanned.extend(r.not_scanned);
            stores.push(r.info);
            partial |= r.interrupted;
        }
        // The evidence layer runs once, below, with the store findings in
        // (and the inline ignores settled while objects were in hand).
        let mut unfinished = self
            .scanner
            .assemble_unfinished(started, not_scanned, outcomes);
        let report = &mut unfinished.report;
        // The scanner shows roots as paths (`s3:/b`); these are URLs.
        report.scan.roots = self.urls.iter().map(ToString::to_string).collect();
        // The sweep shards and caches by itself: record it as file scans do,
        // so `shekara merge` knows the shards of one sweep.
        if let Some(shard) = self.options.shard {
            report
                .scan
                .options
                .insert("shard".into(), shard.to_string().into());
        }
        if self.options.cache.is_some() {
            report.scan.options.insert("cache".into(), true.into());
        }
        for store in &mut stores {
            let report = &unfinished.report;
            let mut finding = self.store_finding(store, &report.findings);
            // The policy may declare the store's host in-country (an
            // on-premises store on a private address, say), as for any endpoint.
            if let Some(policy) = &self.scanner.config().policy {
                policy.apply(std::slice::from_mut(&mut finding));
                store.in_country = finding.kind == Kind::DomesticEndpoint;
            }
            let at = report
                .findings
                .iter()
                .position(|f| f.location.root >= store.root)
                .unwrap_or(report.findings.len());
            unfinished.insert_finding(at, finding);
        }
        let report = &mut unfinished.report;
        // Store findings are endpoints: the breach summary stands.
        let breach = std::mem::take(&mut report.summary.breach_notification);
        report.summary = Summary::of(&report.findings);
        report.summary.breach_notification = breach;
        report.stores = stores;
        report.partial = partial;
        if partial {
            report.coverage.complete = false;
        }
        // Suppressions point at findings by index and verdicts weigh the
        // store findings too (a store abroad holding IINs is a violation).
        self.scanner.finish_assembled(unfinished)
    }

    /// The store itself as a finding: a foreign-hosted store is where data
    /// already left the country; one that holds IINs is `high`.
    fn store_finding(&self, store: &Store, findings: &shekara_scanner::Findings) -> Finding {
        let mut held: Vec<String> = findings
            .iter()
            .filter(|f| f.location.root == store.root)
            .filter(|f| !matches!(f.kind, Kind::ForeignEndpoint | Kind::DomesticEndpoint))
            .map(|f| f.kind.to_string())
            .collect();
        held.sort();
        held.dedup();
        let severity = match (store.in_country, held.iter().any(|k| k == "iin")) {
            (true, _) => Severity::Info,
            (false, true) => Severity::High,
            (false, false) => Severity::Medium,
        };
        let region = store
            .bucket_region
            .clone()
            .unwrap_or_else(|| store.region.clone());
        let mut attributes = shekara_detectors::Attributes::new();
        for (k, v) in [
            ("provider", store.provider.clone()),
            ("category", "object_storage".into()),
            ("host", store.host.clone()),
            ("region", region),
            ("country", store.country.clone()),
            ("bucket", store.bucket.clone()),
            ("source", "object_store".into()),
            ("holds", held.join(",")),
        ] {
            attributes.insert(k.to_string(), v);
        }
        Finding {
            kind: if store.in_country {
                Kind::DomesticEndpoint
            } else {
                Kind::ForeignEndpoint
            },
            rule: "store.location".into(),
            severity,
            confidence: shekara_detectors::Confidence::High,
            location: Location::at(store.url.clone(), store.root),
            count: 1,
            evidence: Evidence {
                masked: store.host.as_str().into(),
                fingerprint: self.key.fingerprint_shared(store.host.as_bytes()),
                raw: None,
            },
            attributes,
            breach_notification: None,
        }
    }
}

/// The version of an object the cache compares: ETag, size, last-modified, version id.
fn version(meta: &ObjectMeta) -> String {
    format!(
        "etag={} size={} modified={} version={}",
        meta.e_tag.as_deref().unwrap_or("-"),
        meta.size,
        meta.last_modified.to_rfc3339(),
        meta.version.as_deref().unwrap_or("-"),
    )
}

fn failed(place: &Place, reason: Reason, detail: String, bytes: u64) -> Outcome {
    Outcome {
        not_scanned: vec![NotScanned {
            path: String::from_utf8_lossy(&place.rel).into_owned(),
            path_base64: None,
            root: place.root,
            inner: place.inner.clone(),
            reason,
            detail,
            bytes_scanned: (bytes > 0).then_some(bytes),
        }],
        bytes,
        complete: false,
        ..Outcome::default()
    }
}

/// Why fetching an object failed, for coverage. Transient errors (503
/// SlowDown, 5xx, resets, bodies cut short) were already retried with
/// backoff by the client; what arrives here is final.
fn fetch_problem(e: &object_store::Error) -> (Reason, String) {
    use object_store::Error as E;
    match e {
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => {
            (Reason::AccessDenied, format!("access denied: {}", short(e)))
        }
        E::NotFound { .. } => (
            Reason::Unreadable,
            "listed, but gone when fetched (404)".into(),
        ),
        E::Precondition { .. } => (
            Reason::ChangedDuringScan,
            "object was rewritten while being fetched (ETag changed)".into(),
        ),
        _ => (
            Reason::ReadError,
            format!("fetch failed after retries: {}", short(e)),
        ),
    }
}

fn listing_problem(e: &object_store::Error) -> (Reason, String) {
    match fetch_problem(e) {
        (Reason::AccessDenied, d) => (Reason::AccessDenied, d),
        // Listing errors arrive wrapped as `Generic`: the HTTP status is in the chain.
        _ if says_forbidden(e) => (Reason::AccessDenied, format!("access denied: {}", short(e))),
        _ => (Reason::WalkError, short(e)),
    }
}

/// Whether an error or one of its sources is an HTTP 403 / S3 `AccessDenied`.
fn says_forbidden(e: &dyn std::error::Error) -> bool {
    let mut next = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        if text.contains("403 Forbidden") || text.contains("AccessDenied") {
            return true;
        }
        next = err.source();
    }
    false
}

/// An error message on one line, at most 300 characters.
fn short(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string().replace(['\n', '\r'], " ");
    if s.len() > 300 {
        let mut cut = 300;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// A blocking reader over parts arriving on a channel.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
    current: Bytes,
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}
