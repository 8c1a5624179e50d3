//! The router: every request to its route's handler, written once against the `http` crate's
//! types. The
//! local server and the Lambda functions convert their requests to `Request<Bytes>` and return
//! the `Response<Bytes>` from here. Every input gets a response: bad input a 4xx with a JSON
//! error body and no write; a failing port a 503 (retryable), never a panic.

pub use crate::web::routes::Routes;
pub use crate::web::{limits, resolve, routes};

use crate::app::Kindling;
use crate::web::ApiError;
use crate::{admin, deliverability, forms, tracking};
use bytes::Bytes;
use http::{Request, Response};

/// Handles one request: resolves it in the route table ([`routes::ROUTES`]) and calls the
/// route's handler.
pub async fn handle(k: &Kindling, routes: Routes, req: Request<Bytes>) -> Response<Bytes> {
    use crate::web::resolve::{resolve, Resolved};
    use routes::RouteId;
    let path = req.uri().path().to_owned();
    let result = match resolve(routes, req.method(), &path) {
        Resolved::Route(id, params) => {
            let p = |i: usize| params.get(i).copied().unwrap_or("");
            match id {
                RouteId::Beacons => tracking::routes::events(&k.tracking(), &req).await,
                RouteId::OpenPixel => tracking::hits::open(&k.tracking(), p(0), &req).await,
                RouteId::Click => tracking::hits::click(&k.tracking(), p(0), &req).await,
                RouteId::UnsubscribePage => {
                    deliverability::routes::preference_page(&k.deliverability(), p(0)).await
                }
                RouteId::OneClick => {
                    deliverability::routes::save(&k.deliverability(), p(0), &req).await
                }
                RouteId::KindlingJs => Ok(tracking::script::kindling_js(&k.config.program)),
                RouteId::Form => forms::routes::submit(&k.forms(), p(0), &req).await,
                RouteId::AdminLead => admin::routes::lead(k, p(0)).await,
                RouteId::AdminSalesMark => admin::routes::mark(k, p(0), &req).await,
                RouteId::AdminSending => admin::routes::sending(k).await,
                RouteId::AdminResume => admin::routes::resume(k, &req).await,
                RouteId::AdminSegments => admin::routes::segments(k, &req).await,
                RouteId::AdminKpis => admin::routes::kpis(k, &req).await,
                RouteId::AdminDiagnose => admin::routes::diagnose(k, &req).await,
                RouteId::AdminReport => admin::routes::report(k, &req).await,
                RouteId::AdminSegment => admin::routes::segment(k, p(0), &req).await,
                RouteId::AdminBroadcasts => admin::routes::broadcasts(k).await,
                RouteId::AdminBroadcastCreate => admin::routes::create(k, &req).await,
                RouteId::AdminBroadcast => admin::routes::broadcast(k, p(0)).await,
                RouteId::AdminBroadcastPreview => admin::routes::preview(k, p(0), &req).await,
                RouteId::AdminBroadcastAct => admin::routes::act(k, p(0), p(1), &req).await,
                RouteId::AdminSync => admin::routes::sync(k, &req).await,
                RouteId::AdminSyncReplay => admin::routes::replay(k, &req).await,
                RouteId::CrmHook => crate::app::crm_hook(k, p(0), &req).await,
            }
        }
        Resolved::MethodNotAllowed(allow) => Err(crate::web::method_not_allowed(&allow)),
        Resolved::NotFound => Err(ApiError::not_found()),
    };
    result.unwrap_or_else(|e| e.into_response())
}
