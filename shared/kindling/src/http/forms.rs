//! `POST /forms/{form_id}`: urlencoded (browsers: 303 to the thank-you page) or JSON (API
//! clients: JSON), 422 with field errors, nothing written unless every field is valid.

use super::{body_within, client_ip, json_response, media_type, user_agent, ApiError, ApiResult};
use crate::config::ConsentPolicy;
use crate::email::EmailAddress;
use crate::ids::{is_valid_id, VisitorId};
use crate::lead::Profile;
use crate::usecases::{submit_form, FormSubmission, Kindling};
use bytes::Bytes;
use http::{Request, StatusCode};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Largest form body.
pub const MAX_FORM_BYTES: usize = 32 * 1024;
/// Longest value of a profile field.
const MAX_FIELD_CHARS: usize = 256;

pub(super) async fn submit(k: &Kindling, form_id: &str, req: &Request<Bytes>) -> ApiResult {
    let form = k.config.form(form_id).ok_or_else(ApiError::not_found)?;
    let body = body_within(req, MAX_FORM_BYTES)?;
    let media = media_type(req);
    let fields: BTreeMap<String, String> = match media.as_str() {
        "application/x-www-form-urlencoded" => form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
        "application/json" => match serde_json::from_slice::<Map<String, Value>>(body) {
            Ok(map) => map
                .into_iter()
                .filter_map(|(k, v)| match v {
                    Value::String(s) => Some((k, s)),
                    Value::Bool(b) => Some((k, b.to_string())),
                    Value::Number(n) => Some((k, n.to_string())),
                    _ => None,
                })
                .collect(),
            Err(e) => return Err(ApiError::bad_request(format!("malformed JSON: {e}"))),
        },
        _ => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send application/x-www-form-urlencoded or application/json",
            ))
        }
    };
    let browser = media == "application/x-www-form-urlencoded"
        || req
            .headers()
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));

    let mut errors: BTreeMap<&str, String> = BTreeMap::new();
    let get = |name: &str| fields.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let email = match get("email") {
        None => {
            errors.insert("email", "required".into());
            None
        }
        Some(raw) => EmailAddress::parse(raw)
            .map_err(|_| errors.insert("email", "not a valid email address".into()))
            .ok(),
    };
    let mut text = |name: &'static str| {
        let v = get(name)?;
        if v.chars().count() > MAX_FIELD_CHARS || v.chars().any(char::is_control) {
            errors.insert(
                name,
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
                "time_zone",
                "not an IANA time zone such as Asia/Tokyo".into(),
            );
        }
    }
    if let Some(lang) = &profile.language {
        if !(2..=8).contains(&lang.len())
            || !lang.chars().all(|c| c.is_ascii_alphabetic() || c == '-')
        {
            errors.insert("language", "not a language tag such as ja or en".into());
        }
    }
    let consent = get("consent")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "on" | "true" | "1" | "yes"));
    if !consent && form.consent == ConsentPolicy::Required {
        errors.insert(
            "consent",
            "consent is required to receive our emails".into(),
        );
    }
    let visitor_id = get("visitor_id").and_then(|v| {
        VisitorId::parse(v).or_else(|| {
            errors.insert("visitor_id", "not a valid id".into());
            None
        })
    });
    let submission_id = get("submission_id").and_then(|v| {
        if is_valid_id(v) {
            Some(v.to_owned())
        } else {
            errors.insert("submission_id", "not a valid id".into());
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
        let mut r = super::response(
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
