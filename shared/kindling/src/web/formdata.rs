//! Bodies in the form encodings browsers and mail receivers send: `application/x-www-form-urlencoded`,
//! `multipart/form-data` (RFC 7578; what RFC 8058 one-click receivers SHOULD send), and
//! `text/plain` holding urlencoded pairs (what some receivers send instead).

use super::{media_type, ApiError};
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{Request, StatusCode};

/// Most fields read from one body.
pub const MAX_FIELDS: usize = 64;

/// How a body was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormEncoding {
    Urlencoded,
    Multipart,
    TextPlain,
}

impl FormEncoding {
    /// The form encoding of `req`, if its media type is one.
    pub fn of(req: &Request<Bytes>) -> Option<Self> {
        match media_type(req).as_str() {
            "application/x-www-form-urlencoded" => Some(Self::Urlencoded),
            "multipart/form-data" => Some(Self::Multipart),
            "text/plain" => Some(Self::TextPlain),
            _ => None,
        }
    }
}

/// The `(name, value)` pairs of a form body in `encoding`, in order. Files in a multipart body
/// are skipped (no route takes uploads); a malformed body is a 400.
pub async fn fields(
    req: &Request<Bytes>,
    encoding: FormEncoding,
) -> Result<Vec<(String, String)>, ApiError> {
    let body = req.body();
    let pairs: Vec<(String, String)> = match encoding {
        FormEncoding::Urlencoded | FormEncoding::TextPlain => form_urlencoded::parse(body)
            .take(MAX_FIELDS + 1)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
        FormEncoding::Multipart => multipart(req, body.clone()).await?,
    };
    if pairs.len() > MAX_FIELDS {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_FIELDS} form fields"
        )));
    }
    Ok(pairs)
}

async fn multipart(req: &Request<Bytes>, body: Bytes) -> Result<Vec<(String, String)>, ApiError> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary = multer::parse_boundary(content_type).map_err(|_| {
        ApiError::bad_request("multipart/form-data needs a boundary parameter (RFC 7578)")
    })?;
    let limit = body.len() as u64;
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let constraints =
        multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(limit));
    let mut parts = multer::Multipart::with_constraints(stream, boundary, constraints);
    let mut out = Vec::new();
    loop {
        let field = match parts.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(malformed(e)),
        };
        if out.len() >= MAX_FIELDS {
            return Err(ApiError::bad_request(format!(
                "at most {MAX_FIELDS} form fields"
            )));
        }
        let name = field.name().map(str::to_owned);
        let is_file = field.file_name().is_some();
        let value = field.text().await.map_err(malformed)?;
        if let (Some(name), false) = (name, is_file) {
            out.push((name, value));
        }
    }
    Ok(out)
}

fn malformed(e: multer::Error) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_request",
        format!("malformed multipart/form-data body: {e}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(ct: &str, body: impl Into<Bytes>) -> Request<Bytes> {
        Request::builder()
            .method("POST")
            .uri("/u/x")
            .header("content-type", ct)
            .body(body.into())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    async fn parse(ct: &str, body: impl Into<Bytes>) -> Result<Vec<(String, String)>, ApiError> {
        let r = req(ct, body);
        let enc = FormEncoding::of(&r).unwrap_or_else(|| panic!("{ct} is a form encoding"));
        fields(&r, enc).await
    }

    fn pair(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    #[tokio::test]
    async fn reads_urlencoded_multipart_and_text_plain_bodies() {
        let want = vec![pair("List-Unsubscribe", "One-Click")];
        assert_eq!(
            parse(
                "application/x-www-form-urlencoded",
                "List-Unsubscribe=One-Click"
            )
            .await
            .ok(),
            Some(want.clone())
        );
        assert_eq!(
            parse("text/plain", "List-Unsubscribe=One-Click").await.ok(),
            Some(want.clone())
        );
        let multipart = "--b0\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b0\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"x.txt\"\r\nContent-Type: text/plain\r\n\r\nskipped\r\n--b0--\r\n";
        assert_eq!(
            parse("multipart/form-data; boundary=b0", multipart)
                .await
                .ok(),
            Some(want)
        );
    }

    #[tokio::test]
    async fn a_malformed_multipart_body_is_a_400() {
        for (ct, body) in [
            ("multipart/form-data", "--b0\r\n\r\n--b0--"),
            ("multipart/form-data; boundary=b0", "no parts at all"),
            (
                "multipart/form-data; boundary=b0",
                "--b0\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated",
            ),
        ] {
            let e = parse(ct, body)
                .await
                .expect_err("malformed multipart is refused");
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{ct} {body:?}");
        }
    }

    #[tokio::test]
    async fn too_many_fields_are_refused() {
        let body = "a=1&".repeat(MAX_FIELDS + 1);
        let e = parse("application/x-www-form-urlencoded", body)
            .await
            .expect_err("too many");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }
}
