//! Object-store URLs: `s3://bucket[/prefix]`.

use std::fmt;

/// A parsed object-store root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreUrl {
    /// `s3`.
    pub scheme: String,
    /// The bucket.
    pub bucket: String,
    /// The key prefix, without leading or trailing `/` (empty: the whole bucket).
    pub prefix: String,
}

/// Schemes that name an object store. Only `s3` is swept today; the others
/// are recognised so that they get a clear error instead of "no such file".
const SCHEMES: [&str; 6] = ["s3", "s3a", "gs", "az", "abfs", "abfss"];

/// Whether a command-line input names an object store rather than a path.
pub fn is_object_url(s: &str) -> bool {
    s.split_once("://")
        .is_some_and(|(scheme, _)| SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()))
}

impl StoreUrl {
    /// Parses `s3://bucket[/prefix]` (`s3a://` is taken as `s3://`).
    ///
    /// # Errors
    /// Another scheme, or no bucket; the message says what to write instead.
    pub fn parse(s: &str) -> Result<StoreUrl, String> {
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| format!("'{s}' is not an object-store URL: use s3://bucket/prefix"))?;
        let scheme = scheme.to_ascii_lowercase();
        match scheme.as_str() {
            "s3" | "s3a" => {}
            "gs" | "az" | "abfs" | "abfss" => {
                return Err(format!(
                    "'{s}': {scheme}:// stores are not supported yet; only s3:// (and S3-compatible stores via --endpoint-url) are"
                ))
            }
            _ => return Err(format!("'{s}' is not an object-store URL: use s3://bucket/prefix")),
        }
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() || bucket.contains(['?', '#', ' ']) {
            return Err(format!(
                "'{s}' has no valid bucket name: use s3://bucket/prefix"
            ));
        }
        Ok(StoreUrl {
            scheme: "s3".into(),
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }

    /// The location of an object of this store: `s3://bucket/key`.
    pub fn object(&self, key: &str) -> String {
        format!("{}://{}/{key}", self.scheme, self.bucket)
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.bucket)?;
        if !self.prefix.is_empty() {
            write!(f, "/{}", self.prefix)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_buckets_and_prefixes() {
        let u = StoreUrl::parse("s3://lake/raw/2024/").unwrap();
        assert_eq!((u.bucket.as_str(), u.prefix.as_str()), ("lake", "raw/2024"));
        assert_eq!(u.to_string(), "s3://lake/raw/2024");
        assert_eq!(u.object("raw/2024/a.csv"), "s3://lake/raw/2024/a.csv");
        let whole = StoreUrl::parse("S3A://lake").unwrap();
        assert_eq!((whole.scheme.as_str(), whole.prefix.as_str()), ("s3", ""));
    }

    #[test]
    fn rejects_with_advice() {
        assert!(StoreUrl::parse("s3://").unwrap_err().contains("bucket"));
        assert!(StoreUrl::parse("gs://b/p")
            .unwrap_err()
            .contains("not supported"));
        assert!(StoreUrl::parse("lake/raw").is_err());
        assert!(is_object_url("s3://b") && is_object_url("gs://b"));
        assert!(!is_object_url("data/s3://x") && !is_object_url("-") && !is_object_url("./s3"));
    }
}
