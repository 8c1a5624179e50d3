//! A/B tests of a step's mail: which variant a lead gets, the results per variant, and when one
//! variant has won.
//!
//! Assignment is a stable hash of the lead, the sequence and the step, so a lead keeps its
//! variant across retries and processes, and the split does not depend on sending order. Until
//! a winner is decided every lead gets its assigned variant; after, every later send gets the
//! winner. A winner needs both: every variant sent to at least `sample` leads, and the best
//! variant's rate better than every other's by a two-sided two-proportion z-test at the
//! configured confidence (Bonferroni-corrected when there are more than two variants).

use crate::ids::LeadId;
use serde::{Deserialize, Serialize};

/// Counter names in a step's tally series.
pub const SENT: &str = "sent";
pub const OPENED: &str = "opened";
pub const CLICKED: &str = "clicked";
/// The mark that holds a step's winner (a template name).
pub const WINNER: &str = "winner";

/// What a variant is judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Sends with at least one human open (machine opens, e.g. Apple's privacy proxy, never count).
    Open,
    /// Sends with at least one human click (scanner clicks never count).
    Click,
}

crate::named!(Metric {
    Click = "click",
    Open = "open",
});

impl Metric {
    /// The counter it reads.
    pub fn counter(self) -> &'static str {
        match self {
            Metric::Open => OPENED,
            Metric::Click => CLICKED,
        }
    }
}

/// An A/B test on one step: `variants` are template names, the step's own template first.
#[derive(Debug, Clone, PartialEq)]
pub struct AbTest {
    pub variants: Vec<crate::ids::TemplateId>,
    pub metric: Metric,
    /// Sends per variant before a winner may be chosen.
    pub sample: u64,
    /// e.g. 0.95: the winner's advantage must be significant at p < 0.05.
    pub confidence: f64,
}

/// The tally series of a step.
pub fn series(sequence: &str, step: u32) -> String {
    format!("ab:{sequence}:{step}")
}

/// The variant (index) of `lead` for this step: a stable 64-bit FNV-1a hash, the same on every
/// machine and release.
pub fn assign(lead: &LeadId, sequence: &str, step: u32, variants: usize) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let step = step.to_le_bytes();
    for part in [
        lead.as_str().as_bytes(),
        b"\x1f",
        sequence.as_bytes(),
        b"\x1f",
        &step,
    ] {
        for &b in part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    // FNV's low bits follow the last bytes almost linearly: finish with MurmurHash3's fmix64
    // so every input bit reaches the bits the modulo reads.
    let mut h = h ^ (h >> 33);
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    (h % variants.max(1) as u64) as usize
}

/// One variant's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantResult {
    pub template: crate::ids::TemplateId,
    pub sent: u64,
    pub opened: u64,
    pub clicked: u64,
}

impl VariantResult {
    /// Sends that count as a success for `metric`.
    pub fn successes(&self, metric: Metric) -> u64 {
        match metric {
            Metric::Open => self.opened,
            Metric::Click => self.clicked,
        }
    }

    /// Success rate for `metric` (0 before any send).
    pub fn rate(&self, metric: Metric) -> f64 {
        if self.sent == 0 {
            0.0
        } else {
            self.successes(metric).min(self.sent) as f64 / self.sent as f64
        }
    }
}

/// Where a test stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Some variant has fewer than `sample` sends; `missing` more are needed in all.
    NeedsSample { missing: u64 },
    /// Enough sends, but the best variant is not significantly better (yet).
    NotSignificant {
        best: crate::ids::TemplateId,
        p_value: f64,
    },
    /// `template` won: its rate beats every other variant's with p below the corrected level.
    Winner {
        template: crate::ids::TemplateId,
        p_value: f64,
    },
}

/// Judges a test from its results (one per variant, in the test's order).
pub fn judge(test: &AbTest, results: &[VariantResult]) -> Verdict {
    let missing: u64 = results
        .iter()
        .map(|r| test.sample.saturating_sub(r.sent))
        .sum::<u64>()
        + test.sample * test.variants.len().saturating_sub(results.len()) as u64;
    if missing > 0 || results.len() < 2 {
        return Verdict::NeedsSample {
            missing: missing.max(1),
        };
    }
    let m = test.metric;
    let best = results
        .iter()
        .enumerate()
        .max_by(|a, b| {
            a.1.rate(m)
                .total_cmp(&b.1.rate(m))
                .then_with(|| b.0.cmp(&a.0))
        })
        .map(|(i, _)| i)
        .unwrap_or(0);
    let b = &results[best];
    let p_value = results
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != best)
        .map(|(_, r)| {
            if r.rate(m) >= b.rate(m) {
                1.0
            } else {
                two_proportion_p(
                    b.successes(m).min(b.sent),
                    b.sent,
                    r.successes(m).min(r.sent),
                    r.sent,
                )
            }
        })
        .fold(0.0_f64, f64::max);
    let alpha = (1.0 - test.confidence) / (results.len() - 1) as f64;
    if p_value < alpha {
        Verdict::Winner {
            template: b.template.clone(),
            p_value,
        }
    } else {
        Verdict::NotSignificant {
            best: b.template.clone(),
            p_value,
        }
    }
}

/// Two-sided p-value of the pooled two-proportion z-test: `x1` of `n1` against `x2` of `n2`.
pub fn two_proportion_p(x1: u64, n1: u64, x2: u64, n2: u64) -> f64 {
    if n1 == 0 || n2 == 0 {
        return 1.0;
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let pooled = (x1 + x2) as f64 / (n1f + n2f);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1f + 1.0 / n2f)).sqrt();
    if se == 0.0 {
        return 1.0;
    }
    let z = (x1 as f64 / n1f - x2 as f64 / n2f) / se;
    erfc(z.abs() / std::f64::consts::SQRT_2)
}

/// The complementary error function (Chebyshev fit, fractional error below 1.2e-7; Numerical
/// Recipes' `erfcc`).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(variants: &[&str], sample: u64) -> AbTest {
        AbTest {
            variants: variants.iter().map(|v| (*v).into()).collect(),
            metric: Metric::Click,
            sample,
            confidence: 0.95,
        }
    }

    fn result(template: &str, sent: u64, clicked: u64) -> VariantResult {
        VariantResult {
            template: template.into(),
            sent,
            opened: clicked,
            clicked,
        }
    }

    #[test]
    fn erfc_matches_known_values() {
        for (x, want) in [
            (0.0, 1.0),
            (0.5, 0.479_500_122),
            (1.0, 0.157_299_207),
            (2.0, 0.004_677_735),
            (-1.0, 1.842_700_793),
        ] {
            assert!((erfc(x) - want).abs() < 1e-7, "erfc({x}) = {}", erfc(x));
        }
        // z = 1.959964 is the two-sided 5 % point.
        let p = erfc(1.959_964 / std::f64::consts::SQRT_2);
        assert!((p - 0.05).abs() < 1e-6, "{p}");
    }

    #[test]
    fn two_proportion_test_matches_a_worked_example() {
        // 200/1000 against 150/1000: pooled 0.175, z = 2.943, p = 0.00325.
        let p = two_proportion_p(200, 1000, 150, 1000);
        assert!((p - 0.003_25).abs() < 0.000_05, "{p}");
        assert_eq!(two_proportion_p(0, 100, 0, 100), 1.0, "no successes at all");
        assert_eq!(two_proportion_p(5, 0, 1, 10), 1.0);
    }

    #[test]
    fn assignment_is_stable_and_splits_evenly() {
        let lead = LeadId::new("L01JH3ZP");
        let first = assign(&lead, "document_followup", 0, 2);
        for _ in 0..10 {
            assert_eq!(assign(&lead, "document_followup", 0, 2), first);
        }
        let mut counts = [0u32; 3];
        for i in 0..30_000 {
            counts[assign(&LeadId::new(format!("lead{i}")), "seq", 0, 3)] += 1;
        }
        for c in counts {
            assert!((9_500..=10_500).contains(&c), "{counts:?}");
        }
        // Another step of the same lead is assigned independently.
        let same = (0..2_000)
            .filter(|i| {
                let l = LeadId::new(format!("lead{i}"));
                assign(&l, "seq", 0, 2) == assign(&l, "seq", 1, 2)
            })
            .count();
        assert!((800..=1_200).contains(&same), "{same}");
    }

    #[test]
    fn no_winner_before_the_sample_however_large_the_difference() {
        let t = test(&["a", "b"], 200);
        let v = judge(&t, &[result("a", 199, 150), result("b", 250, 2)]);
        assert_eq!(v, Verdict::NeedsSample { missing: 1 });
        let v = judge(&t, &[result("a", 10, 9)]);
        assert!(matches!(v, Verdict::NeedsSample { missing: 390 }), "{v:?}");
    }

    #[test]
    fn no_winner_when_the_difference_is_not_significant() {
        let t = test(&["a", "b"], 200);
        // 22 % against 18 % of 200: p = 0.32.
        let v = judge(&t, &[result("a", 200, 44), result("b", 200, 36)]);
        match v {
            Verdict::NotSignificant { best, p_value } => {
                assert_eq!(best, "a");
                assert!(p_value > 0.3 && p_value < 0.34, "{p_value}");
            }
            other => panic!("{other:?}"),
        }
        let tie = judge(&t, &[result("a", 300, 30), result("b", 300, 30)]);
        assert!(matches!(tie, Verdict::NotSignificant { p_value, .. } if p_value == 1.0));
    }

    #[test]
    fn a_winner_once_the_sample_is_reached_and_the_test_passes() {
        let t = test(&["a", "b"], 200);
        let v = judge(&t, &[result("a", 210, 20), result("b", 205, 45)]);
        match v {
            Verdict::Winner { template, p_value } => {
                assert_eq!(template, "b");
                assert!(p_value < 0.01, "{p_value}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn three_variants_need_the_corrected_level_against_each_other() {
        let t = test(&["a", "b", "c"], 500);
        // b beats a clearly (p ~ 0.0001) but c only at p ~ 0.04 > 0.05 / 2.
        let v = judge(
            &t,
            &[
                result("a", 500, 50),
                result("b", 500, 90),
                result("c", 500, 68),
            ],
        );
        assert!(
            matches!(&v, Verdict::NotSignificant { best, p_value } if best == "b" && *p_value > 0.025),
            "{v:?}"
        );
        let v = judge(
            &t,
            &[
                result("a", 500, 50),
                result("b", 500, 95),
                result("c", 500, 55),
            ],
        );
        assert!(
            matches!(&v, Verdict::Winner { template, .. } if template == "b"),
            "{v:?}"
        );
    }
}
