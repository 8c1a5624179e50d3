//! Hello world on lambda_runtime: the smallest function, as the baseline for init time.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|_: LambdaEvent<serde_json::Value>| async {
        Ok::<_, Error>(serde_json::json!({ "hello": "world" }))
    }))
    .await
}
