//! Resolves `ssm:/path` (SSM Parameter Store, decrypted) and `secretsmanager:name` references in
//! configuration at cold start. Errors name the reference, never a value.

use async_trait::async_trait;
use opsbell_core::config::{Config, ConfigError};
use opsbell_core::ports::{Reference, Resolver};

use crate::describe;

pub struct AwsSecrets {
    ssm: aws_sdk_ssm::Client,
    secrets_manager: aws_sdk_secretsmanager::Client,
}

impl AwsSecrets {
    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        AwsSecrets {
            ssm: aws_sdk_ssm::Client::new(config),
            secrets_manager: aws_sdk_secretsmanager::Client::new(config),
        }
    }
}

#[async_trait]
impl Resolver for AwsSecrets {
    async fn resolve(&self, reference: &Reference) -> Result<String, String> {
        match reference {
            Reference::Ssm(name) => {
                let out = self
                    .ssm
                    .get_parameter()
                    .name(name)
                    .with_decryption(true)
                    .send()
                    .await
                    .map_err(|e| describe(&e))?;
                out.parameter()
                    .and_then(|p| p.value())
                    .map(String::from)
                    .ok_or_else(|| "parameter has no value".into())
            }
            Reference::SecretsManager(id) => {
                let out = self
                    .secrets_manager
                    .get_secret_value()
                    .secret_id(id)
                    .send()
                    .await
                    .map_err(|e| describe(&e))?;
                out.secret_string()
                    .map(String::from)
                    .ok_or_else(|| "secret has no string value".into())
            }
        }
    }
}

/// The function's configuration (file and environment), secrets resolved, validated.
pub async fn load_config(config: &aws_config::SdkConfig) -> Result<Config, ConfigError> {
    Config::from_environment(&AwsSecrets::from_config(config)).await
}
