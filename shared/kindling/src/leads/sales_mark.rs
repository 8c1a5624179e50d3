//! Where sales stands with a lead: the status a rep or a sales tool marked, with an exact
//! amount for a deal.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where sales stands with a lead, as a sales tool or a rep marked it (`POST
/// /admin/leads/{lead}/sales`, `kindling lead mark`). Sequences with the `sales_marked` exit goal
/// stop mailing a marked lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SalesStatus {
    /// Sales accepted the lead and works it.
    Working,
    /// A deal is open (商談化).
    Opportunity,
    Won,
    Lost,
    Disqualified,
}

impl SalesStatus {
    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Option<SalesStatus> {
        match s {
            "working" => Some(Self::Working),
            "opportunity" => Some(Self::Opportunity),
            "won" => Some(Self::Won),
            "lost" => Some(Self::Lost),
            "disqualified" => Some(Self::Disqualified),
            _ => None,
        }
    }
}

impl SalesStatus {
    /// Every status, in funnel order.
    pub const ALL: [SalesStatus; 5] = [
        Self::Working,
        Self::Opportunity,
        Self::Won,
        Self::Lost,
        Self::Disqualified,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Working => "working",
            Self::Opportunity => "opportunity",
            Self::Won => "won",
            Self::Lost => "lost",
            Self::Disqualified => "disqualified",
        }
    }
}

/// The latest sales mark of a lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesMark {
    pub status: SalesStatus,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The deal's amount (an opportunity's expected, a win's won).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
}

/// An amount of money, exact: hundredths of the currency's unit (`1500000` yen is
/// `150000000`), so sums never round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    /// ISO 4217, three capital letters (`JPY`, `USD`).
    pub currency: String,
    pub hundredths: u64,
}

impl Money {
    /// Parses `"1500000"` or `"1234.5"` (at most two decimals, at most 10^13) in `currency`.
    pub fn parse(amount: &str, currency: &str) -> Result<Money, String> {
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!(
                "currency: {currency:?} is not an ISO 4217 code such as JPY or USD"
            ));
        }
        let bad = || format!("amount: {amount:?} is not a number such as 1500000 or 1234.50");
        let (whole, frac) = amount.split_once('.').unwrap_or((amount, ""));
        if whole.is_empty()
            || whole.len() > 13
            || frac.len() > 2
            || !whole
                .bytes()
                .chain(frac.bytes())
                .all(|b| b.is_ascii_digit())
            || (amount.contains('.') && frac.is_empty())
        {
            return Err(bad());
        }
        let whole: u64 = whole.parse().map_err(|_| bad())?;
        let frac: u64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
        Ok(Money {
            currency: currency.to_owned(),
            hundredths: whole * 100 + frac,
        })
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.currency, hundredths(self.hundredths))
    }
}

/// `150000000` → `1500000`, `123450` → `1234.50`.
pub fn hundredths(n: u64) -> String {
    if n.is_multiple_of(100) {
        (n / 100).to_string()
    } else {
        format!("{}.{:02}", n / 100, n % 100)
    }
}

/// An amount as given: a JSON number or a decimal string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Amount {
    Number(serde_json::Number),
    Text(String),
}

impl Amount {
    /// As written.
    pub fn text(&self) -> String {
        match self {
            Amount::Number(n) => n.to_string(),
            Amount::Text(t) => t.clone(),
        }
    }
}
