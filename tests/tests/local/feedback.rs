//! SES feedback semantics on the embedded store (the same scenario runs on DynamoDB in
//! `aws_functions`).

use kindling_tests::harness::TestApp;
use kindling_tests::ses_feedback::ses_feedback_semantics;

#[tokio::test]
async fn ses_feedback_semantics_on_sqlite() {
    let t = TestApp::new();
    ses_feedback_semantics(&t.app.kindling).await;
}
