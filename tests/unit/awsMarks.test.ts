// Platform.requireDeployedMarks on AWS (platforms/aws/node.ts): it reads the tags of this stack's
// instances of the checked nodes (readDeployedMarks: EC2 DescribeInstances through the provider's
// getInstances and getInstance data sources, which run in preview too) and fails with
// deployedMarksRefusal's text unless each mark is allowed. (The failure itself is a RunError thrown
// in an apply: under the mock runtime its unawaited promises reject outside any test's reach, so the
// read and the refusal are tested here, the throw is one line.) Built under Pulumi's mock runtime from the platform's own function, without the rest of
// the platform. The program-level wiring (servers and client agents checked, instances tagged) is in
// tests/unit/prodStack.test.ts and tests/components/consulCluster.test.ts.
import * as pulumi from "@pulumi/pulumi";
import { AwsContext } from "../../platforms/aws/context";
import { testAwsContext } from "../harness/awsContext";
import { readDeployedMarks } from "../../platforms/aws/node";
import { DeployedMarksCheck, deployedMarksRefusal } from "../../platforms/types";
import { consulTlsMarksAllowed, consulTlsStepRefusal } from "../../render/consul";

interface Instance {
    id: string;
    tags: Record<string, string>;
}
let running: Instance[] = [];
const describeCalls: Record<string, any>[] = [];

pulumi.runtime.setMocks(
    {
        newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
        call: (args) => {
            if (args.token === "aws:ec2/getInstances:getInstances") {
                describeCalls.push(args.inputs);
                const filter = (name: string): string[] => args.inputs.filters.find((f: { name: string }) => f.name === name)?.values ?? [];
                const found = running.filter(
                    (i) =>
                        filter("tag:swarm-platform:stack").includes(i.tags["swarm-platform:stack"]) &&
                        filter("tag:Name").includes(i.tags.Name),
                );
                return { id: "x", ids: found.map((i) => i.id), privateIps: [], publicIps: [], ipv6Addresses: [] };
            }
            if (args.token === "aws:ec2/getInstance:getInstance") {
                const instance = running.find((i) => i.id === args.inputs.instanceId);
                if (instance === undefined) throw new Error(`no instance ${args.inputs.instanceId}`);
                return { id: instance.id, tags: instance.tags };
            }
            throw new Error(`unexpected invoke ${args.token}`);
        },
    },
    "swarm-platform",
    "test",
    false,
);

class Owner extends pulumi.ComponentResource {
    constructor(name: string) {
        super("test:index:Owner", name);
    }
}

const owner = new Owner("owner");
const ctx: AwsContext = testAwsContext(owner, "aws");

const servers = (desired: "off" | "accept" | "permissive" | "enforce"): DeployedMarksCheck => ({
    key: "consul-tls",
    nodes: ["consul-server-0", "consul-server-1", "consul-server-2"].map((name) => ({
        name,
        allowed: consulTlsMarksAllowed("server", desired),
    })),
    refusal: consulTlsStepRefusal(desired),
});

const instance = (id: string, node: string, mark?: string, stack = "test"): Instance => ({
    id,
    tags: {
        Name: `swarm-platform-${stack}-${node}`,
        "swarm-platform:stack": stack,
        ...(mark === undefined ? {} : { "swarm-platform:consul-tls": mark }),
    },
});

/** The check's outcome: "passed" or the refusal's text. */
async function outcome(check: DeployedMarksCheck): Promise<string> {
    const deployed: Map<string, string> = await (readDeployedMarks(ctx, check, owner) as any).promise();
    return deployedMarksRefusal(check, deployed) ?? "passed";
}

describe("requireDeployedMarks on AWS: the instances' tags as they run now", () => {
    afterEach(() => (running = []));

    test("a new stack (no instance yet) passes at any mode", async () => {
        expect(await outcome(servers("enforce"))).toBe("passed");
    });

    test("instances made before Consul TLS (no tag) refuse enforce: key, value, rule, and each node as it runs", async () => {
        running = [instance("i-0", "consul-server-0"), instance("i-1", "consul-server-1"), instance("i-2", "consul-server-2")];
        const refusal = await outcome(servers("enforce"));
        expect(refusal).toContain('consul.tls: "enforce" cannot be reached in one pulumi up');
        expect(refusal).toContain("off → accept → permissive → enforce");
        expect(refusal).toContain(
            "Nodes as they run now (consul-tls):\n  consul-server-0: (none)\n  consul-server-1: (none)\n  consul-server-2: (none)",
        );
    });

    test("the same instances pass one step (accept); a half-rolled step is judged node by node", async () => {
        running = [instance("i-0", "consul-server-0"), instance("i-1", "consul-server-1"), instance("i-2", "consul-server-2")];
        expect(await outcome(servers("accept"))).toBe("passed");
        running = [
            instance("i-0", "consul-server-0", "permissive"),
            instance("i-1", "consul-server-1", "accept"),
            instance("i-2", "consul-server-2", "permissive"),
        ];
        expect(await outcome(servers("permissive"))).toBe("passed");
        const refusal = await outcome(servers("enforce"));
        expect(refusal).toContain("consul-server-1: accept");
        expect(refusal).not.toContain("consul-server-0");
    });

    test("only this stack's instances of those nodes count, in any state but terminated", async () => {
        running = [instance("i-9", "consul-server-0", undefined, "other")];
        expect(await outcome(servers("enforce"))).toBe("passed");
        const last = describeCalls[describeCalls.length - 1];
        expect(last.instanceStateNames).toEqual(["pending", "running", "stopping", "stopped"]);
        expect(last.filters).toEqual([
            { name: "tag:swarm-platform:stack", values: ["test"] },
            {
                name: "tag:Name",
                values: [
                    "swarm-platform-test-consul-server-0",
                    "swarm-platform-test-consul-server-1",
                    "swarm-platform-test-consul-server-2",
                ],
            },
        ]);
    });
});
