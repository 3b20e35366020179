// Wiring only: read the stack config, pick the platform, build the components, export outputs.
import * as pulumi from "@pulumi/pulumi";
import {
    ConsulCluster,
    LoadBalancerPair,
    Monitoring,
    SwarmCluster,
    WebService,
    WEB_DOCKERFILE,
    WEB_HEALTH_PATH,
    WEB_SERVICE_TYPE,
} from "./components";
import { backendSlots, loadStackConfig } from "./config";
import { createPlatform } from "./platforms";

const config = loadStackConfig();
const platform = createPlatform(config);
const serviceName = "web";

const consul = new ConsulCluster("consul", {
    platform,
    servers: config.consul.servers,
    datacenter: config.consul.datacenter,
    resources: config.consul.resources,
    agentResources: config.consul.agentResources,
    registeringServices: [serviceName],
    tls: config.consul.tls,
});

// Built before the swarm: every swarm node holds it before it counts as ready (a node that rejoins
// never gets a task it cannot start). Its resources were declared inside the web service before:
// formerParent keeps their URNs, so the move replaces nothing.
const webImage = platform.buildImage({
    name: "web",
    dockerfile: WEB_DOCKERFILE,
    tag: config.web.version,
    buildArgs: { APP_VERSION: config.web.version },
    formerParent: pulumi.createUrn("web", WEB_SERVICE_TYPE),
});

const swarm = new SwarmCluster("swarm", {
    platform,
    managers: config.swarm.managers,
    workers: config.swarm.workers,
    subnet: config.network.subnet,
    nodeResources: config.swarm.nodeResources,
    consul,
    images: [webImage],
    joinTokenRotation: config.rotation.swarmJoinTokens,
});

const web = new WebService("web", {
    platform,
    swarm,
    consul,
    image: webImage,
    serviceName,
    replicas: config.web.replicas,
    version: config.web.version,
    resources: config.web.resources,
    portRange: { min: config.web.portMin, max: config.web.portMax },
    drainSeconds: config.web.drainSeconds,
    stopGraceSeconds: config.web.stopGraceSeconds,
});

const lb = new LoadBalancerPair("lb", {
    platform,
    vip: config.lb.vip,
    vrrpVersion: config.lb.vrrpVersion,
    advertIntervalSeconds: config.lb.advertIntervalSeconds,
    virtualRouterId: config.lb.virtualRouterId,
    consul,
    service: { name: serviceName, healthPath: WEB_HEALTH_PATH, maxServers: backendSlots(config.web.replicas) },
    resources: config.lb.resources,
    statsPasswordRotation: config.rotation.statsPassword,
});

// Prometheus: every node's and task's metrics from the catalog, and the alerting rules for these counts.
const monitoring = new Monitoring("monitoring", {
    platform,
    consul,
    stack: config.stack,
    expected: {
        consulServers: config.consul.servers,
        swarmManagers: config.swarm.managers,
        swarmNodes: config.swarm.managers + config.swarm.workers,
        lbNodes: 2,
    },
});

const ingress = platform.ingress("edge", [lb.webListener, lb.statsListener, consul.uiListener, monitoring.listener]);

export const webUrl = ingress.urls.web;
/** prod without aws.route53ZoneId: the records to make at your DNS provider (certificate validation, the domain). */
export const ingressDnsRecords = ingress.dnsRecords;
/** dev: the CA that issued the edge's certificate (`curl --cacert`). */
export const webCaCertificate = ingress.caCertificate;
export const vip = lb.vip;
export const consulUiUrl = ingress.urls["consul-ui"];
export const haproxyStatsUrl = ingress.urls.stats;
/** Prometheus's UI and API (dev: on the edge's loopback address; prod: the node's private address, via SSM port forwarding). */
export const prometheusUrl = ingress.urls.prometheus;
export const haproxyStatsUser = lb.statsUser;
export const haproxyStatsPassword = pulumi.secret(lb.statsPassword);
export const consulManagementToken = pulumi.secret(consul.managementToken);
/** The CA of Consul's TLS (`curl --cacert`, CONSUL_CACERT); absent while consul.tls is off. */
export const consulCaCertificate = consul.caCertificate;
/** How far Consul's TLS is on (consul.tls), once every agent was found at most one step from it. */
export const consulTls = consul.tlsStepChecked();
/** A client certificate and key (one PEM) for the Consul API where it requires one (consul.tls enforce); secret. */
export const consulOperatorCertificate = consul.operatorCertificate === undefined ? undefined : pulumi.secret(consul.operatorCertificate);
export const webVersion = config.web.version;
export const webReplicas = web.replicas;
export const quorum = {
    consulServers: config.consul.servers,
    consulFailuresTolerated: Math.floor((config.consul.servers - 1) / 2),
    swarmManagers: config.swarm.managers,
    swarmManagerFailuresTolerated: Math.floor((config.swarm.managers - 1) / 2),
};
