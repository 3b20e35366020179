// The picture of the stack follows the program's resource graph, and Graphviz renders it.
import { parseArgs } from "../../scripts/diagram";
import { toDot } from "../../tools/diagram/dot";
import { runDot } from "../../tools/diagram/render";
import { Topology, topologyOf } from "../../tools/diagram/topology";
import { ProgramRun, runProgram } from "../harness/program";

let dev: ProgramRun;
let prod: ProgramRun;
beforeAll(async () => {
    dev = await runProgram("dev");
    prod = await runProgram("prod");
});

/** Node statements of the DOT text whose name matches. */
const dotNodes = (dot: string, pattern: RegExp) =>
    [...dot.matchAll(/^\s*"([^"]+)" \[label=/gm)].map((m) => m[1]).filter((name) => pattern.test(name));
const names = (t: Topology, role: string) => t.nodes.filter((n) => n.role === role).map((n) => n.name);

describe("the topology read off the graph", () => {
    test("dev: nodes by role on one engine, the edge in front of the VIP, the LB pair as VRRP peers", () => {
        const t = topologyOf(dev);
        expect(t.platform).toBe("local");
        expect(t.zones).toEqual(["local Docker engine"]);
        expect(names(t, "consul-server")).toEqual(["consul-server-0", "consul-server-1", "consul-server-2"]);
        expect(names(t, "swarm-manager")).toHaveLength(3);
        expect(names(t, "swarm-worker")).toEqual(["swarm-worker-0", "swarm-worker-1"]);
        expect(names(t, "lb")).toEqual(["lb-0", "lb-1"]);
        expect(t.vip.address).toBe("10.77.0.10");
        expect(t.ingress.listeners.map((l) => [l.name, l.bind, l.targets[0]])).toEqual([
            ["web", "127.0.0.1:8443", "vip"],
            ["stats", "127.0.0.1:8404", "vip"],
            ["consul-ui", "127.0.0.1:8500", "consul-server-0"],
            ["prometheus", "127.0.0.1:9090", "10.77.0.5"],
        ]);
        expect(t.vrrpPeers).toEqual([["lb-0", "lb-1"]]);
        expect(t.nodes.filter((n) => n.consulAgent).map((n) => n.role)).not.toContain("consul-server");
        expect(t.nodes.filter((n) => n.role !== "consul-server").every((n) => n.consulAgent)).toBe(true);
        expect(t.web).toMatchObject({ replicas: 3, placement: "workers" });
    });

    test("prod: nodes spread over the zones, the ALB forwarding HTTPS to both HAProxy nodes and redirecting HTTP, the overlay VIP", () => {
        const t = topologyOf(prod);
        expect(t.platform).toBe("aws");
        expect(t.zones).toEqual(["eu-west-1a", "eu-west-1b", "eu-west-1c"]);
        expect(t.nodes.filter((n) => n.role === "consul-server").map((n) => n.zone)).toEqual(t.zones);
        expect(t.ingress.listeners).toEqual([
            { name: "HTTPS :443", bind: ":443", targets: ["lb-0", "lb-1"], targetPort: 80, note: "health HTTP /lb-health" },
            { name: "HTTP :80", bind: ":80", targets: [], note: "redirect to HTTPS :443" },
        ]);
        expect(t.ingress.kind).toBe("ALB, internet-facing");
        expect(t.vip.address).toBe("192.168.255.10");
        expect(t.vrrpPeers).toEqual([["lb-0", "lb-1"]]);
        expect(t.quorum).toEqual({ consulServers: 3, consulTolerates: 1, managers: 3, managersTolerate: 1 });
    });
});

describe("the DOT picture", () => {
    test("has a node for every platform node, and follows swarm.workers", async () => {
        const before = toDot(topologyOf(dev));
        const scaled = await runProgram("dev", { swarm: { workers: 4 } });
        const after = toDot(topologyOf(scaled));
        expect(dotNodes(before, /^swarm-worker-\d+$/)).toEqual(["swarm-worker-0", "swarm-worker-1"]);
        expect(dotNodes(after, /^swarm-worker-\d+$/)).toEqual(["swarm-worker-0", "swarm-worker-1", "swarm-worker-2", "swarm-worker-3"]);
        expect(dotNodes(after, /./).length - dotNodes(before, /./).length).toBe(2);
        expect(after).toContain("Swarm workers (4)");
        for (const n of topologyOf(dev).nodes) expect(dotNodes(before, /./)).toContain(n.name);
    });

    test("shows the flows: ingress → VIP → LB pair → web tasks, VRRP between the pair, agents → Consul", () => {
        const dot = toDot(topologyOf(dev));
        expect(dot).toMatch(/clients -> ingress/);
        expect(dot).toMatch(/ingress -> vip \[label="web :80, stats :8404"\]/);
        expect(dot).toMatch(/vip -> "lb-0"/);
        expect(dot).toMatch(/"lb-0" -> "lb-1" \[dir="both", style="dashed"[^\]]*label="VRRP unicast"/);
        expect(dot).toMatch(/"lb-0" -> web \[label="HTTP via Consul DNS SRV _web\._tcp"\]/);
        expect(dot).toMatch(/row_workers -> row_consul \[label="Consul agent on every/);
        const prodDot = toDot(topologyOf(prod));
        expect(prodDot).toMatch(/ingress -> "lb-0" \[label="HTTPS :443 → :80"/);
        expect(prodDot).toMatch(/ingress -> "lb-1" \[label="HTTPS :443 → :80"/);
        for (const zone of ["eu-west-1a", "eu-west-1b", "eu-west-1c"]) expect(prodDot).toContain(`label="${zone}"`);
    });

    test.each(["dev", "prod"])("the %s picture renders with Graphviz's dot, to SVG and PNG, without a warning", (stack) => {
        const dot = toDot(topologyOf(stack === "dev" ? dev : prod));
        const svg = runDot(dot, "svg").toString("utf8");
        expect(svg).toMatch(/<svg[\s>]/);
        expect(svg).toContain("swarm&#45;manager&#45;2");
        expect(runDot(dot, "png").subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    });

    test("a broken DOT fails loudly", () => {
        expect(() => runDot("digraph { a -> }", "svg")).toThrow(/dot -Tsvg failed/);
    });
});

describe("npm run diagram -- …", () => {
    test("takes --stack (default both), --out and --set section.key=value", () => {
        expect(parseArgs([])).toEqual({ stacks: ["dev", "prod"], out: "docs/diagrams", overrides: {} });
        expect(parseArgs(["--stack", "prod", "--out=/tmp/x", "--set", "swarm.workers=4", "--set", "web.version=1.1.0"])).toEqual({
            stacks: ["prod"],
            out: "/tmp/x",
            overrides: { swarm: { workers: 4 }, web: { version: "1.1.0" } },
        });
        expect(() => parseArgs(["--stack", "qa"])).toThrow(/must be one of dev, prod/);
        expect(() => parseArgs(["--bogus"])).toThrow(/unknown argument --bogus/);
    });
});
