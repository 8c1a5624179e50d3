//! The `send-steps` function: the EventBridge schedule (every minute) → due step mails via SES;
//! `sequence.step_due.v1` (a lead enrolled with a step due at once) → that step, now.

use kindling_aws::invocation::on_scheduled_event;
use kindling_aws::{Keys, Runtime};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let rt = Runtime::init(Keys::Required).await?.with_reports().await?;
    // The mailer reads the SES account's send rate (`GetAccount`) on the first invocation, not at
    // init: no network call before the first `/next`.
    let mailer = tokio::sync::OnceCell::new();
    let (rt, mailer) = (&rt, &mailer);
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let (mailer, budget) = mailer
            .get_or_init(|| async {
                let m = rt.mailer().await;
                let budget = rt.settings.send_budget_for(m.rate());
                (m, budget)
            })
            .await;
        let report = on_scheduled_event(&rt.kindling, mailer, *budget, event.payload).await?;
        Ok::<_, Error>(report.map_or(Value::Null, |r| {
            json!({ "sent": r.steps.sent.len(), "deferred": r.steps.deferred, "retry_later": r.steps.retry_later, "errors": r.errors(), "broadcasts_sent": r.broadcasts.sent.len() })
        }))
    }))
    .await
}
