//! The arguments `kindling broadcast create` and `edit` share: the audience and the A/B test.

use clap::Args;
use kindling::admin::interface::AudienceSpec;
use kindling::broadcasts::ab;

/// What a broadcast goes to: exactly one.
#[derive(Args, Debug, Clone)]
#[group(multiple = false)]
pub struct AudienceArgs {
    /// Every member of this segment.
    #[arg(long)]
    segment: Option<String>,
    /// Every consenting lead (a newsletter).
    #[arg(long)]
    all: bool,
    /// Exactly the recipients of this broadcast (a correction).
    #[arg(long)]
    correct: Option<String>,
}

impl AudienceArgs {
    pub(crate) fn audience(&self) -> Option<AudienceSpec> {
        match (&self.segment, self.all, &self.correct) {
            (Some(s), _, _) => Some(AudienceSpec::Segment { segment: s.clone() }),
            (_, true, _) => Some(AudienceSpec::All),
            (_, _, Some(b)) => Some(AudienceSpec::RecipientsOf {
                broadcast: b.clone(),
            }),
            _ => None,
        }
    }
}

/// An A/B test: each `--ab-subject` and each `--ab-at` is a variant (B, C, ...) against the
/// broadcast as written (A).
#[derive(Args, Debug, Clone, Default)]
pub struct AbArgs {
    /// A variant with this subject (for every language of the content; repeatable).
    #[arg(long = "ab-subject")]
    ab_subject: Vec<String>,
    /// A variant sent at this time, "2026-12-08 14:00" (each lead's local time with --local;
    /// repeatable).
    #[arg(long = "ab-at")]
    ab_at: Vec<String>,
    /// Each cell's share of the audience, in percent.
    #[arg(long = "ab-cell", default_value_t = ab::DEFAULT_CELL_PERCENT)]
    ab_cell: u8,
    /// What wins: human `open`s or `click`s (default: click).
    #[arg(long = "ab-metric")]
    ab_metric: Option<String>,
    /// Hours after the last cell is due before the winner is judged.
    #[arg(long = "ab-wait-hours", default_value_t = ab::DEFAULT_WAIT_HOURS)]
    ab_wait_hours: u32,
    /// Sends each cell needs before a variant may win.
    #[arg(long = "ab-sample", default_value_t = ab::DEFAULT_SAMPLE)]
    ab_sample: u64,
    /// The confidence a winner needs, e.g. 0.95.
    #[arg(long = "ab-confidence", default_value_t = ab::DEFAULT_CONFIDENCE)]
    ab_confidence: f64,
}

impl AbArgs {
    /// The test asked for, if any variant was given.
    pub(crate) fn spec(&self) -> Option<ab::Spec> {
        use ab::{Spec, SubjectSpec, VariantSpec};
        let variants: Vec<VariantSpec> = self
            .ab_subject
            .iter()
            .map(|s| VariantSpec {
                subject: Some(SubjectSpec::All(s.clone())),
                at: None,
            })
            .chain(self.ab_at.iter().map(|a| VariantSpec {
                subject: None,
                at: Some(a.clone()),
            }))
            .collect();
        (!variants.is_empty()).then(|| Spec {
            variants,
            cell_percent: self.ab_cell,
            metric: self.ab_metric.clone(),
            wait_hours: self.ab_wait_hours,
            sample: self.ab_sample,
            confidence: self.ab_confidence,
        })
    }
}
