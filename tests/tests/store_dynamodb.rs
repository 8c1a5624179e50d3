//! The DynamoDB store passes the store contract, on moto.
#![allow(clippy::unwrap_used)]

kindling_tests::store_contract!(match kindling_tests::aws::fresh_dynamo_store().await {
    Some(store) => store,
    None => return,
});
