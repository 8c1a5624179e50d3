//! What the API destination sends on AWS: an EventBridge input transformer over the fields of
//! [`super::events::CrmUpsert`], one per CRM (`[crm] recipe`). The stack builds the rule's target
//! from [`Recipe::transformer`] (through `infra/route-catalog.json`); the endpoint and the
//! credentials are the deployment's (`crmSync` in cdk.json). Placeholders stand unquoted, so a
//! string arrives quoted and escaped, a number as a number, an unknown value as `null`.

use serde::Serialize;
use std::collections::BTreeMap;

/// A CRM's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipe {
    /// The upsert as is (the webhook's body): for a receiver of your own.
    Kindling,
    /// HubSpot: `POST https://api.hubapi.com/crm/v3/objects/contacts/batch/upsert`, a contact
    /// upserted by email (`idProperty: email`).
    Hubspot,
    /// Salesforce: `PATCH https://<domain>.my.salesforce.com/services/data/v61.0/sobjects/Lead/Kindling_Id__c/*`,
    /// a Lead upserted by the external id field `Kindling_Id__c` (the lead id fills the `*`).
    Salesforce,
}

crate::named!(Recipe {
    Kindling = "kindling",
    Hubspot = "hubspot",
    Salesforce = "salesforce",
});

/// An EventBridge target's input: `input_path` alone, or paths and a template; path parameters
/// fill the endpoint's `*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Transformer {
    pub recipe: &'static str,
    pub method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_path: Option<&'static str>,
    pub input_paths_map: BTreeMap<&'static str, String>,
    pub input_template: Option<String>,
    pub path_parameter_values: Vec<&'static str>,
}

/// The upsert's fields a recipe reads.
const FIELDS: [&str; 17] = [
    "id",
    "lead_id",
    "email",
    "name",
    "company",
    "title",
    "phone",
    "industry",
    "company_size",
    "region",
    "score",
    "temperature",
    "mql_at",
    "stage",
    "owner_email",
    "sales_status",
    "segment",
];

impl Recipe {
    /// Its input transformer.
    pub fn transformer(self) -> Transformer {
        let paths = || {
            FIELDS
                .iter()
                .map(|f| (*f, format!("$.detail.{f}")))
                .collect::<BTreeMap<_, _>>()
        };
        match self {
            Recipe::Kindling => Transformer {
                recipe: "kindling",
                method: "POST",
                input_path: Some("$.detail"),
                input_paths_map: BTreeMap::new(),
                input_template: None,
                path_parameter_values: Vec::new(),
            },
            Recipe::Hubspot => Transformer {
                recipe: "hubspot",
                method: "POST",
                input_path: None,
                input_paths_map: paths(),
                input_template: Some(
                    r#"{"inputs":[{"idProperty":"email","id":<email>,"properties":{"email":<email>,"company":<company>,"jobtitle":<title>,"phone":<phone>,"industry":<industry>,"numemployees":<company_size>,"state":<region>,"kindling_lead_id":<lead_id>,"kindling_score":<score>,"kindling_temperature":<temperature>,"kindling_mql_at":<mql_at>,"kindling_stage":<stage>,"kindling_owner_email":<owner_email>,"kindling_last_segment":<segment>,"kindling_change_id":<id>}}]}"#
                        .to_owned(),
                ),
                path_parameter_values: Vec::new(),
            },
            Recipe::Salesforce => Transformer {
                recipe: "salesforce",
                method: "PATCH",
                input_path: None,
                input_paths_map: paths(),
                input_template: Some(
                    r#"{"Email":<email>,"LastName":<name>,"Company":<company>,"Title":<title>,"Phone":<phone>,"Industry":<industry>,"State":<region>,"Kindling_Score__c":<score>,"Kindling_Temperature__c":<temperature>,"Kindling_MQL_At__c":<mql_at>,"Kindling_Stage__c":<stage>,"Kindling_Owner_Email__c":<owner_email>,"Kindling_Change_Id__c":<id>}"#
                        .to_owned(),
                ),
                path_parameter_values: vec!["$.detail.lead_id"],
            },
        }
    }
}

/// What EventBridge sends for `transformer` and an event `detail`: its substitution of each
/// unquoted `<name>` by the JSON value at the name's path (`null` where there is none). For
/// tests of the recipes; EventBridge does this on AWS.
pub fn render(t: &Transformer, detail: &serde_json::Value) -> serde_json::Value {
    let Some(template) = &t.input_template else {
        return detail.clone();
    };
    let mut out = template.clone();
    for (name, path) in &t.input_paths_map {
        let field = path.trim_start_matches("$.detail.");
        let value = detail
            .get(field)
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        out = out.replace(&format!("<{name}>"), &value.to_string());
    }
    serde_json::from_str(&out).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_recipe_renders_json_keyed_for_an_upsert() {
        let detail = serde_json::json!({
            "id": "crm_1", "lead_id": "L1", "email": "sato@example.co.jp", "name": "佐藤 \"Ken\"",
            "company": "Example", "title": null, "phone": null, "industry": "manufacturing",
            "company_size": "1000", "region": null, "score": 62, "temperature": "hot",
            "mql_at": "2026-12-07T01:00:00Z", "stage": "decision", "owner_email": "takeda@example.jp",
            "sales_status": null, "segment": null,
        });
        let hub = render(&Recipe::Hubspot.transformer(), &detail);
        let input = &hub["inputs"][0];
        assert_eq!(input["idProperty"], "email");
        assert_eq!(input["id"], "sato@example.co.jp");
        assert_eq!(input["properties"]["kindling_score"], 62);
        assert_eq!(input["properties"]["jobtitle"], serde_json::Value::Null);
        let sf = Recipe::Salesforce.transformer();
        assert_eq!(sf.path_parameter_values, ["$.detail.lead_id"]);
        let body = render(&sf, &detail);
        assert_eq!(body["LastName"], "佐藤 \"Ken\"");
        assert_eq!(body["Kindling_Owner_Email__c"], "takeda@example.jp");
        assert_eq!(render(&Recipe::Kindling.transformer(), &detail), detail);
        // Every placeholder is a mapped path, within EventBridge's 100.
        for r in [Recipe::Hubspot, Recipe::Salesforce] {
            let t = r.transformer();
            let template = t.input_template.clone().unwrap();
            for part in template.split('<').skip(1) {
                let name = part.split('>').next().unwrap();
                assert!(t.input_paths_map.contains_key(name), "{name}");
            }
            assert!(t.input_paths_map.len() <= 100);
        }
    }
}
