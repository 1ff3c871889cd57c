//! Connecting to a store, and where it is: endpoint, region, bucket region,
//! country (the `stores` section of the report).

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey, AwsAuthorizer};
use object_store::client::{HttpConnector, HttpRequestBody, ReqwestConnector};
use object_store::{BackoffConfig, ClientOptions, RetryConfig};
use shekara_detectors::endpoint::Endpoints;
use shekara_detectors::Ruleset;
use shekara_scanner::Store;

use crate::url::StoreUrl;
use crate::ObjectOptions;

/// AWS's default region, and what an empty `LocationConstraint` means.
const DEFAULT_REGION: &str = "us-east-1";

/// A connected store: the client, and what is known of where it is.
#[derive(Debug)]
pub struct Connected {
    /// The client.
    pub s3: Arc<AmazonS3>,
    /// Where the store is (counters filled in by the sweep).
    pub info: Store,
    options: ClientOptions,
}

/// The client options every request uses (timeouts; plain HTTP only when
/// the endpoint asks for it).
fn client_options(endpoint: Option<&str>) -> ClientOptions {
    ClientOptions::new()
        .with_allow_http(endpoint.is_some_and(|e| e.starts_with("http://")))
        .with_connect_timeout(Duration::from_secs(10))
        .with_timeout(Duration::from_secs(120))
}

fn retry_config(o: &ObjectOptions) -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: o.retry_backoff,
            max_backoff: Duration::from_secs(15),
            base: 2.0,
        },
        max_retries: o.retries,
        retry_timeout: Duration::from_secs(180),
    }
}

/// Builds the client for `url`: credentials and defaults from the standard
/// `AWS_*` environment variables, then `--endpoint-url` and `--region`.
///
/// # Errors
/// A configuration the client refuses (e.g. a malformed endpoint).
pub fn connect(url: &StoreUrl, root: usize, o: &ObjectOptions) -> Result<Connected, String> {
    let mut b = AmazonS3Builder::from_env().with_bucket_name(&url.bucket);
    if let Some(e) = &o.endpoint_url {
        b = b.with_endpoint(e.trim_end_matches('/'));
    }
    if let Some((id, secret)) = &o.credentials {
        b = b.with_access_key_id(id).with_secret_access_key(secret);
    }
    if let Some(r) = &o.region {
        b = b.with_region(r);
    }
    let endpoint = b.get_config_value(&AmazonS3ConfigKey::Endpoint);
    let region = b
        .get_config_value(&AmazonS3ConfigKey::Region)
        .unwrap_or_else(|| DEFAULT_REGION.into());
    let options = client_options(endpoint.as_deref());
    let s3 = b
        .with_region(&region)
        .with_client_options(options.clone())
        .with_retry(retry_config(o))
        .build()
        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    let endpoint = endpoint.unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
    let info = Store {
        root,
        url: url.to_string(),
        scheme: url.scheme.clone(),
        bucket: url.bucket.clone(),
        prefix: url.prefix.clone(),
        host: endpoint_host(&endpoint),
        endpoint,
        region,
        ..Store::default()
    };
    Ok(Connected {
        s3: Arc::new(s3),
        info,
        options,
    })
}

/// The host of an endpoint URL, lower-cased, without port.
pub fn endpoint_host(endpoint: &str) -> String {
    let rest = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => authority.split(':').next().unwrap_or(authority),
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

impl Connected {
    /// Asks the store for the bucket's region, then works out provider and
    /// country from the endpoint table.
    pub async fn locate(&mut self) {
        match self.bucket_location().await {
            Ok(region) => {
                self.info.bucket_region = Some(region);
                self.info.bucket_region_source = "GetBucketLocation".into();
            }
            Err(why) => self.info.bucket_region_source = why,
        }
        classify(&mut self.info, &Endpoints::new(Ruleset::builtin()));
    }

    /// GetBucketLocation, as a signed request (object_store does not expose it).
    async fn bucket_location(&self) -> Result<String, String> {
        let info = &self.info;
        let credential = self
            .s3
            .credentials()
            .get_credential()
            .await
            .map_err(|e| format!("not asked: no credentials ({e})"))?;
        let uri = format!(
            "{}/{}?location",
            info.endpoint.trim_end_matches('/'),
            info.bucket
        );
        let mut request = http::Request::builder()
            .method("GET")
            .uri(&uri)
            .body(HttpRequestBody::empty())
            .map_err(|e| format!("not asked: {e}"))?;
        AwsAuthorizer::new(&credential, "s3", &info.region)
            .try_authorize(&mut request, None)
            .map_err(|e| format!("not asked: {e}"))?;
        let client = ReqwestConnector::default()
            .connect(&self.options)
            .map_err(|e| format!("not asked: {e}"))?;
        let response = client
            .execute(request)
            .await
            .map_err(|e| format!("GetBucketLocation failed: {e}"))?;
        let status = response.status();
        let body = response
            .into_body()
            .bytes()
            .await
            .map_err(|e| format!("GetBucketLocation failed: {e}"))?;
        if !status.is_success() {
            return Err(format!(
                "GetBucketLocation refused: HTTP {}",
                status.as_u16()
            ));
        }
        Ok(location_constraint(&String::from_utf8_lossy(&body)))
    }
}

/// The region in a GetBucketLocation answer: empty means `us-east-1`, `EU`
/// means `eu-west-1` (S3's legacy names).
pub fn location_constraint(xml: &str) -> String {
    let inner = xml
        .split_once("<LocationConstraint")
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(open, rest)| {
            if open.ends_with('/') {
                ""
            } else {
                rest.split('<').next().unwrap_or("")
            }
        })
        .unwrap_or("")
        .trim();
    match inner {
        "" => DEFAULT_REGION.into(),
        "EU" => "eu-west-1".into(),
        r => r.to_string(),
    }
}

/// Provider and country of the store, from the endpoint table. For AWS's
/// own endpoint the bucket's region decides (a bucket reached through
/// `s3.us-east-1` may live in `eu-central-1`).
pub fn classify(info: &mut Store, endpoints: &Endpoints) {
    let mut host = info.host.clone();
    if let Some(region) = &info.bucket_region {
        if host.ends_with(".amazonaws.com") && host.starts_with("s3.") {
            host = format!("s3.{region}.amazonaws.com");
        }
    }
    match endpoints.classify_host(&host) {
        Some(place) => {
            info.provider = place.provider;
            info.country = place.country;
        }
        None => {
            info.provider = "unknown".into();
            info.country = "unknown".into();
        }
    }
    info.in_country = info.country == "KZ";
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(endpoint: &str, bucket_region: Option<&str>) -> Store {
        let mut s = Store {
            host: endpoint_host(endpoint),
            endpoint: endpoint.into(),
            bucket_region: bucket_region.map(String::from),
            ..Store::default()
        };
        classify(&mut s, &Endpoints::new(Ruleset::builtin()));
        s
    }

    #[test]
    fn in_country_and_foreign_stores() {
        let kz = store("https://storage.yandexcloud.kz", None);
        assert_eq!((kz.country.as_str(), kz.in_country), ("KZ", true));
        let de = store("https://s3.us-east-1.amazonaws.com", Some("eu-central-1"));
        assert_eq!((de.country.as_str(), de.in_country), ("DE", false));
        assert_eq!(de.provider, "Amazon Web Services");
        let local = store("http://127.0.0.1:9000", Some("us-east-1"));
        assert_eq!(
            (local.country.as_str(), local.in_country),
            ("unknown", false)
        );
    }

    #[test]
    fn hosts_and_location_constraints() {
        assert_eq!(endpoint_host("http://127.0.0.1:9000/"), "127.0.0.1");
        assert_eq!(endpoint_host("https://[::1]:9000"), "::1");
        assert_eq!(
            endpoint_host("https://Storage.YandexCloud.kz."),
            "storage.yandexcloud.kz"
        );
        let xml = r#"<?xml version="1.0"?><LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">eu-central-1</LocationConstraint>"#;
        assert_eq!(location_constraint(xml), "eu-central-1");
        assert_eq!(location_constraint("<LocationConstraint/>"), "us-east-1");
        assert_eq!(
            location_constraint("<LocationConstraint>EU</LocationConstraint>"),
            "eu-west-1"
        );
    }
}
