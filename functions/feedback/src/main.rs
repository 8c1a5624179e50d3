//! The `feedback` function: SES bounce and complaint events (through EventBridge) → suppression,
//! and unsubscribe on complaint.

use kindling_aws::invocation::on_ses_event;
use kindling_aws::{Keys, Runtime};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let rt = Runtime::init(Keys::Unused).await?;
    let k = &rt.kindling;
    run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        on_ses_event(k, event.payload).await
    }))
    .await
}
