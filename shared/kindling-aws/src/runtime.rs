//! Cold-start wiring shared by the six functions: settings, the bundled configuration, AWS
//! clients built once, and the adapters, assembled into a [`Kindling`].

use crate::eventbridge::EventBridgeBus;
use crate::ses::SesMailer;
use crate::settings::Settings;
use crate::sns::SnsNotifier;
use crate::DynamoStore;
use anyhow::Context;
use aws_config::{BehaviorVersion, SdkConfig};
use kindling::config::{Config, ConfigErrors};
use kindling::ports::Stores;
use kindling::system::{SystemClock, UuidIds};
use kindling::usecases::Kindling;
use std::sync::Arc;

mod bundled {
    include!(concat!(env!("OUT_DIR"), "/bundled_config.rs"));
}

/// The nurture program this binary was built with.
pub fn bundled_config() -> Result<Config, ConfigErrors> {
    let templates = bundled::TEMPLATES
        .iter()
        .map(|(n, s)| ((*n).to_owned(), (*s).to_owned()))
        .collect();
    Config::from_sources(
        "config/kindling.toml",
        bundled::KINDLING_TOML,
        "config/templates",
        templates,
    )
}

/// The HTTPS client every AWS client uses: rustls with ring (a far smaller binary than aws-lc,
/// which the SDK picks by default); trusted roots are loaded on the first request, not at init.
pub fn http_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// A function's dependencies, built once per execution environment.
#[derive(Clone)]
pub struct Runtime {
    pub kindling: Kindling,
    pub settings: Settings,
    pub sdk: SdkConfig,
}

impl Runtime {
    /// Reads settings and configuration and builds the clients. Fails with a message naming the
    /// bad setting or the config file and line.
    pub async fn init() -> anyhow::Result<Runtime> {
        let settings = Settings::from_env()?;
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http_client())
            .load()
            .await;
        Self::with(settings, sdk)
    }

    /// Builds from explicit settings and SDK configuration (tests).
    pub fn with(settings: Settings, sdk: SdkConfig) -> anyhow::Result<Runtime> {
        let mut config = bundled_config()
            .map_err(|e| anyhow::anyhow!("bundled configuration is invalid:\n{e}"))?;
        if let Some(url) = &settings.public_url {
            config.program.public_url.clone_from(url);
        }
        let store = Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            &settings.table,
        ));
        let bus = Arc::new(EventBridgeBus::new(
            aws_sdk_eventbridge::Client::new(&sdk),
            &settings.event_bus,
        ));
        let kindling = Kindling {
            config: Arc::new(config),
            keys: Arc::new(settings.signing_keys.clone()),
            stores: Stores::from_one(store),
            bus,
            clock: Arc::new(SystemClock),
            ids: Arc::new(UuidIds),
        };
        Ok(Runtime {
            kindling,
            settings,
            sdk,
        })
    }

    /// The SES mailer (send-steps).
    pub fn mailer(&self) -> SesMailer {
        SesMailer::new(
            aws_sdk_sesv2::Client::new(&self.sdk),
            self.settings.configuration_set.clone(),
        )
    }

    /// The SNS notifier (notify); needs `KINDLING_ALERT_TOPIC_ARN`.
    pub fn notifier(&self) -> anyhow::Result<SnsNotifier> {
        let topic = self
            .settings
            .alert_topic_arn
            .clone()
            .context("setting KINDLING_ALERT_TOPIC_ARN: is required by notify")?;
        Ok(SnsNotifier::new(aws_sdk_sns::Client::new(&self.sdk), topic))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bundled_configuration_is_valid() {
        let c = super::bundled_config().unwrap();
        assert!(c.sequence("document_followup").is_some());
    }
}
