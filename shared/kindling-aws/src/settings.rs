//! Deployment settings from environment variables (set by the CDK stack), read and checked once
//! at cold start. A missing or bad value stops start-up with a message naming the variable.

use kindling::token::SigningKeys;

/// Every setting a function may need.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `KINDLING_TABLE`: the DynamoDB table.
    pub table: String,
    /// `KINDLING_EVENT_BUS`: the EventBridge bus name or ARN.
    pub event_bus: String,
    /// Where the link-signing keys come from: `KINDLING_SIGNING_KEYS_SECRET_ARN` (a Secrets
    /// Manager secret, what the stack deploys) or `KINDLING_SIGNING_KEYS`
    /// (`kid:base64secret[,kid:base64secret...]`, current key first); at most one. The functions
    /// that sign or verify links (track, send-steps) require one (see [`crate::Runtime::init`]).
    pub signing_keys: Option<KeySource>,
    /// `KINDLING_PUBLIC_URL` (optional): overrides `program.public_url` (the API's custom domain).
    pub public_url: Option<String>,
    /// `KINDLING_BEACON_URL` (optional, track): where kindling.js sends beacons, the beacon
    /// function's URL (the stack's `beaconUrl` setting); an https URL.
    pub beacon_url: Option<String>,
    /// `KINDLING_ALERT_TOPIC_ARN`: the SNS topic for sales alerts (notify only).
    pub alert_topic_arn: Option<String>,
    /// `KINDLING_OPS_TOPIC_ARN` (optional): the SNS topic for ops alerts (sending paused); without
    /// it they go to the alert topic with `audience` = `ops`.
    pub ops_topic_arn: Option<String>,
    /// `KINDLING_SES_CONFIGURATION_SET` (optional): tags every send (send-steps).
    pub configuration_set: Option<String>,
    /// `KINDLING_SEND_BUDGET`: mails (steps, then broadcast recipients) handled per send-steps
    /// run. Unset: sized from the account's send rate ([`Settings::send_budget_for`]).
    pub send_budget: Option<usize>,
    /// Mails per second when SES `GetAccount` cannot be read at cold start
    /// (`KINDLING_SES_MAX_SEND_RATE`, default 1: the sandbox's rate).
    pub fallback_send_rate: f64,
    /// `KINDLING_REPORT_BUCKET` and `KINDLING_REPORT_READER_SECRET_ARN` (send-steps, both or
    /// neither): where the weekly report goes and the secret of the key its link is signed
    /// with ([`crate::reports`]).
    pub reports: Option<ReportSettings>,
    /// `KINDLING_CRM_DEAD_LETTERS_URL` (intake, with the stack's `crmSync`): the API
    /// destination's dead-letter queue, which `sync status` reads and `sync replay` drains;
    /// `KINDLING_CRM_TARGET` names the CRM in the status.
    pub crm_dead_letters: Option<String>,
    pub crm_target: Option<String>,
}

/// Where the weekly report goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportSettings {
    pub bucket: String,
    pub reader_secret_arn: String,
}

/// Seconds of a send-steps run (its timeout is 50 s) spent handing mails to SES.
pub const SEND_SECONDS_PER_RUN: f64 = 40.0;

impl Settings {
    /// Mails per run: `KINDLING_SEND_BUDGET` if set, else what the paced mailer can hand SES in
    /// [`SEND_SECONDS_PER_RUN`] at `rate` mails a second, from 200 to 10,000.
    pub fn send_budget_for(&self, rate: f64) -> usize {
        self.send_budget.unwrap_or_else(|| {
            let n = (rate * SEND_SECONDS_PER_RUN).floor();
            if n.is_finite() {
                (n as usize).clamp(200, 10_000)
            } else {
                10_000
            }
        })
    }
}

/// Where the signing keys come from.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// Given in the environment.
    Inline(SigningKeys),
    /// Read from this Secrets Manager secret at cold start (see [`crate::secrets`]).
    Secret(String),
}

/// A setting is missing or malformed.
#[derive(Debug, thiserror::Error)]
#[error("setting {key}: {message}")]
pub struct SettingsError {
    pub key: &'static str,
    pub message: String,
}

fn err(key: &'static str, message: impl Into<String>) -> SettingsError {
    SettingsError {
        key,
        message: message.into(),
    }
}

impl Settings {
    /// Reads settings through `get` (the process environment in production).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let required = |key: &'static str| {
            get(key)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| err(key, "is required"))
        };
        let optional = |key: &str| get(key).filter(|v| !v.trim().is_empty());
        let signing_keys = match (
            optional("KINDLING_SIGNING_KEYS"),
            optional("KINDLING_SIGNING_KEYS_SECRET_ARN"),
        ) {
            (Some(spec), None) => Some(KeySource::Inline(
                SigningKeys::parse(&spec)
                    .map_err(|e| err("KINDLING_SIGNING_KEYS", e.to_string()))?,
            )),
            (None, Some(arn)) if arn.starts_with("arn:") => Some(KeySource::Secret(arn)),
            (None, Some(_)) => {
                return Err(err(
                    "KINDLING_SIGNING_KEYS_SECRET_ARN",
                    "must be a Secrets Manager ARN",
                ))
            }
            (Some(_), Some(_)) => {
                return Err(err(
                    "KINDLING_SIGNING_KEYS",
                    "set either it or KINDLING_SIGNING_KEYS_SECRET_ARN, not both",
                ))
            }
            (None, None) => None,
        };
        let public_url =
            optional("KINDLING_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_owned());
        if let Some(u) = &public_url {
            if !u.starts_with("https://")
                && !u.starts_with("http://127.0.0.1")
                && !u.starts_with("http://localhost")
            {
                return Err(err("KINDLING_PUBLIC_URL", "must be an https URL"));
            }
        }
        let beacon_url =
            optional("KINDLING_BEACON_URL").map(|u| u.trim_end_matches('/').to_owned());
        if let Some(u) = &beacon_url {
            // Filled into kindling.js as a string: a plain https URL, nothing to escape.
            let plain = u
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"\"'\\<>".contains(&b));
            if !u.starts_with("https://") || !plain {
                return Err(err("KINDLING_BEACON_URL", "must be an https URL"));
            }
        }
        let send_budget = match optional("KINDLING_SEND_BUDGET") {
            None => None,
            Some(v) => Some(
                v.parse()
                    .ok()
                    .filter(|n| (1..=10_000).contains(n))
                    .ok_or_else(|| {
                        err("KINDLING_SEND_BUDGET", "must be a number from 1 to 10000")
                    })?,
            ),
        };
        let fallback_send_rate = match optional("KINDLING_SES_MAX_SEND_RATE") {
            None => 1.0,
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|r| r.is_finite() && *r > 0.0)
                .ok_or_else(|| err("KINDLING_SES_MAX_SEND_RATE", "must be a positive number"))?,
        };
        let reports = match (
            optional("KINDLING_REPORT_BUCKET"),
            optional("KINDLING_REPORT_READER_SECRET_ARN"),
        ) {
            (None, None) => None,
            (Some(bucket), Some(arn)) if arn.starts_with("arn:") => Some(ReportSettings {
                bucket,
                reader_secret_arn: arn,
            }),
            (Some(_), Some(_)) => {
                return Err(err(
                    "KINDLING_REPORT_READER_SECRET_ARN",
                    "must be a Secrets Manager ARN",
                ))
            }
            (Some(_), None) => {
                return Err(err(
                    "KINDLING_REPORT_READER_SECRET_ARN",
                    "is required with KINDLING_REPORT_BUCKET",
                ))
            }
            (None, Some(_)) => {
                return Err(err(
                    "KINDLING_REPORT_BUCKET",
                    "is required with KINDLING_REPORT_READER_SECRET_ARN",
                ))
            }
        };
        Ok(Settings {
            table: required("KINDLING_TABLE")?,
            event_bus: required("KINDLING_EVENT_BUS")?,
            signing_keys,
            public_url,
            beacon_url,
            alert_topic_arn: optional("KINDLING_ALERT_TOPIC_ARN"),
            ops_topic_arn: optional("KINDLING_OPS_TOPIC_ARN"),
            configuration_set: optional("KINDLING_SES_CONFIGURATION_SET"),
            send_budget,
            fallback_send_rate,
            reports,
            crm_dead_letters: optional("KINDLING_CRM_DEAD_LETTERS_URL"),
            crm_target: optional("KINDLING_CRM_TARGET"),
        })
    }

    /// Reads settings from the process environment.
    pub fn from_env() -> Result<Settings, SettingsError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| m.get(k).cloned()
    }

    const KEY: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn minimal_settings_load_with_defaults() {
        let s = Settings::from_lookup(env(&[
            ("KINDLING_TABLE", "t"),
            ("KINDLING_EVENT_BUS", "b"),
            ("KINDLING_SIGNING_KEYS", KEY),
        ]))
        .unwrap();
        assert_eq!(
            (s.table.as_str(), s.event_bus.as_str(), s.send_budget),
            ("t", "b", None)
        );
        // Sized from the account's rate: 40 of the run's 50 seconds, at least 200.
        assert_eq!(s.send_budget_for(1.0), 200);
        assert_eq!(s.send_budget_for(14.0), 560);
        assert_eq!(s.send_budget_for(200.0), 8_000);
        assert_eq!(s.send_budget_for(1_000.0), 10_000);
        assert!(s.alert_topic_arn.is_none() && s.public_url.is_none());
        assert!(s.beacon_url.is_none());
        assert!(s.ops_topic_arn.is_none());
        assert_eq!(s.fallback_send_rate, 1.0, "the SES sandbox's rate");
        assert!(s.reports.is_none());
    }

    #[test]
    fn the_report_bucket_comes_with_its_reader_secret() {
        let arn =
            "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:kindling-reader-AbCdEf";
        let base = [("KINDLING_TABLE", "t"), ("KINDLING_EVENT_BUS", "b")];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = base.to_vec();
            pairs.extend_from_slice(extra);
            Settings::from_lookup(env(&pairs))
        };
        let s = with(&[
            ("KINDLING_REPORT_BUCKET", "kindling-reports"),
            ("KINDLING_REPORT_READER_SECRET_ARN", arn),
        ])
        .unwrap();
        assert_eq!(
            s.reports,
            Some(ReportSettings {
                bucket: "kindling-reports".into(),
                reader_secret_arn: arn.into()
            })
        );
        let key = |r: Result<Settings, SettingsError>| r.unwrap_err().key;
        assert_eq!(
            key(with(&[("KINDLING_REPORT_BUCKET", "b")])),
            "KINDLING_REPORT_READER_SECRET_ARN"
        );
        assert_eq!(
            key(with(&[("KINDLING_REPORT_READER_SECRET_ARN", arn)])),
            "KINDLING_REPORT_BUCKET"
        );
        assert_eq!(
            key(with(&[
                ("KINDLING_REPORT_BUCKET", "b"),
                ("KINDLING_REPORT_READER_SECRET_ARN", "reader")
            ])),
            "KINDLING_REPORT_READER_SECRET_ARN"
        );
    }

    #[test]
    fn signing_keys_come_from_at_most_one_source() {
        let arn = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:kindling-keys-AbCdEf";
        let base = [("KINDLING_TABLE", "t"), ("KINDLING_EVENT_BUS", "b")];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = base.to_vec();
            pairs.extend_from_slice(extra);
            Settings::from_lookup(env(&pairs))
        };
        let s = with(&[("KINDLING_SIGNING_KEYS_SECRET_ARN", arn)]).unwrap();
        assert!(matches!(s.signing_keys, Some(KeySource::Secret(a)) if a == arn));
        let s = with(&[("KINDLING_SIGNING_KEYS", KEY)]).unwrap();
        assert!(matches!(s.signing_keys, Some(KeySource::Inline(_))));
        assert!(with(&[]).unwrap().signing_keys.is_none());
        let both = with(&[
            ("KINDLING_SIGNING_KEYS", KEY),
            ("KINDLING_SIGNING_KEYS_SECRET_ARN", arn),
        ])
        .unwrap_err();
        assert_eq!(both.key, "KINDLING_SIGNING_KEYS");
        let not_arn = with(&[("KINDLING_SIGNING_KEYS_SECRET_ARN", "kindling-keys")]).unwrap_err();
        assert_eq!(not_arn.key, "KINDLING_SIGNING_KEYS_SECRET_ARN");
    }

    #[test]
    fn bad_settings_name_their_variable() {
        let base = [
            ("KINDLING_TABLE", "t"),
            ("KINDLING_EVENT_BUS", "b"),
            ("KINDLING_SIGNING_KEYS", KEY),
        ];
        let cases: [(&str, &str, &str); 8] = [
            ("KINDLING_TABLE", "", "KINDLING_TABLE"),
            (
                "KINDLING_SES_MAX_SEND_RATE",
                "0",
                "KINDLING_SES_MAX_SEND_RATE",
            ),
            (
                "KINDLING_SES_MAX_SEND_RATE",
                "fast",
                "KINDLING_SES_MAX_SEND_RATE",
            ),
            ("KINDLING_SIGNING_KEYS", "k1:short", "KINDLING_SIGNING_KEYS"),
            ("KINDLING_SEND_BUDGET", "lots", "KINDLING_SEND_BUDGET"),
            (
                "KINDLING_PUBLIC_URL",
                "http://example.com",
                "KINDLING_PUBLIC_URL",
            ),
            (
                "KINDLING_BEACON_URL",
                "http://abc.lambda-url.ap-northeast-1.on.aws",
                "KINDLING_BEACON_URL",
            ),
            (
                "KINDLING_BEACON_URL",
                "https://x.example/\";alert(1)//",
                "KINDLING_BEACON_URL",
            ),
        ];
        for (key, value, named) in cases {
            let mut pairs: Vec<(&str, &str)> =
                base.iter().copied().filter(|(k, _)| *k != key).collect();
            pairs.push((key, value));
            let e = Settings::from_lookup(env(&pairs)).unwrap_err();
            assert_eq!(e.key, named);
        }
    }
}
