//! A/B tests at work: the sender picks each lead's variant (or the winner) and counts the send;
//! the score consumer counts a send's first human open and click; `kindling ab` reports.

use crate::activities::ActivityKind;
use crate::error::Result;
use crate::ids::LeadId;
use crate::message::MessageKey;
use crate::ports::Put;
use crate::sending::ab::{self, AbTest, VariantResult, Verdict};
use crate::sending::ledger::SendRecord;
use crate::sequences::config::Sequence;
use serde::Serialize;

/// The template this lead gets for an A/B step: the decided winner, else its assigned variant.
/// Decides the winner when the results allow it (the first sender to decide wins the mark).
pub(crate) async fn variant_for(
    k: &super::Sequences<'_>,
    seq: &Sequence,
    step: u32,
    test: &AbTest,
    lead: &LeadId,
) -> Result<crate::ids::TemplateId> {
    let series = ab::series(&seq.id, step);
    if let Some(w) = winner(k, &series, test).await? {
        return Ok(w);
    }
    let results = results(k, &series, test).await?;
    if let Verdict::Winner { template, p_value } = ab::judge(test, &results) {
        if k.tallies
            .set_mark(&series, ab::WINNER, template.as_str(), true)
            .await?
            == Put::Created
        {
            tracing::info!(sequence = %seq.id, step, winner = %template, p_value, "A/B winner decided");
        }
        if let Some(w) = winner(k, &series, test).await? {
            return Ok(w);
        }
    }
    let i = ab::assign(lead, &seq.id, step, test.variants.len());
    Ok(test.variants[i].clone())
}

async fn winner(
    k: &super::Sequences<'_>,
    series: &str,
    test: &AbTest,
) -> Result<Option<crate::ids::TemplateId>> {
    let marks = k.tallies.marks(series).await?;
    // A winner that is no longer a variant (the test was edited) is ignored.
    Ok(marks
        .get(ab::WINNER)
        .and_then(|w| test.variants.iter().find(|v| *v == w))
        .cloned())
}

async fn results(
    k: &super::Sequences<'_>,
    series: &str,
    test: &AbTest,
) -> Result<Vec<VariantResult>> {
    let tallies = k.tallies.tallies(series, None, None).await?;
    Ok(test
        .variants
        .iter()
        .map(|v| {
            let t = tallies.iter().find(|t| *v == t.bucket);
            let get = |c: &str| t.map_or(0, |t| t.get(c));
            VariantResult {
                template: v.clone(),
                sent: get(ab::SENT),
                opened: get(ab::OPENED),
                clicked: get(ab::CLICKED),
            }
        })
        .collect())
}

/// Counts a step mail that went out (once per send, however often this runs).
pub(crate) async fn count_sent(
    k: &super::Sequences<'_>,
    seq: &Sequence,
    record: &SendRecord,
) -> Result<()> {
    let Some((_, step)) = record.key.as_step() else {
        return Ok(());
    };
    if !has_test(seq, step) {
        return Ok(());
    }
    k.tallies
        .tally_once(
            &ab::series(&seq.id, step),
            &record.template,
            ab::SENT,
            &record.key.to_string(),
            k.clock.now(),
        )
        .await?;
    Ok(())
}

/// Whether this step of this sequence has an A/B test (else its opens need no counting).
pub(crate) fn tested(
    k: &super::Sequences<'_>,
    sequence: Option<&crate::ids::SequenceId>,
    step: Option<u32>,
) -> bool {
    match (sequence.and_then(|s| k.config.sequence(s)), step) {
        (Some(seq), Some(step)) => has_test(seq, step),
        _ => false,
    }
}

/// Counts a person's open or click of an A/B step mail: once per send and counter. `a` has
/// passed the cleaned log (as the rescore saw it: machine opens, scanner clicks and duplicates
/// never count). A click counts as an open too: the mail was read even if
/// its images were blocked.
pub(crate) async fn count_engagement(
    k: &super::Sequences<'_>,
    lead: &LeadId,
    a: &crate::activities::Activity,
) -> Result<()> {
    let now = k.clock.now();
    let (Some(seq_id), Some(enrollment), Some(step)) =
        (&a.attrs.sequence_id, &a.attrs.enrollment_id, a.attrs.step)
    else {
        return Ok(());
    };
    let Some(seq) = k.config.sequence(seq_id) else {
        return Ok(());
    };
    if !has_test(seq, step) {
        return Ok(());
    }
    let key = MessageKey::Step {
        lead_id: lead.clone(),
        enrollment_id: enrollment.clone(),
        step,
    };
    let Some(record) = k.sends.get_send(&key).await? else {
        return Ok(());
    };
    let counters: &[&str] = match a.kind {
        ActivityKind::EmailOpen => &[ab::OPENED],
        ActivityKind::EmailClick => &[ab::OPENED, ab::CLICKED],
        _ => &[],
    };
    let series = ab::series(seq_id, step);
    for c in counters {
        k.tallies
            .tally_once(&series, &record.template, c, &key.to_string(), now)
            .await?;
    }
    Ok(())
}

/// One A/B test's standing, for `kindling ab`.
#[derive(Debug, Clone, Serialize)]
pub struct AbReport {
    pub sequence: crate::ids::SequenceId,
    pub step: u32,
    pub metric: ab::Metric,
    pub sample: u64,
    pub confidence: f64,
    pub variants: Vec<VariantResult>,
    /// The decided winner, if any.
    pub winner: Option<crate::ids::TemplateId>,
    /// What the results say now.
    pub verdict: Verdict,
}

/// Every configured A/B test with its counts, winner and verdict.
#[tracing::instrument(name = "ab_report", skip_all)]
pub async fn ab_report(k: &super::Sequences<'_>) -> Result<Vec<AbReport>> {
    let mut out = Vec::new();
    for seq in k.config.sequences {
        for (i, step) in seq.steps.iter().enumerate() {
            let Some(test) = &step.ab else { continue };
            let step = i as u32;
            let series = ab::series(&seq.id, step);
            let variants = results(k, &series, test).await?;
            out.push(AbReport {
                sequence: seq.id.clone(),
                step,
                metric: test.metric,
                sample: test.sample,
                confidence: test.confidence,
                verdict: ab::judge(test, &variants),
                winner: winner(k, &series, test).await?,
                variants,
            });
        }
    }
    Ok(out)
}

/// Whether step `step` of `seq` has an A/B test.
fn has_test(seq: &Sequence, step: u32) -> bool {
    seq.steps.get(step as usize).is_some_and(|s| s.ab.is_some())
}
