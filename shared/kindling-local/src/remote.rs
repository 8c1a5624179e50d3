//! The admin API over HTTP, for the CLI's `--api <url>` (or `KINDLING_API`): a deployed stack's
//! `ApiUrl`, with requests signed with SigV4 (service `execute-api`) from the standard AWS
//! credential chain (environment, profile, SSO, web identity, ECS or IMDS), so that a marketer
//! never writes awscurl; or a `kindling serve`, with its admin bearer token. The region is the
//! URL's (`{api}.execute-api.{region}.amazonaws.com`), else the chain's (`AWS_REGION`, the
//! profile).

use anyhow::{anyhow, Context};
use aws_credential_types::provider::ProvideCredentials;
use serde_json::Value;

/// An admin API: a deployed stack's, or a `kindling serve`'s.
pub struct Remote {
    base: String,
    auth: Auth,
}

/// How requests prove who sends them.
enum Auth {
    /// IAM: SigV4 from the credential chain (a deployed stack).
    SigV4 {
        region: String,
        credentials: aws_credential_types::provider::SharedCredentialsProvider,
    },
    /// The local server's admin token.
    Bearer(String),
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
    /// The answer as the in-process backend would have given it: a 2xx's body as `T`, else
    /// the domain's error of the status, with the API's message.
    pub fn into_result<T: serde::de::DeserializeOwned>(self) -> kindling::Result<T> {
        self.check()?;
        serde_json::from_value(self.body).map_err(|e| {
            kindling::Error::Port(kindling::error::PortError::caused_by(
                "admin api",
                "reading the answer",
                e,
            ))
        })
    }

    /// `Ok` for a 2xx, else the domain's error of the status: 400, 413 and 422 `Invalid`, 404
    /// `NotFound`, 409 `Refused`, 401 and 403 `Refused` (the credentials), anything else `Port`.
    pub fn check(&self) -> kindling::Result<()> {
        use kindling::Error;
        if (200..300).contains(&self.status) {
            return Ok(());
        }
        let message = self.body["message"]
            .as_str()
            .map_or_else(|| self.body.to_string(), str::to_owned);
        Err(match self.status {
            400 | 413 | 422 => Error::Invalid(message),
            404 => Error::NotFound(message),
            409 => Error::Refused(message),
            401 | 403 => Error::Refused(format!(
                "the admin API refused the credentials (HTTP {}): {message}",
                self.status
            )),
            status => Error::Port(kindling::error::PortError::new(
                "admin api",
                format!("HTTP {status}: {message}"),
            )),
        })
    }
}

/// An `http://` URL on this machine (a `kindling serve`).
pub fn is_loopback(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    host == "localhost"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The region in an execute-api host name.
fn region_of(url: &str) -> Option<String> {
    let host = url.split("://").nth(1)?.split(['/', ':']).next()?;
    let mut parts = host.split('.');
    let (_, service, region) = (parts.next()?, parts.next()?, parts.next()?);
    (service == "execute-api").then(|| region.to_owned())
}

impl Remote {
    /// The API at `base`: with `token`, a `kindling serve` (its admin token); else a deployed
    /// stack (its `ApiUrl` output), with credentials from the chain.
    /// The base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        self.base.trim_end_matches('/')
    }

    pub async fn new(base: &str, token: Option<String>) -> anyhow::Result<Remote> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("https://") || is_loopback(&base)) {
            return Err(anyhow!(
                "--api {base:?}: an https URL (the stack's ApiUrl output), or http on loopback (a kindling serve)"
            ));
        }
        if let Some(token) = token {
            return Ok(Remote {
                base,
                auth: Auth::Bearer(token),
            });
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
            auth: Auth::SigV4 {
                region,
                credentials,
            },
        })
    }

    /// Sends `method path` with `body` (JSON), signed.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Answer> {
        let url = format!("{}{path}", self.base);
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let mut req = http::Request::builder()
            .method(method)
            .uri(&url)
            .header("content-type", "application/json")
            .body(bytes)?;
        match &self.auth {
            Auth::SigV4 {
                region,
                credentials,
            } => {
                let creds = credentials
                    .provide_credentials()
                    .await
                    .context("--api: reading AWS credentials")?;
                sign(&mut req, &creds, region)?;
            }
            Auth::Bearer(token) => {
                req.headers_mut().insert(
                    http::header::AUTHORIZATION,
                    format!("Bearer {token}")
                        .parse()
                        .context("--api: the admin token is not a header value")?,
                );
            }
        }
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

    #[test]
    fn only_http_urls_on_this_machine_are_loopback() {
        for url in [
            "http://127.0.0.1:8787",
            "http://localhost:1/x",
            "http://[::1]:80",
        ] {
            assert!(super::is_loopback(url), "{url}");
        }
        for url in [
            "https://127.0.0.1",
            "http://127.0.0.1.example.com",
            "http://example.com/127.0.0.1",
            "http://10.0.0.1",
        ] {
            assert!(!super::is_loopback(url), "{url}");
        }
    }
}
