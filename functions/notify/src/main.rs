//! The `notify` function: Kindling's events from EventBridge (invoked asynchronously; the stack
//! gives the target a retry policy, a 24-hour maximum event age and a dead-letter queue).

use kindling_aws::invocation::{on_kindling_event, Consumer};
use kindling_aws::{Keys, Runtime};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let rt = Runtime::init(Keys::Unused).await?;
    let notifier = rt.notifier()?;
    let notifier = &notifier;
    let k = &rt.kindling;
    run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            on_kindling_event(k, Consumer::Notify, Some(notifier), event.payload).await
        },
    ))
    .await
}
