import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ConsulAgentSpec, IngressListener, NodeFile, Platform, PlatformNode, ScriptRun } from "../platforms/types";
import {
    AclToken,
    BASE_ACL_POLICIES,
    clientNeedsCa,
    CONSUL_PORTS,
    CONSUL_TLS_MARK,
    CONSUL_TLS_FILES,
    consulServerName,
    consulTlsMark,
    consulTlsMarksAllowed,
    ConsulTlsMode,
    consulTlsStepRefusal,
    renderAclBootstrapScript,
    renderConsulClientConfig,
    renderConsulServerConfig,
    renderConsulServerReadyScript,
    serviceRegistrationPolicy,
} from "../render/consul";
import { CONSUL_CLUSTER_DEFAULTS, consulClusterIssues, MAX_QUORUM, ResourceLimits } from "./contracts";
import { selfSignedCa, signedCertificate } from "../platforms/pki";
import { MetricsEndpoint, METRICS_REGISTER_POLICY, PROMETHEUS_CONSUL_POLICY, renderMetricsServicesConfig } from "../render/prometheus";
import { collectErrors } from "./validation";

export interface ConsulClusterArgs {
    /** Makes the nodes. */
    readonly platform: Platform;
    /** Consul servers; must be odd, 1–7. Defaults to 3. */
    readonly servers?: number;
    /** Datacenter name. Defaults to "dc1". */
    readonly datacenter?: string;
    /** Limits of each server. Defaults to 0.5 CPU, 256 MiB. */
    readonly resources?: ResourceLimits;
    /** Limits of each client agent placed beside other nodes. Defaults to 0.25 CPU, 128 MiB. */
    readonly agentResources?: ResourceLimits;
    /** Services whose tasks register themselves; each gets a write token for its own name. Defaults to []. */
    readonly registeringServices?: readonly string[];
    /** How far TLS is switched on (render/consul.ts CONSUL_TLS_MODES). Defaults to "enforce". */
    readonly tls?: ConsulTlsMode;
}

/** Options for a client agent beside a node. */
export interface ConsulAgentOptions {
    /** Give anonymous requests (DNS lookups) read access to the catalog. Defaults to false. */
    readonly catalogReadByDefault?: boolean;
    /** The node's metrics endpoints, announced in the catalog as `metrics-<what>` services for Prometheus. Defaults to none. */
    readonly metrics?: readonly MetricsEndpoint[];
}

/** What Prometheus reaches Consul with: the catalog for its targets, and the servers' own metrics. */
export interface ConsulScrapeAccess {
    /** ACL token: catalog read and agent read (the servers' /v1/agent/metrics); secret. */
    readonly token: pulumi.Output<string>;
    /** The servers' API as Prometheus scrapes it: HTTPS from consul.tls `accept` on. */
    readonly scheme: "http" | "https";
    /** With HTTPS: the CA, and a client certificate and key (secret) the servers accept. */
    readonly tls?: {
        readonly caPem: pulumi.Output<string>;
        readonly certPem: pulumi.Output<string>;
        readonly keyPem: pulumi.Output<string>;
    };
}

const CONFIG_DIR = "/consul/config";
// Config files hold the gossip key and ACL tokens: readable by the agent's user alone. The agent
// runs as its image's `consul` user (the official image's docker-entrypoint.sh drops to it with
// su-exec; images/consul-agent/consul-agent-supervise with setpriv): the platform makes that user
// the files' owner (NodeFile.owner).
const CONFIG_MODE = "0600";
const CONFIG_OWNER = "consul";

/**
 * Lifetimes of the Consul certificates, in hours. A server certificate lives a year; the first
 * `pulumi up` in its last 30 days replaces it — @pulumi/tls (terraform-provider-tls
 * internal/provider/common_cert.go `modifyPlanIfCertificateReadyForRenewal`): once "now" is past
 * `validity_end_time - early_renewal_hours` the plan sets `ready_for_renewal` and requires replacement;
 * nothing happens between two `pulumi up`s, so an `up` must run inside that window. The new certificate
 * changes the server's files, which replaces the servers one at a time (the rolling chain). The CA
 * lives ten years and is never renewed early (earlyRenewalHours 0): a new CA is a rotation of its
 * own, not a roll (docs/security.md, "Consul TLS").
 */
export const CONSUL_CERT_HOURS = { server: 365 * 24, serverRenewal: 30 * 24, ca: 10 * 365 * 24, caRenewal: 0 } as const;

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * A Consul server cluster: N servers (odd) with gossip encryption, ACLs default-deny, and the
 * platform's ACL policies and tokens created once a leader exists. Other components place client
 * agents beside their nodes with `agentFor()`.
 */
export class ConsulCluster extends pulumi.ComponentResource {
    readonly servers: PlatformNode[];
    readonly serverNames: string[];
    /** What a client agent's retry_join holds. */
    readonly retryJoin: string[];
    /** Gossip key; secret. */
    readonly gossipKey: pulumi.Output<string>;
    /** Initial management token; secret. */
    readonly managementToken: pulumi.Output<string>;
    /** Token of every agent (node write); secret. */
    readonly agentToken: pulumi.Output<string>;
    /** Token for catalog reads (DNS) on the LB nodes; secret. */
    readonly dnsToken: pulumi.Output<string>;
    /** Registration token per registering service; secret. */
    readonly serviceTokens: Record<string, pulumi.Output<string>>;
    /** Done once the ACL policies and tokens exist: agents that need them depend on it. */
    readonly aclBootstrap: ScriptRun;
    /** Per server: done once it is a voter of the Raft quorum (the rolling-replacement gate). */
    readonly serverGates: ScriptRun[];
    /** The UI/API, for the platform's ingress. */
    readonly uiListener: IngressListener<"consul-ui">;
    /** How far TLS is switched on. */
    readonly tls: ConsulTlsMode;
    /** The CA every Consul certificate chains to (absent while TLS is off). */
    readonly caCertificate?: pulumi.Output<string>;
    /**
     * A client certificate and its key (one PEM; secret) for operators and the dev edge, which reach
     * the servers' HTTPS API where it verifies incoming connections. Absent while TLS is off.
     */
    readonly operatorCertificate?: pulumi.Output<string>;
    /** How Prometheus reaches the catalog and the servers' metrics. */
    readonly scrapeAccess: ConsulScrapeAccess;
    readonly datacenter: string;
    private readonly platform: Platform;
    private readonly componentName: string;
    /** The consul.tls step checks so far: the servers', then one per client agent (agentFor). */
    private readonly tlsStepChecks: pulumi.Output<pulumi.Resource>[] = [];
    private readonly agentResources: ResourceLimits;
    private readonly caFile?: NodeFile;
    /** Token the nodes' metrics-* services are registered with; secret. */
    private readonly metricsToken: pulumi.Output<string>;

    constructor(name: string, args: ConsulClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarm-platform:consul:Cluster", name, {}, opts);
        const defaults = CONSUL_CLUSTER_DEFAULTS;
        const servers = args.servers ?? defaults.servers;
        this.datacenter = args.datacenter ?? defaults.datacenter;
        this.platform = args.platform;
        this.componentName = name;
        const resources = args.resources ?? defaults.resources;
        this.agentResources = args.agentResources ?? defaults.agentResources;
        this.tls = args.tls ?? defaults.tls;
        collectErrors("ConsulCluster", [
            ...consulClusterIssues({ servers, datacenter: this.datacenter, resources, agentResources: this.agentResources, tls: this.tls }),
        ]);
        const child = { parent: this };
        const tlsMode = this.tls;

        // The CA of every Consul certificate: private to this cluster (Consul: "The Certificate Authority
        // … should be a private CA … Any certificate signed by the CA will be allowed to communicate
        // with the cluster", https://developer.hashicorp.com/consul/docs/reference/agent/configuration-file/tls).
        // Its key stays in the state only (a Pulumi secret): no node holds it.
        const ca =
            tlsMode === "off"
                ? undefined
                : selfSignedCa(
                      name,
                      {
                          subject: { commonName: `Consul CA ${this.datacenter}`, organization: "swarm-platform" },
                          validityPeriodHours: CONSUL_CERT_HOURS.ca,
                          earlyRenewalHours: CONSUL_CERT_HOURS.caRenewal,
                          allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
                      },
                      child,
                  );
        /** A certificate of the CA: its key (secret) and the certificate. */
        const issue = (certName: string, commonName: string, sans: readonly string[], uses: string[]) => {
            if (ca === undefined) throw new Error("ConsulCluster: no CA while TLS is off");
            const cert = signedCertificate(
                certName,
                ca,
                {
                    subject: { commonName, organization: "swarm-platform" },
                    dnsNames: sans.filter((n) => !IPV4.test(n)),
                    ipAddresses: sans.filter((n) => IPV4.test(n)),
                    validityPeriodHours: CONSUL_CERT_HOURS.server,
                    earlyRenewalHours: CONSUL_CERT_HOURS.serverRenewal,
                    allowedUses: ["digital_signature", "key_encipherment", ...uses],
                },
                child,
            );
            return { keyPem: pulumi.secret(cert.keyPem), certPem: cert.certPem };
        };
        const tlsFile = (path: string, content: pulumi.Input<string>): NodeFile => ({
            path,
            content,
            mode: CONFIG_MODE,
            owner: CONFIG_OWNER,
        });
        this.caCertificate = ca?.certPem;
        this.caFile = ca === undefined ? undefined : tlsFile(CONSUL_TLS_FILES.ca, ca.certPem);
        const serverName = consulServerName(this.datacenter);
        const operator =
            ca === undefined ? undefined : issue(`${name}-operator`, `operator.${this.datacenter}.consul`, [], ["client_auth"]);
        this.operatorCertificate =
            operator === undefined ? undefined : pulumi.secret(pulumi.interpolate`${operator.certPem}${operator.keyPem}`);
        // Prometheus's own client certificate: the servers' HTTPS API verifies clients from `enforce` on.
        const scraper =
            ca === undefined ? undefined : issue(`${name}-prometheus`, `prometheus.${this.datacenter}.consul`, [], ["client_auth"]);

        // Secrets: generated here, secret in state and in every input they reach (RandomBytes marks
        // its base64 and hex outputs secret itself; a UUID's result is not secret unless asked).
        const gossip = new random.RandomBytes(`${name}-gossip-key`, { length: 32 }, child);
        this.gossipKey = pulumi.secret(gossip.base64);
        const token = (tokenName: string) => {
            const secret = new random.RandomUuid(`${name}-${tokenName}-token`, {}, { ...child, additionalSecretOutputs: ["result"] });
            const accessor = new random.RandomUuid(`${name}-${tokenName}-accessor`, {}, child);
            return { secret: pulumi.secret(secret.result), accessor: accessor.result };
        };
        const management = token("management");
        const agent = token("agent");
        const dns = token("dns");
        const metricsRegistration = token("metrics-register");
        const prometheus = token("prometheus");
        this.metricsToken = metricsRegistration.secret;
        this.scrapeAccess = {
            token: prometheus.secret,
            scheme: tlsMode === "off" ? "http" : "https",
            ...(ca === undefined || scraper === undefined
                ? {}
                : { tls: { caPem: ca.certPem, certPem: scraper.certPem, keyPem: scraper.keyPem } }),
        };
        const serviceTokens = (args.registeringServices ?? []).map((service) => ({ service, ...token(`${service}-register`) }));
        this.managementToken = management.secret;
        this.agentToken = agent.secret;
        this.dnsToken = dns.secret;
        this.serviceTokens = Object.fromEntries(serviceTokens.map((t) => [t.service, t.secret]));

        this.serverNames = Array.from({ length: servers }, (_, i) => `${name}-server-${i}`);
        const addresses = this.serverNames.map((_, i) => args.platform.nodeAddress("consul-server", i));
        this.retryJoin = args.platform.consulRetryJoin(servers);

        // Servers are created in a rolling chain: each waits until the previous one is a voter of the
        // Raft quorum again (its ready gate). A server-level change (config, image, limits) replaces
        // containers delete-first, so the chain makes the engine take ONE server away at a time; a
        // server leaves the peer set on SIGTERM (leave_on_terminate) before its container goes.
        this.servers = [];
        this.serverGates = [];
        // consul.tls moves one step per `up`: before any server is touched, the servers as they run
        // now (their marks) must be at most one step from this mode — a stack made before Consul TLS,
        // or one asked to jump, is refused with nothing replaced. Each client agent has its own check
        // (agentFor).
        const serverMark = consulTlsMark("server", tlsMode);
        const serversChecked = this.requireTlsStep(`${name}-servers-tls-step`, "server", this.serverNames);
        this.serverNames.forEach((nodeName, i) => {
            const config = pulumi
                .all([this.gossipKey, this.managementToken, this.agentToken])
                .apply(([encryptKey, managementToken, agentToken]) =>
                    renderConsulServerConfig({
                        nodeName,
                        datacenter: this.datacenter,
                        advertiseAddr: addresses[i],
                        retryJoin: this.retryJoin,
                        encryptKey,
                        agentToken,
                        managementToken,
                        bootstrapExpect: servers,
                        tls: tlsMode,
                    }),
                );
            // A server's certificate: the name verify_server_hostname checks (`server.<dc>.consul`), and
            // the names its HTTPS API is reached by on the node (localhost, 127.0.0.1) and from the
            // network (its address). Server and client use: servers dial each other with it too.
            const certificate =
                ca === undefined
                    ? undefined
                    : issue(nodeName, serverName, [serverName, "localhost", "127.0.0.1", addresses[i]], ["server_auth", "client_auth"]);
            const tlsFiles =
                certificate === undefined || this.caFile === undefined
                    ? []
                    : [this.caFile, tlsFile(CONSUL_TLS_FILES.cert, certificate.certPem), tlsFile(CONSUL_TLS_FILES.key, certificate.keyPem)];
            const previous = this.serverGates[i - 1];
            const server = args.platform.createNode(
                {
                    role: "consul-server",
                    name: nodeName,
                    index: i,
                    files: [{ path: `${CONFIG_DIR}/server.json`, content: config, mode: CONFIG_MODE, owner: CONFIG_OWNER }, ...tlsFiles],
                    resources,
                    dependsOn: [serversChecked, ...(previous === undefined ? [] : [previous.resource])],
                    ...(serverMark === "" ? {} : { marks: { [CONSUL_TLS_MARK]: serverMark } }),
                },
                this,
            );
            this.servers.push(server);
            this.serverGates.push(
                args.platform.runScript(
                    `${nodeName}-ready`,
                    {
                        node: server,
                        script: this.managementToken.apply((token) =>
                            renderConsulServerReadyScript({ nodeName, bootstrapExpect: servers, token, tls: tlsMode }),
                        ),
                    },
                    this,
                ),
            );
        });

        const tokens = pulumi
            .all([
                agent.accessor,
                agent.secret,
                dns.accessor,
                dns.secret,
                pulumi.all(serviceTokens.map((t) => pulumi.all([t.accessor, t.secret]))),
                pulumi.all([metricsRegistration.accessor, metricsRegistration.secret, prometheus.accessor, prometheus.secret]),
            ])
            .apply(
                ([
                    agentAccessor,
                    agentSecret,
                    dnsAccessor,
                    dnsSecret,
                    services,
                    [metricsAccessor, metricsSecret, promAccessor, promSecret],
                ]): AclToken[] => [
                    { description: "agents", accessorId: agentAccessor, secretId: agentSecret, policy: "agent" },
                    { description: "lb dns", accessorId: dnsAccessor, secretId: dnsSecret, policy: "dns-read" },
                    {
                        description: "metrics endpoints",
                        accessorId: metricsAccessor,
                        secretId: metricsSecret,
                        policy: METRICS_REGISTER_POLICY.name,
                    },
                    { description: "prometheus", accessorId: promAccessor, secretId: promSecret, policy: PROMETHEUS_CONSUL_POLICY.name },
                    ...services.map(([accessorId, secretId], i) => ({
                        description: `${serviceTokens[i].service} registration`,
                        accessorId,
                        secretId,
                        policy: `${serviceTokens[i].service}-register`,
                    })),
                ],
            );
        const policies = [
            ...BASE_ACL_POLICIES,
            METRICS_REGISTER_POLICY,
            PROMETHEUS_CONSUL_POLICY,
            ...serviceTokens.map((t) => serviceRegistrationPolicy(t.service)),
        ];
        this.aclBootstrap = args.platform.runClusterScript(
            `${name}-acl-bootstrap`,
            {
                nodes: this.servers,
                script: pulumi
                    .all([this.managementToken, tokens])
                    .apply(([managementToken, aclTokens]) =>
                        renderAclBootstrapScript({ managementToken, policies, tokens: aclTokens, leaderTimeoutSeconds: 120, tls: tlsMode }),
                    ),
                // Servers created anew (fresh data: `up --refresh` after the containers were lost) need
                // the ACLs again; the script is idempotent, so a rolling replacement just re-checks them.
                reapplyOn: this.servers.map((s) => s.instanceId),
                // Once every server is up: bootstrap_expect holds the election until then.
                dependsOn: this.serverGates.map((g) => g.resource),
            },
            this,
        );

        const serversAddress = args.platform.roleAddress("consul-server");
        // With TLS on, the UI and API are HTTPS (8501), and from `enforce` on plain HTTP is loopback
        // only: the ingress speaks HTTPS to the servers, checks them against the CA and the servers'
        // name, and presents the operator certificate (the listener verifies incoming connections).
        const apiPort = tlsMode === "off" ? CONSUL_PORTS.http : CONSUL_PORTS.https;
        this.uiListener = {
            name: "consul-ui",
            port: apiPort,
            // Through the servers' shared name where the platform has one: the ingress then does not
            // change (nor restart) when the server count does.
            upstreams:
                serversAddress === undefined
                    ? this.servers.map((s) => ({ name: s.name, address: s.address, port: apiPort }))
                    : [{ name: `${name}-server`, address: serversAddress, port: apiPort, maxServers: MAX_QUORUM }],
            check: true,
            // Its TLS settings follow consul.tls: not before the servers' step check passed.
            dependsOn: [serversChecked],
            ...(ca === undefined || this.operatorCertificate === undefined
                ? {}
                : { upstreamTls: { caCertificate: ca.certPem, clientCertificate: this.operatorCertificate, serverName } }),
        };

        this.registerOutputs({
            serverNames: this.serverNames,
            gossipKey: this.gossipKey,
            managementToken: this.managementToken,
            caCertificate: this.caCertificate,
        });
    }

    /**
     * Refuses the update unless each of these agents' nodes, as it runs now, is at most one consul.tls
     * step from this mode; what depends on the result waits for the check (tlsStepChecked collects it).
     */
    private requireTlsStep(checkName: string, role: "server" | "client", nodeNames: readonly string[]): pulumi.Output<pulumi.Resource> {
        const allowed = consulTlsMarksAllowed(role, this.tls);
        const checked = this.platform.requireDeployedMarks(
            checkName,
            { key: CONSUL_TLS_MARK, nodes: nodeNames.map((name) => ({ name, allowed })), refusal: consulTlsStepRefusal(this.tls) },
            this,
        );
        this.tlsStepChecks.push(checked);
        return checked;
    }

    /**
     * The mode, once every consul.tls step check so far passed — for a stack output, so a refusal
     * fails the update with its message (call it after the last agentFor).
     */
    tlsStepChecked(): pulumi.Output<ConsulTlsMode> {
        return pulumi.all(this.tlsStepChecks).apply(() => this.tls);
    }

    /** The Consul client agent to run beside a node of another component. */
    agentFor(nodeName: string, address: string, options: ConsulAgentOptions = {}): ConsulAgentSpec {
        const config = pulumi.all([this.gossipKey, this.agentToken, this.dnsToken]).apply(([encryptKey, agentToken, dnsToken]) =>
            renderConsulClientConfig({
                nodeName,
                datacenter: this.datacenter,
                advertiseAddr: address,
                retryJoin: this.retryJoin,
                encryptKey,
                agentToken,
                defaultToken: options.catalogReadByDefault ? dnsToken : undefined,
                tls: this.tls,
            }),
        );
        // auto_encrypt brings the agent's own certificate; the CA is what it checks the servers with.
        const ca = clientNeedsCa(this.tls) && this.caFile !== undefined ? [this.caFile] : [];
        // The node this agent runs on is touched only once its agent, as it runs now, is at most one
        // consul.tls step away (see the servers' check in the constructor).
        const checked = this.requireTlsStep(`${this.componentName}-${nodeName}-tls-step`, "client", [nodeName]);
        const mark = consulTlsMark("client", this.tls);
        const metrics =
            options.metrics === undefined || options.metrics.length === 0
                ? []
                : [
                      {
                          path: `${CONFIG_DIR}/metrics.json`,
                          content: pulumi.secret(
                              this.metricsToken.apply((token) => renderMetricsServicesConfig({ endpoints: options.metrics ?? [], token })),
                          ),
                          mode: CONFIG_MODE,
                          owner: CONFIG_OWNER,
                      },
                  ];
        return {
            files: [{ path: `${CONFIG_DIR}/client.json`, content: config, mode: CONFIG_MODE, owner: CONFIG_OWNER }, ...metrics, ...ca],
            resources: this.agentResources,
            dependsOn: [checked],
            ...(mark === "" ? {} : { marks: { [CONSUL_TLS_MARK]: mark } }),
        };
    }
}
