//! The `intake` function: API Gateway HTTP API (payload v2) → Kindling's intake routes.

use kindling::router::Routes;
use kindling_aws::http::handle_api_request;
use kindling_aws::{Keys, Runtime};
use lambda_http::{run, service_fn, Error, Request};
use std::convert::Infallible;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let rt = Runtime::init(Keys::Unused)
        .await?
        .with_test_mailer()
        .with_sync();
    let k = &rt.kindling;
    run(service_fn(move |req: Request| async move {
        Ok::<_, Infallible>(handle_api_request(k, Routes::Intake, req).await)
    }))
    .await
}
