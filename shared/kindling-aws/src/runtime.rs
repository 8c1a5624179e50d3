//! Cold-start wiring shared by the six functions: settings, the bundled configuration, AWS
//! clients built once, and the adapters, assembled into a [`Kindling`].

use crate::error::InitError;
use crate::eventbridge::EventBridgeBus;
use crate::ses::SesMailer;
use crate::settings::{KeySource, Settings};
use crate::sns::SnsNotifier;
use crate::DynamoStore;
use aws_config::{BehaviorVersion, SdkConfig};
use kindling::app::Kindling;
use kindling::app::Stores;
use kindling::config::Config;
use kindling::diag::ConfigErrors;
use kindling::system::{SystemClock, UuidIds};
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

/// Roots of Amazon Trust Services, to which every AWS API endpoint chains.
const AMAZON_ROOTS: &str = include_str!("amazon-trust-services.pem");

/// The HTTPS client every AWS client uses: rustls with ring (a far smaller binary than aws-lc,
/// which the SDK picks by default), trusting Amazon's five roots rather than the ~140 of the
/// system store. Parsing the system store cost about 5 ms of every cold start, and AWS calls need
/// only these. `KINDLING_TLS_SYSTEM_ROOTS=1` trusts the system store instead (e.g. behind a
/// TLS-inspecting proxy).
pub fn http_client() -> Result<aws_sdk_dynamodb::config::SharedHttpClient, InitError> {
    use aws_smithy_http_client::tls::{
        rustls_provider::CryptoMode, Provider, TlsContext, TrustStore,
    };
    let store = if std::env::var_os("KINDLING_TLS_SYSTEM_ROOTS").is_some() {
        TrustStore::empty().with_native_roots(true)
    } else {
        TrustStore::empty().with_pem_certificate(AMAZON_ROOTS.as_bytes())
    };
    let builder =
        aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring));
    let ctx = TlsContext::builder()
        .with_trust_store(store)
        .build()
        .map_err(|e| InitError::Tls(Box::new(e)))?;
    Ok(builder.tls_context(ctx).build_https())
}

/// Whether a function signs or verifies links (track, send-steps) and so needs the signing keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    /// The keys must be configured; start-up fails without them.
    Required,
    /// The function never signs or verifies: the keys are not read (no secret access needed).
    Unused,
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
    pub async fn init(keys: Keys) -> Result<Runtime, InitError> {
        let mut settings = Settings::from_env()?;
        match keys {
            Keys::Required if settings.signing_keys.is_none() => {
                return Err(InitError::Required {
                    setting: "KINDLING_SIGNING_KEYS_SECRET_ARN",
                    why: "(or KINDLING_SIGNING_KEYS) by a function that signs or verifies links",
                })
            }
            Keys::Required => {}
            // Not read, so the function needs no access to the secret.
            Keys::Unused => settings.signing_keys = None,
        }
        // Lambda puts the execution role's credentials in the environment. Naming that provider
        // skips building the default chain (profile, web identity, ECS, IMDS), which cost about
        // 4 ms of every cold start (BENCHMARKS.md).
        let credentials = aws_config::environment::EnvironmentVariableCredentialsProvider::new();
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http_client()?)
            .credentials_provider(credentials)
            .load()
            .await;
        Self::with(settings, sdk).await
    }

    /// Builds from explicit settings and SDK configuration (also the tests' entry): reads the
    /// signing keys (from Secrets Manager when the settings name a secret) and the bundled
    /// configuration, and builds the adapters.
    pub async fn with(settings: Settings, sdk: SdkConfig) -> Result<Runtime, InitError> {
        let keys = match &settings.signing_keys {
            Some(KeySource::Inline(keys)) => keys.clone(),
            Some(KeySource::Secret(arn)) => {
                crate::secrets::fetch(&aws_sdk_secretsmanager::Client::new(&sdk), arn).await?
            }
            None => crate::secrets::throwaway_keys(),
        };
        let mut config = bundled_config().map_err(|e| InitError::Config(e.to_string()))?;
        if let Some(url) = &settings.public_url {
            config.program.public_url.clone_from(url);
        }
        config.program.beacon_url.clone_from(&settings.beacon_url);
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
            keys: Arc::new(keys),
            stores: Stores::from_one(store),
            bus,
            clock: Arc::new(SystemClock),
            ids: Arc::new(UuidIds),
            test_mailer: None,
            reports: None,
            sync: None,
        };
        Ok(Runtime {
            kindling,
            settings,
            sdk,
        })
    }

    /// The SES mailer (send-steps), paced to the account's `MaxSendRate` read now (once per
    /// cold start; send-steps runs one at a time, so one bucket is the whole account's rate),
    /// and never above what the API's limits carry (`[api]`: the pixel, click and unsubscribe
    /// traffic of the mail stays inside them). If the quota cannot be read, the
    /// `KINDLING_SES_MAX_SEND_RATE` fallback applies.
    pub async fn mailer(&self) -> SesMailer {
        let client = aws_sdk_sesv2::Client::new(&self.sdk);
        let rate = match crate::ses::max_send_rate(&client).await {
            Ok(rate) => {
                tracing::info!(
                    max_send_rate = rate,
                    "pacing sends to the SES account's rate"
                );
                rate
            }
            Err(e) => {
                let rate = self.settings.fallback_send_rate;
                tracing::warn!(error = %e, fallback = rate, "could not read the SES send quota; pacing to the fallback rate");
                rate
            }
        };
        // The traffic mail causes on the tracking routes must stay within their limits.
        let api = self.kindling.config.api.max_send_rate();
        if api < rate {
            tracing::info!(
                max_send_rate = rate,
                api_limit = api,
                "pacing sends below the SES rate to what the API's limits carry ([api])"
            );
        }
        SesMailer::paced(
            client,
            self.settings.configuration_set.clone(),
            rate.min(api),
        )
    }

    /// Serves broadcast test sends (intake): an unpaced SES mailer (a test send is at most
    /// `MAX_TEST_ADDRESSES` mails) outside the configuration set, so that the feedback of a
    /// reviewer's mailbox never reaches a lead's record. The stack lets this role mail the
    /// configured test addresses only.
    pub fn with_test_mailer(mut self) -> Self {
        let client = aws_sdk_sesv2::Client::new(&self.sdk);
        self.kindling.test_mailer = Some(Arc::new(SesMailer::new(client, None)));
        self
    }

    /// Keeps the weekly report for the digest (send-steps): in the bucket of the settings, with
    /// links signed by the reader key of their secret ([`crate::reports`]). Without those
    /// settings the digest goes without a link.
    pub async fn with_reports(mut self) -> Result<Self, InitError> {
        if let Some(r) = &self.settings.reports {
            let reports =
                crate::reports::S3Reports::new(&self.sdk, &r.bucket, &r.reader_secret_arn).await?;
            self.kindling.reports =
                Some(Arc::new(kindling::admin::page::Weekly(Arc::new(reports))));
        }
        Ok(self)
    }

    /// Reads and replays the CRM sync's dead letters (intake, with the stack's `crmSync`).
    pub fn with_sync(mut self) -> Self {
        if let Some(url) = &self.settings.crm_dead_letters {
            let target = self
                .settings
                .crm_target
                .clone()
                .unwrap_or_else(|| "the CRM's API destination".to_owned());
            self.kindling.sync = Some(Arc::new(crate::crm_sync::DeadLetters::new(
                aws_sdk_sqs::Client::new(&self.sdk),
                url,
                target,
                self.kindling.bus.clone(),
            )));
        }
        self
    }

    /// The SNS notifier (notify); needs `KINDLING_ALERT_TOPIC_ARN`, and sends ops alerts to
    /// `KINDLING_OPS_TOPIC_ARN` if set.
    pub fn notifier(&self) -> Result<SnsNotifier, InitError> {
        let topic = self
            .settings
            .alert_topic_arn
            .clone()
            .ok_or(InitError::Required {
                setting: "KINDLING_ALERT_TOPIC_ARN",
                why: "by notify",
            })?;
        let notifier = SnsNotifier::new(aws_sdk_sns::Client::new(&self.sdk), topic);
        Ok(match &self.settings.ops_topic_arn {
            Some(ops) => notifier.with_ops_topic(ops.clone()),
            None => notifier,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bundled_amazon_roots_parse() {
        let certs: Vec<_> = super::AMAZON_ROOTS.matches("BEGIN CERTIFICATE").collect();
        assert_eq!(certs.len(), 5);
        super::http_client().unwrap();
    }

    #[test]
    fn the_bundled_configuration_is_valid() {
        let c = super::bundled_config().unwrap();
        assert!(c.sequence("document_followup").is_some());
    }
}
