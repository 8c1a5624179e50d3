//! Leads (unique by email through a transaction) and visitor links.

use super::{
    cancelled_conditions, data, item, json, n, s, sdk_err, str_attr, DynamoStore, Item, DATA,
    VERSION,
};
use crate::dynamo::keys;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use kindling::activities::ports::VisitorLinks;
use kindling::email::EmailAddress;
use kindling::error::PortError;
use kindling::ids::{LeadId, VisitorId};
use kindling::leads::ports::LeadStore;
use kindling::leads::Lead;
use kindling::ports::{Cas, PortResult, Put as Outcome};

fn build_err(e: impl std::fmt::Display) -> PortError {
    PortError::new("dynamodb", format!("request: {e}"))
}

impl DynamoStore {
    fn put_new(&self, it: Item) -> PortResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(it))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(build_err)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Writes several new items at once; `Existed` if any of them was there.
    pub(crate) async fn put_all_new(&self, items: Vec<Item>) -> PortResult<Outcome> {
        let txn = items
            .into_iter()
            .map(|i| self.put_new(i))
            .collect::<PortResult<Vec<_>>>()?;
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(txn))
            .send()
            .await
        {
            Ok(_) => Ok(Outcome::Created),
            Err(e) if cancelled_conditions(&e).is_some_and(|c| c.iter().any(|f| *f)) => {
                Ok(Outcome::Existed)
            }
            Err(e) => Err(sdk_err("TransactWriteItems", e)),
        }
    }

    /// Writes one new item; `Existed` if it was there.
    pub(crate) async fn put_new_item(&self, it: Item) -> PortResult<Outcome> {
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(it))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
        {
            Ok(_) => Ok(Outcome::Created),
            Err(e) if super::is_condition_failure(&e) => Ok(Outcome::Existed),
            Err(e) => Err(sdk_err("PutItem", e)),
        }
    }

    /// Replaces an item whose stored version is `version` with `it` (which carries `version + 1`).
    pub(crate) async fn put_versioned(&self, it: Item, version: u64) -> PortResult<Cas> {
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(it))
            .condition_expression("#v = :v")
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_values(":v", n(version))
            .send()
            .await
        {
            Ok(_) => Ok(Cas::Updated),
            Err(e) if super::is_condition_failure(&e) => Ok(Cas::Stale),
            Err(e) => Err(sdk_err("PutItem", e)),
        }
    }
}

fn lead_item(lead: &Lead, version: u64) -> PortResult<Item> {
    let mut stored = lead.clone();
    stored.version = version;
    let mut it = item(keys::lead(&lead.id));
    it.insert(DATA.into(), json(&stored)?);
    it.insert(VERSION.into(), n(version));
    if let Some(at) = lead.recheck_at {
        it.insert(keys::GSI_DUE_PK.into(), s(keys::recheck_shard(&lead.id)));
        it.insert(
            keys::GSI_DUE_SK.into(),
            s(format!("{}#{}", super::enrollments::ts(at), lead.id)),
        );
    }
    Ok(it)
}

#[async_trait]
impl LeadStore for DynamoStore {
    async fn get_lead(&self, id: &LeadId) -> PortResult<Option<Lead>> {
        self.get(keys::lead(id))
            .await?
            .map(|i| data(&i))
            .transpose()
    }

    async fn get_leads(&self, ids: &[LeadId]) -> PortResult<Vec<Lead>> {
        self.batch_get(ids.iter().map(keys::lead).collect())
            .await?
            .iter()
            .map(data)
            .collect()
    }

    async fn find_lead_by_email(&self, email: &EmailAddress) -> PortResult<Option<Lead>> {
        let Some(owner) = self.get(keys::email(email)).await? else {
            return Ok(None);
        };
        self.get_lead(&LeadId::new(str_attr(&owner, "lead")?)).await
    }

    async fn insert_lead(&self, lead: &Lead) -> PortResult<Outcome> {
        let mut email = item(keys::email(&lead.email));
        email.insert("lead".into(), s(lead.id.as_str()));
        // The lead and its unique email item change together, or not at all.
        self.put_all_new(vec![lead_item(lead, 0)?, email]).await
    }

    async fn update_lead(&self, lead: &Lead) -> PortResult<Cas> {
        self.put_versioned(lead_item(lead, lead.version + 1)?, lead.version)
            .await
    }

    async fn list_lead_ids(&self, after: Option<&LeadId>, limit: usize) -> PortResult<Vec<LeadId>> {
        // Admin and batch use only (rescore, reports): a Scan is acceptable here, never on a
        // request path. Scan order, resumed after the last lead returned, so a walk over every
        // lead reads the table once (not once per page).
        let mut ids = Vec::new();
        if limit == 0 {
            return Ok(ids);
        }
        let mut start = after.map(|a| {
            let (pk, sk) = keys::lead(a);
            std::collections::HashMap::from([
                (keys::PK.to_owned(), s(pk)),
                (keys::SK.to_owned(), s(sk)),
            ])
        });
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("#sk = :profile")
                .projection_expression("#pk")
                .expression_attribute_names("#sk", keys::SK)
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_values(":profile", s("PROFILE"))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_err("Scan", e))?;
            for it in out.items.unwrap_or_default() {
                if let Some(id) = str_attr(&it, keys::PK)?.strip_prefix("LEAD#") {
                    ids.push(LeadId::new(id));
                    if ids.len() == limit {
                        // The next page resumes after this lead, even mid-way through a scan page.
                        return Ok(ids);
                    }
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(ids);
            }
        }
    }

    async fn due_rechecks(&self, now: DateTime<Utc>, limit: usize) -> PortResult<Vec<LeadId>> {
        let items = self.due_in_index(keys::RECHECK_PREFIX, now, limit).await?;
        items
            .iter()
            .map(|it| str_attr(it, keys::PK).map(|pk| LeadId::new(pk.trim_start_matches("LEAD#"))))
            .collect()
    }
}

#[async_trait]
impl VisitorLinks for DynamoStore {
    async fn link_visitor(
        &self,
        visitor: &VisitorId,
        lead: &LeadId,
        at: DateTime<Utc>,
    ) -> PortResult<Outcome> {
        let mut forward = item(keys::visitor(visitor));
        forward.insert("lead".into(), s(lead.as_str()));
        forward.insert("at".into(), s(at.to_rfc3339()));
        let mut back = item(keys::lead_visitor(lead, visitor));
        back.insert("at".into(), s(at.to_rfc3339()));
        self.put_all_new(vec![forward, back]).await
    }

    async fn lead_of_visitor(&self, visitor: &VisitorId) -> PortResult<Option<LeadId>> {
        let Some(it) = self.get(keys::visitor(visitor)).await? else {
            return Ok(None);
        };
        Ok(Some(LeadId::new(str_attr(&it, "lead")?)))
    }

    async fn visitors_of_lead(&self, lead: &LeadId) -> PortResult<Vec<VisitorId>> {
        let items = self.query_prefix(keys::lead_pk(lead), "VISITOR#").await?;
        let mut out: Vec<VisitorId> = items
            .iter()
            .map(|it| {
                str_attr(it, keys::SK).map(|sk| VisitorId::new(sk.trim_start_matches("VISITOR#")))
            })
            .collect::<PortResult<_>>()?;
        out.sort();
        Ok(out)
    }
}
