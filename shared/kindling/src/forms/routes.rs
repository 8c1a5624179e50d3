//! `POST /forms/{form_id}`: urlencoded or multipart (browsers: 303 to the thank-you page) or
//! JSON (API clients: JSON), 422 with field errors, nothing written unless every field is valid.

use crate::email::EmailAddress;
use crate::forms::config::ConsentPolicy;
use crate::forms::{submit_form, FormSubmission};
use crate::ids::{is_valid_id, VisitorId};
use crate::leads::Profile;
use crate::web::formdata::{self, FormEncoding};
use crate::web::{
    body_within, client_ip, json_response, media_type, user_agent, ApiError, ApiResult,
};
use bytes::Bytes;
use http::{Request, StatusCode};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Largest form body.
pub const MAX_FORM_BYTES: usize = 32 * 1024;
/// Longest value of a profile field.
const MAX_FIELD_CHARS: usize = 256;

/// The fields a form takes, each with one type. Text fields are strings in JSON; `consent` is a
/// boolean in JSON and `on|true|1|yes` or `off|false|0|no` in a browser form.
pub const FIELDS: [&str; 13] = [
    "email",
    "name",
    "company",
    "title",
    "phone",
    "industry",
    "company_size",
    "region",
    "time_zone",
    "language",
    "consent",
    "visitor_id",
    "submission_id",
];

/// A form's fields as received, before their values are checked.
#[derive(Default)]
struct Received {
    text: BTreeMap<&'static str, String>,
    consent: Option<bool>,
    errors: BTreeMap<String, String>,
}

fn known(name: &str) -> Option<&'static str> {
    FIELDS.iter().copied().find(|f| *f == name)
}

/// JSON: every key is a known field with its type (`null` counts as absent); anything else is a
/// field error, so a client's typo or wrong type never passes silently.
fn from_json(map: Map<String, Value>) -> Received {
    let mut r = Received::default();
    for (key, value) in map {
        let Some(name) = known(&key) else {
            // An unknown key names itself; keep the message short and the key bounded.
            let key: String = key.chars().take(64).collect();
            r.errors.insert(key, "unknown field".to_owned());
            continue;
        };
        match (name, value) {
            (_, Value::Null) => {}
            ("consent", Value::Bool(b)) => r.consent = Some(b),
            ("consent", _) => {
                r.errors
                    .insert(name.into(), "must be true or false".to_owned());
            }
            (_, Value::String(v)) => {
                r.text.insert(name, v);
            }
            (_, _) => {
                r.errors.insert(name.into(), "must be a string".to_owned());
            }
        }
    }
    r
}

/// A browser form: unknown fields are ignored (submit buttons, honeypots, CSRF tokens), a known
/// one given twice is an error.
fn from_pairs(pairs: Vec<(String, String)>) -> Received {
    let mut r = Received::default();
    let mut seen = std::collections::BTreeSet::new();
    for (key, value) in pairs {
        let Some(name) = known(&key) else { continue };
        if !seen.insert(name) {
            r.errors
                .insert(name.into(), "given more than once".to_owned());
            continue;
        }
        if name == "consent" {
            match value.trim().to_ascii_lowercase().as_str() {
                "on" | "true" | "1" | "yes" => r.consent = Some(true),
                "off" | "false" | "0" | "no" | "" => r.consent = Some(false),
                _ => {
                    r.errors.insert(
                        name.into(),
                        "must be on, true, 1, yes, off, false, 0 or no".to_owned(),
                    );
                }
            }
        } else {
            r.text.insert(name, value);
        }
    }
    r
}

pub(crate) async fn submit(
    k: &crate::forms::Forms<'_>,
    form_id: &str,
    req: &Request<Bytes>,
) -> ApiResult {
    let form = k.config.form(form_id).ok_or_else(ApiError::not_found)?;
    body_within(req, MAX_FORM_BYTES)?;
    let media = media_type(req);
    let received =
        match media.as_str() {
            "application/json" => match serde_json::from_slice::<Map<String, Value>>(req.body()) {
                Ok(map) => from_json(map),
                Err(e) => return Err(ApiError::bad_request(format!("malformed JSON: {e}"))),
            },
            "application/x-www-form-urlencoded" | "multipart/form-data" => {
                let encoding = FormEncoding::of(req).unwrap_or(FormEncoding::Urlencoded);
                from_pairs(formdata::fields(req, encoding).await?)
            }
            _ => return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send application/x-www-form-urlencoded, multipart/form-data or application/json",
            )),
        };
    let browser = media != "application/json"
        || req
            .headers()
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));

    let Received {
        text: fields,
        consent,
        mut errors,
    } = received;
    let get = |name: &str| fields.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let email = match get("email") {
        None => {
            // Keep a type error ("must be a string") if that is why there is no address.
            errors
                .entry("email".into())
                .or_insert_with(|| "required".into());
            None
        }
        Some(raw) => EmailAddress::parse(raw)
            .map_err(|e| errors.insert("email".into(), e.to_string()))
            .ok(),
    };
    let mut text = |name: &'static str| {
        let v = get(name)?;
        if v.chars().count() > MAX_FIELD_CHARS || v.chars().any(char::is_control) {
            errors.insert(
                name.into(),
                format!("at most {MAX_FIELD_CHARS} characters, no control characters"),
            );
            return None;
        }
        Some(v.to_owned())
    };
    let profile = Profile {
        name: text("name"),
        company: text("company"),
        title: text("title"),
        phone: text("phone"),
        industry: text("industry"),
        company_size: text("company_size"),
        region: text("region"),
        time_zone: text("time_zone"),
        language: text("language"),
    };
    if let Some(tz) = &profile.time_zone {
        if tz.parse::<chrono_tz::Tz>().is_err() {
            errors.insert(
                "time_zone".into(),
                "not an IANA time zone such as Asia/Tokyo".into(),
            );
        }
    }
    if let Some(lang) = &profile.language {
        if !(2..=8).contains(&lang.len())
            || !lang.chars().all(|c| c.is_ascii_alphabetic() || c == '-')
        {
            errors.insert(
                "language".into(),
                "not a language tag such as ja or en".into(),
            );
        }
    }
    let consent = consent.unwrap_or(false);
    if !consent && form.consent == ConsentPolicy::Required && !errors.contains_key("consent") {
        errors.insert(
            "consent".into(),
            "consent is required to receive our emails".into(),
        );
    }
    let visitor_id = get("visitor_id").and_then(|v| {
        VisitorId::parse_external(v).or_else(|| {
            errors.insert(
                "visitor_id".into(),
                "not 8 to 64 characters of A-Z a-z 0-9 _ -".into(),
            );
            None
        })
    });
    let submission_id = get("submission_id").and_then(|v| {
        if is_valid_id(v) {
            Some(v.to_owned())
        } else {
            errors.insert(
                "submission_id".into(),
                "not 1 to 64 characters of A-Z a-z 0-9 _ -".into(),
            );
            None
        }
    });
    if !errors.is_empty() {
        let mut e = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "some fields are invalid",
        );
        e.fields = Some(json!(errors));
        return Err(e);
    }
    let Some(email) = email else {
        return Err(ApiError::bad_request("email is required"));
    };

    let sub = FormSubmission {
        email,
        profile,
        consent,
        visitor_id,
        submission_id,
        source_ip: client_ip(req),
        user_agent: user_agent(req),
    };
    submit_form(k, form, sub).await?;
    if browser {
        let mut r = crate::web::response(
            StatusCode::SEE_OTHER,
            "text/plain; charset=utf-8",
            Bytes::new(),
        );
        let location =
            http::HeaderValue::from_str(&form.thank_you_url).map_err(|_| ApiError::not_found())?;
        r.headers_mut().insert(http::header::LOCATION, location);
        Ok(r)
    } else {
        // Deliberately the same answer for new and known addresses: no address enumeration.
        Ok(json_response(
            StatusCode::OK,
            &json!({ "status": "accepted" }),
        ))
    }
}
