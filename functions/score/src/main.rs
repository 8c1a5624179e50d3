//! The `score` function: Kindling's events from EventBridge (invoked asynchronously; the stack
//! gives the target a retry policy, a 24-hour maximum event age and a dead-letter queue), and
//! an operator's one-off `{"kindling": "rescore", ...}` invoked directly (README, "Rescoring").

use kindling_aws::invocation::on_score_invocation;
use kindling_aws::{Keys, Runtime};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let rt = Runtime::init(Keys::Unused).await?;

    let k = &rt.kindling;
    run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            on_score_invocation(k, event.payload).await
        },
    ))
    .await
}
