//! The S3 half of [`super::Store`]: one aws-sdk-s3 client per store, built
//! from the profile's S3 settings (no ambient AWS config is read, so what
//! profiles.yml says is what runs).

use std::path::Path;
use std::time::Duration;

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use tokio::io::AsyncWriteExt;

use super::{ObjectInfo, StorageError};
use crate::project::S3;

/// A bucket and key prefix on an S3-compatible server.
pub struct S3Store {
    client: Client,
    bucket: String,
    prefix: String,
}

impl S3Store {
    /// A client for `bucket/prefix` with the profile's endpoint, region,
    /// URL style and credentials (falling back to `AWS_ACCESS_KEY_ID` /
    /// `AWS_SECRET_ACCESS_KEY`).
    pub fn new(s3: &S3, bucket: &str, prefix: &str) -> Result<S3Store, StorageError> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let key_id = s3
            .key_id
            .as_ref()
            .map(|s| s.expose().to_string())
            .or_else(|| env("AWS_ACCESS_KEY_ID"));
        let secret = s3
            .secret
            .as_ref()
            .map(|s| s.expose().to_string())
            .or_else(|| env("AWS_SECRET_ACCESS_KEY"));
        let (Some(key_id), Some(secret)) = (key_id, secret) else {
            return Err(StorageError(
                "S3 credentials missing: set `key_id` and `secret` under `s3:` in profiles.yml \
                 (for example from env_var), or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
                    .into(),
            ));
        };
        let mut config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(s3.region.clone()))
            .credentials_provider(Credentials::new(key_id, secret, None, None, "lake-profile"))
            .force_path_style(s3.url_style == "path")
            // S3-compatible servers (MinIO, nanio) reject the newer default
            // trailing checksums; plain signed payloads work everywhere.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(5)
                    .with_initial_backoff(Duration::from_millis(200)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .build(),
            );
        if let Some(endpoint) = &s3.endpoint {
            let scheme = if s3.use_ssl { "https" } else { "http" };
            config = config.endpoint_url(format!("{scheme}://{endpoint}"));
        }
        let prefix = prefix.trim_matches('/');
        Ok(S3Store {
            client: Client::from_conf(config.build()),
            bucket: bucket.to_string(),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
        })
    }

    fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// `s3://bucket/prefix/key`.
    pub fn url(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.full_key(key))
    }

    /// One readable line: the server's code and message (with a hint for
    /// the usual culprits), or why the server could not be reached. The
    /// SDK's own Display dumps whole responses.
    fn fail<E, R>(&self, what: &str, key: &str, e: SdkError<E, R>) -> StorageError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let detail = match &e {
            SdkError::ServiceError(se) => {
                let meta = se.err().meta();
                let code = meta.code().unwrap_or("error");
                let hint = match code {
                    "SignatureDoesNotMatch" | "InvalidAccessKeyId" | "AccessDenied" => {
                        "; check the key id and secret (and that they may read this bucket)"
                    }
                    "NoSuchBucket" => "; check the bucket name",
                    _ => "",
                };
                format!("{code}: {}{hint}", meta.message().unwrap_or("no message"))
            }
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
                let mut cause: &dyn std::error::Error = &e;
                while let Some(next) = cause.source() {
                    cause = next;
                }
                format!("cannot reach the S3 server ({cause}); check `endpoint` and `use_ssl`")
            }
            _ => DisplayErrorContext(&e).to_string(),
        };
        StorageError(format!("{what} {}: {detail}", self.url(key)))
    }

    /// Objects under `prefix`, keys relative to the store's prefix, sorted.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StorageError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(self.full_key(prefix))
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.fail("listing", prefix, e))?;
            for obj in page.contents() {
                if let Some(k) = obj.key() {
                    keys.push(ObjectInfo {
                        key: k.strip_prefix(&self.prefix).unwrap_or(k).to_string(),
                        size: obj.size().unwrap_or(0).max(0) as u64,
                        version: obj.e_tag().unwrap_or("").to_string(),
                    });
                }
            }
        }
        keys.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(keys)
    }

    /// Lists at most one key of the bucket: fails when the bucket is
    /// missing or unreadable with these credentials.
    pub async fn list_one(&self) -> Result<(), StorageError> {
        self.client
            .list_objects_v2()
            .bucket(&self.bucket)
            .max_keys(1)
            .send()
            .await
            .map_err(|e| self.fail("listing", "", e))?;
        Ok(())
    }

    /// Streams `key` into `dest`; `Ok(false)` when there is no such object.
    pub async fn download(&self, key: &str, dest: &Path) -> Result<bool, StorageError> {
        let resp = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                let missing = e
                    .as_service_error()
                    .map(|s| s.is_no_such_key())
                    .unwrap_or(false)
                    || e.raw_response().map(|r| r.status().as_u16()) == Some(404);
                if missing {
                    return Ok(false);
                }
                return Err(self.fail("downloading", key, e));
            }
        };
        let io = |e: std::io::Error| StorageError(format!("writing {}: {e}", dest.display()));
        let mut file = tokio::fs::File::create(dest).await.map_err(io)?;
        let mut body = resp.body;
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| StorageError(format!("downloading {}: {e}", self.url(key))))?
        {
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.flush().await.map_err(io)?;
        Ok(true)
    }

    /// Uploads the file at `src` as `key` (one PUT; objects up to 5 GB).
    pub async fn upload(&self, src: &Path, key: &str) -> Result<(), StorageError> {
        let body = ByteStream::from_path(src)
            .await
            .map_err(|e| StorageError(format!("reading {}: {e}", src.display())))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .body(body)
            .send()
            .await
            .map_err(|e| self.fail("uploading", key, e))?;
        Ok(())
    }

    /// Deletes `key` (S3 treats deleting a missing key as success).
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await
            .map_err(|e| self.fail("deleting", key, e))?;
        Ok(())
    }
}
