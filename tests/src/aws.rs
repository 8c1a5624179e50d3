//! Tests against moto in server mode. `scripts/with-moto` (run by `make test`) starts it and sets
//! `KINDLING_TEST_AWS_ENDPOINT`; without it these tests skip, unless
//! `KINDLING_REQUIRE_AWS_TESTS` says they must run (as `make test` does).

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use kindling_aws::DynamoStore;
use std::sync::Arc;

/// The emulator's endpoint, or `None` (the test then skips) when it is not running.
pub fn endpoint() -> Option<String> {
    match std::env::var("KINDLING_TEST_AWS_ENDPOINT") {
        Ok(e) => Some(e),
        Err(_) if std::env::var_os("KINDLING_REQUIRE_AWS_TESTS").is_some() => {
            panic!(
                "KINDLING_REQUIRE_AWS_TESTS is set but no emulator: run through scripts/with-moto"
            )
        }
        Err(_) => {
            eprintln!("skipped: no AWS emulator (run `make test`, which starts moto)");
            None
        }
    }
}

/// SDK configuration for the emulator: static test credentials, no retries (errors fail fast).
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(kindling_aws::runtime::http_client().unwrap())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "static",
        ))
        .retry_config(RetryConfig::disabled())
        .load()
        .await
}

/// A unique name for a test's own resources.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A DynamoDB store on a fresh table of its own, or `None` without an emulator.
pub async fn fresh_dynamo_store() -> Option<Arc<DynamoStore>> {
    let ep = endpoint()?;
    let client = aws_sdk_dynamodb::Client::new(&sdk_config(&ep).await);
    let table = unique("kindling");
    kindling_aws::dynamo::create_table(&client, &table)
        .await
        .unwrap();
    Some(Arc::new(DynamoStore::new(client, table)))
}

use kindling_aws::settings::Settings;
use kindling_aws::Runtime;
use serde_json::Value;

pub use crate::meter::{Request, RequestCounter};

/// The sender address every AWS test verifies in SES.
pub const SENDER: &str = "news@example.jp";

/// A private set of emulated AWS resources: a table, a bus whose Kindling events land in an SQS
/// queue, an SNS topic with an SQS subscription, and a verified SES sender.
pub struct AwsEnv {
    pub endpoint: String,
    pub sdk: SdkConfig,
    pub table: String,
    pub bus: String,
    pub topic_arn: String,
    pub key_secret_arn: String,
    pub events_queue: String,
    pub alerts_queue: String,
    pub counter: RequestCounter,
}

/// Base64 of 32 bytes: the signing key every AWS test uses.
pub const TEST_SIGNING_KEYS: &str = "t1:KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";

/// The same key as the Secrets Manager secret the stack generates (32 `*` are the 32 bytes above):
/// the functions under test read their keys from this secret, as deployed.
pub const TEST_KEY_SECRET: &str = r#"{"kid":"t1","secret":"********************************"}"#;

impl AwsEnv {
    /// Creates the resources, or `None` without an emulator.
    pub async fn new() -> Option<AwsEnv> {
        let endpoint = endpoint()?;
        let sdk = sdk_config(&endpoint).await;
        let table = unique("kindling");
        kindling_aws::dynamo::create_table(&aws_sdk_dynamodb::Client::new(&sdk), &table)
            .await
            .unwrap();

        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let queue = |name: String| {
            let sqs = sqs.clone();
            async move {
                let url = sqs
                    .create_queue()
                    .queue_name(name)
                    .send()
                    .await
                    .unwrap()
                    .queue_url
                    .unwrap();
                let arn = sqs
                    .get_queue_attributes()
                    .queue_url(&url)
                    .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                    .send()
                    .await
                    .unwrap()
                    .attributes
                    .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
                    .clone();
                (url, arn)
            }
        };
        let (events_queue, events_arn) = queue(unique("events")).await;
        let (alerts_queue, alerts_arn) = queue(unique("alerts")).await;

        let eb = aws_sdk_eventbridge::Client::new(&sdk);
        let bus = unique("kindling-bus");
        eb.create_event_bus().name(&bus).send().await.unwrap();
        let rule = unique("all-kindling");
        let pattern = serde_json::json!({ "source": ["kindling"], "detail-type": kindling::app::events::DETAIL_TYPES }).to_string();
        eb.put_rule()
            .name(&rule)
            .event_bus_name(&bus)
            .event_pattern(pattern)
            .send()
            .await
            .unwrap();
        eb.put_targets()
            .rule(&rule)
            .event_bus_name(&bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("queue")
                    .arn(events_arn)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();

        let sns = aws_sdk_sns::Client::new(&sdk);
        let topic_arn = sns
            .create_topic()
            .name(unique("alerts"))
            .send()
            .await
            .unwrap()
            .topic_arn
            .unwrap();
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(alerts_arn)
            .send()
            .await
            .unwrap();

        let key_secret_arn = aws_sdk_secretsmanager::Client::new(&sdk)
            .create_secret()
            .name(unique("kindling-signing-keys"))
            .secret_string(TEST_KEY_SECRET)
            .send()
            .await
            .unwrap()
            .arn
            .unwrap();

        aws_sdk_sesv2::Client::new(&sdk)
            .create_email_identity()
            .email_identity(SENDER)
            .send()
            .await
            .unwrap();

        Some(AwsEnv {
            endpoint,
            sdk,
            table,
            bus,
            topic_arn,
            key_secret_arn,
            events_queue,
            alerts_queue,
            counter: RequestCounter::default(),
        })
    }

    /// The settings the stack would give a function.
    pub fn settings(&self) -> Settings {
        let vars = self.env_vars();
        Settings::from_lookup(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
            .unwrap()
    }

    /// The `KINDLING_*` environment of a function process.
    pub fn env_vars(&self) -> Vec<(String, String)> {
        [
            ("KINDLING_TABLE", self.table.as_str()),
            ("KINDLING_EVENT_BUS", self.bus.as_str()),
            (
                "KINDLING_SIGNING_KEYS_SECRET_ARN",
                self.key_secret_arn.as_str(),
            ),
            ("KINDLING_ALERT_TOPIC_ARN", self.topic_arn.as_str()),
            ("KINDLING_SES_CONFIGURATION_SET", ""),
            // moto has no SES v2 GetAccount: this fallback paces the tests' mailers.
            ("KINDLING_SES_MAX_SEND_RATE", "50"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// A function runtime whose DynamoDB requests are counted by [`AwsEnv::counter`].
    pub async fn runtime(&self) -> Runtime {
        let mut rt = Runtime::with(self.settings(), self.sdk.clone())
            .await
            .unwrap();
        let dynamo = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&self.sdk)
                .interceptor(self.counter.clone())
                .build(),
        );
        rt.kindling.stores =
            kindling::app::Stores::from_one(Arc::new(DynamoStore::new(dynamo, &self.table)));
        rt
    }

    /// A report bucket of its own and a secret holding the reader key `reader_key_id` (any
    /// secret): what the stack gives send-steps for the weekly report.
    pub async fn report_archive(
        &self,
        reader_key_id: &str,
    ) -> kindling_aws::settings::ReportSettings {
        let bucket = unique("kindling-reports");
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.sdk)
                .force_path_style(true)
                .build(),
        )
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
        let secret = serde_json::json!({
            "access_key_id": reader_key_id,
            "secret_access_key": "reader-secret",
        });
        let reader_secret_arn = aws_sdk_secretsmanager::Client::new(&self.sdk)
            .create_secret()
            .name(unique("kindling-report-reader"))
            .secret_string(secret.to_string())
            .send()
            .await
            .unwrap()
            .arn
            .unwrap();
        kindling_aws::settings::ReportSettings {
            bucket,
            reader_secret_arn,
        }
    }

    /// Receives (and deletes) every message waiting in a queue.
    pub async fn drain(&self, queue_url: &str) -> Vec<Value> {
        let sqs = aws_sdk_sqs::Client::new(&self.sdk);
        let mut all = Vec::new();
        loop {
            let out = sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                return all;
            }
            for m in messages {
                all.push(serde_json::from_str(m.body().unwrap()).unwrap());
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    /// Kindling events that reached the bus (as EventBridge envelopes).
    pub async fn bus_events(&self) -> Vec<Value> {
        self.drain(&self.events_queue).await
    }

    /// Sales alerts that reached the topic (as SNS notifications).
    pub async fn alerts(&self) -> Vec<Value> {
        self.drain(&self.alerts_queue).await
    }

    /// Raw mails SES accepted, read back from moto's `/moto-api/data.json`: `(destinations, raw)`.
    /// moto builds that dump by walking every backend, so a request from a test running beside
    /// this one can change a dictionary under it and the dump answers 500 instead; it is asked
    /// again (a few times, then the test fails with what moto said).
    pub fn sent_mail(&self) -> Vec<(Vec<String>, String)> {
        let mut last = String::new();
        let data: Value = (0..20)
            .find_map(|attempt| {
                if attempt > 0 {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                last = http_get(&self.endpoint, "/moto-api/data.json");
                serde_json::from_str(&last).ok()
            })
            .unwrap_or_else(|| panic!("moto's data dump is not JSON: {last:.300}"));
        data["ses"]["RawMessage"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let to = m["destinations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_str().unwrap().to_owned())
                    .collect();
                (to, m["raw_data"].as_str().unwrap().to_owned())
            })
            .collect()
    }
}

/// A plain HTTP GET on loopback (moto's own API), body as text.
pub fn http_get(endpoint: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let host = endpoint.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return body.to_owned();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&tail[..n]);
        rest = &tail[n + 2..];
    }
    out
}

/// Sets the body of an API Gateway sample as API Gateway sends it: base64 when the sample's body
/// is (form posts arrive so), with a matching `content-length`.
/// A lead from the intake sample, in a zone where it is daytime now, with its day-0 mail sent by
/// one schedule run: the lead and the mail's key.
pub async fn lead_with_first_mail(
    rt: &Runtime,
) -> (kindling::ids::LeadId, kindling::message::MessageKey) {
    let k = &rt.kindling;
    let mut form: Value =
        serde_json::from_str(include_str!("../../events/intake/form-urlencoded.json")).unwrap();
    let zone = kindling::testing::daytime_zone(chrono::Utc::now()).replace('/', "%2F");
    let body = body_of(&form).replace("time_zone=Asia%2FTokyo", &format!("time_zone={zone}"));
    set_body(&mut form, &body);
    let res = kindling_aws::http::handle_api_request(
        k,
        kindling::router::Routes::Intake,
        lambda_http::request::from_str(&form.to_string()).unwrap(),
    )
    .await;
    assert!(res.status().is_redirection(), "{:?}", res.body());
    let report = kindling_aws::invocation::on_schedule(k, &rt.mailer().await, 10)
        .await
        .unwrap();
    assert_eq!(report.steps.sent.len(), 1);
    let lead = k.stores.leads.list_lead_ids(None, 10).await.unwrap()[0].clone();
    let send = k.stores.sends.sends_of_lead(&lead).await.unwrap()[0]
        .key
        .clone();
    (lead, send)
}

/// An API Gateway request for `method path` with `body`, from the shape of a track sample.
pub fn track_request(method: &str, path: &str, body: Option<String>) -> lambda_http::Request {
    let mut req: Value =
        serde_json::from_str(include_str!("../../events/track/page-view.json")).unwrap();
    req["rawPath"] = Value::String(path.into());
    req["requestContext"]["http"]["path"] = Value::String(path.into());
    req["requestContext"]["http"]["method"] = Value::String(method.into());
    req["routeKey"] = Value::String(format!("{method} {path}"));
    match body {
        Some(b) => req["body"] = Value::String(b),
        None => {
            req.as_object_mut().unwrap().remove("body");
        }
    }
    lambda_http::request::from_str(&req.to_string()).unwrap()
}

pub fn set_body(req: &mut serde_json::Value, body: &str) {
    use base64::Engine as _;
    let b64 = req["isBase64Encoded"].as_bool().unwrap_or(false);
    req["body"] = serde_json::Value::String(if b64 {
        base64::engine::general_purpose::STANDARD.encode(body)
    } else {
        body.to_owned()
    });
    req["headers"]["content-length"] = serde_json::Value::String(body.len().to_string());
}

/// The body of an API Gateway sample, decoded.
pub fn body_of(req: &serde_json::Value) -> String {
    use base64::Engine as _;
    let body = req["body"].as_str().unwrap_or("");
    if req["isBase64Encoded"].as_bool().unwrap_or(false) {
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap(),
        )
        .unwrap()
    } else {
        body.to_owned()
    }
}
