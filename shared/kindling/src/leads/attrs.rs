//! A lead's attributes as conditions see them: the profile fields forms collect and the domain
//! of the address, each tested the same way wherever it is tested (fit rules, segments).

use super::Lead;
use serde::{Deserialize, Serialize};

/// A field of the lead a condition can look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Industry,
    Title,
    Company,
    CompanySize,
    Region,
    /// The domain of the lead's address (free-mail providers, competitors).
    EmailDomain,
    Language,
    TimeZone,
    /// BANT, as inside sales confirmed it in the CRM ([`super::Bant`]).
    Budget,
    Authority,
    Need,
    Timeline,
}

crate::named!(Field {
    Industry = "industry",
    Title = "title",
    Company = "company",
    CompanySize = "company_size",
    Region = "region",
    EmailDomain = "email_domain",
    Language = "language",
    TimeZone = "time_zone",
    Budget = "budget",
    Authority = "authority",
    Need = "need",
    Timeline = "timeline",
});

impl Field {
    /// The lead's value of this field, if it has one.
    pub fn value(self, lead: &Lead) -> Option<&str> {
        let p = &lead.profile;
        match self {
            Field::Industry => p.industry.as_deref(),
            Field::Title => p.title.as_deref(),
            Field::Company => p.company.as_deref(),
            Field::CompanySize => p.company_size.as_deref(),
            Field::Region => p.region.as_deref(),
            Field::EmailDomain => Some(lead.email.domain()),
            Field::Language => p.language.as_deref(),
            Field::TimeZone => p.time_zone.as_deref(),
            Field::Budget => lead.bant.budget.as_deref(),
            Field::Authority => lead.bant.authority.as_deref(),
            Field::Need => lead.bant.need.as_deref(),
            Field::Timeline => lead.bant.timeline.as_deref(),
        }
    }
}

/// How a field is tested (text comparisons ignore case and surrounding space).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Test {
    /// The field equals one of these.
    AnyOf(Vec<String>),
    /// The field contains one of these as whole words (titles: "VP", "Director", "部長",
    /// "取締役", ...): "CTO" is in "CTO / CIO" but not in "Director". A word of a script
    /// written without spaces (Japanese, Chinese) matches inside a longer one: "部長" is in
    /// "営業部長".
    ContainsAny(Vec<String>),
    /// The field's first number (`"100-499"`, `"1,000+"`, `"250名"`) is within these bounds,
    /// both included.
    Between(u32, u32),
}

impl Test {
    /// Whether `value` passes.
    pub fn passes(&self, value: &str) -> bool {
        let v = value.trim().to_lowercase();
        match self {
            Test::AnyOf(list) => list.iter().any(|x| x.trim().to_lowercase() == v),
            Test::ContainsAny(list) => list
                .iter()
                .any(|x| contains_word(&v, &x.trim().to_lowercase())),
            Test::Between(lo, hi) => first_number(&v).is_some_and(|n| (*lo..=*hi).contains(&n)),
        }
    }
}

/// Whether `needle` stands in `text` as a whole word: not run into a letter or digit of a
/// script that separates its words with spaces (a boundary means nothing between two kanji).
fn contains_word(text: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    let spaced = |c: char| c.is_alphanumeric() && !is_unspaced_script(c);
    let (first, last) = match (needle.chars().next(), needle.chars().next_back()) {
        (Some(f), Some(l)) => (f, l),
        _ => return false,
    };
    text.match_indices(needle).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + needle.len()..].chars().next();
        let open = !(spaced(first) && before.is_some_and(spaced));
        let close = !(spaced(last) && after.is_some_and(spaced));
        open && close
    })
}

/// Characters of scripts written without spaces between words: CJK ideographs, kana, hangul.
fn is_unspaced_script(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFF66..=0xFF9F | 0x20000..=0x3FFFF)
}

/// The first number in a text, ignoring thousands separators: `"1,000+"` is 1000.
pub fn first_number(s: &str) -> Option<u32> {
    let digits: String = s
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tests_ignore_case_and_space_and_ranges_read_the_first_number() {
        assert!(Test::AnyOf(vec!["Manufacturing".into()]).passes(" manufacturing "));
        assert!(Test::ContainsAny(vec!["部長".into()]).passes("営業部長"));
        assert!(!Test::ContainsAny(vec!["部長".into()]).passes("課長"));
        assert!(Test::Between(100, 999).passes("100-499"));
        assert!(Test::Between(1000, 5000).passes("1,000+"));
        assert!(Test::Between(200, 300).passes("250名"));
        assert!(!Test::Between(1, 10).passes("unknown"));
        assert_eq!(first_number("about 3,500 people"), Some(3500));
        assert!(Test::Between(100, 250).passes("100名") && Test::Between(100, 250).passes("250"));
    }

    #[test]
    fn contains_any_matches_whole_words_and_japanese_inside_words() {
        let cto = Test::ContainsAny(vec!["CTO".into()]);
        assert!(cto.passes("CTO"));
        assert!(cto.passes("CTO / CIO"));
        assert!(cto.passes("Co-founder & CTO"));
        assert!(cto.passes("CTO（最高技術責任者）"));
        assert!(!cto.passes("Sales Director"), "not inside direCTOr");
        assert!(!cto.passes("Doctor"));
        let head = Test::ContainsAny(vec!["head of IT".into(), "VP".into()]);
        assert!(head.passes("Head of IT, EMEA"));
        assert!(head.passes("VP Sales"));
        assert!(!head.passes("Headquarters IT staff"));
        assert!(!head.passes("MVP engineer"));
        let bucho = Test::ContainsAny(vec!["部長".into(), "情報システム".into()]);
        assert!(bucho.passes("営業部長"));
        assert!(bucho.passes("情報システム部 部長"));
        assert!(bucho.passes("情報システム部"));
        assert!(!bucho.passes("課長"));
    }
}
