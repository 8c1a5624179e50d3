//! `[api]`: the API's request limits, sized from the mail rate they must carry, and the mail
//! rate they allow. A mail causes traffic on the tracking routes as it arrives: Apple's privacy
//! proxy fetches the pixel of about half the recipients at delivery, corporate gateways follow
//! every link (the footer's included), and people unsubscribe. A route limited below that
//! traffic turns a person's click into a 429, a broken link, or loses a one-click unsubscribe.
//! So the mail-driven routes are sized from `send_rate` with headroom, any route's limit can be
//! set, and the sender never hands mail to the provider faster than every route's limit allows
//! ([`Limits::max_send_rate`]). The limits are API Gateway's route throttles on AWS (through the
//! route catalog) and the local server's.

use super::routes::{Route, RouteId, Throttle, ROUTES};
use crate::diag::{Diag, S};
use std::collections::BTreeMap;

crate::named!(RouteId {
    Beacons = "beacons",
    OpenPixel = "open_pixel",
    Click = "click",
    UnsubscribePage = "unsubscribe_page",
    OneClick = "one_click",
    KindlingJs = "kindling_js",
    Form = "form",
    AdminLead = "admin_lead",
    AdminSalesMark = "admin_sales_mark",
    AdminSending = "admin_sending",
    AdminResume = "admin_resume",
    AdminSegments = "admin_segments",
    AdminSegment = "admin_segment",
    AdminKpis = "admin_kpis",
    AdminDiagnose = "admin_diagnose",
    AdminReport = "admin_report",
    AdminBroadcasts = "admin_broadcasts",
    AdminBroadcastCreate = "admin_broadcast_create",
    AdminBroadcast = "admin_broadcast",
    AdminBroadcastAct = "admin_broadcast_act",
    AdminBroadcastPreview = "admin_broadcast_preview",
    AdminSync = "admin_sync",
    AdminSyncReplay = "admin_sync_replay",
    CrmHook = "crm_hook",
});

/// Requests per second a route gets for each mail a second being delivered: the pixel (the
/// privacy proxy's fetch at delivery, and image proxies), the links (scanners follow all of
/// them: up to about 40 % of B2B recipients sit behind one, at ~5 links a mail), the footer's
/// preference page (the same scanners), and the one-click POST (people; scanners do not POST).
pub const TRAFFIC_PER_MAIL: [(RouteId, f64); 4] = [
    (RouteId::OpenPixel, 0.6),
    (RouteId::Click, 2.0),
    (RouteId::UnsubscribePage, 0.4),
    (RouteId::OneClick, 0.02),
];

/// A mail-driven route's default limit is this many times the traffic at `send_rate`; the
/// sender keeps the same margin below every limit.
pub const HEADROOM: f64 = 2.0;

/// The mail rate the defaults are sized for: mails a second.
pub const DEFAULT_SEND_RATE: u32 = 100;

/// A mail-driven route never defaults below this (people's clicks at quiet times, retries);
/// the one-click POST below [`ONE_CLICK_FLOOR`].
const MAIL_ROUTE_FLOOR: u32 = 50;
const ONE_CLICK_FLOOR: u32 = 20;

/// The stage's limit, for routes with none of their own (kindling.js), when not set.
pub const DEFAULT_STAGE: Throttle = Throttle {
    rate: 200,
    burst: 400,
};

/// `[api]`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Mails a second the mail-driven routes are sized for.
    pub send_rate: u32,
    /// The limit of routes with none of their own.
    pub stage: Throttle,
    /// `[api] limits`: routes whose limit is set.
    pub overrides: BTreeMap<RouteId, Throttle>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            send_rate: DEFAULT_SEND_RATE,
            stage: DEFAULT_STAGE,
            overrides: BTreeMap::new(),
        }
    }
}

fn traffic(id: RouteId) -> Option<f64> {
    TRAFFIC_PER_MAIL
        .iter()
        .find(|(r, _)| *r == id)
        .map(|(_, t)| *t)
}

impl Limits {
    /// A route's limit for all clients together: as set, else sized from the send rate (a
    /// mail-driven route), else the route's own; `None`: the stage's.
    pub fn throttle(&self, r: &Route) -> Option<Throttle> {
        if let Some(t) = self.overrides.get(&r.id) {
            return Some(*t);
        }
        match traffic(r.id) {
            Some(per_mail) => {
                let floor = if r.id == RouteId::OneClick {
                    ONE_CLICK_FLOOR
                } else {
                    MAIL_ROUTE_FLOOR
                };
                let rate =
                    ((per_mail * f64::from(self.send_rate) * HEADROOM).ceil() as u32).max(floor);
                Some(Throttle {
                    rate,
                    burst: rate.saturating_mul(2),
                })
            }
            None => r.throttle,
        }
    }

    /// The limit of route `id`.
    pub fn of(&self, id: RouteId) -> Option<Throttle> {
        ROUTES
            .iter()
            .find(|r| r.id == id)
            .and_then(|r| self.throttle(r))
    }

    /// The fastest the sender may hand mail to the provider: the traffic it causes stays within
    /// [`HEADROOM`] of every mail-driven route's limit. With the defaults this is `send_rate`.
    pub fn max_send_rate(&self) -> f64 {
        TRAFFIC_PER_MAIL
            .iter()
            .map(|(id, per_mail)| {
                let rate = self.of(*id).map_or(self.stage.rate, |t| t.rate);
                f64::from(rate) / (per_mail * HEADROOM)
            })
            .fold(f64::INFINITY, f64::min)
    }
}

/// Checks `[api]`.
pub(crate) fn validate(d: &mut Diag<'_>, r: Option<&raw::Api>) -> Limits {
    let mut l = Limits::default();
    let Some(r) = r else {
        return l;
    };
    if let Some(s) = &r.send_rate {
        if !(1..=100_000).contains(s.get_ref()) {
            d.span(s, "api.send_rate: mails a second, 1 to 100000");
        }
        l.send_rate = (*s.get_ref()).clamp(1, 100_000);
    }
    if let Some(s) = &r.stage {
        if let Some(t) = throttle(d, s, "api.stage") {
            l.stage = t;
        }
    }
    for (name, v) in r.limits.iter().flatten() {
        let Some(id) = <RouteId as crate::names::Named>::from_name(name) else {
            d.span(
                v,
                format!(
                    "api.limits: {name:?} is not a route; use one of {}",
                    <RouteId as crate::names::Named>::expected()
                ),
            );
            continue;
        };
        if let Some(t) = throttle(d, v, &format!("api.limits.{name}")) {
            l.overrides.insert(id, t);
        }
    }
    l
}

fn throttle(d: &mut Diag<'_>, v: &S<raw::Throttle>, key: &str) -> Option<Throttle> {
    let t = v.get_ref();
    let burst = t.burst.unwrap_or(t.rate.saturating_mul(2));
    if t.rate == 0 || burst < t.rate {
        d.span(
            v,
            format!("{key}: rate must be at least 1 and burst at least the rate"),
        );
        return None;
    }
    Some(Throttle {
        rate: t.rate,
        burst,
    })
}

/// The section as written in `kindling.toml`.
pub(crate) mod raw {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Api {
        pub send_rate: Option<S<u32>>,
        pub stage: Option<S<Throttle>>,
        pub limits: Option<BTreeMap<String, S<Throttle>>>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Throttle {
        pub rate: u32,
        pub burst: Option<u32>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::Named;

    #[test]
    fn every_route_has_its_own_name() {
        let names: std::collections::BTreeSet<&str> = ROUTES.iter().map(|r| r.id.name()).collect();
        assert!(
            !names.contains(""),
            "a route without a name in [api] limits"
        );
        assert_eq!(names.len(), ROUTES.len(), "each route once");
    }

    #[test]
    fn defaults_carry_the_traffic_of_their_send_rate_twice_and_pace_to_it() {
        let l = Limits::default();
        let t = |id| l.of(id).unwrap();
        assert_eq!(t(RouteId::OpenPixel).rate, 120);
        assert_eq!(t(RouteId::Click).rate, 400);
        assert_eq!(t(RouteId::UnsubscribePage).rate, 80);
        assert_eq!(t(RouteId::OneClick).rate, ONE_CLICK_FLOOR);
        assert_eq!(
            t(RouteId::Beacons).rate,
            100,
            "not mail-driven: the route's own"
        );
        assert_eq!(l.of(RouteId::KindlingJs), None, "the stage's");
        assert!((l.max_send_rate() - 100.0).abs() < 1e-9);
        // Sized for 500 a second, every mail-driven route grows with it.
        let big = Limits {
            send_rate: 500,
            ..Limits::default()
        };
        assert_eq!(big.of(RouteId::Click).unwrap().rate, 2000);
        assert!((big.max_send_rate() - 500.0).abs() < 1e-9);
    }

    #[test]
    fn a_lower_limit_slows_the_sender_to_what_it_carries() {
        let mut l = Limits::default();
        l.overrides.insert(
            RouteId::Click,
            Throttle {
                rate: 100,
                burst: 200,
            },
        );
        // 100 requests/s at 2 a mail with 2× headroom: 25 mails a second.
        assert!((l.max_send_rate() - 25.0).abs() < 1e-9);
    }
}
