//! `traits`: DriverMetadata and HealthCheckDriver, plus the host-only
//! DriverCapabilities and ConnectionPoolDriver.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::Serialize;

use super::WasmDriver;
use crate::bindings::Conv;
use crate::error::Result;
use crate::pool::PoolStatus;
use crate::runtime::Capability;

/// The health a driver reports for its connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    /// The server's version string.
    pub server_version: String,
    /// Extra facts (`in_recovery`, `database` …), driver-specific.
    pub details: Vec<(String, String)>,
}

/// What the driver is.
pub trait DriverMetadata {
    fn driver_name(&self) -> String;
    fn driver_version(&self) -> String;
    /// `postgresql`, `sqlite`, ...
    fn database_type(&self) -> String;
    fn supports_transactions(&self) -> bool;
    fn supports_prepared_statements(&self) -> bool;
    fn supports_streaming(&self) -> bool;
}

/// What the driver can do, from the interfaces its component exports.
pub trait DriverCapabilities {
    fn has_capability(&self, capability: Capability) -> bool;
    fn capabilities(&self) -> BTreeSet<Capability>;
}

/// The host's pool figures.
pub trait ConnectionPoolDriver {
    fn pool_status(&self) -> PoolStatus;
}

/// The outcome of a health check.
#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    pub server_version: String,
    /// Version of the driver component whose connection answered.
    pub driver_version: String,
    pub details: Vec<(String, String)>,
    /// Time the check took, round trip included.
    pub latency: Duration,
    pub pool: PoolStatus,
}

/// End-to-end health.
#[async_trait]
pub trait HealthCheckDriver: Send + Sync {
    async fn health_check(&self) -> Result<HealthReport>;
}

impl DriverMetadata for WasmDriver {
    fn driver_name(&self) -> String {
        self.info().name.clone()
    }
    fn driver_version(&self) -> String {
        self.info().version.clone()
    }
    fn database_type(&self) -> String {
        self.info().database_type.clone()
    }
    fn supports_transactions(&self) -> bool {
        self.has_capability(Capability::Transactions)
    }
    fn supports_prepared_statements(&self) -> bool {
        self.has_capability(Capability::PreparedStatements)
    }
    fn supports_streaming(&self) -> bool {
        self.has_capability(Capability::Streaming)
    }
}

impl DriverCapabilities for WasmDriver {
    fn has_capability(&self, capability: Capability) -> bool {
        self.info().capabilities.contains(&capability)
    }
    fn capabilities(&self) -> BTreeSet<Capability> {
        self.info().capabilities.clone()
    }
}

impl ConnectionPoolDriver for WasmDriver {
    fn pool_status(&self) -> PoolStatus {
        WasmDriver::pool_status(self)
    }
}

#[async_trait]
impl HealthCheckDriver for WasmDriver {
    async fn health_check(&self) -> Result<HealthReport> {
        let start = Instant::now();
        let mut conn = self.pool().acquire().await?;
        let driver_version = conn.driver.info.version.clone();
        let health: Health = conn
            .call("health_check", super::base_call!(traits, call_health_check()))
            .await?
            .conv();
        drop(conn);
        Ok(HealthReport {
            server_version: health.server_version,
            driver_version,
            details: health.details,
            latency: start.elapsed(),
            pool: self.pool_status(),
        })
    }
}
