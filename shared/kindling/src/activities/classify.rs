//! Who fetched an open pixel or followed a link: the person, or a machine acting before them.
//!
//! Apple Mail Privacy Protection fetches every image of every mail through Apple's proxies when
//! the mail arrives, read or not; corporate mail gateways (Microsoft Defender Safe Links,
//! Proofpoint, Mimecast, Barracuda, ...) follow links to check them, often every link of a mail
//! within seconds of delivery. Counting those as engagement makes scores lie. Each hit is
//! classified from what the request shows (agent, network, time since the mail was sent, which
//! link) and the reason is stored; non-human hits are kept in the log but score 0.
//!
//! The signatures and their sources are in `tests/fixtures/tracking/README.md`, beside the
//! labelled fixture the tests measure this against.

use crate::activities::{Activity, ActivityKind};
use crate::fasthash::FastBuild;
use crate::ids::ActivityId;
use crate::message::MessageRef;
use crate::message::HIDDEN_LINK;
use chrono::Duration;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;

/// Who made a tracking hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Agent {
    /// The recipient.
    Human,
    /// An image fetched by a privacy proxy or a prefetcher, not by someone reading.
    MachineOpen,
    /// A link followed by a security scanner.
    ScannerClick,
}

/// A verdict and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub agent: Agent,
    pub reason: &'static str,
}

impl Verdict {
    const fn human(reason: &'static str) -> Self {
        Verdict {
            agent: Agent::Human,
            reason,
        }
    }
}

/// What a request shows about its sender.
#[derive(Debug, Clone, Default)]
pub struct Hit<'a> {
    pub user_agent: Option<&'a str>,
    pub ip: Option<IpAddr>,
    /// Time from the send to this hit, when the send is known.
    pub since_send: Option<Duration>,
}

/// A click.
#[derive(Debug, Clone, Default)]
pub struct ClickHit<'a> {
    pub hit: Hit<'a>,
    /// The mail's hidden link, which no person sees and every link-following scanner fetches.
    pub honeypot: bool,
}

/// A click this soon after sending is a gateway checking the mail as it is delivered.
pub const CLICK_AT_DELIVERY: Duration = Duration::seconds(20);
/// An open this soon after sending is a prefetch at delivery.
pub const OPEN_AT_DELIVERY: Duration = Duration::seconds(3);
/// Clicks on different links of one mail within this window are one machine following them all.
pub const BURST_WINDOW: Duration = Duration::seconds(5);

/// A network, and the reason a hit from it is a machine's.
struct Network {
    reason: &'static str,
    net: IpAddr,
    prefix: u8,
}

const fn v4(reason: &'static str, a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Network {
    Network {
        reason,
        net: IpAddr::V4(std::net::Ipv4Addr::new(a, b, c, d)),
        prefix,
    }
}

/// Apple's network: Mail Privacy Protection's image proxies fetch from it.
const APPLE: [Network; 1] = [v4("apple_mail_privacy_protection", 17, 0, 0, 0, 8)];

/// Networks of mail security gateways that follow links in inbound mail (their published
/// inbound ranges; see the fixture README for sources).
const SCANNER_NETWORKS: [Network; 14] = [
    // Exchange Online Protection / Defender for Office 365 (Safe Links).
    v4("network_microsoft_safe_links", 40, 92, 0, 0, 15),
    v4("network_microsoft_safe_links", 40, 107, 0, 0, 16),
    v4("network_microsoft_safe_links", 52, 100, 0, 0, 14),
    v4("network_microsoft_safe_links", 104, 47, 0, 0, 17),
    // Proofpoint.
    v4("network_proofpoint", 148, 163, 128, 0, 19),
    v4("network_proofpoint", 67, 231, 144, 0, 20),
    // Mimecast.
    v4("network_mimecast", 205, 139, 110, 0, 24),
    v4("network_mimecast", 207, 211, 30, 0, 24),
    v4("network_mimecast", 216, 205, 24, 0, 24),
    v4("network_mimecast", 91, 220, 42, 0, 24),
    v4("network_mimecast", 185, 58, 84, 0, 22),
    // Barracuda.
    v4("network_barracuda", 64, 235, 144, 0, 20),
    v4("network_barracuda", 209, 222, 80, 0, 21),
    // Cisco Secure Email (IronPort) cloud.
    v4("network_cisco", 68, 232, 128, 0, 19),
];

/// Substrings of agents that only machines send (compared case-insensitively), with the reason.
const MACHINE_AGENTS: [(&str, &str); 17] = [
    ("barracuda", "agent_barracuda"),
    ("mimecast", "agent_mimecast"),
    ("proofpoint", "agent_proofpoint"),
    ("urldefense", "agent_proofpoint"),
    ("ironport", "agent_cisco"),
    ("trendmicro", "agent_trend_micro"),
    ("trend micro", "agent_trend_micro"),
    ("symantec", "agent_symantec"),
    ("messagelabs", "agent_symantec"),
    ("forcepoint", "agent_forcepoint"),
    ("headlesschrome", "agent_headless_browser"),
    ("phantomjs", "agent_headless_browser"),
    ("python-requests", "agent_http_library"),
    ("go-http-client", "agent_http_library"),
    ("curl/", "agent_http_library"),
    ("java/", "agent_http_library"),
    ("libwww-perl", "agent_http_library"),
];

fn in_network(ip: IpAddr, n: &Network) -> bool {
    match (ip, n.net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(n.prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(n.prefix))
                .unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

fn network_of(ip: Option<IpAddr>, list: &[Network]) -> Option<&'static str> {
    let ip = ip?;
    list.iter().find(|n| in_network(ip, n)).map(|n| n.reason)
}

fn machine_agent(ua: Option<&str>) -> Option<&'static str> {
    let ua = ua?.to_ascii_lowercase();
    MACHINE_AGENTS
        .iter()
        .find(|(needle, _)| ua.contains(needle))
        .map(|(_, who)| *who)
}

/// Apple's proxies announce themselves as a bare `Mozilla/5.0`, which no browser sends.
fn is_bare_mozilla(ua: Option<&str>) -> bool {
    ua.is_some_and(|ua| ua.trim() == "Mozilla/5.0")
}

fn machine(agent: Agent, reason: &'static str) -> Verdict {
    Verdict { agent, reason }
}

/// Classifies an open-pixel fetch.
pub fn classify_open(hit: &Hit<'_>) -> Verdict {
    use Agent::MachineOpen;
    if network_of(hit.ip, &APPLE).is_some() || is_bare_mozilla(hit.user_agent) {
        return machine(MachineOpen, "apple_mail_privacy_protection");
    }
    if let Some(who) = machine_agent(hit.user_agent) {
        return machine(MachineOpen, who);
    }
    if let Some(who) = network_of(hit.ip, &SCANNER_NETWORKS) {
        return machine(MachineOpen, who);
    }
    if hit.since_send.is_some_and(|d| d < OPEN_AT_DELIVERY) {
        return machine(MachineOpen, "fetched_at_delivery");
    }
    match hit.user_agent {
        None => machine(MachineOpen, "no_user_agent"),
        // Gmail and Yahoo fetch images through their proxies when the person opens the mail.
        Some(ua) if ua.contains("GoogleImageProxy") => Verdict::human("gmail_image_proxy"),
        Some(ua) if ua.contains("YahooMailProxy") => Verdict::human("yahoo_image_proxy"),
        Some(_) => Verdict::human("mail_client"),
    }
}

/// Classifies a click.
pub fn classify_click(click: &ClickHit<'_>) -> Verdict {
    use Agent::ScannerClick;
    let hit = &click.hit;
    if click.honeypot {
        return machine(ScannerClick, "hidden_link");
    }
    if let Some(who) = machine_agent(hit.user_agent) {
        return machine(ScannerClick, who);
    }
    if let Some(who) = network_of(hit.ip, &SCANNER_NETWORKS) {
        return machine(ScannerClick, who);
    }
    if hit.since_send.is_some_and(|d| d < CLICK_AT_DELIVERY) {
        return machine(ScannerClick, "clicked_at_delivery");
    }
    if hit.user_agent.is_none() || is_bare_mozilla(hit.user_agent) {
        return machine(ScannerClick, "no_browser_agent");
    }
    Verdict::human("browser")
}

/// The activities of a log that are machine hits, with the reason: those classified so when
/// recorded; clicks on different links of one mail within [`BURST_WINDOW`] of each other (a
/// machine working through the mail; a person reads between links); and clicks of a mail within
/// that window of its hidden link being followed. The last two need the mail's other clicks, so
/// they are settled here, from the log, rather than on the request path (which then needs no
/// read). Scoring skips these hits; the log keeps them.
pub fn machine_hits<'a>(log: &[&'a Activity]) -> HashMap<&'a ActivityId, &'a str, FastBuild> {
    let mut machine: HashMap<&ActivityId, &str, FastBuild> = HashMap::default();
    // Each mail's clicks: (time in ms, link, id).
    type Click<'b> = (i64, Option<u16>, &'b ActivityId);
    let mut by_mail: HashMap<MessageRef<'a>, Vec<Click<'a>>, FastBuild> = HashMap::default();
    for a in log {
        if a.attrs.agent.is_some_and(|g| g != Agent::Human) {
            machine.insert(&a.id, a.attrs.reason.as_deref().unwrap_or("machine"));
        }
        if a.kind == ActivityKind::EmailClick {
            if let Some(mail) = a.attrs.message_ref() {
                by_mail.entry(mail).or_default().push((
                    a.at.timestamp_millis(),
                    a.attrs.link,
                    &a.id,
                ));
            }
        }
    }
    let window = BURST_WINDOW.num_milliseconds();
    for clicks in by_mail.values_mut() {
        if clicks.len() < 2 {
            continue;
        }
        clicks.sort_unstable_by_key(|c| c.0);
        // A window of clicks within BURST_WINDOW of click i, on either side.
        let mut lo = 0;
        for i in 0..clicks.len() {
            let (t, link, id) = clicks[i];
            while t - clicks[lo].0 > window {
                lo += 1;
            }
            let near = clicks[lo..]
                .iter()
                .take_while(|c| c.0 - t <= window)
                .map(|c| c.1);
            let (mut hidden, mut other) = (false, false);
            for l in near {
                hidden |= l == Some(HIDDEN_LINK);
                other |= l != link;
            }
            if hidden {
                machine.entry(id).or_insert("hidden_link");
            } else if other {
                machine.entry(id).or_insert("links_clicked_at_once");
            }
        }
    }
    machine
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    const SAFARI: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";

    #[test]
    fn networks_match_by_prefix() {
        let n = v4("x", 40, 92, 0, 0, 15);
        assert!(in_network("40.93.255.255".parse().unwrap(), &n));
        assert!(!in_network("40.94.0.0".parse().unwrap(), &n));
        assert!(!in_network("::1".parse().unwrap(), &n));
        assert!(in_network(
            "1.2.3.4".parse().unwrap(),
            &v4("all", 0, 0, 0, 0, 0)
        ));
    }

    #[test]
    fn apple_proxy_fetches_are_machine_opens() {
        let v = classify_open(&Hit {
            user_agent: Some("Mozilla/5.0"),
            ip: ip("17.58.101.3"),
            since_send: Some(Duration::minutes(2)),
        });
        assert_eq!(v.agent, Agent::MachineOpen);
        assert_eq!(v.reason, "apple_mail_privacy_protection");
    }

    #[test]
    fn a_person_reading_in_a_mail_client_is_human() {
        let v = classify_open(&Hit {
            user_agent: Some(SAFARI),
            ip: ip("203.0.113.9"),
            since_send: Some(Duration::hours(3)),
        });
        assert_eq!(v, Verdict::human("mail_client"));
    }

    #[test]
    fn the_hidden_link_is_a_scanner_and_a_late_browser_click_a_person() {
        let base = Hit {
            user_agent: Some(SAFARI),
            ip: ip("198.51.100.4"),
            since_send: Some(Duration::minutes(30)),
        };
        let hidden = ClickHit {
            hit: base.clone(),
            honeypot: true,
        };
        assert_eq!(classify_click(&hidden).reason, "hidden_link");
        let person = ClickHit {
            hit: base,
            honeypot: false,
        };
        assert_eq!(classify_click(&person).agent, Agent::Human);
    }
}
