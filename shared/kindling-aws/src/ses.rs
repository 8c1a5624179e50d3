//! The SES v2 mailer: sends the domain's raw MIME unchanged (every header survives), with the
//! configuration set whose event destination feeds bounces and complaints back.

use async_trait::async_trait;
use aws_sdk_sesv2::config::http::HttpResponse;
use aws_sdk_sesv2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
use aws_sdk_sesv2::Client;
use kindling::ports::{MailError, Mailer, OutgoingMail};

/// Codes of unmodeled errors that mean "not now" (the mail did not go and may go later).
const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ServiceUnavailable",
    "InternalFailure",
];

/// Sends through SES v2 `SendEmail` with raw content.
#[derive(Clone, Debug)]
pub struct SesMailer {
    client: Client,
    configuration_set: Option<String>,
}

impl SesMailer {
    /// A mailer; `configuration_set` tags every send for event publishing.
    pub fn new(client: Client, configuration_set: Option<String>) -> Self {
        Self {
            client,
            configuration_set,
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
