// Every policy of the pack over the real program's graph (index.ts under the mock runtime), for both
// stacks: both pass clean — and the rules demonstrably look at that graph (a mutated copy fails).
import {
    checkAll,
    detailedMonitoring,
    noPublicIngress,
    oddQuorum,
    publicListenerTls,
    RuleResource,
    secretContent,
    stringLeaves,
    TYPES,
} from "../../policy/rules";
import { ProgramRun, RecordedResource, runProgram } from "../harness/program";
import { ruleResources, runPack } from "./graph";

let dev: ProgramRun;
let prod: ProgramRun;
beforeAll(async () => {
    dev = await runProgram("dev");
    prod = await runProgram("prod");
});

const stacks = () => ({ dev, prod });

describe.each(["dev", "prod"] as const)("the %s stack", (stack) => {
    const run = () => stacks()[stack];

    test("passes every rule, secret-marking included", () => {
        expect(checkAll(ruleResources(run()))).toEqual([]);
    });

    test("passes the pack as the policy SDK runs it: no violation, nothing to remediate", async () => {
        const result = await runPack(run());
        expect(result.violations).toEqual([]);
        expect(result.remediations.map((r) => r.urn)).toEqual([]);
    });

    test("its secret-bearing inputs are found, and every one of them is a secret", () => {
        const found = ruleResources(run()).flatMap((r) =>
            stringLeaves(r.props)
                .filter((leaf) => secretContent(leaf.value).length > 0)
                .map((leaf) => `${r.name}:${leaf.path}`),
        );
        // Consul server/agent configs, HAProxy configs (stats auth), the ACL bootstrap and web deploy scripts.
        expect(found.length).toBeGreaterThanOrEqual(14);
        expect(found.some((f) => f.startsWith("lb-0"))).toBe(true);
        expect(found.some((f) => f.startsWith("consul-acl-bootstrap"))).toBe(true);
    });
});

/** A copy of the graph without the resources `drop` matches. */
const without = (run: ProgramRun, drop: (r: RecordedResource) => boolean) => ruleResources(run.resources.filter((r) => !drop(r)));
const mutate = (resources: RuleResource[], name: string, props: Record<string, unknown>) =>
    resources.map((r) => (r.name === name ? { ...r, props: { ...r.props, ...props } } : r));

describe("the rules read the real graph", () => {
    test("odd-quorum counts the cluster components' nodes: one Consul server or manager fewer is a violation", () => {
        expect(oddQuorum(without(dev, (r) => r.name === "consul-server-2"))).toEqual([
            expect.objectContaining({
                message: expect.stringMatching(/^Consul servers of consul: 2 \(consul-server-0, consul-server-1\)/),
            }),
        ]);
        expect(oddQuorum(without(prod, (r) => r.name === "swarm-manager-2"))).toEqual([
            expect.objectContaining({ message: expect.stringMatching(/^Swarm managers of swarm: 2/) }),
        ]);
        // Workers are not a quorum group.
        expect(oddQuorum(without(dev, (r) => r.name === "swarm-worker-1"))).toEqual([]);
    });

    test("no-public-ingress allows the ALB's listener ports and nothing else", () => {
        const graph = ruleResources(prod);
        const open = graph.filter((r) => r.type === TYPES.ingressRule && r.props.cidrIpv4 === "0.0.0.0/0");
        expect(open.map((r) => r.name)).toEqual(["aws-alb-web-443-from-internet", "aws-alb-web-80-from-internet"]);
        expect(noPublicIngress(mutate(graph, "aws-alb-web-443-from-internet", { fromPort: 22, toPort: 22 }))).toHaveLength(1);
        expect(noPublicIngress(mutate(graph, "aws-lb-web-from-alb", { cidrIpv4: "0.0.0.0/0" }))).toHaveLength(1);
        // Without the listeners, the ports are not a listener's any more.
        expect(noPublicIngress(graph.filter((r) => r.type !== "aws:lb/listener:Listener"))).toHaveLength(2);
    });

    test("public-listener-tls reads the prod ALB's listeners: the HTTPS one's policy and the HTTP one's redirect", () => {
        const graph = ruleResources(prod);
        expect(publicListenerTls(graph)).toEqual([]);
        expect(
            publicListenerTls(mutate(graph, "aws-edge-web-https", { sslPolicy: "ELBSecurityPolicy-2016-08" })).map((v) => v.message),
        ).toEqual([expect.stringMatching(/^aws-edge-web-https: sslPolicy is "ELBSecurityPolicy-2016-08"/)]);
        expect(
            publicListenerTls(mutate(graph, "aws-edge-web-http", { defaultActions: [{ type: "forward", targetGroupArn: "arn:tg" }] })),
        ).toHaveLength(1);
    });

    test("detailed-monitoring reads the prod instances: all 12 have it, and one without it is a violation", () => {
        const graph = ruleResources(prod);
        const instances = graph.filter((r) => r.type === TYPES.instance);
        expect(instances).toHaveLength(12);
        expect(instances.flatMap(detailedMonitoring)).toEqual([]);
        expect(mutate(graph, "lb-1", { monitoring: false }).flatMap(detailedMonitoring)).toEqual([
            "lb-1: monitoring is false; EC2 instances need detailed monitoring (monitoring: true)",
        ]);
    });

    test("with VRRPv2, keepalived's auth_pass is found in the LB nodes' configs, and is a secret", async () => {
        const v2 = await runProgram("dev", { lb: { vrrpVersion: 2, advertIntervalSeconds: 1 } });
        const authPass = ruleResources(v2).flatMap((r) =>
            stringLeaves(r.props)
                .filter((leaf) => secretContent(leaf.value).includes("keepalived auth_pass"))
                .map((leaf) => `${r.name}:${leaf.path}`),
        );
        expect(authPass).toEqual(["lb-0:uploads[1].content", "lb-1:uploads[1].content"]);
        expect(checkAll(ruleResources(v2))).toEqual([]);
    });

    test("a plaintext copy of a secret-bearing input is caught and remediated", async () => {
        const lb0 = dev.byName("lb-0");
        const leaked: RecordedResource = { ...lb0, rawInputs: { ...lb0.rawInputs, uploads: lb0.inputs.uploads } };
        const result = await runPack([leaked]);
        expect(result.remediations.map((r) => r.policy)).toEqual(["secrets-marked-secret"]);
        expect(checkAll(ruleResources([leaked])).map((v) => v.message)).toEqual([
            expect.stringMatching(/^lb-0: uploads\[0\]\.content holds a secret \(HAProxy stats auth\)/),
            // The node's Consul agent config (inside the node since the agent is no sidecar).
            expect.stringMatching(/^lb-0: uploads\[2\]\.content holds a secret \(Consul gossip key \(encrypt\), Consul ACL tokens/),
        ]);
    });
});
