//! `POST /hooks/crm/{source}`: a CRM's update of a lead ([`crate::crm::inbound`]). The request
//! is checked before its body is parsed: IAM signed it (API Gateway, on AWS), or it carries a
//! Standard Webhooks signature by the source's secret, stamped within five minutes of now. A
//! forged or stale hook is a 401, a malformed one a 400, an unknown lead a 404; none writes.

use super::Kindling;
use crate::crm::{inbound, webhook};
use crate::web::{body_within, json_response, ApiError, ApiResult, ClientInfo};
use bytes::Bytes;
use http::{Request, StatusCode};

/// Handles a hook from `source`.
pub(crate) async fn crm_hook(k: &Kindling, source: &str, req: &Request<Bytes>) -> ApiResult {
    let src = k
        .config
        .crm
        .as_ref()
        .and_then(|c| c.source(source))
        .ok_or_else(ApiError::not_found)?;
    let body = body_within(req, inbound::MAX_HOOK_BYTES)?;
    let header = |name: &'static str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let iam = req
        .extensions()
        .get::<ClientInfo>()
        .is_some_and(|c| c.principal.is_some());
    let hook_id = if iam {
        header(webhook::ID).ok_or_else(|| {
            ApiError::bad_request("webhook-id: the hook's id, which makes a redelivery harmless")
        })?
    } else if src.secrets.is_empty() {
        return Err(ApiError::unauthorized(format!(
            "no secret is set for source {source:?} ({})",
            src.secret_env
        )));
    } else {
        webhook::verify(header, body, &src.secrets, k.clock.now())
            .map_err(|r| ApiError::unauthorized(format!("webhook refused: {r}")))?
    };
    if hook_id.is_empty() || hook_id.len() > 200 {
        return Err(ApiError::bad_request("webhook-id: 1 to 200 characters"));
    }
    let update = inbound::parse(body, &k.config.routing, &k.config.kpis.currency)?;
    let applied = inbound::apply(
        &*k.stores.leads,
        &k.config.routing,
        &*k.clock,
        source,
        hook_id,
        &update,
    )
    .await?
    .ok_or_else(|| crate::Error::NotFound("no such lead".into()))?;
    // Idempotent, so done again for a duplicate (a crash may have come between).
    super::sales_follow_ups(k, &applied.lead).await?;
    let lead = &applied.lead;
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({
            "lead_id": lead.id,
            "duplicate": applied.duplicate,
            "changed": applied.changed,
            "sales": lead.sales,
            "owner": lead.owner.as_ref().map(|o| &o.rep),
            "bant": lead.bant,
        }),
    ))
}
