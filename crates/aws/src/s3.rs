//! Rotation and mapping files in S3, as lambda-connect kept them (`PHONE_NUMBER_BUCKET`).

use async_trait::async_trait;
use opsbell_core::ports::{FileError, Files};

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
    /// A key that does not exist answers 404, or 403 to a role without `s3:ListBucket` (as
    /// the caller's is): both mean a setting to fix. Anything else may pass.
    async fn read(&self, name: &str) -> Result<Vec<u8>, FileError> {
        let at = format!("s3://{}/{name}", self.bucket);
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(name)
            .send()
            .await
            .map_err(|e| {
                let text = format!("{at}: {}", describe(&e));
                let status = e.raw_response().map(|r| r.status().as_u16());
                match status {
                    Some(403 | 404) => FileError::Missing(text),
                    _ => FileError::Unavailable(text),
                }
            })?;
        let bytes =
            (out.body.collect().await).map_err(|e| FileError::Unavailable(format!("{at}: {e}")))?;
        Ok(bytes.into_bytes().to_vec())
    }
}
