//! Rotation and mapping files in S3, as lambda-connect kept them (`PHONE_NUMBER_BUCKET`).

use async_trait::async_trait;
use opsbell_core::ports::Files;

use crate::describe;

pub struct S3Files {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Files {
    /// Path-style addressing: works on AWS and on local emulators alike.
    pub fn from_config(config: &aws_config::SdkConfig, bucket: impl Into<String>) -> Self {
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build();
        S3Files {
            client: aws_sdk_s3::Client::from_conf(s3),
            bucket: bucket.into(),
        }
    }
}

#[async_trait]
impl Files for S3Files {
    async fn read(&self, name: &str) -> Result<Vec<u8>, String> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(name)
            .send()
            .await
            .map_err(|e| format!("s3://{}/{name}: {}", self.bucket, describe(&e)))?;
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| format!("s3://{}/{name}: {e}", self.bucket))?;
        Ok(bytes.into_bytes().to_vec())
    }
}
