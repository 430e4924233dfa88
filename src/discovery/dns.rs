//! `dns_sd_configs`: targets from SRV, A, AAAA, MX or NS records of the configured
//! names, looked up every `refresh_interval`, as Prometheus's `discovery/dns`.
//!
//! Each name is one group whose source is the name. A name that does not exist, or has
//! no records of the type, yields an empty group (its targets go away); a lookup that
//! fails keeps the name's last targets.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use ember_config::discovery::DnsSdConfig;
use hickory_resolver::config::{NameServerConfigGroup, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::TokioResolver;

use super::targetgroup::{TargetGroup, ADDRESS_LABEL};
use super::Updater;
use crate::discovery::metrics::MechanismMetrics;

const NAME_LABEL: &str = "__meta_dns_name";
const SRV_TARGET_LABEL: &str = "__meta_dns_srv_record_target";
const SRV_PORT_LABEL: &str = "__meta_dns_srv_record_port";
const MX_TARGET_LABEL: &str = "__meta_dns_mx_record_target";
const NS_TARGET_LABEL: &str = "__meta_dns_ns_record_target";

pub(crate) struct Discovery {
    names: Vec<String>,
    qtype: RecordType,
    port: u16,
    /// `None`: the system's resolver configuration (`/etc/resolv.conf`), read at each
    /// refresh until it loads.
    nameserver: Option<SocketAddr>,
    resolver: Option<TokioResolver>,
}

/// Runs until aborted.
pub(crate) async fn run(cfg: DnsSdConfig, up: Updater, nameserver: Option<SocketAddr>) {
    let mut d = Discovery::new(&cfg, nameserver);
    let mut ticker =
        tokio::time::interval(cfg.refresh_interval.as_std().max(Duration::from_millis(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let groups = d.refresh(up.mechanisms()).await;
        up.send(groups);
    }
}

impl Discovery {
    pub(crate) fn new(cfg: &DnsSdConfig, nameserver: Option<SocketAddr>) -> Discovery {
        let qtype = match cfg.record_type.to_ascii_uppercase().as_str() {
            "A" => RecordType::A,
            "AAAA" => RecordType::AAAA,
            "MX" => RecordType::MX,
            "NS" => RecordType::NS,
            _ => RecordType::SRV,
        };
        Discovery {
            names: cfg.names.clone(),
            qtype,
            port: u16::try_from(cfg.port).unwrap_or(0),
            nameserver,
            resolver: None,
        }
    }

    fn resolver(&mut self) -> Result<&TokioResolver, String> {
        if self.resolver.is_none() {
            let (config, mut opts) = match self.nameserver {
                Some(addr) => (
                    ResolverConfig::from_parts(
                        None,
                        vec![],
                        NameServerConfigGroup::from_ips_clear(&[addr.ip()], addr.port(), true),
                    ),
                    ResolverOpts::default(),
                ),
                None => hickory_resolver::system_conf::read_system_conf()
                    .map_err(|e| format!("could not load resolv.conf: {e}"))?,
            };
            // Ask the servers every time, as Prometheus does; no hosts file.
            opts.cache_size = 0;
            opts.use_hosts_file = ResolveHosts::Never;
            opts.edns0 = true;
            opts.attempts = opts.attempts.max(1);
            self.resolver = Some(
                TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
                    .with_options(opts)
                    .build(),
            );
        }
        self.resolver
            .as_ref()
            .ok_or_else(|| "resolver unavailable".to_string())
    }

    /// One group per name that could be resolved (possibly empty).
    pub(crate) async fn refresh(&mut self, m: &MechanismMetrics) -> Vec<TargetGroup> {
        let names = self.names.clone();
        let (qtype, port) = (self.qtype, self.port);
        let resolver = match self.resolver() {
            Ok(r) => r.clone(),
            Err(e) => {
                for _ in &names {
                    m.dns_lookups.inc();
                    m.dns_lookup_failures.inc();
                }
                tracing::error!(discovery = "dns", err = %e, "Error refreshing DNS targets");
                return Vec::new();
            }
        };
        let lookups = names.into_iter().map(|name| {
            let resolver = resolver.clone();
            async move {
                let r = resolver.lookup(name.as_str(), qtype).await;
                (name, r)
            }
        });
        let mut groups = Vec::with_capacity(self.names.len());
        for (name, result) in futures_join_all(lookups).await {
            m.dns_lookups.inc();
            let mut group = TargetGroup {
                source: name.clone(),
                ..TargetGroup::default()
            };
            match result {
                Ok(lookup) => {
                    for r in lookup.record_iter() {
                        if let Some(t) = target(r.data(), &name, port) {
                            group.targets.push(t);
                        }
                    }
                }
                Err(e) if negative_answer(&e) => {}
                Err(e) => {
                    m.dns_lookup_failures.inc();
                    tracing::error!(discovery = "dns", name = %name, err = %e, "Error refreshing DNS targets");
                    continue;
                }
            }
            groups.push(group);
        }
        groups
    }
}

/// "No such name" or "no records of this type": a real answer, unlike SERVFAIL,
/// REFUSED or a timeout, which leave the name's targets as they were.
fn negative_answer(e: &hickory_resolver::ResolveError) -> bool {
    use hickory_resolver::proto::op::ResponseCode;
    use hickory_resolver::proto::ProtoErrorKind;
    match e.proto().map(|p| p.kind()) {
        Some(ProtoErrorKind::NoRecordsFound { response_code, .. }) => {
            matches!(
                *response_code,
                ResponseCode::NoError | ResponseCode::NXDomain
            )
        }
        _ => false,
    }
}

/// Runs the lookups concurrently (few names per config; no extra crate needed).
async fn futures_join_all<F>(futs: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        if let Ok(v) = h.await {
            out.push(v);
        }
    }
    out
}

/// The target for one answer record; `None` for CNAMEs and other types.
fn target(data: &RData, name: &str, port: u16) -> Option<BTreeMap<String, String>> {
    let mut labels = BTreeMap::new();
    let address = match data {
        RData::SRV(srv) => {
            let t = srv.target().to_string();
            labels.insert(SRV_TARGET_LABEL.to_string(), t.clone());
            labels.insert(SRV_PORT_LABEL.to_string(), srv.port().to_string());
            host_port(t.trim_end_matches('.'), srv.port())
        }
        RData::MX(mx) => {
            let t = mx.exchange().to_string();
            labels.insert(MX_TARGET_LABEL.to_string(), t.clone());
            host_port(t.trim_end_matches('.'), port)
        }
        RData::NS(ns) => {
            let t = ns.0.to_string();
            labels.insert(NS_TARGET_LABEL.to_string(), t.clone());
            host_port(t.trim_end_matches('.'), port)
        }
        RData::A(a) => host_port(&a.0.to_string(), port),
        RData::AAAA(a) => host_port(&a.0.to_string(), port),
        RData::CNAME(_) => return None,
        other => {
            tracing::warn!(discovery = "dns", record = %other, "Invalid record");
            return None;
        }
    };
    labels.insert(ADDRESS_LABEL.to_string(), address);
    labels.insert(NAME_LABEL.to_string(), name.to_string());
    Some(labels)
}

/// Go's `net.JoinHostPort`.
fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}
