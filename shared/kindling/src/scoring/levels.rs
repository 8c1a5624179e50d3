//! The levels a score reaches: warm and hot, and marketing-qualified.

use super::ScoreCard;
use crate::leads::Temperature;
use serde::{Deserialize, Serialize};

/// Score at or above which a lead is warm or hot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thresholds {
    pub hot: i64,
    pub warm: i64,
}

impl Thresholds {
    /// The temperature of a total.
    pub fn temperature(&self, total: i64) -> Temperature {
        if total >= self.hot {
            Temperature::Hot
        } else if total >= self.warm {
            Temperature::Warm
        } else {
            Temperature::Cold
        }
    }
}

/// When a lead is a marketing-qualified lead: every given minimum holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mql {
    pub min_total: i64,
    pub min_fit: Option<i64>,
    pub min_engagement: Option<i64>,
}

impl Mql {
    /// Whether a score card meets the definition.
    pub fn met(&self, card: &ScoreCard) -> bool {
        card.total >= self.min_total
            && self.min_fit.is_none_or(|m| card.fit >= m)
            && self.min_engagement.is_none_or(|m| card.engagement >= m)
    }
}
