//! Resolves `ssm:/path` (SSM Parameter Store, decrypted) and `secretsmanager:name` references in
//! configuration at cold start. Errors name the reference, never a value.

use std::sync::OnceLock;

use async_trait::async_trait;
use opsbell_core::config::{Config, ConfigError};
use opsbell_core::ports::{Reference, Resolver};

use crate::describe;

/// The two secret stores' clients, each made when a reference first names it: making an SDK
/// client costs about as much CPU as the rest of webhook-ingest's INIT (its endpoint rules), and
/// most configurations name one store or none.
pub struct AwsSecrets {
    config: aws_config::SdkConfig,
    ssm: OnceLock<aws_sdk_ssm::Client>,
    secrets_manager: OnceLock<aws_sdk_secretsmanager::Client>,
}

impl AwsSecrets {
    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        AwsSecrets {
            config: config.clone(),
            ssm: OnceLock::new(),
            secrets_manager: OnceLock::new(),
        }
    }
}

#[async_trait]
impl Resolver for AwsSecrets {
    async fn resolve(&self, reference: &Reference) -> Result<String, String> {
        match reference {
            Reference::Ssm(name) => {
                let ssm = (self.ssm).get_or_init(|| aws_sdk_ssm::Client::new(&self.config));
                let out = ssm
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
                let secrets_manager = (self.secrets_manager)
                    .get_or_init(|| aws_sdk_secretsmanager::Client::new(&self.config));
                let out = secrets_manager
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
