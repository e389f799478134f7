//! An S3 client for tests, independent of lake: aws-sdk-s3 pointed at the
//! `.ci/services` server, for listing what landed in the bucket and for
//! planting source objects.

use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};

fn need(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| {
        panic!("{k} is not set: start the test servers with `bash .ci/services up && source ~/.cache/lake/services/env` (or run `bash .ci/run`)")
    })
}

/// The test bucket's name.
pub fn bucket() -> String {
    need("LAKE_TEST_S3_BUCKET")
}

fn client() -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(format!("http://{}", need("LAKE_TEST_S3_ENDPOINT")))
        .force_path_style(true)
        .credentials_provider(Credentials::new(
            need("LAKE_TEST_S3_KEY_ID"),
            need("LAKE_TEST_S3_SECRET"),
            None,
            None,
            "tests",
        ))
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Every key under `prefix` in the test bucket (ListObjectsV2, all pages).
pub fn list_objects(prefix: &str) -> Vec<String> {
    runtime().block_on(async {
        let client = client();
        let mut pages = client
            .list_objects_v2()
            .bucket(bucket())
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.unwrap_or_else(|e| {
                panic!(
                    "S3 list failed: {}",
                    aws_sdk_s3::error::DisplayErrorContext(e)
                )
            });
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
        }
        keys.sort();
        keys
    })
}

/// Writes `body` as `key` in the test bucket.
pub fn put_object(key: &str, body: Vec<u8>) {
    runtime().block_on(async {
        client()
            .put_object()
            .bucket(bucket())
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "S3 put failed: {}",
                    aws_sdk_s3::error::DisplayErrorContext(e)
                )
            });
    })
}
