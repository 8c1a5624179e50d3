//! The `send-steps` function: the EventBridge schedule (every minute) → due step mails via SES.

use kindling_aws::invocation::on_schedule;
use kindling_aws::Runtime;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let rt = Runtime::init().await?;
    let mailer = &rt.mailer();
    let (k, budget) = (&rt.kindling, rt.settings.send_budget);
    run(service_fn(
        move |_: LambdaEvent<serde_json::Value>| async move {
            on_schedule(k, mailer, budget).await.map(|report| {
                serde_json::json!({
                    "sent": report.sent.len(),
                    "deferred": report.deferred,
                    "retry_later": report.retry_later,
                    "errors": report.errors,
                })
            })
        },
    ))
    .await
}
