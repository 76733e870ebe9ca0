//! The command line's arguments (every command's), and `assess`: offline, on a dump or a support
//! bundle. How commands print: `crate::output`; exit codes: `crate::exit`.

use crate::assess::{assess, Inputs, SourceInfo, Thresholds};
use crate::catalog::Catalog;
use crate::exit;
use crate::objects::{parse_documents, MAX_INPUT_BYTES};
use crate::output::{Format, Stream};
use crate::probes::Probes;
use crate::scenario::parse_offset;
use crate::snapshot::Snapshot;
use crate::{Error, Result};
use app::status::{CheckState, SourceMode, StatusDocument, Tier};
use appliance_engine::Error as EngineError;
use clap::{Args, Parser, Subcommand, ValueEnum};
use jiff::Timestamp;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// appliance-status: can I log in yet, and if not, what exactly blocks it?
#[derive(Debug, Parser)]
#[command(
    name = "appliance-status",
    version,
    about,
    after_help = "Output: what a command produces goes to stdout (`-o text|json|yaml` where it prints a document); \
warnings, notes and errors go to stderr, one line each, starting with `warning:`, `note:` or `error:`. \
Each command's --help lists its exit codes and examples."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What to run.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the status UI and API.
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(Box<ServeArgs>),
    /// Assess Kubernetes objects from files (`kubectl get ... -o yaml|json`) or a support bundle,
    /// at the input's own moment, and print the document.
    #[command(after_help = exit::help(&[exit::REACHED, exit::USAGE], ASSESS_EXAMPLES))]
    Assess(AssessArgs),
    /// The access token: print the status URL and token (generated once per site), or rotate it.
    #[command(after_help = exit::help(TOKEN_CODES, TOKEN_EXAMPLES))]
    Token {
        #[command(subcommand)]
        action: TokenCommand,
    },
    /// Print the current status once (the overview, or the document as JSON or YAML). Waits up
    /// to --timeout for a service that does not answer yet.
    #[command(after_help = exit::help(STATUS_CODES, STATUS_EXAMPLES))]
    Status(StatusArgs),
    /// Follow the bootstrap until a tier is ready; prints each tier as it turns ready, the top
    /// issue and its next action as they change, what is in progress, and the login URL the
    /// moment login is ready. Keeps trying while the service is not answering yet.
    #[command(after_help = exit::help(WAIT_CODES, WAIT_EXAMPLES))]
    Wait(WaitArgs),
    /// Write a support bundle (.tar.gz): the document, the objects the service holds (pruned,
    /// redacted), events, log excerpts, node and service facts. `assess FILE` replays it.
    #[command(after_help = exit::help(BUNDLE_CODES, BUNDLE_EXAMPLES))]
    SupportBundle(SupportBundleArgs),
    /// Check that every image a release manifest (release.json) names exists in its registry,
    /// before the appliance pulls it (OCI distribution API, ghcr.io's token flow).
    #[command(after_help = exit::help(VALIDATE_CODES, VALIDATE_EXAMPLES))]
    ValidateRelease(ValidateReleaseArgs),
    /// Write, read back and remove a file in DIR: what the storage smoke pod runs.
    #[command(hide = true)]
    SmokeWrite { dir: PathBuf },
}

const SERVE_EXAMPLES: &str = "Examples:
  appliance-status serve --demo                       # the embedded observed bootstrap, at 20x
  appliance-status serve --token-file /var/run/appliance-status/token   # in the cluster (the chart)";
const ASSESS_EXAMPLES: &str =
    "  kubectl get nodes,pods,jobs,pvc,events,deploy,sts,ds,configmaps -A -o yaml > dump.yaml
  kubectl get gitrepositories,kustomizations,helmreleases -A -o yaml > flux.yaml
  appliance-status assess dump.yaml flux.yaml
  appliance-status assess -o json --probe login-url='307 /msp/dashboard' dump.yaml flux.yaml
  appliance-status assess bundle.tar.gz              # a support bundle, at its own moment";
const TOKEN_CODES: &[u8] = &[
    exit::REACHED,
    exit::INTERNAL,
    exit::USAGE,
    exit::UNREACHABLE,
    exit::UNAUTHORIZED,
    exit::NO_KUBECONFIG,
    exit::TOKEN_FILE,
];
const TOKEN_EXAMPLES: &str = "  appliance-status token ensure --kubeconfig appliance.kubeconfig
  appliance-status token ensure --tls --kubeconfig appliance.kubeconfig
  appliance-status token rotate -o json";
const STATUS_CODES: &[u8] = &[
    exit::REACHED,
    exit::USAGE,
    exit::UNREACHABLE,
    exit::UNAUTHORIZED,
    exit::NO_KUBECONFIG,
    exit::TOKEN_FILE,
    exit::NOT_A_STATUS_SERVICE,
];
const STATUS_EXAMPLES: &str = "  appliance-status status --url http://192.168.64.8:8080
  appliance-status status --kubeconfig appliance.kubeconfig -o yaml";
const WAIT_CODES: &[u8] = &[
    exit::REACHED,
    exit::USAGE,
    exit::TIMED_OUT,
    exit::FAILED,
    exit::UNREACHABLE,
    exit::UNAUTHORIZED,
    exit::NO_KUBECONFIG,
    exit::TOKEN_FILE,
    exit::NOT_A_STATUS_SERVICE,
];
const WAIT_EXAMPLES: &str =
    "  appliance-status wait --for login --url http://192.168.64.8:8080 --timeout 45m
  appliance-status wait --for full --url http://192.168.64.8:8080 -o json | jq -c .
  appliance-status wait --for update --url http://192.168.64.8:8080 --timeout 30m";
const BUNDLE_CODES: &[u8] = &[
    exit::REACHED,
    exit::INTERNAL,
    exit::USAGE,
    exit::UNREACHABLE,
    exit::UNAUTHORIZED,
    exit::NO_KUBECONFIG,
    exit::TOKEN_FILE,
    exit::NOT_A_STATUS_SERVICE,
];
const BUNDLE_EXAMPLES: &str =
    "  appliance-status support-bundle --url http://192.168.64.8:8080 --file bundle.tar.gz
  appliance-status support-bundle --kubeconfig appliance.kubeconfig --file bundle.tar.gz";
const VALIDATE_CODES: &[u8] = &[
    exit::REACHED,
    exit::USAGE,
    exit::FAILED,
    exit::UNREACHABLE,
    exit::UNAUTHORIZED,
];
const VALIDATE_EXAMPLES: &str = "  appliance-status validate-release release.json
  appliance-status validate-release --registry-config ~/.docker/config.json -o json release.json";

/// `token ensure` / `token rotate`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Reuse the site's token (or generate one), store it in the cluster, print URL and token.
    #[command(after_help = exit::help(TOKEN_CODES, TOKEN_EXAMPLES))]
    Ensure(TokenArgs),
    /// Generate a new token, replacing the stored one and the Secret (open sessions end).
    #[command(after_help = exit::help(TOKEN_CODES, TOKEN_EXAMPLES))]
    Rotate(TokenArgs),
}

/// Arguments of `token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The site: the token lives in ~/.alga-psa-appliance/<site-id>/status-token.
    #[arg(long, default_value = "appliance-single-node")]
    pub site_id: String,
    /// Kubeconfig of the appliance (default: KUBECONFIG or ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// The node's address for the URL (default: the Node's InternalIP).
    #[arg(long)]
    pub node_ip: Option<String>,
    /// Also make (once per site; again on rotate) a self-signed certificate for the node, kept
    /// beside the token and in Secret appliance-system/appliance-status-tls, and print its
    /// SHA-256 fingerprint with an https:// URL (for the chart's `tls.enabled=true`).
    #[arg(long)]
    pub tls: bool,
    /// Output: the URL and token block, or JSON or YAML for scripts.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Text)]
    pub output: Format,
}

/// Where `status` and `wait` read the document.
#[derive(Debug, Args)]
pub struct FollowArgs {
    /// The status service, e.g. http://192.168.64.8:8080 (token: APPLIANCE_STATUS_TOKEN, else the
    /// site's token file). Without it, the document is computed here from the kubeconfig.
    #[arg(long, env = "APPLIANCE_STATUS_URL")]
    pub url: Option<String>,
    /// The site whose token file to use with --url.
    #[arg(long, default_value = "appliance-single-node")]
    pub site_id: String,
    /// Kubeconfig of the appliance, when not using --url (default: KUBECONFIG or ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// The certificate (PEM) to trust for an https:// --url; default: the site's, beside its
    /// token file, which `token ensure --tls` wrote.
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
}

/// `appliance-status status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub from: FollowArgs,
    /// Output: the overview as text, or the document as JSON or YAML.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Text)]
    pub output: Format,
    /// Keep trying this long while the service does not answer yet (refused, not resolving,
    /// 502/503), e.g. 2m; 0s: ask once.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub timeout: jiff::SignedDuration,
}

/// `appliance-status support-bundle`.
#[derive(Debug, Args)]
pub struct SupportBundleArgs {
    #[command(flatten)]
    pub from: FollowArgs,
    /// Where to write the bundle (`.tar.gz`); it is created readable by its owner only.
    #[arg(short = 'f', long, value_name = "FILE")]
    pub file: PathBuf,
}

/// `appliance-status validate-release`.
#[derive(Debug, Args)]
pub struct ValidateReleaseArgs {
    /// The release manifest (`release.json`), or `-` for standard input.
    pub file: PathBuf,
    /// Output: a report for people, or JSON or YAML.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Text)]
    pub output: Format,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// A component catalog replacing the embedded one (it maps image keys to repositories).
    #[arg(long)]
    pub catalog: Option<PathBuf>,
}

/// How release images are checked (`validate-release`, and `serve`'s background check).
#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// A docker `config.json` with registry credentials (`auths`).
    #[arg(long)]
    pub registry_config: Option<PathBuf>,
    /// Extra CA certificates to trust (PEM), e.g. a registry mirror's.
    #[arg(long)]
    pub registry_ca_file: Option<PathBuf>,
    /// Ask MIRROR (host:port) instead of REGISTRY, e.g. ghcr.io=mirror.local:5000.
    #[arg(long = "registry-mirror", value_name = "REGISTRY=MIRROR")]
    pub registry_mirrors: Vec<String>,
    /// The longest one registry request may take.
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub registry_timeout: jiff::SignedDuration,
    /// A token service host (repeatable) that may receive a registry's credentials although it
    /// is not the registry's own host (Docker Hub's auth.docker.io). Credentials go only over
    /// https, to the registry's host or one named here.
    #[arg(long = "registry-token-host", value_name = "HOST")]
    pub registry_token_hosts: Vec<String>,
}

impl RegistryArgs {
    /// The registry client's options; an error names the flag or file at fault.
    pub fn options(&self) -> Result<crate::registry::Options> {
        let mut options = crate::registry::Options {
            timeout: Some(std::time::Duration::from_secs(
                self.registry_timeout.as_secs().max(1) as u64,
            )),
            token_hosts: self.registry_token_hosts.clone(),
            ..Default::default()
        };
        let file = |path: &Path| {
            let path = path.display().to_string();
            move |error| Error::File { path, error }
        };
        if let Some(path) = &self.registry_config {
            let text = std::fs::read_to_string(path).map_err(file(path))?;
            options.credentials = crate::registry::Credentials::from_docker_config(&text)?;
        }
        if let Some(path) = &self.registry_ca_file {
            options.ca_pem = Some(std::fs::read(path).map_err(file(path))?);
        }
        for m in &self.registry_mirrors {
            match m.split_once('=') {
                Some((from, to)) if !from.is_empty() && !to.is_empty() => {
                    options.mirrors.insert(from.to_string(), to.to_string());
                }
                _ => return Err(Error::Mirror(m.clone())),
            }
        }
        Ok(options)
    }
}

/// `appliance-status wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    #[command(flatten)]
    pub from: FollowArgs,
    /// The tier to wait for.
    #[arg(long = "for", value_enum)]
    pub target: crate::follow::Target,
    /// Give up after this long (exit 3), e.g. 45m.
    #[arg(long, default_value = "60m", value_parser = parse_duration)]
    pub timeout: jiff::SignedDuration,
    /// Exit 4 once the appliance has been "Failed / action required" this long (0s: at once).
    #[arg(long, default_value = "2m", value_parser = parse_duration)]
    pub fail_after: jiff::SignedDuration,
    /// With `--for update`: the release the update brings (e.g. `1.0-rc6`). Without it the wait
    /// ends only after it has seen an update under way; with it, also once Flux has applied
    /// that release whole (an update that finished before the wait began).
    #[arg(long, value_name = "RELEASE", requires = "target")]
    pub to: Option<String>,
    /// Output: for people (on a terminal, a display redrawn in place; otherwise timestamped
    /// lines), or JSON lines.
    #[arg(short = 'o', long, value_enum, default_value_t = Stream::Text)]
    pub output: Stream,
    /// Plain symbols instead of emoji (also when the locale is not UTF-8 or TERM is dumb).
    #[arg(long)]
    pub ascii: bool,
}

/// Log output format.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

/// Thresholds shared by `serve` and `assess`.
#[derive(Debug, Args, Clone)]
pub struct ThresholdArgs {
    /// Something still progressing (no failure signal) becomes a warning after this long, e.g. 5m
    /// (large pulls: after twice the time their expected size takes). Age alone never makes a
    /// blocker critical: a failure signal does.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub warn_after: jiff::SignedDuration,
    /// A blocker must hold this long before it is shown (default: 30s for `serve`; 0s for
    /// `assess`, since a dump has no history to hold a blocker against).
    #[arg(long, value_parser = parse_duration)]
    pub hysteresis: Option<jiff::SignedDuration>,
}

impl ThresholdArgs {
    /// The engine's thresholds; `default_hysteresis` when `--hysteresis` is not given.
    pub fn thresholds(&self, default_hysteresis: jiff::SignedDuration) -> Thresholds {
        Thresholds {
            warn_after: self.warn_after,
            hysteresis: self.hysteresis.unwrap_or(default_hysteresis),
            ..Thresholds::default()
        }
    }
}

fn parse_duration(s: &str) -> Result<jiff::SignedDuration> {
    Ok(parse_offset(s)?)
}

/// A site id: 1 to 63 letters, digits, `.`, `_` or `-` (a label value and a path segment alike).
fn parse_site_id(s: &str) -> Result<String> {
    let fits = (1..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if fits {
        Ok(s.to_string())
    } else {
        Err(crate::Error::SiteId(s.to_string()))
    }
}

/// What a connection to the listener may cost (server/src/listener.rs).
#[derive(Debug, Args)]
#[command(next_help_heading = "Connections")]
pub struct ConnectionArgs {
    /// A new connection must send its first request's headers within this.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub header_read_timeout: jiff::SignedDuration,
    /// A kept-alive connection is closed after this long without a request.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub idle_timeout: jiff::SignedDuration,
    /// Open connections at most; at the cap the unfinished and the idle are closed first.
    #[arg(long, default_value_t = 512)]
    pub max_connections: usize,
    /// Open connections from one client address (an IPv6 /64) at most.
    #[arg(long, default_value_t = 64)]
    pub max_connections_per_client: usize,
    /// On SIGTERM, requests in flight get this long to finish (the chart's
    /// terminationGracePeriodSeconds is longer).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub drain_timeout: jiff::SignedDuration,
}

impl ConnectionArgs {
    pub fn limits(&self) -> crate::listener::Limits {
        let secs =
            |d: jiff::SignedDuration| std::time::Duration::from_secs(d.as_secs().max(1) as u64);
        crate::listener::Limits {
            header_read: secs(self.header_read_timeout),
            idle: secs(self.idle_timeout),
            max_connections: self.max_connections.max(1),
            max_per_client: self.max_connections_per_client.max(1),
            drain: secs(self.drain_timeout),
        }
    }
}

/// `appliance-status serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Serve a scenario instead of a cluster; without FILE, the embedded observed bootstrap.
    #[arg(help_heading = "Source", long, value_name = "FILE", num_args = 0..=1)]
    pub demo: Option<Option<PathBuf>>,
    /// Scenario seconds per real second in demo mode.
    #[arg(help_heading = "Source", long, default_value_t = 20.0)]
    pub speed: f64,
    /// Replay the demo again after it ends.
    #[arg(help_heading = "Source", long)]
    pub repeat: bool,
    /// Kubeconfig to use instead of the in-cluster account, KUBECONFIG or ~/.kube/config.
    #[arg(help_heading = "Source", long, env = "APPLIANCE_STATUS_KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// A component catalog replacing the embedded Alga appliance catalog.
    #[arg(help_heading = "Source", long, env = "APPLIANCE_STATUS_CATALOG")]
    pub catalog: Option<PathBuf>,
    /// The appliance's site id, in the document and on /metrics (`build_info{site}`): what
    /// tells appliances apart across a fleet. Default: the catalog's (appliance-single-node).
    #[arg(help_heading = "Source", long, env = "APPLIANCE_STATUS_SITE_ID", value_parser = parse_site_id)]
    pub site_id: Option<String>,
    /// Address to listen on.
    #[arg(
        help_heading = "Listening",
        long,
        env = "APPLIANCE_STATUS_LISTEN",
        default_value = "0.0.0.0:8080"
    )]
    pub listen: SocketAddr,
    /// Serve HTTPS with this certificate (PEM; `token ensure --tls` makes one for the node), with
    /// --tls-key. Cookies are then `Secure` with the `__Host-` prefix.
    #[arg(
        help_heading = "Listening",
        long,
        env = "APPLIANCE_STATUS_TLS_CERT",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(
        help_heading = "Listening",
        long,
        env = "APPLIANCE_STATUS_TLS_KEY",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// Served over TLS (by a proxy): `Secure` cookies with the `__Host-` prefix.
    #[arg(help_heading = "Listening", long, env = "APPLIANCE_STATUS_TLS")]
    pub tls: bool,
    /// A host name the service answers to (repeatable), besides IP addresses and localhost: the
    /// name admins type, if the appliance has one. Any other name gets 421 (DNS rebinding).
    #[arg(
        help_heading = "Listening",
        long = "allowed-host",
        value_name = "NAME",
        env = "APPLIANCE_STATUS_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,
    /// The built site (pkg/*.wasm, *.js, *.css); cargo-leptos sets LEPTOS_SITE_ROOT.
    #[arg(
        help_heading = "Listening",
        long,
        env = "LEPTOS_SITE_ROOT",
        default_value = "target/site"
    )]
    pub site_root: PathBuf,
    /// Start without the built site (otherwise `serve` refuses to, naming what is missing): for
    /// the API, probes and metrics alone; the page then has neither its styles nor its script.
    #[arg(help_heading = "Listening", long)]
    pub no_site: bool,
    /// File holding the access token (the mounted Secret); re-read when it changes.
    #[arg(help_heading = "Access", long, env = "APPLIANCE_STATUS_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// A session ends after this long without a request (sliding).
    #[arg(help_heading = "Access", long, default_value = "30m", value_parser = parse_duration)]
    pub session_idle: jiff::SignedDuration,
    /// A session ends this long after login, whatever happens.
    #[arg(help_heading = "Access", long, default_value = "8h", value_parser = parse_duration)]
    pub session_absolute: jiff::SignedDuration,
    /// Serve `/metrics` without a token (default: a session or the bearer token, like the API).
    #[arg(help_heading = "Access", long, env = "APPLIANCE_STATUS_METRICS_OPEN")]
    pub metrics_open: bool,
    /// Watch Secret metadata (names only) for the credential checks; needs the chart's opt-in Role.
    #[arg(
        help_heading = "Collection",
        long,
        env = "APPLIANCE_STATUS_SECRET_METADATA"
    )]
    pub secret_metadata: bool,
    /// Events kept at most (the newest per object, reason and message first); the default keeps
    /// every event an appliance's API server holds.
    #[arg(help_heading = "Collection", long, default_value_t = crate::collect::DEFAULT_MAX_EVENTS)]
    pub max_events: usize,
    /// Do not read log tails of crash-looping pods.
    #[arg(help_heading = "Collection", long)]
    pub no_log_tails: bool,
    /// The login URL to probe; default: the catalog's, with the node's address.
    #[arg(help_heading = "Probes", long, env = "APPLIANCE_STATUS_LOGIN_URL")]
    pub login_url: Option<String>,
    /// Accept a self-signed certificate when probing the login URL.
    #[arg(help_heading = "Probes", long)]
    pub insecure_login_tls: bool,
    /// Time between probe rounds (login URL, DNS, HTTPS, seed query).
    #[arg(help_heading = "Probes", long, default_value = "15s", value_parser = parse_duration)]
    pub probe_interval: jiff::SignedDuration,
    /// File holding a PostgreSQL connection string for the seed-data query (read-only use).
    #[arg(help_heading = "Probes", long, env = "APPLIANCE_STATUS_SEED_DSN_FILE")]
    pub seed_dsn_file: Option<PathBuf>,
    /// An outside host to resolve (repeatable; `dns:HOST` probes).
    #[arg(help_heading = "Probes", long = "dns-check", value_name = "HOST", default_values_t = vec!["ghcr.io".to_string()])]
    pub dns_checks: Vec<String>,
    /// An outside host to reach over HTTPS (repeatable; `https:HOST` probes).
    #[arg(help_heading = "Probes", long = "https-check", value_name = "HOST", default_values_t = vec!["ghcr.io".to_string()])]
    pub https_checks: Vec<String>,
    /// Probe no outside host (no `dns:`/`https:` probes): for an appliance without outbound access,
    /// or a test on loopback. The platform's outbound check then says it is not probed.
    #[arg(
        help_heading = "Probes",
        long,
        env = "APPLIANCE_STATUS_NO_OUTBOUND_CHECKS"
    )]
    pub no_outbound_checks: bool,
    /// Run the storage smoke probe: a short-lived claim and pod in --storage-smoke-namespace (the
    /// only thing the service writes; needs the chart's `storageSmoke.enabled` namespace and Role).
    #[arg(
        help_heading = "Storage smoke",
        long,
        env = "APPLIANCE_STATUS_STORAGE_SMOKE"
    )]
    pub storage_smoke: bool,
    /// The image the smoke pod runs (the service's own; it has the `smoke-write` command).
    #[arg(
        help_heading = "Storage smoke",
        long,
        env = "APPLIANCE_STATUS_STORAGE_SMOKE_IMAGE",
        default_value = "ghcr.io/nine-minds/appliance-status:0.1.0"
    )]
    pub storage_smoke_image: String,
    /// Where the smoke claim and pod are created: a namespace of their own, which the chart
    /// creates (`<release namespace>-smoke`) with Pod Security `restricted` enforced.
    #[arg(
        help_heading = "Storage smoke",
        long,
        env = "APPLIANCE_STATUS_STORAGE_SMOKE_NAMESPACE",
        default_value = "appliance-system-smoke"
    )]
    pub storage_smoke_namespace: String,
    /// The storage class the smoke claim uses.
    #[arg(help_heading = "Storage smoke", long, default_value = "local-path")]
    pub storage_smoke_class: String,
    /// Time between smoke runs once one passed (e.g. 30m).
    #[arg(help_heading = "Storage smoke", long, default_value = "30m", value_parser = parse_duration)]
    pub storage_smoke_interval: jiff::SignedDuration,
    /// Do not check the selected release's images against their registry (the check is also
    /// off with --no-outbound-checks).
    #[arg(
        help_heading = "Release check",
        long,
        env = "APPLIANCE_STATUS_NO_RELEASE_CHECK"
    )]
    pub no_release_check: bool,
    /// How often the release check asks again while something is missing (while all is present:
    /// 15 times less often; while the registry is unreachable: from half of it, doubling).
    #[arg(help_heading = "Release check", long, default_value = "2m", value_parser = parse_duration)]
    pub release_check_interval: jiff::SignedDuration,
    #[command(next_help_heading = "Release check")]
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(next_help_heading = "Verdict")]
    #[command(flatten)]
    pub thresholds: ThresholdArgs,
    #[command(next_help_heading = "Connections")]
    #[command(flatten)]
    pub connections: ConnectionArgs,
    /// Log format.
    #[arg(help_heading = "Logging", long, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
}

/// `appliance-status assess`.
#[derive(Debug, Args)]
pub struct AssessArgs {
    /// The moment to assess at (RFC 3339); default: the input's own moment (a support bundle's,
    /// else the newest time written in the objects), said on stderr.
    #[arg(long)]
    pub now: Option<Timestamp>,
    /// A component catalog replacing the embedded one.
    #[arg(long)]
    pub catalog: Option<PathBuf>,
    /// A probe result, NAME=VALUE (login-url, seed-users, storage-smoke, dns:HOST, https:HOST).
    #[arg(long = "probe", value_name = "NAME=VALUE")]
    pub probes: Vec<String>,
    /// Output: the overview as text, or the document as JSON or YAML (`--format` is the same).
    #[arg(short = 'o', long, alias = "format", value_enum, default_value_t = Format::Text)]
    pub output: Format,
    #[command(flatten)]
    pub thresholds: ThresholdArgs,
    /// Files with Kubernetes objects (`-` for standard input), or a support bundle (`.tar.gz`),
    /// whose objects, remembered state and probes are replayed.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Loads the catalog from a file, or the embedded one.
pub fn load_catalog(path: Option<&Path>) -> Result<Catalog> {
    match path {
        Some(p) => Ok(Catalog::from_file(p)?),
        None => Ok(Catalog::embedded()),
    }
}

/// One input of `assess`: objects as text, or a support bundle (gzip) to replay.
enum Input {
    Objects(String),
    Bundle(Box<crate::bundle::Replay>),
}

fn read_input(path: &Path) -> Result<(String, Input)> {
    let (origin, bytes) = read_bounded(path, MAX_INPUT_BYTES)?;
    let input = input_from_bytes(&origin, bytes)?;
    Ok((origin, input))
}

/// A file's bytes (or standard input's, for `-`), refused above `limit`; returns the name to use
/// in messages with them.
pub fn read_bounded(path: &Path, limit: u64) -> Result<(String, Vec<u8>)> {
    use std::io::Read;
    let stdin = path.as_os_str() == "-";
    let origin = if stdin {
        "standard input".to_string()
    } else {
        path.display().to_string()
    };
    let read_error = |source| EngineError::Read {
        path: origin.clone(),
        source,
    };
    let mut bytes = Vec::new();
    if stdin {
        std::io::stdin()
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
    } else {
        let size = std::fs::metadata(path).map_err(read_error)?.len();
        if size > limit {
            return Err(EngineError::TooLarge {
                origin,
                size,
                limit,
            }
            .into());
        }
        std::fs::File::open(path)
            .and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
            .map_err(read_error)?;
    }
    if bytes.len() as u64 > limit {
        return Err(EngineError::TooLarge {
            origin,
            size: bytes.len() as u64,
            limit,
        }
        .into());
    }
    Ok((origin, bytes))
}

/// gzip (a support bundle) or UTF-8 text (objects).
fn input_from_bytes(origin: &str, bytes: Vec<u8>) -> Result<Input> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return crate::bundle::read(&bytes)
            .map(|r| Input::Bundle(Box::new(r)))
            .map_err(|e| Error::Replay {
                origin: origin.to_string(),
                error: Box::new(e),
            });
    }
    String::from_utf8(bytes).map(Input::Objects).map_err(|e| {
        EngineError::Input {
            origin: origin.to_string(),
            document: 1,
            message: format!("not UTF-8 text (nor a support bundle): {e}"),
        }
        .into()
    })
}

/// What `assess` found.
pub struct Assessed {
    pub document: StatusDocument,
    /// One line per kind of object skipped.
    pub warnings: Vec<String>,
    /// The moment assessed at, when `--now` did not say it.
    pub moment_note: Option<String>,
}

/// Runs `assess` at `--now`, else at the input's own moment: a support bundle's, else the newest
/// time written in the objects (`crate::moment`), else now.
pub fn run_assess(args: &AssessArgs) -> Result<Assessed> {
    let catalog = load_catalog(args.catalog.as_deref())?;
    let mut probes = Probes::default();
    for p in &args.probes {
        probes.set_pair(p)?;
    }
    let mut snapshot = Snapshot::default();
    let mut ignored = crate::objects::Ignored::default();
    // A support bundle brings the moment it describes and the service's remembered state.
    let mut bundle_time = None;
    let mut bundle_mode = None;
    let mut bundle_thresholds = None;
    for path in &args.files {
        let (origin, input) = read_input(path)?;
        let text = match &input {
            Input::Objects(text) => text,
            Input::Bundle(replay) => &replay.objects,
        };
        let parsed = parse_documents(text, &origin)?;
        ignored.merge(parsed.ignored);
        for o in parsed.objects {
            snapshot.apply(o);
        }
        if let Input::Bundle(replay) = input {
            replay
                .restore(&mut snapshot, &mut probes)
                .map_err(|e| Error::Replay {
                    origin: origin.clone(),
                    error: Box::new(e),
                })?;
            bundle_time.get_or_insert(replay.document.timestamp);
            bundle_mode.get_or_insert(replay.document.source.mode);
            if let Some(t) = &replay.state.thresholds {
                bundle_thresholds.get_or_insert(t.clone());
            }
        }
    }
    snapshot.remember();
    // A bundle's own thresholds (its hysteresis hid blockers younger than it), unless overridden.
    let thresholds = match bundle_thresholds {
        Some(t) => Thresholds {
            hysteresis: args.thresholds.hysteresis.unwrap_or(t.hysteresis),
            ..t
        },
        None => args.thresholds.thresholds(jiff::SignedDuration::ZERO),
    };
    let source = SourceInfo {
        // A bundle from a live service replays as live: the API's health counts as it did.
        mode: bundle_mode.unwrap_or(SourceMode::Scenario),
        name: Some(
            args.files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        ),
    };
    let (now, moment_note) = match (args.now, bundle_time, crate::moment::newest(&snapshot)) {
        (Some(now), _, _) => (now, None),
        (None, Some(t), _) => (
            t,
            Some(format!(
                "assessed at {t}, the moment the support bundle was written (--now to choose another)"
            )),
        ),
        (None, None, Some(t)) => (
            t,
            Some(format!(
                "assessed at {t}, the newest time written in the input (--now to choose another)"
            )),
        ),
        (None, None, None) => (
            Timestamp::now(),
            Some("no time is written in the input: assessed at the current time".to_string()),
        ),
    };
    let inputs = Inputs {
        snapshot: &snapshot,
        catalog: &catalog,
        probes: &probes,
        thresholds: &thresholds,
        source: &source,
    };
    Ok(Assessed {
        document: assess(&inputs, now).document,
        warnings: ignored.summary(),
        moment_note,
    })
}

/// The document for people: rollup, tiers with failing checks, blockers.
pub fn render_text(doc: &StatusDocument) -> String {
    let mut out = String::new();
    let line = |out: &mut String, s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(
        &mut out,
        format!("Status: {} ({})", doc.rollup.state.label(), doc.timestamp),
    );
    line(&mut out, format!("  {}", doc.rollup.message));
    line(&mut out, format!("  Next: {}", doc.rollup.next_action));
    if let Some(url) = &doc.urls.login_url {
        if doc.tiers.login.ready {
            line(&mut out, format!("Login URL: {url}"));
        }
    }
    if let Some(u) = &doc.release.update {
        line(&mut out, format!("Update: {}", u.message));
    }
    if let Some(story) = doc.timeline.login_story() {
        line(&mut out, format!("How it went: {story}"));
    }
    if let Some(e) = &doc.estimate {
        line(&mut out, format!("Estimate: {}, based on:", e.message));
        for b in &e.basis {
            line(&mut out, format!("  - {b}"));
        }
    }
    line(&mut out, String::new());
    for tier in Tier::ALL {
        let t = doc.tiers.get(tier);
        line(
            &mut out,
            format!(
                "{:<17} {}",
                tier.readiness_name(),
                if t.ready {
                    "ready".to_string()
                } else {
                    format!("not ready ({})", t.status.as_str())
                }
            ),
        );
        for c in t
            .checks
            .iter()
            .filter(|c| matches!(c.state, CheckState::Failed | CheckState::Pending))
        {
            line(
                &mut out,
                format!(
                    "    {:<8} {}{}",
                    c.state.as_str(),
                    c.description,
                    c.detail
                        .as_ref()
                        .map(|d| format!(" — {d}"))
                        .unwrap_or_default()
                ),
            );
        }
    }
    line(&mut out, String::new());
    for b in &doc.unconfirmed {
        line(
            &mut out,
            format!(
                "Just seen (not yet confirmed): {}: {}",
                b.component, b.reason
            ),
        );
    }
    if doc.top_blockers.is_empty() {
        line(&mut out, "Blockers: none".into());
    }
    for (i, b) in doc.top_blockers.iter().enumerate() {
        line(
            &mut out,
            format!(
                "{}. [{}{}] {} ({:?}): {}",
                i + 1,
                b.severity.as_str(),
                if b.login_blocking {
                    ", blocks login"
                } else {
                    ""
                },
                b.component,
                b.layer,
                b.reason
            ),
        );
        line(&mut out, format!("   Next: {}", b.next_action));
        for e in &b.evidence {
            line(
                &mut out,
                format!(
                    "   - {} {}{}: {}",
                    e.kind,
                    e.namespace
                        .as_ref()
                        .map(|n| format!("{n}/"))
                        .unwrap_or_default(),
                    e.name,
                    e.message
                ),
            );
        }
    }
    for op in &doc.active_operations {
        line(
            &mut out,
            format!(
                "In progress: {:?} {} for {}",
                op.kind,
                op.target,
                app::format::duration(op.elapsed_seconds)
            ),
        );
    }
    out
}
