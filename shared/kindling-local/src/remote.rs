//! The admin API of a deployed stack, for the CLI's `--api <ApiUrl>` (or `KINDLING_API`):
//! requests signed with SigV4 (service `execute-api`) from the standard AWS credential chain
//! (environment, profile, SSO, web identity, ECS or IMDS), so that a marketer never writes
//! awscurl. The region is the URL's (`{api}.execute-api.{region}.amazonaws.com`), else the
//! chain's (`AWS_REGION`, the profile).

use anyhow::{anyhow, Context};
use aws_credential_types::provider::ProvideCredentials;
use serde_json::Value;

/// A deployed stack's admin API.
pub struct Remote {
    base: String,
    region: String,
    credentials: aws_credential_types::provider::SharedCredentialsProvider,
}

/// What a request came back with: its status and JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// The body as JSON (a string when it is not JSON).
    pub body: Value,
    /// The body as sent.
    pub raw: Vec<u8>,
}

impl Answer {
    /// The body of a 2xx; else an error with the API's message, as the command would fail
    /// locally.
    pub fn ok(self) -> anyhow::Result<Value> {
        if (200..300).contains(&self.status) {
            return Ok(self.body);
        }
        let message = self.body["message"]
            .as_str()
            .map_or_else(|| self.body.to_string(), str::to_owned);
        Err(anyhow!("{message} (HTTP {})", self.status))
    }
}

/// The region in an execute-api host name.
fn region_of(url: &str) -> Option<String> {
    let host = url.split("://").nth(1)?.split(['/', ':']).next()?;
    let mut parts = host.split('.');
    let (_, service, region) = (parts.next()?, parts.next()?, parts.next()?);
    (service == "execute-api").then(|| region.to_owned())
}

impl Remote {
    /// The API at `base` (the stack's `ApiUrl` output), with credentials from the chain.
    pub async fn new(base: &str) -> anyhow::Result<Remote> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("https://")
            || base.starts_with("http://127.0.0.1")
            || base.starts_with("http://localhost"))
        {
            return Err(anyhow!(
                "--api {base:?}: an https URL (the stack's ApiUrl output)"
            ));
        }
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(kindling_aws::runtime::http_client()?)
            .load()
            .await;
        let region = region_of(&base)
            .or_else(|| sdk.region().map(ToString::to_string))
            .ok_or_else(|| {
                anyhow!("--api: no region in the URL; set AWS_REGION or a profile's region")
            })?;
        let credentials = sdk.credentials_provider().ok_or_else(|| {
            anyhow!("--api: no AWS credentials (environment, profile, SSO or instance role)")
        })?;
        Ok(Remote {
            base,
            region,
            credentials,
        })
    }

    /// Sends `method path` with `body` (JSON), signed.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Answer> {
        let creds = self
            .credentials
            .provide_credentials()
            .await
            .context("--api: reading AWS credentials")?;
        let url = format!("{}{path}", self.base);
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let mut req = http::Request::builder()
            .method(method)
            .uri(&url)
            .header("content-type", "application/json")
            .body(bytes.clone())?;
        sign(&mut req, &creds, &self.region)?;
        let answer = tokio::task::spawn_blocking(move || send(req)).await??;
        Ok(answer)
    }
}

/// Adds the SigV4 headers (`authorization`, `x-amz-date`, and the session token if any).
fn sign(
    req: &mut http::Request<Vec<u8>>,
    creds: &aws_credential_types::Credentials,
    region: &str,
) -> anyhow::Result<()> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    let identity = creds.clone().into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("execute-api")
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()?
        .into();
    let headers: Vec<(&str, &str)> = req
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
        .collect();
    let signable = SignableRequest::new(
        req.method().as_str(),
        req.uri().to_string(),
        headers.into_iter(),
        SignableBody::Bytes(req.body()),
    )?;
    let (instructions, _) = sign(signable, &params)?.into_parts();
    instructions.apply_to_request_http1x(req);
    Ok(())
}

fn send(req: http::Request<Vec<u8>>) -> anyhow::Result<Answer> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(60)))
        .build()
        .into();
    let mut res = agent
        .run(req)
        .map_err(|e| anyhow!("--api: the request did not complete: {e}"))?;
    let status = res.status().as_u16();
    let raw = res
        .body_mut()
        .with_config()
        .limit(16 << 20)
        .read_to_vec()
        .map_err(|e| anyhow!("--api: reading the answer: {e}"))?;
    let body = serde_json::from_slice(&raw)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&raw).into_owned()));
    Ok(Answer { status, body, raw })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_region_comes_from_an_execute_api_host() {
        assert_eq!(
            super::region_of("https://abc123.execute-api.ap-northeast-1.amazonaws.com"),
            Some("ap-northeast-1".into())
        );
        assert_eq!(super::region_of("https://api.example.com/x"), None);
        assert_eq!(super::region_of("http://127.0.0.1:8080"), None);
    }
}
