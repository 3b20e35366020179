import * as yaml from "js-yaml";
import { CONSUL_PORTS } from "./consul";
import { shellQuote } from "./shell";

// Prometheus for the platform: its config, its alerting rules, and how a node's metrics endpoint is
// announced in Consul's catalog — pure functions of typed inputs, used by every platform.
//
// Discovery: Prometheus reads Consul's catalog through its node's agent, never a hand-written list.
// Debian's Prometheus has no consul_sd_configs, so a small bridge on the node serves the catalog as
// HTTP SD with consul_sd's labels (images/prometheus/consul-http-sd.js; docs/decisions.md). A node announces each metrics endpoint it has as a Consul service named
// `metrics-<what>` with `metrics_path` in its service Meta (metricsServiceDefinition); the web tasks
// register themselves with the same Meta key (app/server.js). So every endpoint of every node and
// task that exists now is scraped, and a new replica or node is scraped without a config change. The
// Consul servers are found as the catalog's own `consul` service (each server registers it).

/** Prometheus's own port (HTTP API and UI). */
export const PROMETHEUS_PORT = 9090;

/** The catalog bridge's port on the Prometheus node's loopback (images/prometheus/consul-http-sd.js). */
export const CONSUL_HTTP_SD_PORT = 9091;

/** The bridge's source in this repository, and where a node runs it from (the image copies it; AWS nodes get it as a file). */
export const CONSUL_HTTP_SD_SOURCE = "images/prometheus/consul-http-sd.js";
export const CONSUL_HTTP_SD_PATH = "/usr/local/lib/consul-http-sd.js";

/** Ports of the node-level metrics endpoints. */
export const METRICS_PORTS = {
    /** HAProxy's `metrics` frontend on the LB nodes: its exporter and keepalived's state. */
    lb: 8405,
    /** dockerd's `metrics-addr` on the swarm nodes (Docker's documented default port). */
    docker: 9323,
} as const;

/** Consul service names of node metrics endpoints start with this; the job is the rest of the name. */
export const METRICS_SERVICE_PREFIX = "metrics-";

/** Service Meta key holding the HTTP path of a service's metrics (Prometheus: __meta_consul_service_metadata_metrics_path). */
export const METRICS_PATH_META = "metrics_path";

/** Where the Prometheus node keeps its files (the image and the AWS node use the same paths). */
export const PROMETHEUS_PATHS = {
    config: "/etc/prometheus/prometheus.yml",
    rules: "/etc/prometheus/rules.yml",
    /** Consul ACL token Prometheus reads the catalog and the servers' metrics with (secret). */
    consulToken: "/etc/prometheus/consul.token",
    /** The Consul CA and a client certificate for the servers' HTTPS API (consul.tls from accept on). */
    consulCa: "/etc/prometheus/consul-ca.pem",
    consulCert: "/etc/prometheus/consul-client.pem",
    consulKey: "/etc/prometheus/consul-client-key.pem",
    data: "/var/lib/prometheus/metrics2",
} as const;

/** The user the Prometheus daemon runs as (Debian's package makes it). */
export const PROMETHEUS_USER = "prometheus";

/**
 * How often targets are scraped and rules evaluated. 5 s: a failover or a crashed task is over in a
 * few seconds, and at 15 s (Prometheus's default) most would leave no sample; ~40 targets at 5 s cost
 * this Prometheus little.
 */
export const PROMETHEUS_INTERVAL_SECONDS = 5;

/** How long samples are kept (Prometheus's own default is 15 days; a week of graphs is what an operator looks back on here). */
export const PROMETHEUS_RETENTION = "7d";

/** A metrics endpoint a node announces in Consul. */
export interface MetricsEndpoint {
    /** What it measures; the service is `metrics-<what>`, the scrape job `<what>`. */
    readonly what: string;
    readonly port: number;
    readonly path: string;
}

/** The LB node's endpoints: HAProxy's exporter and keepalived's state, both served by HAProxy's `metrics` frontend. */
export const LB_METRICS_ENDPOINTS: readonly MetricsEndpoint[] = [
    { what: "haproxy", port: METRICS_PORTS.lb, path: "/metrics" },
    { what: "keepalived", port: METRICS_PORTS.lb, path: "/keepalived/metrics" },
];

/** A swarm node's endpoint: its engine's metrics (Swarm's raft, nodes and tasks on managers). */
export const SWARM_NODE_METRICS_ENDPOINTS: readonly MetricsEndpoint[] = [{ what: "docker", port: METRICS_PORTS.docker, path: "/metrics" }];

/**
 * A Consul agent config file announcing a node's metrics endpoints (services defined in an agent's
 * config are registered by the agent and kept in the catalog while it runs,
 * https://developer.hashicorp.com/consul/docs/services/configuration/services-configuration-reference).
 * `token` registers them (a service's own token; the agent's default token is catalog read at most).
 * No health check: Prometheus's `up` is the check, and a target that stops answering must stay listed
 * so that `up` says 0 instead of the target silently vanishing.
 */
export function renderMetricsServicesConfig(input: { readonly endpoints: readonly MetricsEndpoint[]; readonly token: string }): string {
    if (input.endpoints.length === 0) throw new Error("renderMetricsServicesConfig: no endpoints");
    for (const e of input.endpoints) {
        if (!/^[a-z][a-z0-9-]*$/.test(e.what))
            throw new Error(`renderMetricsServicesConfig: what must match [a-z][a-z0-9-]* (got ${JSON.stringify(e.what)})`);
        if (!Number.isInteger(e.port) || e.port < 1 || e.port > 65535)
            throw new Error(`renderMetricsServicesConfig: ${e.what} port ${e.port} out of range`);
        if (!e.path.startsWith("/"))
            throw new Error(`renderMetricsServicesConfig: ${e.what} path must start with / (got ${JSON.stringify(e.path)})`);
    }
    const services = input.endpoints.map((e) => ({
        id: `${METRICS_SERVICE_PREFIX}${e.what}`,
        name: `${METRICS_SERVICE_PREFIX}${e.what}`,
        port: e.port,
        meta: { [METRICS_PATH_META]: e.path },
        token: input.token,
    }));
    return `${JSON.stringify({ services }, null, 2)}\n`;
}

/** The Consul policy of the tokens nodes announce their metrics endpoints with: those services only. */
export const METRICS_REGISTER_POLICY = {
    name: "metrics-register",
    description: "Nodes announce their metrics endpoints (services metrics-*)",
    rules: `service_prefix "${METRICS_SERVICE_PREFIX}" {\n  policy = "write"\n}\n`,
} as const;

/**
 * The Consul policy of Prometheus's token: read the catalog (consul_sd_configs lists services and
 * their nodes) and the agents' own metrics (GET /v1/agent/metrics needs agent:read,
 * https://developer.hashicorp.com/consul/api-docs/agent#view-metrics).
 */
export const PROMETHEUS_CONSUL_POLICY = {
    name: "prometheus",
    description: "Prometheus: discover targets in the catalog and read the agents' metrics",
    rules: 'agent_prefix "" {\n  policy = "read"\n}\nnode_prefix "" {\n  policy = "read"\n}\nservice_prefix "" {\n  policy = "read"\n}\n',
} as const;

/** Input of {@link renderPrometheusConfig}. */
export interface PrometheusConfigInput {
    /** Shown on every alert (external label `stack`). */
    readonly stack: string;
    readonly datacenter: string;
    /**
     * How Prometheus reaches the Consul servers' API for their metrics: plain HTTP (consul.tls off),
     * or HTTPS checked against the stack's CA with a client certificate (from `accept` on; in
     * `enforce` the servers' plain HTTP is loopback only).
     */
    readonly consulServersScheme: "http" | "https";
}

/**
 * prometheus.yml. Every target comes from the catalog, read from the node's own Consul agent (plain
 * HTTP on loopback, like every process on a node: docs/decisions.md). Relabelling gives each target `job` (what it
 * measures) and `node` (the Consul node it runs on).
 */
export function renderPrometheusConfig(input: PrometheusConfigInput): string {
    if (!/^[A-Za-z0-9._-]+$/.test(input.stack))
        throw new Error(`renderPrometheusConfig: stack must match [A-Za-z0-9._-]+ (got ${JSON.stringify(input.stack)})`);
    // The catalog through the node's bridge (images/prometheus/consul-http-sd.js), with the labels
    // consul_sd_configs gives: switching to consul_sd_configs is this function alone.
    const catalog = (service: string | undefined) => [
        {
            url: `http://127.0.0.1:${CONSUL_HTTP_SD_PORT}/targets${service === undefined ? "" : `?service=${service}`}`,
            refresh_interval: `${PROMETHEUS_INTERVAL_SECONDS}s`,
        },
    ];
    // `instance` stays the target's address and port (a node runs several web tasks); `node` names the node.
    const nodeLabels = [{ source_labels: ["__meta_consul_node"], target_label: "node" }];
    const httpsApi = input.consulServersScheme === "https";
    const config = {
        global: {
            scrape_interval: `${PROMETHEUS_INTERVAL_SECONDS}s`,
            scrape_timeout: `${PROMETHEUS_INTERVAL_SECONDS - 1}s`,
            evaluation_interval: `${PROMETHEUS_INTERVAL_SECONDS}s`,
            external_labels: { stack: input.stack, datacenter: input.datacenter },
        },
        rule_files: [PROMETHEUS_PATHS.rules],
        scrape_configs: [
            { job_name: "prometheus", static_configs: [{ targets: [`127.0.0.1:${PROMETHEUS_PORT}`] }] },
            {
                // Every service that says where its metrics are: the nodes' metrics-* services and the
                // app's own registrations (the web tasks).
                job_name: "consul-services",
                http_sd_configs: catalog(undefined),
                relabel_configs: [
                    { source_labels: [`__meta_consul_service_metadata_${METRICS_PATH_META}`], regex: "/.*", action: "keep" },
                    { source_labels: [`__meta_consul_service_metadata_${METRICS_PATH_META}`], target_label: "__metrics_path__" },
                    {
                        source_labels: ["__meta_consul_service"],
                        regex: `(?:${METRICS_SERVICE_PREFIX})?(.+)`,
                        target_label: "job",
                    },
                    ...nodeLabels,
                ],
            },
            {
                // Raft, autopilot and the catalog: each server's own telemetry (telemetry.prometheus_retention_time).
                job_name: "consul-servers",
                http_sd_configs: catalog("consul"),
                metrics_path: "/v1/agent/metrics",
                params: { format: ["prometheus"] },
                scheme: input.consulServersScheme,
                authorization: { type: "Bearer", credentials_file: PROMETHEUS_PATHS.consulToken },
                ...(httpsApi
                    ? {
                          tls_config: {
                              ca_file: PROMETHEUS_PATHS.consulCa,
                              cert_file: PROMETHEUS_PATHS.consulCert,
                              key_file: PROMETHEUS_PATHS.consulKey,
                              // The servers' certificates name server.<dc>.consul (verify_server_hostname's name).
                              server_name: `server.${input.datacenter}.consul`,
                          },
                      }
                    : {}),
                relabel_configs: [
                    // The catalog lists the servers' RPC port (8300); their API is on this one.
                    {
                        source_labels: ["__meta_consul_address"],
                        target_label: "__address__",
                        replacement: `$1:${httpsApi ? CONSUL_PORTS.https : CONSUL_PORTS.http}`,
                    },
                    ...nodeLabels,
                ],
            },
        ],
    };
    return yaml.dump(config, { lineWidth: -1, noRefs: true, sortKeys: false });
}

/** Sizes of the quorum groups the rules expect (the stack config's counts). */
export interface AlertRulesInput {
    readonly consulServers: number;
    readonly swarmManagers: number;
    readonly swarmNodes: number;
    readonly lbNodes: number;
}

/** Thresholds of the alerts, where the numbers are a choice (tests/prometheus checks each rule against them). */
export const ALERT_THRESHOLDS = {
    /** Share of the web frontend's answers that are 5xx, over 1 m. Clients see those: 1 % is already many. */
    errorRatio: 0.01,
    /** p99 of the app's request duration over 5 m, seconds: a LAN service answering a tiny page. */
    latencyP99Seconds: 0.5,
} as const;

interface AlertRule {
    readonly alert: string;
    readonly expr: string;
    readonly for?: string;
    readonly labels: { readonly severity: "page" | "ticket" };
    readonly annotations: { readonly summary: string; readonly description: string };
}

/** Every alert rule's name, in the order of the rules file. */
export const ALERT_NAMES = [
    "VipMoved",
    "VipHolderCount",
    "BackendDown",
    "LbNodeMissing",
    "ConsulServerMissing",
    "ConsulAutopilotUnhealthy",
    "SwarmManagerMissing",
    "SwarmNodeNotReady",
    "WebErrorRatioHigh",
    "WebLatencyP99High",
    "TargetDown",
] as const;

/**
 * The alerting rules (rules.yml). Each rule has a test that makes it fire and one that keeps it
 * quiet (tests/prometheus/rules.test.yml, run by `promtool test rules`).
 */
export function renderAlertRules(input: AlertRulesInput): string {
    for (const [key, value] of Object.entries(input)) {
        if (!Number.isInteger(value) || value < 0) throw new Error(`renderAlertRules: ${key} must be an integer ≥ 0 (got ${value})`);
    }
    // A group whose members all vanished (no series at all) counts as 0, not as "no data".
    const present = (expr: string) => `((${expr}) or vector(0))`;
    const rules: AlertRule[] = [
        {
            // An event, not a state: it fires at the first evaluation that sees a new MASTER (the
            // peer's transition counter; a hard-killed MASTER cannot report) and resolves when the
            // transition leaves the 2-minute window.
            alert: "VipMoved",
            expr: 'increase(keepalived_vrrp_transitions_total{state="MASTER"}[2m]) > 0',
            labels: { severity: "ticket" },
            annotations: {
                summary: "The VIP moved to {{ $labels.node }}",
                description:
                    "keepalived on {{ $labels.node }} became MASTER in the last 2 minutes: the other LB node failed, stopped or lost its HAProxy.",
            },
        },
        {
            alert: "VipHolderCount",
            expr: `${present("count(keepalived_vrrp_state == 2)")} != 1`,
            for: "15s",
            labels: { severity: "page" },
            annotations: {
                summary: "{{ $value }} LB nodes hold the VIP",
                description: "Exactly one LB node must be MASTER: none means clients reach nothing, two means a split brain.",
            },
        },
        {
            // A server that went DOWN in the last minute, or one still DOWN. The crash of a task is
            // over within seconds (Consul takes it out of DNS, its slot goes to MAINT): the check
            // transitions counter keeps it visible to a scrape that came later.
            alert: "BackendDown",
            expr: 'max without (state) (haproxy_server_status{state="DOWN"}) == 1 or increase(haproxy_server_check_up_down_total[1m]) > 0',
            labels: { severity: "ticket" },
            annotations: {
                summary: "Backend {{ $labels.proxy }}/{{ $labels.server }} went DOWN on {{ $labels.node }}",
                description: "HAProxy's health check failed a backend server: a task crashed or stopped answering /health.",
            },
        },
        {
            alert: "LbNodeMissing",
            expr: `${present('count(up{job="haproxy"} == 1)')} < ${input.lbNodes}`,
            for: "30s",
            labels: { severity: "page" },
            annotations: {
                summary: "{{ $value }} of " + input.lbNodes + " LB nodes answer",
                description: "An LB node is down: the VIP has no standby.",
            },
        },
        {
            alert: "ConsulServerMissing",
            expr: `${present('count(up{job="consul-servers"} == 1)')} < ${input.consulServers}`,
            for: "30s",
            labels: { severity: "page" },
            annotations: {
                summary: "{{ $value }} of " + input.consulServers + " Consul servers answer",
                description: "A Consul server is missing from its quorum group: one more loss may stop the cluster.",
            },
        },
        {
            alert: "ConsulAutopilotUnhealthy",
            expr: "min(consul_autopilot_healthy) == 0",
            for: "30s",
            labels: { severity: "page" },
            annotations: {
                summary: "Consul autopilot reports the servers unhealthy",
                description: "A server lags or is unreachable from the leader (autopilot health).",
            },
        },
        {
            alert: "SwarmManagerMissing",
            expr: `${present("count(swarm_node_manager == 1)")} < ${input.swarmManagers}`,
            for: "30s",
            labels: { severity: "page" },
            annotations: {
                summary: "{{ $value }} of " + input.swarmManagers + " Swarm managers answer",
                description: "A Swarm manager's engine is missing from its quorum group.",
            },
        },
        {
            // Every manager reports the cluster's nodes by state; one node not Ready is enough.
            alert: "SwarmNodeNotReady",
            expr: 'max(swarm_manager_nodes{state!="ready"}) > 0',
            for: "30s",
            labels: { severity: "ticket" },
            annotations: {
                summary: "{{ $value }} Swarm nodes are not Ready",
                description: `The managers see a node down, disconnected or unknown (the stack has ${input.swarmNodes} nodes).`,
            },
        },
        {
            alert: "WebErrorRatioHigh",
            expr:
                'sum(rate(haproxy_frontend_http_responses_total{proxy="web",code="5xx"}[1m])) / sum(rate(haproxy_frontend_http_requests_total{proxy="web"}[1m])) > ' +
                String(ALERT_THRESHOLDS.errorRatio),
            for: "1m",
            labels: { severity: "page" },
            annotations: {
                summary: "{{ $value | humanizePercentage }} of web requests fail",
                description: `More than ${ALERT_THRESHOLDS.errorRatio * 100} % of the answers clients got from the LB's web frontend were 5xx over a minute.`,
            },
        },
        {
            alert: "WebLatencyP99High",
            expr:
                'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job="web"}[5m]))) > ' +
                String(ALERT_THRESHOLDS.latencyP99Seconds),
            for: "5m",
            labels: { severity: "ticket" },
            annotations: {
                summary: "Web p99 latency is {{ $value | humanizeDuration }}",
                description: `The app's 99th percentile request duration has been above ${ALERT_THRESHOLDS.latencyP99Seconds} s for 5 minutes.`,
            },
        },
        {
            alert: "TargetDown",
            expr: "up == 0",
            for: "1m",
            labels: { severity: "ticket" },
            annotations: {
                summary: "{{ $labels.job }} at {{ $labels.instance }} ({{ $labels.node }}) does not answer scrapes",
                description: "A metrics endpoint listed in Consul has not answered for a minute.",
            },
        },
    ];
    return yaml.dump({ groups: [{ name: "swarm-platform", rules }] }, { lineWidth: -1, noRefs: true, sortKeys: false });
}

/** A file the Prometheus config script writes. */
export interface PrometheusFile {
    readonly path: string;
    /** May be a secret (the script is then secret as a whole). */
    readonly content: string;
    readonly mode: string;
    /** Readable by the prometheus user alone (mode 0600 or 0400). */
    readonly secret?: boolean;
}

/** Where the dev image's entrypoint records Prometheus's pid (the config script signals it). */
export const PROMETHEUS_PID_FILE = "/run/prometheus.pid";

/**
 * A POSIX sh script, run as root on the Prometheus node (at its start and again whenever its text
 * changes): writes Prometheus's config, rules and credentials, checks them with promtool, and makes
 * the running Prometheus reload them (SIGHUP: "Prometheus can reload its configuration at runtime",
 * https://prometheus.io/docs/prometheus/latest/configuration/configuration/). Why a script and not
 * the node's files: what Prometheus is told changes over a stack's life (the rules follow the
 * quorum groups' sizes, the scrape follows consul.tls, certificates renew), and a reload keeps the
 * node and its samples where a changed file would replace the node.
 */
export function renderPrometheusConfigScript(files: readonly PrometheusFile[]): string {
    const paths = new Set<string>();
    for (const f of files) {
        if (!/^\/etc\/prometheus\/[A-Za-z0-9._-]+$/.test(f.path)) {
            throw new Error(`renderPrometheusConfigScript: ${f.path} must be a file directly in /etc/prometheus`);
        }
        if (!/^0[0-7]{3}$/.test(f.mode)) throw new Error(`renderPrometheusConfigScript: ${f.path} mode ${f.mode} must be octal like 0644`);
        if (f.secret === true && !/^0[46]00$/.test(f.mode))
            throw new Error(`renderPrometheusConfigScript: secret ${f.path} must be mode 0600 or 0400`);
        if (paths.has(f.path)) throw new Error(`renderPrometheusConfigScript: ${f.path} twice`);
        paths.add(f.path);
    }
    for (const required of [PROMETHEUS_PATHS.config, PROMETHEUS_PATHS.rules]) {
        if (!paths.has(required)) throw new Error(`renderPrometheusConfigScript: no ${required}`);
    }
    const lines = [
        "#!/bin/sh",
        "# Writes Prometheus's config, rules and credentials, checks them, and reloads Prometheus.",
        "# shellcheck disable=SC2016 # the files' contents are single-quoted data: their $ is Prometheus's",
        "set -eu",
        "umask 077",
        "staged=$(mktemp -d /etc/prometheus/.staged.XXXXXX)",
        "trap 'rm -rf \"$staged\"' EXIT",
    ];
    files.forEach((f, i) => {
        const name = `"$staged/${i}"`;
        // printf is a builtin: a secret reaches no process's arguments.
        lines.push(`printf '%s' ${shellQuote(f.content)} >${name}`, `chmod ${f.mode} ${name}`);
        if (f.secret === true) lines.push(`chown ${PROMETHEUS_USER}:${PROMETHEUS_USER} ${name}`);
    });
    lines.push(
        "# The rules first: promtool reads them on their own, before anything is in place.",
        `promtool check rules "$staged/${files.findIndex((f) => f.path === PROMETHEUS_PATHS.rules)}" >/dev/null`,
        ...files.map((f, i) => `mv -f "$staged/${i}" ${shellQuote(f.path)}`),
        `promtool check config ${shellQuote(PROMETHEUS_PATHS.config)} >/dev/null`,
        "# Reload: Debian's unit on a host (ExecReload sends SIGHUP), the entrypoint's pid in the dev image.",
        "if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus; then",
        "  systemctl reload prometheus",
        `elif [ -s ${PROMETHEUS_PID_FILE} ]; then`,
        `  kill -HUP "$(cat ${PROMETHEUS_PID_FILE})"`,
        "fi",
        'echo "prometheus-config: written and reloaded"',
        "",
    );
    return lines.join("\n");
}
