//! Service-discovery configurations: the `*_sd_configs` lists of scrape configs and
//! Alertmanager configs, and `static_configs`.
//!
//! Every mechanism Prometheus 3 registers is parsed into its own type with Prometheus's
//! defaults and checks, so a configuration using any of them loads and is written back
//! as Prometheus writes it. `static`, `file`, `http` and `dns` are the mechanisms Ember
//! runs; the others are accepted and reported by [`ServiceDiscoveryConfigs::kinds`] so the
//! daemon can say which ones it does not run yet.

use std::collections::BTreeMap;
use std::path::Path;

use crate::http::{join_dir, HttpClientConfig, TlsConfig};
use crate::types::{go_quote, Duration, Secret, Url};
use crate::yaml::decode::{
    decode_struct, error_at, map_pairs, DResult, Decode, DecodeStruct, MapReader,
};
use crate::yaml::emit::{encode_struct, Encode, EncodeStruct, MapWriter, Value};
use crate::yaml::Node;

/// Per-type validation and path resolution beyond the common fields.
trait SdHooks {
    fn sd_check(&mut self) -> Result<(), String> {
        Ok(())
    }
    fn sd_set_directory(&mut self, _dir: &Path) {}
}

macro_rules! sd_read {
    (field, $m:ident, $key:literal, $slot:expr) => {
        $m.read($key, &mut $slot)?
    };
    (omit, $m:ident, $key:literal, $slot:expr) => {
        $m.read($key, &mut $slot)?
    };
    (inline, $m:ident, $key:literal, $slot:expr) => {
        $slot = HttpClientConfig::read_inline($m, std::mem::take(&mut $slot))?
    };
}

macro_rules! sd_write {
    (field, $w:ident, $key:literal, $slot:expr) => {
        $w.field($key, &$slot)
    };
    (omit, $w:ident, $key:literal, $slot:expr) => {
        $w.omitempty($key, &$slot)
    };
    (inline, $w:ident, $key:literal, $slot:expr) => {
        $slot.write_inline($w)
    };
}

macro_rules! sd_dir {
    (inline, $dir:ident, $slot:expr) => {
        $slot.set_directory($dir)
    };
    ($other:ident, $dir:ident, $slot:expr) => {};
}

/// Defines a discovery config struct: its fields (with how each is written: `field`
/// always, `omit` when non-zero, `inline` for the HTTP client settings), defaults, Go type
/// name, reading and writing.
macro_rules! sd_config {
    (
        $(#[$meta:meta])*
        $name:ident, $go:literal {
            $( $mode:ident $key:literal => $field:ident : $ty:ty = $default:expr ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $( pub $field: $ty, )*
        }

        impl Default for $name {
            fn default() -> Self {
                $name { $( $field: $default, )* }
            }
        }

        impl DecodeStruct for $name {
            const GO_TYPE: &'static str = $go;
            fn read(m: &mut MapReader<'_>) -> DResult<Self> {
                let mut c = $name::default();
                $( sd_read!($mode, m, $key, c.$field); )*
                Ok(c)
            }
            fn check(&mut self) -> Result<(), String> {
                SdHooks::sd_check(self)
            }
        }

        impl EncodeStruct for $name {
            fn write(&self, w: &mut MapWriter) {
                $( sd_write!($mode, w, $key, self.$field); )*
            }
        }

        impl $name {
            /// Joins relative file paths onto `dir`.
            pub(crate) fn set_directory(&mut self, dir: &Path) {
                $( sd_dir!($mode, dir, self.$field); )*
                SdHooks::sd_set_directory(self, dir);
            }
        }

        decode_struct!($name);
        encode_struct!($name);
    };
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn s(v: &str) -> String {
    v.to_string()
}

fn http_default() -> HttpClientConfig {
    HttpClientConfig::default()
}

/// A URL with an `http` or `https` scheme and a host (HTTP and PuppetDB discovery).
fn check_http_url(raw: &str) -> Result<(), String> {
    if raw.is_empty() {
        return Err("URL is missing".into());
    }
    let u = Url::parse(raw)?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err("URL scheme must be 'http' or 'https'".into());
    }
    if u.host().is_empty() {
        return Err("host is missing in URL".into());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The mechanisms Ember runs.

/// A group of static targets (`<static_config>`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TargetGroup {
    /// `host:port` addresses.
    pub targets: Vec<String>,
    /// Labels for every target of the group.
    pub labels: BTreeMap<String, String>,
}

impl Decode for TargetGroup {
    fn go_type() -> String {
        "targetgroup.Group".into()
    }
    fn decode(node: &Node) -> DResult<Self> {
        let mut m = MapReader::new(node, "struct { Targets []string \"yaml:\\\"targets\\\"\"; Labels model.LabelSet \"yaml:\\\"labels\\\"\" }")?;
        let mut g = TargetGroup::default();
        m.read("targets", &mut g.targets)?;
        if let Some(n) = m.take_node("labels") {
            g.labels = decode_label_set(n)?;
        }
        m.finish()?;
        Ok(g)
    }
}

impl Encode for TargetGroup {
    fn encode(&self) -> Value {
        let mut w = MapWriter::default();
        w.field("targets", &self.targets);
        w.omitempty("labels", &self.labels);
        w.into_value()
    }
    fn is_zero(&self) -> bool {
        self.targets.is_empty() && self.labels.is_empty()
    }
}

/// A label set as `model.LabelSet` reads it: names must be non-empty.
pub(crate) fn decode_label_set(node: &Node) -> DResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (k, key_node, v) in map_pairs(node, "model.LabelSet")? {
        if k.is_empty() {
            return Err(error_at(
                key_node,
                format!("{} is not a valid label name", go_quote(k)),
            ));
        }
        out.insert(k.to_string(), String::decode(v)?);
    }
    Ok(out)
}

sd_config! {
    /// `<file_sd_config>`: targets read from JSON or YAML files.
    FileSdConfig, "file.SDConfig" {
        field "files" => files: Vec<String> = Vec::new(),
        omit "refresh_interval" => refresh_interval: Duration = secs(300),
    }
}

impl SdHooks for FileSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        if self.files.is_empty() {
            return Err("file service discovery config must contain at least one path name".into());
        }
        for name in &self.files {
            if !valid_file_sd_name(name) {
                return Err(format!(
                    "path name {} is not valid for file discovery",
                    go_quote(name)
                ));
            }
        }
        Ok(())
    }
    fn sd_set_directory(&mut self, dir: &Path) {
        for f in &mut self.files {
            join_dir(dir, f);
        }
    }
}

/// `^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$`: at most one `*`, only in the last
/// path element, and a JSON or YAML extension.
fn valid_file_sd_name(name: &str) -> bool {
    let ext_ok = [".json", ".yml", ".yaml", ".JSON", ".YML", ".YAML"]
        .iter()
        .any(|e| name.ends_with(e));
    ext_ok && valid_glob_shape(name)
}

/// At most one `*`, and no `/` after it (`patRulePath`'s shape).
pub(crate) fn valid_glob_shape(p: &str) -> bool {
    match p.find('*') {
        None => true,
        Some(i) => !p[i + 1..].contains(['*', '/']),
    }
}

sd_config! {
    /// `<http_sd_config>`: targets fetched as JSON from an HTTP endpoint.
    HttpSdConfig, "http.SDConfig" {
        inline "" => http_client: HttpClientConfig = http_default(),
        omit "refresh_interval" => refresh_interval: Duration = secs(60),
        field "url" => url: String = String::new(),
    }
}

impl SdHooks for HttpSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        check_http_url(&self.url)?;
        self.http_client.validate()
    }
}

sd_config! {
    /// `<dns_sd_config>`: targets from DNS SRV, A, AAAA, MX or NS records.
    DnsSdConfig, "dns.SDConfig" {
        field "names" => names: Vec<String> = Vec::new(),
        omit "refresh_interval" => refresh_interval: Duration = secs(30),
        field "type" => record_type: String = s("SRV"),
        field "port" => port: i64 = 0,
    }
}

impl SdHooks for DnsSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        if self.names.is_empty() {
            return Err("DNS-SD config must contain at least one SRV record name".into());
        }
        match self.record_type.to_uppercase().as_str() {
            "SRV" => Ok(()),
            "A" | "AAAA" | "MX" | "NS" => {
                if self.port == 0 {
                    Err(
                        "a port is required in DNS-SD configs for all record types except SRV"
                            .into(),
                    )
                } else {
                    Ok(())
                }
            }
            _ => Err(format!("invalid DNS-SD records type {}", self.record_type)),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Mechanisms parsed and checked, not run by Ember yet.

/// A `name`/`values` filter (EC2, RDS, Docker).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SdFilter {
    pub name: String,
    pub values: Vec<String>,
}

impl DecodeStruct for SdFilter {
    const GO_TYPE: &'static str = "aws.Filter";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut f = SdFilter::default();
        m.read("name", &mut f.name)?;
        m.read("values", &mut f.values)?;
        Ok(f)
    }
}

impl EncodeStruct for SdFilter {
    fn write(&self, w: &mut MapWriter) {
        w.field("name", &self.name);
        w.field("values", &self.values);
    }
}

decode_struct!(SdFilter);
encode_struct!(SdFilter);

fn check_one_of(
    value: &str,
    allowed: &[&str],
    unknown: impl Fn(&str) -> String,
) -> Result<(), String> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(unknown(value))
    }
}

sd_config! {
    /// `<aws_sd_config>`: EC2, ECS, ElastiCache, Lightsail, MSK or RDS, by `role`.
    AwsSdConfig, "aws.SDConfig" {
        field "role" => role: String = String::new(),
        omit "region" => region: String = String::new(),
        omit "endpoint" => endpoint: String = String::new(),
        omit "access_key" => access_key: String = String::new(),
        omit "secret_key" => secret_key: Secret = Secret::default(),
        omit "profile" => profile: String = String::new(),
        omit "role_arn" => role_arn: String = String::new(),
        omit "external_id" => external_id: String = String::new(),
        omit "refresh_interval" => refresh_interval: Duration = secs(60),
        omit "port" => port: i64 = 0,
        inline "" => http_client: HttpClientConfig = http_default(),
        omit "filters" => filters: Vec<SdFilter> = Vec::new(),
        omit "clusters" => clusters: Vec<String> = Vec::new(),
    }
}

impl SdHooks for AwsSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        check_one_of(
            &self.role,
            &["ec2", "ecs", "elasticache", "lightsail", "msk", "rds"],
            |r| format!("unknown AWS SD role {}", go_quote(r)),
        )
    }
}

sd_config! {
    /// `<azure_sd_config>`.
    AzureSdConfig, "azure.SDConfig" {
        omit "environment" => environment: String = s("AzurePublicCloud"),
        field "port" => port: i64 = 80,
        field "subscription_id" => subscription_id: String = String::new(),
        omit "tenant_id" => tenant_id: String = String::new(),
        omit "client_id" => client_id: String = String::new(),
        omit "client_secret" => client_secret: Secret = Secret::default(),
        omit "refresh_interval" => refresh_interval: Duration = secs(300),
        omit "authentication_method" => authentication_method: String = s("OAuth"),
        omit "resource_group" => resource_group: String = String::new(),
        inline "" => http_client: HttpClientConfig = http_default(),
    }
}

impl SdHooks for AzureSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        let require = |v: &str, name: &str| {
            if v.is_empty() {
                Err(format!("azure SD configuration requires a {name}"))
            } else {
                Ok(())
            }
        };
        require(&self.subscription_id, "subscription_id")?;
        if self.authentication_method == "OAuth" {
            require(&self.tenant_id, "tenant_id")?;
            require(&self.client_id, "client_id")?;
            require(self.client_secret.expose(), "client_secret")?;
        }
        if !["OAuth", "ManagedIdentity", "SDK", "WorkloadIdentity"]
            .contains(&self.authentication_method.as_str())
        {
            return Err(format!(
                "unknown authentication_type {}. Supported types are \"OAuth\", \"ManagedIdentity\", \"SDK\" or \"WorkloadIdentity\"",
                go_quote(&self.authentication_method)
            ));
        }
        self.http_client.validate()
    }
}

sd_config! {
    /// `<consul_sd_config>`.
    ConsulSdConfig, "consul.SDConfig" {
        omit "server" => server: String = s("localhost:8500"),
        omit "path_prefix" => path_prefix: String = String::new(),
        omit "token" => token: Secret = Secret::default(),
        omit "datacenter" => datacenter: String = String::new(),
        omit "namespace" => namespace: String = String::new(),
        omit "partition" => partition: String = String::new(),
        omit "tag_separator" => tag_separator: String = s(","),
        omit "scheme" => scheme: String = s("http"),
        omit "username" => username: String = String::new(),
        omit "password" => password: Secret = Secret::default(),
        field "allow_stale" => allow_stale: bool = true,
        omit "refresh_interval" => refresh_interval: Duration = secs(30),
        omit "services" => services: Vec<String> = Vec::new(),
        omit "tags" => tags: Vec<String> = Vec::new(),
        omit "node_meta" => node_meta: BTreeMap<String, String> = BTreeMap::new(),
        omit "filter" => filter: String = String::new(),
        omit "health_filter" => health_filter: String = String::new(),
        inline "" => http_client: HttpClientConfig = http_default(),
    }
}

impl SdHooks for ConsulSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        if self.server.trim().is_empty() {
            return Err("consul SD configuration requires a server address".into());
        }
        if !self.username.is_empty() || !self.password.is_empty() {
            if self.http_client.basic_auth.is_some() {
                return Err("at most one of consul SD configuration username and password and basic auth can be configured".into());
            }
            self.http_client.basic_auth = Some(crate::http::BasicAuth {
                username: self.username.clone(),
                password: self.password.clone(),
                ..Default::default()
            });
        }
        if !self.token.is_empty()
            && (self.http_client.authorization.is_some() || self.http_client.oauth2.is_some())
        {
            return Err(
                "at most one of consul SD token, authorization, or oauth2 can be configured".into(),
            );
        }
        self.http_client.validate()
    }
}

sd_config! {
    /// `<digitalocean_sd_config>`.
    DigitalOceanSdConfig, "digitalocean.SDConfig" {
        inline "" => http_client: HttpClientConfig = http_default(),
        field "refresh_interval" => refresh_interval: Duration = secs(60),
        field "port" => port: i64 = 80,
        field "role" => role: String = s("droplets"),
    }
}

impl SdHooks for DigitalOceanSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        if self.role.is_empty() {
            return Err("role missing (one of: droplets, databases)".into());
        }
        check_one_of(&self.role, &["droplets", "databases"], |r| {
            format!("unknown DigitalOcean SD role {}", go_quote(r))
        })?;
        self.http_client.validate()
    }
}

sd_config! {
    /// `<docker_sd_config>`.
    DockerSdConfig, "moby.DockerSDConfig" {
        inline "" => http_client: HttpClientConfig = http_default(),
        field "host" => host: String = String::new(),
        field "port" => port: i64 = 80,
        field "filters" => filters: Vec<SdFilter> = Vec::new(),
        field "host_networking_host" => host_networking_host: String = s("localhost"),
        field "refresh_interval" => refresh_interval: Duration = secs(60),
        field "match_first_network" => match_first_network: bool = true,
    }
}

impl SdHooks for DockerSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        if self.host.is_empty() {
            return Err("host missing".into());
        }
        Url::parse(&self.host)?;
        self.http_client.validate()
    }
}

sd_config! {
    /// `<dockerswarm_sd_config>`.
    DockerSwarmSdConfig, "moby.DockerSwarmSDConfig" {
        inline "" => http_client: HttpClientConfig = http_default(),
        field "host" => host: String = String::new(),
        field "role" => role: String = String::new(),
        field "port" => port: i64 = 80,
        field "filters" => filters: Vec<SdFilter> = Vec::new(),
        field "refresh_interval" => refresh_interval: Duration = secs(60),
    }
}

impl SdHooks for DockerSwarmSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        if self.host.is_empty() {
            return Err("host missing".into());
        }
        Url::parse(&self.host)?;
        match self.role.as_str() {
            "services" | "nodes" | "tasks" => {}
            "" => return Err("role missing (one of: tasks, services, nodes)".into()),
            r => {
                return Err(format!(
                    "invalid role {r}, expected tasks, services, or nodes"
                ))
            }
        }
        self.http_client.validate()
    }
}

sd_config! {
    /// `<ec2_sd_config>`.
    Ec2SdConfig, "aws.EC2SDConfig" {
        field "endpoint" => endpoint: String = String::new(),
        field "region" => region: String = String::new(),
        omit "access_key" => access_key: String = String::new(),
        omit "secret_key" => secret_key: Secret = Secret::default(),
        omit "profile" => profile: String = String::new(),
        omit "role_arn" => role_arn: String = String::new(),
        omit "external_id" => external_id: String = String::new(),
        omit "refresh_interval" => refresh_interval: Duration = secs(60),
        field "port" => port: i64 = 80,
        field "filters" => filters: Vec<SdFilter> = Vec::new(),
        inline "" => http_client: HttpClientConfig = http_default(),
    }
}

impl SdHooks for Ec2SdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        if self.filters.iter().any(|f| f.values.is_empty()) {
            return Err("EC2 SD configuration filter values cannot be empty".into());
        }
        self.http_client.validate()
    }
}

/// Defines the four AWS discovery configs that share the ECS shape.
macro_rules! aws_cluster_sd {
    ($(#[$meta:meta])* $name:ident, $go:literal, $concurrency:expr, filters: $filters:tt) => {
        aws_cluster_sd!(@emit $(#[$meta])* $name, $go, $concurrency, $filters);
    };
    (@emit $(#[$meta:meta])* $name:ident, $go:literal, $concurrency:expr, no) => {
        sd_config! {
            $(#[$meta])*
            $name, $go {
                field "region" => region: String = String::new(),
                field "endpoint" => endpoint: String = String::new(),
                omit "access_key" => access_key: String = String::new(),
                omit "secret_key" => secret_key: Secret = Secret::default(),
                omit "profile" => profile: String = String::new(),
                omit "role_arn" => role_arn: String = String::new(),
                omit "external_id" => external_id: String = String::new(),
                omit "clusters" => clusters: Vec<String> = Vec::new(),
                field "port" => port: i64 = 80,
                omit "refresh_interval" => refresh_interval: Duration = secs(60),
                omit "request_concurrency" => request_concurrency: i64 = $concurrency,
                inline "" => http_client: HttpClientConfig = http_default(),
            }
        }
        impl SdHooks for $name {
            fn sd_check(&mut self) -> Result<(), String> {
                self.http_client.validate()
            }
        }
    };
}

aws_cluster_sd!(
    /// `<ecs_sd_config>`.
    EcsSdConfig, "aws.ECSSDConfig", 20, filters: no
);
aws_cluster_sd!(
    /// `<elasticache_sd_config>`.
    ElasticacheSdConfig, "aws.ElasticacheSDConfig", 10, filters: no
);
aws_cluster_sd!(
    /// `<msk_sd_config>`.
    MskSdConfig, "aws.MSKSDConfig", 10, filters: no
);

sd_config! {
    /// `<rds_sd_config>`.
    RdsSdConfig, "aws.RDSSDConfig" {
        field "region" => region: String = String::new(),
        field "endpoint" => endpoint: String = String::new(),
        omit "access_key" => access_key: String = String::new(),
        omit "secret_key" => secret_key: Secret = Secret::default(),
        omit "profile" => profile: String = String::new(),
        omit "role_arn" => role_arn: String = String::new(),
        omit "external_id" => external_id: String = String::new(),
        omit "clusters" => clusters: Vec<String> = Vec::new(),
        field "port" => port: i64 = 80,
        omit "refresh_interval" => refresh_interval: Duration = secs(60),
        field "filters" => filters: Vec<SdFilter> = Vec::new(),
        omit "request_concurrency" => request_concurrency: i64 = 10,
        inline "" => http_client: HttpClientConfig = http_default(),
    }
}

impl SdHooks for RdsSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        self.http_client.validate()
    }
}

sd_config! {
    /// `<eureka_sd_config>`.
    EurekaSdConfig, "eureka.SDConfig" {
        omit "server" => server: String = String::new(),
        inline "" => http_client: HttpClientConfig = http_default(),
        omit "refresh_interval" => refresh_interval: Duration = secs(30),
    }
}

impl SdHooks for EurekaSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        if self.server.is_empty() {
            return Err("eureka_sd: empty or null eureka server".into());
        }
        let u = Url::parse(&self.server)?;
        if u.scheme().is_empty() || u.host().is_empty() {
            return Err("eureka_sd: invalid eureka server URL".into());
        }
        self.http_client.validate()
    }
}

sd_config! {
    /// `<gce_sd_config>`.
    GceSdConfig, "gce.SDConfig" {
        field "project" => project: String = String::new(),
        field "zone" => zone: String = String::new(),
        omit "filter" => filter: String = String::new(),
        omit "refresh_interval" => refresh_interval: Duration = secs(60),
        field "port" => port: i64 = 80,
        omit "tag_separator" => tag_separator: String = s(","),
    }
}

impl SdHooks for GceSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        if self.project.is_empty() {
            return Err("GCE SD configuration requires a project".into());
        }
        if self.zone.is_empty() {
            return Err("GCE SD configuration requires a zone".into());
        }
        Ok(())
    }
}

sd_config! {
    /// `<hetzner_sd_config>`.
    HetznerSdConfig, "hetzner.SDConfig" {
        inline "" => http_client: HttpClientConfig = http_default(),
        field "refresh_interval" => refresh_interval: Duration = secs(60),
        field "port" => port: i64 = 80,
        field "role" => role: String = String::new(),
        omit "label_selector" => label_selector: String = String::new(),
    }
}

impl SdHooks for HetznerSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        if self.role.is_empty() {
            return Err("role missing (one of: robot, hcloud)".into());
        }
        check_one_of(&self.role, &["robot", "hcloud"], |r| {
            format!("unknown role {}", go_quote(r))
        })?;
        self.http_client.validate()
    }
}

sd_config! {
    /// `<ionos_sd_config>`.
    IonosSdConfig, "ionos.SDConfig" {
        field "datacenter_id" => datacenter_id: String = String::new(),
        inline "" => http_client: HttpClientConfig = http_default(),
        field "refresh_interval" => refresh_interval: Duration = secs(60),
        field "port" => port: i64 = 80,
    }
}

impl SdHooks for IonosSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        if self.datacenter_id.is_empty() {
            return Err("datacenter id can't be empty".into());
        }
        self.http_client.validate()
    }
}

/// `namespaces` of a Kubernetes discovery config.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NamespaceDiscovery {
    pub own_namespace: bool,
    pub names: Vec<String>,
}

impl DecodeStruct for NamespaceDiscovery {
    const GO_TYPE: &'static str = "kubernetes.NamespaceDiscovery";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut c = NamespaceDiscovery::default();
        m.read("own_namespace", &mut c.own_namespace)?;
        m.read("names", &mut c.names)?;
        Ok(c)
    }
}

impl EncodeStruct for NamespaceDiscovery {
    fn write(&self, w: &mut MapWriter) {
        w.field("own_namespace", &self.own_namespace);
        w.field("names", &self.names);
    }
}

/// One of a Kubernetes discovery config's `selectors`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KubernetesSelector {
    pub role: String,
    pub label: String,
    pub field: String,
}

impl DecodeStruct for KubernetesSelector {
    const GO_TYPE: &'static str = "kubernetes.SelectorConfig";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut c = KubernetesSelector::default();
        m.read("role", &mut c.role)?;
        m.read("label", &mut c.label)?;
        m.read("field", &mut c.field)?;
        Ok(c)
    }
    fn check(&mut self) -> Result<(), String> {
        check_kubernetes_role(&self.role)
    }
}

impl EncodeStruct for KubernetesSelector {
    fn write(&self, w: &mut MapWriter) {
        w.omitempty("role", &self.role);
        w.omitempty("label", &self.label);
        w.omitempty("field", &self.field);
    }
}

/// `attach_metadata` of a Kubernetes discovery config.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KubernetesAttachMetadata {
    pub node: bool,
    pub namespace: bool,
    pub deployment: bool,
    pub job: bool,
    pub cronjob: bool,
}

impl DecodeStruct for KubernetesAttachMetadata {
    const GO_TYPE: &'static str = "kubernetes.AttachMetadataConfig";
    fn read(m: &mut MapReader<'_>) -> DResult<Self> {
        let mut c = KubernetesAttachMetadata::default();
        m.read("node", &mut c.node)?;
        m.read("namespace", &mut c.namespace)?;
        m.read("deployment", &mut c.deployment)?;
        m.read("job", &mut c.job)?;
        m.read("cronjob", &mut c.cronjob)?;
        Ok(c)
    }
}

impl EncodeStruct for KubernetesAttachMetadata {
    fn write(&self, w: &mut MapWriter) {
        w.field("node", &self.node);
        w.field("namespace", &self.namespace);
        w.field("deployment", &self.deployment);
        w.field("job", &self.job);
        w.field("cronjob", &self.cronjob);
    }
}

decode_struct!(
    NamespaceDiscovery,
    KubernetesSelector,
    KubernetesAttachMetadata
);
encode_struct!(
    NamespaceDiscovery,
    KubernetesSelector,
    KubernetesAttachMetadata
);

fn check_kubernetes_role(role: &str) -> Result<(), String> {
    check_one_of(
        role,
        &[
            "node",
            "pod",
            "service",
            "endpoints",
            "endpointslice",
            "ingress",
        ],
        |r| format!("unknown Kubernetes SD role {}", go_quote(r)),
    )
}

sd_config! {
    /// `<kubernetes_sd_config>`.
    KubernetesSdConfig, "kubernetes.SDConfig" {
        omit "api_server" => api_server: Option<Url> = None,
        field "role" => role: String = String::new(),
        field "kubeconfig_file" => kubeconfig_file: String = String::new(),
        inline "" => http_client: HttpClientConfig = http_default(),
        omit "namespaces" => namespaces: NamespaceDiscovery = NamespaceDiscovery::default(),
        omit "selectors" => selectors: Vec<KubernetesSelector> = Vec::new(),
        omit "attach_metadata" => attach_metadata: KubernetesAttachMetadata = KubernetesAttachMetadata::default(),
    }
}

impl SdHooks for KubernetesSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        if self.role.is_empty() {
            return Err(
                "role missing (one of: pod, service, endpoints, endpointslice, node, ingress)"
                    .into(),
            );
        }
        check_kubernetes_role(&self.role)?;
        self.http_client.validate()?;
        let default_http = self.http_client == HttpClientConfig::default();
        if self.api_server.is_some() && !self.kubeconfig_file.is_empty() {
            return Err("cannot use 'kubeconfig_file' and 'api_server' simultaneously".into());
        }
        if !self.kubeconfig_file.is_empty() && !default_http {
            return Err(
                "cannot use a custom HTTP client configuration together with 'kubeconfig_file'"
                    .into(),
            );
        }
        if self.api_server.is_none() && !default_http {
            return Err("to use custom HTTP client configuration please provide the 'api_server' URL explicitly".into());
        }
        if self.api_server.is_some() && self.namespaces.own_namespace {
            return Err(
                "cannot use 'api_server' and 'namespaces.own_namespace' simultaneously".into(),
            );
        }
        if !self.kubeconfig_file.is_empty() && self.namespaces.own_namespace {
            return Err(
                "cannot use 'kubeconfig_file' and 'namespaces.own_namespace' simultaneously".into(),
            );
        }
        let allowed: &[&str] = match self.role.as_str() {
            "pod" => &["pod", "node"],
            "service" => &["service"],
            "endpointslice" => &["pod", "service", "endpointslice"],
            "endpoints" => &["pod", "service", "endpoints"],
            "node" => &["node"],
            _ => &["ingress"],
        };
        let mut seen: Vec<&str> = Vec::new();
        for sel in &self.selectors {
            check_field_selector(&sel.field)?;
            if seen.contains(&sel.role.as_str()) {
                return Err(format!("duplicated selector role: {}", sel.role));
            }
            seen.push(&sel.role);
            if !allowed.contains(&sel.role.as_str()) {
                return Err(format!(
                    "{} role supports only {} selectors",
                    self.role,
                    allowed.join(", ")
                ));
            }
        }
        Ok(())
    }
    fn sd_set_directory(&mut self, dir: &Path) {
        join_dir(dir, &mut self.kubeconfig_file);
    }
}

/// Kubernetes field selector syntax: comma-separated `key=value`, `key==value` or
/// `key!=value` terms.
fn check_field_selector(sel: &str) -> Result<(), String> {
    if sel.is_empty() {
        return Ok(());
    }
    for term in sel.split(',') {
        if !(term.contains("!=") || term.contains('=')) {
            return Err(format!(
                "invalid selector: '{sel}'; can't understand '{term}'"
            ));
        }
    }
    Ok(())
}

sd_config! {
    /// `<kuma_sd_config>`.
    KumaSdConfig, "xds.SDConfig" {
        inline "" => http_client: HttpClientConfig = http_default(),
        omit "refresh_interval" => refresh_interval: Duration = secs(15),
        omit "fetch_timeout" => fetch_timeout: Duration = secs(120),
        omit "server" => server: String = String::new(),
        omit "client_id" => client_id: String = String::new(),
    }
}

impl SdHooks for KumaSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        if self.server.is_empty() {
            return Err("kuma SD server must not be empty: ".into());
        }
        let u = Url::parse(&self.server)?;
        if u.scheme().is_empty() || u.host().is_empty() {
            return Err(format!(
                "kuma SD server must not be empty and have a scheme: {}",
                self.server
            ));
        }
        self.http_client.validate()
    }
}

sd_config! {
    /// `<lightsail_sd_config>`.
    LightsailSdConfig, "aws.LightsailSDConfig" {
        field "endpoint" => endpoint: String = String::new(),
        field "region" => region: String = String::new(),
        omit "access_key" => access_key: String = String::new(),
        omit "secret_key" => secret_key: Secret = Secret::default(),
        omit "profile" => profile: String = String::new(),
        omit "role_arn" => role_arn: String = String::new(),
        omit "external_id" => external_id: String = String::new(),
        omit "refresh_interval" => refresh_interval: Duration = secs(60),
        field "port" => port: i64 = 80,
        inline "" => http_client: HttpClientConfig = http_default(),
    }
}

impl SdHooks for LightsailSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        self.http_client.validate()
    }
}

sd_config! {
    /// `<linode_sd_config>`.
    LinodeSdConfig, "linode.SDConfig" {
        inline "" => http_client: HttpClientConfig = http_default(),
        field "refresh_interval" => refresh_interval: Duration = secs(60),
        field "port" => port: i64 = 80,
        omit "tag_separator" => tag_separator: String = s(","),
        omit "region" => region: String = String::new(),
    }
}

impl SdHooks for LinodeSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        self.http_client.validate()
    }
}

sd_config! {
    /// `<marathon_sd_config>`.
    MarathonSdConfig, "marathon.SDConfig" {
        omit "servers" => servers: Vec<String> = Vec::new(),
        omit "refresh_interval" => refresh_interval: Duration = secs(30),
        omit "auth_token" => auth_token: Secret = Secret::default(),
        omit "auth_token_file" => auth_token_file: String = String::new(),
        inline "" => http_client: HttpClientConfig = http_default(),
    }
}

impl SdHooks for MarathonSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        if self.servers.is_empty() {
            return Err("marathon_sd: must contain at least one Marathon server".into());
        }
        let has_token = !self.auth_token.is_empty() || !self.auth_token_file.is_empty();
        if !self.auth_token.is_empty() && !self.auth_token_file.is_empty() {
            return Err(
                "marathon_sd: at most one of auth_token & auth_token_file must be configured"
                    .into(),
            );
        }
        if has_token {
            let h = &self.http_client;
            if h.basic_auth.is_some() {
                return Err("marathon_sd: at most one of basic_auth, auth_token & auth_token_file must be configured".into());
            }
            if !h.bearer_token.is_empty() || !h.bearer_token_file.is_empty() {
                return Err("marathon_sd: at most one of bearer_token, bearer_token_file, auth_token & auth_token_file must be configured".into());
            }
            if h.authorization.is_some() {
                return Err("marathon_sd: at most one of auth_token, auth_token_file & authorization must be configured".into());
            }
        }
        self.http_client.validate()
    }
    fn sd_set_directory(&mut self, dir: &Path) {
        join_dir(dir, &mut self.auth_token_file);
    }
}

/// Defines the two ZooKeeper discovery configs (`serverset`, `nerve`).
macro_rules! zookeeper_sd {
    ($(#[$meta:meta])* $name:ident, $go:literal, $what:literal) => {
        sd_config! {
            $(#[$meta])*
            $name, $go {
                field "servers" => servers: Vec<String> = Vec::new(),
                field "paths" => paths: Vec<String> = Vec::new(),
                omit "timeout" => timeout: Duration = secs(10),
            }
        }
        impl SdHooks for $name {
            fn sd_check(&mut self) -> Result<(), String> {
                if self.servers.is_empty() {
                    return Err(concat!($what, " SD config must contain at least one Zookeeper server").into());
                }
                if self.paths.is_empty() {
                    return Err(concat!($what, " SD config must contain at least one path").into());
                }
                if let Some(p) = self.paths.iter().find(|p| !p.starts_with('/')) {
                    return Err(format!(concat!($what, " SD config paths must begin with '/': {}"), p));
                }
                Ok(())
            }
        }
    };
}

zookeeper_sd!(
    /// `<nerve_sd_config>`.
    NerveSdConfig, "zookeeper.NerveSDConfig", "nerve"
);
zookeeper_sd!(
    /// `<serverset_sd_config>`.
    ServersetSdConfig, "zookeeper.ServersetSDConfig", "serverset"
);

sd_config! {
    /// `<nomad_sd_config>`.
    NomadSdConfig, "nomad.SDConfig" {
        field "allow_stale" => allow_stale: bool = true,
        inline "" => http_client: HttpClientConfig = http_default(),
        field "namespace" => namespace: String = s("default"),
        field "refresh_interval" => refresh_interval: Duration = secs(60),
        field "region" => region: String = s("global"),
        field "server" => server: String = s("http://localhost:4646"),
        omit "tag_separator" => tag_separator: String = s(","),
    }
}

impl SdHooks for NomadSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        if self.server.trim().is_empty() {
            return Err("nomad SD configuration requires a server address".into());
        }
        self.http_client.validate()
    }
}

sd_config! {
    /// `<oci_sd_config>`.
    OciSdConfig, "oci.SDConfig" {
        omit "auth" => auth: String = s("api_key"),
        omit "tenancy" => tenancy: String = String::new(),
        omit "user" => user: String = String::new(),
        omit "fingerprint" => fingerprint: String = String::new(),
        omit "key_file" => key_file: String = String::new(),
        omit "key_passphrase" => key_passphrase: Secret = Secret::default(),
        omit "key_passphrase_file" => key_passphrase_file: String = String::new(),
        field "region" => region: String = String::new(),
        omit "compartments" => compartments: Vec<String> = Vec::new(),
        inline "" => http_client: HttpClientConfig = http_default(),
        field "port" => port: i64 = 80,
        field "refresh_interval" => refresh_interval: Duration = secs(60),
    }
}

impl SdHooks for OciSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        if self.region.is_empty() {
            return Err("oci_sd: region is required".into());
        }
        match self.auth.as_str() {
            "api_key" => {
                for (v, name) in [
                    (&self.tenancy, "tenancy"),
                    (&self.user, "user"),
                    (&self.fingerprint, "fingerprint"),
                    (&self.key_file, "key_file"),
                ] {
                    if v.is_empty() {
                        return Err(format!("oci_sd: api_key auth requires {name}"));
                    }
                }
                if !self.key_passphrase.is_empty() && !self.key_passphrase_file.is_empty() {
                    return Err("oci_sd: at most one of key_passphrase and key_passphrase_file must be configured".into());
                }
            }
            "instance_principal" => {
                if !self.tenancy.is_empty()
                    || !self.user.is_empty()
                    || !self.fingerprint.is_empty()
                    || !self.key_file.is_empty()
                    || !self.key_passphrase.is_empty()
                    || !self.key_passphrase_file.is_empty()
                {
                    return Err("oci_sd: instance_principal auth must not have tenancy, user, fingerprint, key_file, key_passphrase, or key_passphrase_file set".into());
                }
            }
            other => {
                return Err(format!(
                "oci_sd: unknown auth method {}, expected \"api_key\" or \"instance_principal\"",
                go_quote(other)
            ))
            }
        }
        if let Some(i) = self.compartments.iter().position(String::is_empty) {
            return Err(format!("oci_sd: compartments[{i}] must not be empty"));
        }
        if self.refresh_interval.is_zero() {
            return Err(format!(
                "oci_sd: refresh_interval must be positive, got {}",
                self.refresh_interval
            ));
        }
        self.http_client.validate()
    }
    fn sd_set_directory(&mut self, dir: &Path) {
        join_dir(dir, &mut self.key_file);
        join_dir(dir, &mut self.key_passphrase_file);
    }
}

sd_config! {
    /// `<openstack_sd_config>`.
    OpenstackSdConfig, "openstack.SDConfig" {
        field "identity_endpoint" => identity_endpoint: String = String::new(),
        field "username" => username: String = String::new(),
        field "userid" => userid: String = String::new(),
        field "password" => password: Secret = Secret::default(),
        field "project_name" => project_name: String = String::new(),
        field "project_id" => project_id: String = String::new(),
        field "domain_name" => domain_name: String = String::new(),
        field "domain_id" => domain_id: String = String::new(),
        field "application_credential_name" => application_credential_name: String = String::new(),
        field "application_credential_id" => application_credential_id: String = String::new(),
        field "application_credential_secret" => application_credential_secret: Secret = Secret::default(),
        field "role" => role: String = String::new(),
        field "region" => region: String = String::new(),
        field "refresh_interval" => refresh_interval: Duration = secs(60),
        field "port" => port: i64 = 80,
        omit "all_tenants" => all_tenants: bool = false,
        omit "tls_config" => tls_config: TlsConfig = TlsConfig::default(),
        omit "availability" => availability: String = s("public"),
    }
}

impl SdHooks for OpenstackSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        if !self.role.is_empty() {
            check_one_of(
                &self.role,
                &["hypervisor", "instance", "loadbalancer"],
                |r| format!("unknown OpenStack SD role {}", go_quote(r)),
            )?;
        }
        if !["public", "internal", "admin"].contains(&self.availability.as_str()) {
            return Err(format!(
                "unknown availability {}, must be one of admin, internal or public",
                self.availability
            ));
        }
        if self.role.is_empty() {
            return Err("role missing (one of: instance, hypervisor, loadbalancer)".into());
        }
        if self.region.is_empty() {
            return Err("openstack SD configuration requires a region".into());
        }
        Ok(())
    }
    fn sd_set_directory(&mut self, dir: &Path) {
        self.tls_config.set_directory(dir);
    }
}

sd_config! {
    /// `<outscale_sd_config>`.
    OutscaleSdConfig, "outscale.SDConfig" {
        omit "endpoint" => endpoint: String = String::new(),
        field "region" => region: String = s("eu-west-2"),
        field "access_key" => access_key: String = String::new(),
        field "secret_key" => secret_key: Secret = Secret::default(),
        field "secret_key_file" => secret_key_file: String = String::new(),
        omit "refresh_interval" => refresh_interval: Duration = secs(60),
        field "port" => port: i64 = 80,
        inline "" => http_client: HttpClientConfig = http_default(),
    }
}

impl SdHooks for OutscaleSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        if self.region.is_empty() {
            return Err("outscale SD configuration requires a region".into());
        }
        if self.access_key.is_empty() {
            return Err("outscale SD configuration requires access_key".into());
        }
        if self.secret_key.is_empty() && self.secret_key_file.is_empty() {
            return Err("one of secret_key & secret_key_file must be configured".into());
        }
        if !self.secret_key.is_empty() && !self.secret_key_file.is_empty() {
            return Err("at most one of secret_key & secret_key_file must be configured".into());
        }
        if self.endpoint.is_empty() {
            self.endpoint = format!("https://api.{}.outscale.com/api/v1", self.region);
        }
        self.http_client.validate()
    }
    fn sd_set_directory(&mut self, dir: &Path) {
        join_dir(dir, &mut self.secret_key_file);
    }
}

sd_config! {
    /// `<ovhcloud_sd_config>`.
    OvhcloudSdConfig, "ovhcloud.SDConfig" {
        field "endpoint" => endpoint: String = s("ovh-eu"),
        field "application_key" => application_key: String = String::new(),
        field "application_secret" => application_secret: Secret = Secret::default(),
        field "consumer_key" => consumer_key: Secret = Secret::default(),
        field "refresh_interval" => refresh_interval: Duration = secs(60),
        field "service" => service: String = String::new(),
    }
}

impl SdHooks for OvhcloudSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        if self.endpoint.is_empty() {
            return Err("endpoint can not be empty".into());
        }
        if self.application_key.is_empty() {
            return Err("application key can not be empty".into());
        }
        if self.application_secret.is_empty() {
            return Err("application secret can not be empty".into());
        }
        if self.consumer_key.is_empty() {
            return Err("consumer key can not be empty".into());
        }
        match self.service.as_str() {
            "dedicated_server" | "vps" => Ok(()),
            other => Err(format!("unknown service: {other}")),
        }
    }
}

sd_config! {
    /// `<puppetdb_sd_config>`.
    PuppetdbSdConfig, "puppetdb.SDConfig" {
        inline "" => http_client: HttpClientConfig = http_default(),
        omit "refresh_interval" => refresh_interval: Duration = secs(60),
        field "url" => url: String = String::new(),
        field "query" => query: String = String::new(),
        field "include_parameters" => include_parameters: bool = false,
        field "port" => port: i64 = 80,
    }
}

impl SdHooks for PuppetdbSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        check_http_url(&self.url)?;
        if self.query.is_empty() {
            return Err("query missing".into());
        }
        self.http_client.validate()
    }
}

sd_config! {
    /// `<scaleway_sd_config>`.
    ScalewaySdConfig, "scaleway.SDConfig" {
        field "project_id" => project_id: String = String::new(),
        omit "api_url" => api_url: String = s("https://api.scaleway.com"),
        field "zone" => zone: String = s("fr-par-1"),
        field "access_key" => access_key: String = String::new(),
        field "secret_key" => secret_key: Secret = Secret::default(),
        field "secret_key_file" => secret_key_file: String = String::new(),
        omit "name_filter" => name_filter: String = String::new(),
        omit "tags_filter" => tags_filter: Vec<String> = Vec::new(),
        inline "" => http_client: HttpClientConfig = http_default(),
        field "refresh_interval" => refresh_interval: Duration = secs(60),
        field "port" => port: i64 = 80,
        field "role" => role: String = String::new(),
    }
}

impl SdHooks for ScalewaySdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        if !self.role.is_empty() {
            check_one_of(&self.role, &["instance", "baremetal"], |r| {
                format!("unknown role {}", go_quote(r))
            })?;
        }
        if self.role.is_empty() {
            return Err("role missing (one of: instance, baremetal)".into());
        }
        if self.project_id.is_empty() {
            return Err("project_id is mandatory".into());
        }
        if self.secret_key.is_empty() && self.secret_key_file.is_empty() {
            return Err("one of secret_key & secret_key_file must be configured".into());
        }
        if !self.secret_key.is_empty() && !self.secret_key_file.is_empty() {
            return Err("at most one of secret_key & secret_key_file must be configured".into());
        }
        if self.access_key.is_empty() {
            return Err("access_key is mandatory".into());
        }
        self.http_client.validate()
    }
    fn sd_set_directory(&mut self, dir: &Path) {
        join_dir(dir, &mut self.secret_key_file);
    }
}

sd_config! {
    /// `<stackit_sd_config>`.
    StackitSdConfig, "stackit.SDConfig" {
        inline "" => http_client: HttpClientConfig = http_default(),
        field "project" => project: String = String::new(),
        omit "refresh_interval" => refresh_interval: Duration = secs(60),
        omit "port" => port: i64 = 80,
        omit "region" => region: String = s("eu01"),
        omit "endpoint" => endpoint: String = String::new(),
        omit "service_account_key" => service_account_key: Secret = Secret::default(),
        omit "private_key" => private_key: Secret = Secret::default(),
        omit "service_account_key_path" => service_account_key_path: String = String::new(),
        omit "private_key_path" => private_key_path: String = String::new(),
        omit "credentials_file_path" => credentials_file_path: String = String::new(),
    }
}

impl SdHooks for StackitSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        if self.endpoint.is_empty() && self.region.is_empty() {
            return Err("stackit_sd: endpoint and region missing".into());
        }
        if let Err(e) = Url::parse(&self.endpoint) {
            return Err(format!(
                "stackit_sd: invalid endpoint {}: {e}",
                go_quote(&self.endpoint)
            ));
        }
        self.http_client.validate()
    }
}

sd_config! {
    /// `<triton_sd_config>`.
    TritonSdConfig, "triton.SDConfig" {
        field "account" => account: String = String::new(),
        field "role" => role: String = s("container"),
        field "dns_suffix" => dns_suffix: String = String::new(),
        field "endpoint" => endpoint: String = String::new(),
        omit "groups" => groups: Vec<String> = Vec::new(),
        field "port" => port: i64 = 9163,
        omit "refresh_interval" => refresh_interval: Duration = secs(60),
        omit "tls_config" => tls_config: TlsConfig = TlsConfig::default(),
        field "version" => version: i64 = 1,
    }
}

impl SdHooks for TritonSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        if self.role != "container" && self.role != "cn" {
            return Err("triton SD configuration requires role to be 'container' or 'cn'".into());
        }
        if self.account.is_empty() {
            return Err("triton SD configuration requires an account".into());
        }
        if self.dns_suffix.is_empty() {
            return Err("triton SD configuration requires a dns_suffix".into());
        }
        if self.endpoint.is_empty() {
            return Err("triton SD configuration requires an endpoint".into());
        }
        if self.refresh_interval.is_zero() {
            return Err(
                "triton SD configuration requires RefreshInterval to be a positive integer".into(),
            );
        }
        Ok(())
    }
    fn sd_set_directory(&mut self, dir: &Path) {
        self.tls_config.set_directory(dir);
    }
}

sd_config! {
    /// `<uyuni_sd_config>`.
    UyuniSdConfig, "uyuni.SDConfig" {
        field "server" => server: String = String::new(),
        field "username" => username: String = String::new(),
        field "password" => password: Secret = Secret::default(),
        inline "" => http_client: HttpClientConfig = http_default(),
        omit "entitlement" => entitlement: String = s("monitoring_entitled"),
        omit "separator" => separator: String = s(","),
        omit "refresh_interval" => refresh_interval: Duration = secs(60),
    }
}

impl SdHooks for UyuniSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        if self.server.is_empty() {
            return Err("Uyuni SD configuration requires server host".into());
        }
        if let Err(e) = Url::parse(&self.server) {
            return Err(format!("Uyuni Server URL is not valid: {e}"));
        }
        if self.username.is_empty() {
            return Err("Uyuni SD configuration requires a username".into());
        }
        if self.password.is_empty() {
            return Err("Uyuni SD configuration requires a password".into());
        }
        self.http_client.validate()
    }
}

sd_config! {
    /// `<vultr_sd_config>`.
    VultrSdConfig, "vultr.SDConfig" {
        inline "" => http_client: HttpClientConfig = http_default(),
        field "refresh_interval" => refresh_interval: Duration = secs(60),
        field "port" => port: i64 = 80,
    }
}

impl SdHooks for VultrSdConfig {
    fn sd_check(&mut self) -> Result<(), String> {
        self.http_client.validate()
    }
}

// ---------------------------------------------------------------------------------------
// The inlined set of discovery lists.

/// Reads a list of discovery configs, rejecting null entries as Prometheus does.
fn decode_sd_list<T: Decode>(node: &Node, key: &str) -> DResult<Vec<T>> {
    let items: Vec<Option<T>> = Decode::decode(node)?;
    items
        .into_iter()
        .map(|i| i.ok_or_else(|| error_at(node, format!("empty or null section in {key}"))))
        .collect()
}

/// Defines [`ServiceDiscoveryConfigs`] from the registry of mechanisms, in the order
/// Prometheus writes them (alphabetical by key).
macro_rules! sd_registry {
    ($( $(#[$meta:meta])* $field:ident : $ty:ty = $key:literal, $kind:literal );* $(;)?) => {
        /// All service-discovery lists of one scrape or Alertmanager config.
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct ServiceDiscoveryConfigs {
            $( $(#[$meta])* pub $field: Vec<$ty>, )*
        }

        impl ServiceDiscoveryConfigs {
            /// The YAML keys of every mechanism, in Prometheus's order.
            pub const KEYS: &'static [&'static str] = &[$( $key ),*];

            pub(crate) fn read_inline(m: &mut MapReader<'_>) -> DResult<Self> {
                let mut c = ServiceDiscoveryConfigs::default();
                $(
                    if let Some(n) = m.take_node($key) {
                        c.$field = decode_sd_list(n, $key)?;
                    }
                )*
                Ok(c)
            }

            pub(crate) fn write_inline(&self, w: &mut MapWriter) {
                $( w.omitempty($key, &self.$field); )*
            }

            /// The mechanisms used, by name (`static`, `file`, `kubernetes`, ...).
            pub fn kinds(&self) -> Vec<&'static str> {
                let mut out = Vec::new();
                $( if !self.$field.is_empty() { out.push($kind); } )*
                out
            }

            /// Whether no mechanism is configured.
            pub fn is_empty(&self) -> bool {
                true $( && self.$field.is_empty() )*
            }
        }
    };
}

sd_registry! {
    aws: AwsSdConfig = "aws_sd_configs", "aws";
    azure: AzureSdConfig = "azure_sd_configs", "azure";
    consul: ConsulSdConfig = "consul_sd_configs", "consul";
    digitalocean: DigitalOceanSdConfig = "digitalocean_sd_configs", "digitalocean";
    dns: DnsSdConfig = "dns_sd_configs", "dns";
    docker: DockerSdConfig = "docker_sd_configs", "docker";
    dockerswarm: DockerSwarmSdConfig = "dockerswarm_sd_configs", "dockerswarm";
    ec2: Ec2SdConfig = "ec2_sd_configs", "ec2";
    ecs: EcsSdConfig = "ecs_sd_configs", "ecs";
    elasticache: ElasticacheSdConfig = "elasticache_sd_configs", "elasticache";
    eureka: EurekaSdConfig = "eureka_sd_configs", "eureka";
    file: FileSdConfig = "file_sd_configs", "file";
    gce: GceSdConfig = "gce_sd_configs", "gce";
    hetzner: HetznerSdConfig = "hetzner_sd_configs", "hetzner";
    http: HttpSdConfig = "http_sd_configs", "http";
    ionos: IonosSdConfig = "ionos_sd_configs", "ionos";
    kubernetes: KubernetesSdConfig = "kubernetes_sd_configs", "kubernetes";
    kuma: KumaSdConfig = "kuma_sd_configs", "kuma";
    lightsail: LightsailSdConfig = "lightsail_sd_configs", "lightsail";
    linode: LinodeSdConfig = "linode_sd_configs", "linode";
    marathon: MarathonSdConfig = "marathon_sd_configs", "marathon";
    msk: MskSdConfig = "msk_sd_configs", "msk";
    nerve: NerveSdConfig = "nerve_sd_configs", "nerve";
    nomad: NomadSdConfig = "nomad_sd_configs", "nomad";
    oci: OciSdConfig = "oci_sd_configs", "oci";
    openstack: OpenstackSdConfig = "openstack_sd_configs", "openstack";
    outscale: OutscaleSdConfig = "outscale_sd_configs", "outscale";
    ovhcloud: OvhcloudSdConfig = "ovhcloud_sd_configs", "ovhcloud";
    puppetdb: PuppetdbSdConfig = "puppetdb_sd_configs", "puppetdb";
    rds: RdsSdConfig = "rds_sd_configs", "rds";
    scaleway: ScalewaySdConfig = "scaleway_sd_configs", "scaleway";
    serverset: ServersetSdConfig = "serverset_sd_configs", "serverset";
    stackit: StackitSdConfig = "stackit_sd_configs", "stackit";
    /// Static target groups.
    static_configs: TargetGroup = "static_configs", "static";
    triton: TritonSdConfig = "triton_sd_configs", "triton";
    uyuni: UyuniSdConfig = "uyuni_sd_configs", "uyuni";
    vultr: VultrSdConfig = "vultr_sd_configs", "vultr";
}

impl ServiceDiscoveryConfigs {
    /// Joins relative file paths onto `dir`.
    pub(crate) fn set_directory(&mut self, dir: &Path) {
        macro_rules! each {
            ($($f:ident),*) => { $( for c in &mut self.$f { c.set_directory(dir); } )* };
        }
        each!(
            aws,
            azure,
            consul,
            digitalocean,
            dns,
            docker,
            dockerswarm,
            ec2,
            ecs,
            elasticache,
            eureka,
            file,
            gce,
            hetzner,
            http,
            ionos,
            kubernetes,
            kuma,
            lightsail,
            linode,
            marathon,
            msk,
            nerve,
            nomad,
            oci,
            openstack,
            outscale,
            ovhcloud,
            puppetdb,
            rds,
            scaleway,
            serverset,
            stackit,
            triton,
            uyuni,
            vultr
        );
    }

    /// Prometheus's check for URLs written as static targets (`"http://x" is not a valid
    /// hostname`), done when a config has no relabeling that could rewrite them.
    pub(crate) fn check_static_targets(&self) -> Result<(), String> {
        for g in &self.static_configs {
            for t in &g.targets {
                if t.contains('/') {
                    return Err(format!("{} is not a valid hostname", go_quote(t)));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_keys_are_in_prometheus_order() {
        let keys = ServiceDiscoveryConfigs::KEYS;
        let mut sorted = keys.to_vec();
        sorted.sort();
        assert_eq!(keys, sorted.as_slice());
        assert_eq!(keys.len(), 37);
    }

    #[test]
    fn file_sd_names() {
        assert!(valid_file_sd_name("targets/*.json"));
        assert!(valid_file_sd_name("a.yml"));
        assert!(!valid_file_sd_name("targets/*/x.json"));
        assert!(!valid_file_sd_name("a.txt"));
        assert!(!valid_file_sd_name("*a*.yml"));
    }
}
