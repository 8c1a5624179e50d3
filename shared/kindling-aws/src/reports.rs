//! The report archive on AWS ([`ReportArchive`]): the weekly report as
//! `reports/<day>.html` in the stack's bucket (private, encrypted at rest by the bucket's
//! default, objects expired by its lifecycle rule), written with the send-steps role, and a
//! presigned GET of it valid for [`LINK_VALID`] (seven days).
//!
//! A presigned URL works only while the credentials that signed it do. The execution role's
//! credentials last hours, not seven days, so the link is signed with the access key of the
//! stack's report-reader user, which may read `reports/*` of this bucket and nothing else; the
//! stack keeps that key in a Secrets Manager secret (`{"access_key_id", "secret_access_key"}`),
//! read at cold start. Signing is local: no request to AWS.

use crate::error::InitError;
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_s3::config::Credentials;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use kindling::error::PortError;
use kindling::kpis::archive::{ReportArchive, LINK_VALID};
use serde::Deserialize;

/// Where in the bucket the reports are (the lifecycle rule and the reader's grant name it too).
pub const PREFIX: &str = "reports/";

/// The report-reader user's access key, as the stack's secret holds it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReaderKey {
    access_key_id: String,
    secret_access_key: String,
}

/// Reports in an S3 bucket.
pub struct S3Reports {
    /// Writes (the function's role).
    client: aws_sdk_s3::Client,
    /// Signs links (the reader's key).
    presigner: aws_sdk_s3::Client,
    bucket: String,
}

/// An S3 client of `sdk`; path-style addressing when the endpoint is overridden (an emulator).
fn client(sdk: &SdkConfig, credentials: Option<Credentials>) -> aws_sdk_s3::Client {
    let mut b =
        aws_sdk_s3::config::Builder::from(sdk).force_path_style(sdk.endpoint_url().is_some());
    if let Some(c) = credentials {
        b = b.credentials_provider(c);
    }
    aws_sdk_s3::Client::from_conf(b.build())
}

impl S3Reports {
    /// Reports in `bucket`, linked with the reader key of the secret `reader_secret`. The
    /// error never echoes the secret's value.
    pub async fn new(
        sdk: &SdkConfig,
        bucket: &str,
        reader_secret: &str,
    ) -> Result<Self, InitError> {
        let out = aws_sdk_secretsmanager::Client::new(sdk)
            .get_secret_value()
            .secret_id(reader_secret)
            .send()
            .await
            .map_err(|e| InitError::SecretRead {
                arn: reader_secret.to_owned(),
                source: Box::new(e),
            })?;
        let bad = |why: &str| InitError::ReaderKey(format!("{reader_secret}: {why}"));
        let value = out.secret_string().ok_or_else(|| bad("no string value"))?;
        let key: ReaderKey = serde_json::from_str(value)
            .map_err(|_| bad("not {\"access_key_id\", \"secret_access_key\"} JSON"))?;
        let reader = Credentials::new(
            key.access_key_id,
            key.secret_access_key,
            None,
            None,
            "kindling-report-reader",
        );
        Ok(Self {
            client: client(sdk, None),
            presigner: client(sdk, Some(reader)),
            bucket: bucket.to_owned(),
        })
    }
}

fn port(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> PortError {
    PortError::caused_by("reports", what.to_owned(), e)
}

#[async_trait]
impl ReportArchive for S3Reports {
    async fn keep(&self, name: &str, html: &str) -> Result<Option<String>, PortError> {
        let key = format!("{PREFIX}{name}");
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type("text/html; charset=utf-8")
            .cache_control("no-store")
            .body(ByteStream::from(html.as_bytes().to_vec()))
            .send()
            .await
            .map_err(|e| port("writing the report", aws_sdk_s3::Error::from(e)))?;
        let valid = LINK_VALID
            .to_std()
            .map_err(|e| port("the link's validity", e))?;
        let config = PresigningConfig::expires_in(valid).map_err(|e| port("presigning", e))?;
        let link = self
            .presigner
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .presigned(config)
            .await
            .map_err(|e| port("presigning", aws_sdk_s3::Error::from(e)))?;
        Ok(Some(link.uri().to_owned()))
    }
}
