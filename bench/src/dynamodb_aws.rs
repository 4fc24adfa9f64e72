//! The `aws-sdk-dynamodb` contender (bench feature `aws`): one `Client`
//! with static credentials, the endpoint URL, behaviour version latest and
//! the SDK's own hyper 1 + rustls HTTP client (ring provider); no
//! aws-config, so no credential chain, profile files or IMDS.

use std::collections::HashMap;

use anyhow::{Context, Result};
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use aws_sdk_dynamodb::Client;
use bson::{Bson, Document};

use super::{ACCESS_KEY, REGION, SECRET_KEY};

/// An item as the SDK takes and gives it.
pub type Item = HashMap<String, AttributeValue>;

/// BatchWriteItem's limit.
const BATCH: usize = 25;

/// How many times unprocessed items are resent before giving up.
const UNPROCESSED_ROUNDS: usize = 10;

/// The SDK client of `endpoint` (`http://HOST:PORT`).
pub fn client(endpoint: &str) -> Client {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "driverbox-bench"))
        .http_client(http)
        .build();
    Client::from_conf(config)
}

fn number(v: Option<&AttributeValue>) -> Option<i64> {
    match v? {
        AttributeValue::N(n) => n.parse().ok(),
        _ => None,
    }
}

/// GetItem of `id` in the kv table (strongly consistent, as the driver
/// asks), checked as the driverbox side checks its document.
pub async fn get_kv(client: &Client, table: &str, id: i32) -> Result<()> {
    let out = client
        .get_item()
        .table_name(table)
        .key("id", AttributeValue::N(id.to_string()))
        .consistent_read(true)
        .send()
        .await
        .context("aws-sdk-dynamodb: GetItem")?;
    let item = out.item().context("no item")?;
    anyhow::ensure!(
        number(item.get("a")) == Some(id as i64 * 7) && matches!(item.get("b"), Some(AttributeValue::S(_))),
        "wrong item for id {id}: {item:?}"
    );
    Ok(())
}

/// Touches every value of an item, as `mongodb::touch` does a document's.
pub fn touch(item: &Item) -> u64 {
    fn value(v: &AttributeValue) -> u64 {
        match v {
            AttributeValue::N(n) => n.len() as u64,
            AttributeValue::S(s) => s.len() as u64,
            AttributeValue::B(b) => b.as_ref().len() as u64,
            AttributeValue::Bool(b) => *b as u64,
            AttributeValue::M(m) => touch(m),
            AttributeValue::L(l) => l.iter().map(value).fold(0, u64::wrapping_add),
            AttributeValue::Ss(s) => s.iter().map(|x| x.len() as u64).sum(),
            _ => 1,
        }
    }
    let mut sum = 0u64;
    for (k, v) in item {
        sum = sum.wrapping_add(k.len() as u64).wrapping_add(value(v));
    }
    std::hint::black_box(sum)
}

/// Scans the whole table with the Scan paginator; gives the item count.
pub async fn scan(client: &Client, table: &str) -> Result<u64> {
    let mut pages = client.scan().table_name(table).into_paginator().send();
    let mut count = 0u64;
    while let Some(page) = pages.next().await {
        let page = page.context("aws-sdk-dynamodb: Scan")?;
        for item in page.items() {
            touch(item);
            count += 1;
        }
    }
    Ok(count)
}

/// BatchWriteItem of `items` in requests of 25, unprocessed items resent
/// (with a short growing pause, as the driver does); gives the number written.
pub async fn batch_write(client: &Client, table: &str, items: &[Item]) -> Result<u64> {
    let mut written = 0u64;
    for chunk in items.chunks(BATCH) {
        let mut pending = chunk
            .iter()
            .map(|item| {
                Ok(WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item.clone())).build()?)
                    .build())
            })
            .collect::<Result<Vec<_>>>()?;
        let mut round = 0;
        while !pending.is_empty() {
            let sent = pending.len();
            let out = client
                .batch_write_item()
                .request_items(table, pending)
                .send()
                .await
                .context("aws-sdk-dynamodb: BatchWriteItem")?;
            pending = out
                .unprocessed_items
                .and_then(|mut u| u.remove(table))
                .unwrap_or_default();
            written += (sent - pending.len()) as u64;
            if !pending.is_empty() {
                anyhow::ensure!(round < UNPROCESSED_ROUNDS, "{} items stayed unprocessed", pending.len());
                tokio::time::sleep(std::time::Duration::from_millis(10 << round.min(6))).await;
                round += 1;
            }
        }
    }
    Ok(written)
}

/// A BSON item as an SDK item, with the driver's mapping (see `mixed_item`).
pub fn item(d: &Document) -> Result<Item> {
    d.iter().map(|(k, v)| Ok((k.clone(), attribute(v)?))).collect()
}

fn attribute(v: &Bson) -> Result<AttributeValue> {
    Ok(match v {
        Bson::Int32(n) => AttributeValue::N(n.to_string()),
        Bson::Int64(n) => AttributeValue::N(n.to_string()),
        Bson::Decimal128(d) => AttributeValue::N(d.to_string()),
        Bson::String(s) => AttributeValue::S(s.clone()),
        Bson::Boolean(b) => AttributeValue::Bool(*b),
        Bson::Null => AttributeValue::Null(true),
        Bson::Binary(b) => AttributeValue::B(Blob::new(b.bytes.clone())),
        Bson::Array(a) => AttributeValue::L(a.iter().map(attribute).collect::<Result<_>>()?),
        Bson::Document(d) => match d.get_array("$SS") {
            Ok(set) if d.len() == 1 => AttributeValue::Ss(
                set.iter()
                    .map(|s| {
                        s.as_str()
                            .map(String::from)
                            .context("an SS member that is not a string")
                    })
                    .collect::<Result<_>>()?,
            ),
            _ => AttributeValue::M(item(d)?),
        },
        other => anyhow::bail!("no DynamoDB type for {other:?} in the bench's items"),
    })
}
