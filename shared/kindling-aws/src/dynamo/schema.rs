//! The table's definition, for tests and local tooling; the CDK stack declares the same.

use super::sdk_err;
use crate::dynamo::keys;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use kindling::error::PortError;

fn attr(name: &str) -> Result<AttributeDefinition, PortError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| PortError::new("dynamodb", e))
}

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, PortError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| PortError::new("dynamodb", e))
}

/// Creates the table (on demand, the sparse due index projecting keys only, TTL on `ttl`).
pub async fn create_table(client: &Client, name: &str) -> Result<(), PortError> {
    let due_index = GlobalSecondaryIndex::builder()
        .index_name(keys::GSI_DUE)
        .key_schema(key(keys::GSI_DUE_PK, KeyType::Hash)?)
        .key_schema(key(keys::GSI_DUE_SK, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::KeysOnly)
                .build(),
        )
        .build()
        .map_err(|e| PortError::new("dynamodb", e))?;
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr(keys::PK)?)
        .attribute_definitions(attr(keys::SK)?)
        .attribute_definitions(attr(keys::GSI_DUE_PK)?)
        .attribute_definitions(attr(keys::GSI_DUE_SK)?)
        .key_schema(key(keys::PK, KeyType::Hash)?)
        .key_schema(key(keys::SK, KeyType::Range)?)
        .global_secondary_indexes(due_index)
        .send()
        .await
        .map_err(|e| sdk_err("CreateTable", e))?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(keys::TTL)
                .enabled(true)
                .build()
                .map_err(|e| PortError::new("dynamodb", e))?,
        )
        .send()
        .await
        .map_err(|e| sdk_err("UpdateTimeToLive", e))?;
    Ok(())
}
