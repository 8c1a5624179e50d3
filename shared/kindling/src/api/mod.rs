//! The API's shape, beneath the capabilities: every route ([`routes`]) and the request limits
//! `[api]` sets for them ([`limits`]). The router (`crate::http`), the route catalog of the
//! stack, the local server and the sender's pacing all read these.

pub mod limits;
pub mod routes;
