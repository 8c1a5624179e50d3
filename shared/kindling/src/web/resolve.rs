//! Resolving a request's method and path in the route table ([`super::routes::ROUTES`]).

use super::routes::{Group, RouteId, Routes, ROUTES};
use http::Method;

impl Group {
    pub(crate) fn served_by(self, routes: Routes) -> bool {
        match routes {
            Routes::All => true,
            Routes::Track => self == Group::Track,
            Routes::Intake => self == Group::Intake,
        }
    }
}

/// How a request's method and path resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved<'p> {
    /// A route, with its path parameters in order (`{token}` → the token as sent).
    Route(RouteId, Vec<&'p str>),
    /// The path is a route's, the method is not: the `Allow` header's value.
    MethodNotAllowed(String),
    /// No route has this path.
    NotFound,
}

/// The parameters of `path` if it has the shape of `pattern`.
fn matches<'p>(pattern: &str, path: &'p str) -> Option<Vec<&'p str>> {
    let mut want = pattern.trim_start_matches('/').split('/');
    let mut got = path.trim_start_matches('/').split('/');
    let mut params = Vec::new();
    loop {
        match (want.next(), got.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') => {
                if g.is_empty() {
                    return None;
                }
                params.push(g);
            }
            (Some(w), Some(g)) if w == g => {}
            _ => return None,
        }
    }
}

/// Resolves `method path` among the routes `routes` serves.
pub fn resolve<'p>(routes: Routes, method: &Method, path: &'p str) -> Resolved<'p> {
    let mut allow: Vec<&str> = Vec::new();
    for r in ROUTES.iter().filter(|r| r.group.served_by(routes)) {
        if let Some(params) = matches(r.path, path) {
            if r.method == *method {
                return Resolved::Route(r.id, params);
            }
            allow.push(r.method.as_str());
        }
    }
    if allow.is_empty() {
        Resolved::NotFound
    } else {
        Resolved::MethodNotAllowed(allow.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::routes::Auth;

    #[test]
    fn paths_resolve_to_routes_with_their_parameters() {
        assert_eq!(
            resolve(Routes::All, &Method::GET, "/t/c/k1.c.x"),
            Resolved::Route(RouteId::Click, vec!["k1.c.x"])
        );
        assert_eq!(
            resolve(Routes::All, &Method::POST, "/admin/leads/a%40b.jp/sales"),
            Resolved::Route(RouteId::AdminSalesMark, vec!["a%40b.jp"])
        );
        assert_eq!(
            resolve(Routes::All, &Method::PUT, "/u/x"),
            Resolved::MethodNotAllowed("GET, POST".into())
        );
        for path in ["/t/c/", "/t/c", "/t/c/x/y", "/nope", "/", "/admin/leads"] {
            assert_eq!(
                resolve(Routes::All, &Method::GET, path),
                Resolved::NotFound,
                "{path}"
            );
        }
    }

    #[test]
    fn each_function_serves_only_its_own_routes() {
        assert_eq!(
            resolve(Routes::Intake, &Method::POST, "/t/events"),
            Resolved::NotFound
        );
        assert_eq!(
            resolve(Routes::Track, &Method::GET, "/admin/sending"),
            Resolved::NotFound
        );
        assert!(matches!(
            resolve(Routes::Intake, &Method::GET, "/admin/sending"),
            Resolved::Route(RouteId::AdminSending, _)
        ));
    }

    #[test]
    fn every_route_is_declared_once_and_admin_routes_are_admin_only() {
        let mut seen = std::collections::HashSet::new();
        for r in &ROUTES {
            assert!(
                seen.insert((r.method.clone(), r.path)),
                "{} {} twice",
                r.method,
                r.path
            );
            assert_eq!(
                r.path.starts_with("/admin/"),
                r.auth == Auth::Admin,
                "{}",
                r.path
            );
            assert!(r.throttle.is_none_or(|t| t.rate > 0 && t.burst >= t.rate));
        }
        let ids: std::collections::HashSet<_> = ROUTES.iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), ROUTES.len(), "one route per id");
    }
}
