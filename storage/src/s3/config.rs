//! [`S3Config`]: where a bucket is and how to sign for it.

use std::fmt;

use crate::StorageError;

/// Objects larger than this are uploaded in parts by default (16 MiB).
pub const DEFAULT_MULTIPART_THRESHOLD: u64 = 16 * 1024 * 1024;
/// Default size of each part of a multipart upload (8 MiB).
pub const DEFAULT_PART_SIZE: u64 = 8 * 1024 * 1024;
/// S3's smallest allowed part (all parts but the last).
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// S3's largest allowed part.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// How to reach a bucket. `Debug` never prints the secret.
#[derive(Clone)]
pub struct S3Config {
    /// Service URL such as `http://127.0.0.1:3900`; `None` for AWS itself.
    pub endpoint: Option<String>,
    pub bucket: String,
    /// Signing region (`garage` for a default Garage).
    pub region: String,
    /// Address the bucket as `<endpoint>/<bucket>` rather than as a
    /// subdomain; most self-hosted services need this.
    pub path_style: bool,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Bodies longer than this many bytes use a multipart upload.
    pub multipart_threshold: u64,
    /// Bytes per part of a multipart upload, within
    /// [`MIN_PART_SIZE`]..=[`MAX_PART_SIZE`].
    pub part_size: u64,
}

impl S3Config {
    /// A config with the default multipart settings, for a self-hosted
    /// service at `endpoint` addressed path-style.
    pub fn new(
        endpoint: impl Into<String>,
        bucket: impl Into<String>,
        region: impl Into<String>,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> S3Config {
        S3Config {
            endpoint: Some(endpoint.into()),
            bucket: bucket.into(),
            region: region.into(),
            path_style: true,
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            ..S3Config::default()
        }
    }

    pub(super) fn validate(&self) -> Result<(), StorageError> {
        let fail = |m: String| Err(StorageError::Config(m));
        if self.bucket.is_empty() {
            return fail("S3 bucket name is empty".into());
        }
        if self.region.is_empty() {
            return fail("S3 region is empty (use \"garage\" for a default Garage)".into());
        }
        if self.access_key_id.is_empty() || self.secret_access_key.is_empty() {
            return fail(format!(
                "S3 credentials for bucket {} are incomplete: both an access key id and a secret access key are needed",
                self.bucket
            ));
        }
        if let Some(endpoint) = &self.endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return fail(format!(
                "S3 endpoint {endpoint:?} must start with http:// or https://"
            ));
        }
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&self.part_size) {
            return fail(format!(
                "S3 part size {} is outside the {MIN_PART_SIZE}..={MAX_PART_SIZE} bytes S3 allows",
                self.part_size
            ));
        }
        Ok(())
    }
}

impl Default for S3Config {
    fn default() -> Self {
        S3Config {
            endpoint: None,
            bucket: String::new(),
            region: "us-east-1".into(),
            path_style: false,
            access_key_id: String::new(),
            secret_access_key: String::new(),
            multipart_threshold: DEFAULT_MULTIPART_THRESHOLD,
            part_size: DEFAULT_PART_SIZE,
        }
    }
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("path_style", &self.path_style)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("multipart_threshold", &self.multipart_threshold)
            .field("part_size", &self.part_size)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_the_secret() {
        let config = S3Config::new("http://127.0.0.1:1", "b", "garage", "GKid", "s3cr3t-value");
        let printed = format!("{config:?} {config:#?}");
        assert!(!printed.contains("s3cr3t-value"), "{printed}");
        assert!(printed.contains("<redacted>"));
    }
}
