//! The SES v2 mailer: sends the domain's raw MIME unchanged (every header survives), with the
//! configuration set whose event destination feeds bounces and complaints back.

use async_trait::async_trait;
use aws_sdk_sesv2::config::http::HttpResponse;
use aws_sdk_sesv2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
use aws_sdk_sesv2::Client;
use kindling::sending::ports::{MailError, Mailer, OutgoingMail};

/// Codes of unmodeled errors that mean "not now" (the mail did not go and may go later).
const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ServiceUnavailable",
    "InternalFailure",
];

/// Sends through SES v2 `SendEmail` with raw content, paced to a rate (mails per second).
#[derive(Debug)]
pub struct SesMailer {
    client: Client,
    configuration_set: Option<String>,
    pace: std::sync::Mutex<TokenBucket>,
}

impl SesMailer {
    /// A mailer; `configuration_set` tags every send for event publishing. Unpaced.
    pub fn new(client: Client, configuration_set: Option<String>) -> Self {
        Self::paced(client, configuration_set, f64::INFINITY)
    }

    /// A mailer that sends at most `per_second` mails a second (the account's `MaxSendRate`).
    pub fn paced(client: Client, configuration_set: Option<String>, per_second: f64) -> Self {
        Self {
            client,
            configuration_set,
            pace: std::sync::Mutex::new(TokenBucket::new(per_second, std::time::Instant::now())),
        }
    }

    /// The rate this mailer keeps.
    pub fn rate(&self) -> f64 {
        self.pace.lock().unwrap_or_else(|e| e.into_inner()).rate
    }
}

/// The account's `MaxSendRate` from SES v2 `GetAccount`: read once at cold start. An error
/// says why it could not be read (the caller falls back to its setting and logs it).
pub async fn max_send_rate(client: &Client) -> Result<f64, String> {
    let out = client
        .get_account()
        .send()
        .await
        .map_err(|e| DisplayErrorContext(e).to_string())?;
    out.send_quota()
        .map(|q| q.max_send_rate())
        .filter(|r| *r > 0.0)
        .ok_or_else(|| "GetAccount returned no send quota".to_owned())
}

/// A token bucket holding at most one second of sends: `rate` tokens a second, each send takes
/// one, and a send without a token waits for it. Time is passed in, so it is tested without
/// sleeping.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    tokens: f64,
    at: std::time::Instant,
}

impl TokenBucket {
    /// Full at `now`.
    pub fn new(rate: f64, now: std::time::Instant) -> Self {
        Self {
            rate,
            tokens: rate.clamp(1.0, 1e9),
            at: now,
        }
    }

    /// Takes a token for a send at `now` and says how long to wait before sending. Waiting
    /// sends queue: each later one waits for its own token.
    pub fn take(&mut self, now: std::time::Instant) -> std::time::Duration {
        if !self.rate.is_finite() {
            return std::time::Duration::ZERO;
        }
        let burst = self.rate.max(1.0);
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(burst);
        self.at = now;
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            std::time::Duration::ZERO
        } else {
            std::time::Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

/// Sorts an SES failure into retry-later or rejected-for-good.
pub fn classify(e: SdkError<SendEmailError, HttpResponse>) -> MailError {
    use SendEmailError as E;
    let retryable = match e.as_service_error() {
        // Not a service answer (timeout, connection, unparsable response): try again later.
        None => true,
        Some(
            E::TooManyRequestsException(_)
            | E::LimitExceededException(_)
            | E::SendingPausedException(_)
            | E::AccountSuspendedException(_),
        ) => true,
        Some(
            E::MessageRejected(_)
            | E::MailFromDomainNotVerifiedException(_)
            | E::BadRequestException(_)
            | E::NotFoundException(_),
        ) => false,
        Some(other) => other.code().is_none_or(|c| RETRYABLE_CODES.contains(&c)),
    };
    let text = DisplayErrorContext(&e).to_string();
    if retryable {
        MailError::Retryable(text)
    } else {
        MailError::Rejected(text)
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<String, MailError> {
        let wait = self
            .pace
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take(std::time::Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let raw = RawMessage::builder()
            .data(Blob::new(mail.raw.clone()))
            .build()
            .map_err(|e| MailError::Rejected(e.to_string()))?;
        let out = self
            .client
            .send_email()
            .from_email_address(mail.from.as_str())
            .destination(
                Destination::builder()
                    .to_addresses(mail.to.as_str())
                    .build(),
            )
            .content(EmailContent::builder().raw(raw).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(classify)?;
        Ok(out.message_id.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sesv2::types::error::{MessageRejected, TooManyRequestsException};
    use aws_smithy_types::body::SdkBody;

    fn response(status: u16) -> HttpResponse {
        HttpResponse::new(status.try_into().unwrap(), SdkBody::empty())
    }

    #[test]
    fn the_bucket_lets_a_second_of_sends_through_then_paces_to_the_rate() {
        let t0 = std::time::Instant::now();
        let ms = std::time::Duration::from_millis;
        let mut b = TokenBucket::new(14.0, t0);
        // A full bucket: 14 sends at once.
        for _ in 0..14 {
            assert_eq!(b.take(t0), ms(0));
        }
        // Then each waits for its token: 1/14 s apart, queueing.
        let waits: Vec<u128> = (0..3).map(|_| b.take(t0).as_micros()).collect();
        assert_eq!(waits, vec![71_428, 142_857, 214_285]);
        // After a quiet second the bucket is full again, never fuller.
        let later = t0 + std::time::Duration::from_secs(10);
        for _ in 0..14 {
            assert_eq!(b.take(later), ms(0));
        }
        assert!(b.take(later) > ms(0));
    }

    #[test]
    fn over_a_long_run_the_rate_is_kept() {
        // 1,000 sends at 50/s, each sent when its wait is over: the last goes at ~19 s
        // (the first 50 from the full bucket, then 950 / 50).
        let t0 = std::time::Instant::now();
        let mut b = TokenBucket::new(50.0, t0);
        let mut now = t0;
        for _ in 0..1_000 {
            now += b.take(now);
        }
        let secs = (now - t0).as_secs_f64();
        assert!((secs - 19.0).abs() < 0.01, "{secs}");
        // A fractional sandbox-like rate (0.5/s) still sends: one token, then 2 s apart.
        let mut slow = TokenBucket::new(0.5, t0);
        assert_eq!(slow.take(t0), std::time::Duration::ZERO);
        assert_eq!(slow.take(t0), std::time::Duration::from_secs(2));
        // Unpaced.
        let mut free = TokenBucket::new(f64::INFINITY, t0);
        assert!((0..10_000).all(|_| free.take(t0).is_zero()));
    }

    #[test]
    fn throttling_and_transport_failures_are_retryable_rejections_are_not() {
        let throttled = SdkError::service_error(
            SendEmailError::TooManyRequestsException(
                TooManyRequestsException::builder()
                    .message("Maximum sending rate exceeded")
                    .build(),
            ),
            response(429),
        );
        assert!(matches!(classify(throttled), MailError::Retryable(_)));
        let rejected = SdkError::service_error(
            SendEmailError::MessageRejected(
                MessageRejected::builder()
                    .message("Email address is not verified")
                    .build(),
            ),
            response(400),
        );
        assert!(matches!(classify(rejected), MailError::Rejected(_)));
        let timeout: SdkError<SendEmailError, HttpResponse> =
            SdkError::timeout_error("read timed out");
        assert!(matches!(classify(timeout), MailError::Retryable(_)));
    }
}
