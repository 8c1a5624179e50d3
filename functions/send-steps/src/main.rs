//! The `send-steps` function: the EventBridge schedule (every minute) → due step mails via SES.

use kindling_aws::invocation::on_scheduled_event;
use kindling_aws::{Keys, Runtime};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let rt = Runtime::init(Keys::Required).await?.with_reports().await?;
    let mailer = &rt.mailer().await;
    let (k, budget) = (&rt.kindling, rt.settings.send_budget_for(mailer.rate()));
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let report = on_scheduled_event(k, mailer, budget, event.payload).await?;
        Ok::<_, Error>(report.map_or(Value::Null, |r| {
            json!({ "sent": r.steps.sent.len(), "deferred": r.steps.deferred, "retry_later": r.steps.retry_later, "errors": r.errors(), "broadcasts_sent": r.broadcasts.sent.len() })
        }))
    }))
    .await
}
