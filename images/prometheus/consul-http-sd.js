"use strict";
/**
 * consul-http-sd: Consul's catalog as a Prometheus HTTP service discovery endpoint (http_sd_configs,
 * https://prometheus.io/docs/prometheus/latest/http_sd/).
 *
 * Why this exists: Debian builds Prometheus without Consul service discovery ("Disable Consul SD until
 * its Debian package is back in shape", prometheus 2.33.5+ds1-4 in Debian's changelog; still so in
 * bookworm's 2.42 and trixie's 2.53), and only Debian's packages reach the machines this is built on.
 * So Prometheus asks this bridge, and the bridge asks the node's Consul agent — the same catalog
 * consul_sd_configs would read, with the same `__meta_consul_*` labels, so the scrape config's
 * relabelling is the one consul_sd_configs takes (render/prometheus.ts). Runs on Node 18.20
 * (Debian bookworm) and 20; no dependencies.
 *
 *   GET /targets                 every instance of every service in the catalog
 *   GET /targets?service=NAME    the instances of one service
 *
 * Each answer reads the catalog anew (a handful of local requests every refresh_interval): a task
 * or node that registered is a target at the next refresh. When Consul does not answer, the answer
 * is 503 and Prometheus keeps the targets it has ("if an error occurs while fetching an updated
 * targets list, Prometheus keeps using the current targets list", the HTTP SD page above).
 *
 * Environment: CONSUL_HTTP_ADDR (default http://127.0.0.1:8500), CONSUL_HTTP_TOKEN_FILE (the ACL
 * token, read on every request so a rotated token needs no restart), LISTEN_ADDR (127.0.0.1),
 * LISTEN_PORT (9091), CONSUL_TIMEOUT_MS (3000).
 */

const http = require("http");
const fs = require("fs");

const env = (name, fallback) => (process.env[name] === undefined || process.env[name] === "" ? fallback : process.env[name]);

/** Prometheus label names: [a-zA-Z_][a-zA-Z0-9_]* (consul_sd_configs sanitizes meta keys the same way). */
function labelName(key) {
    return key.replace(/[^a-zA-Z0-9_]/g, "_");
}

/** host:port, with brackets around an IPv6 address. */
function hostPort(address, port) {
    return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/** One catalog entry (GET /v1/catalog/service/:name) as a Prometheus target group. */
function targetGroup(entry) {
    const address = entry.ServiceAddress !== undefined && entry.ServiceAddress !== "" ? entry.ServiceAddress : entry.Address;
    const labels = {
        __meta_consul_address: entry.Address ?? "",
        __meta_consul_dc: entry.Datacenter ?? "",
        __meta_consul_node: entry.Node ?? "",
        __meta_consul_service: entry.ServiceName ?? "",
        __meta_consul_service_address: entry.ServiceAddress ?? "",
        __meta_consul_service_id: entry.ServiceID ?? "",
        __meta_consul_service_port: String(entry.ServicePort ?? ""),
        // Like consul_sd_configs: the tags joined with commas, and a comma on each end.
        __meta_consul_tags: `,${(entry.ServiceTags ?? []).join(",")},`,
    };
    for (const [key, value] of Object.entries(entry.ServiceMeta ?? {}))
        labels[`__meta_consul_service_metadata_${labelName(key)}`] = String(value);
    for (const [key, value] of Object.entries(entry.NodeMeta ?? {})) labels[`__meta_consul_metadata_${labelName(key)}`] = String(value);
    return { targets: [hostPort(address, entry.ServicePort)], labels };
}

function createBridge(options = {}) {
    const consulAddr = new URL(options.consulAddr ?? env("CONSUL_HTTP_ADDR", "http://127.0.0.1:8500"));
    const tokenFile = options.tokenFile ?? env("CONSUL_HTTP_TOKEN_FILE", undefined);
    const timeoutMs = Number(options.timeoutMs ?? env("CONSUL_TIMEOUT_MS", "3000"));

    function consulGet(path) {
        const headers = {};
        if (tokenFile !== undefined) headers["X-Consul-Token"] = fs.readFileSync(tokenFile, "utf8").trim();
        return new Promise((resolve, reject) => {
            // ?stale: any server may answer from its copy (consul_sd_configs' allow_stale default).
            const req = http.get(
                new URL(`${path}${path.includes("?") ? "&" : "?"}stale`, consulAddr),
                { headers, timeout: timeoutMs },
                (res) => {
                    let body = "";
                    res.setEncoding("utf8");
                    res.on("data", (chunk) => (body += chunk));
                    res.on("end", () => {
                        if (res.statusCode !== 200)
                            return reject(new Error(`consul ${path}: HTTP ${res.statusCode}: ${body.trim().slice(0, 200)}`));
                        try {
                            resolve(JSON.parse(body));
                        } catch (e) {
                            reject(new Error(`consul ${path}: ${e.message}`));
                        }
                    });
                },
            );
            req.on("timeout", () => req.destroy(new Error(`consul ${path}: no answer in ${timeoutMs} ms`)));
            req.on("error", reject);
        });
    }

    async function targets(service) {
        const names = service !== undefined ? [service] : Object.keys(await consulGet("/v1/catalog/services")).sort();
        const perService = await Promise.all(names.map((name) => consulGet(`/v1/catalog/service/${encodeURIComponent(name)}`)));
        return perService.flat().map(targetGroup);
    }

    return http.createServer((req, res) => {
        const url = new URL(req.url, "http://bridge");
        if (req.method !== "GET" || url.pathname !== "/targets") {
            res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
            return;
        }
        const service = url.searchParams.get("service") ?? undefined;
        targets(service === "" ? undefined : service).then(
            (groups) => {
                const body = JSON.stringify(groups);
                res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
            },
            (err) => {
                process.stderr.write(`consul-http-sd: ${err.message}\n`);
                res.writeHead(503, { "content-type": "text/plain" }).end(`${err.message}\n`);
            },
        );
    });
}

module.exports = { createBridge, targetGroup };

if (require.main === module) {
    const server = createBridge();
    server.listen(Number(env("LISTEN_PORT", "9091")), env("LISTEN_ADDR", "127.0.0.1"));
    const stop = () => server.close(() => process.exit(0));
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
}
