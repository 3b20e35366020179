// The stack-config contract end to end: the real program, given bad config, throws one error naming
// every bad key, its value and the rule — before any resource exists. Each rule on its own is tested
// by calling validateStackConfig directly in tests/config/validate.test.ts (fast enough to run per mutant).
import { runProgramExpectingError } from "../harness/program";

describe("the program refuses bad config before creating anything", () => {
    test("one error lists every bad key with its value and rule, and no resource is registered", async () => {
        const { error, resources } = await runProgramExpectingError("dev", {
            consul: { servers: 4 },
            swarm: { workers: -2 },
            web: { replicas: 0 },
        });
        expect(error.message).toContain('Invalid stack config for stack "dev"');
        expect(error.message).toMatch(/consul\.servers = 4: must be an odd/);
        expect(error.message).toMatch(/swarm\.workers = -2: must be a whole number ≥ 0/);
        expect(error.message).toMatch(/web\.replicas = 0: must be a whole number from 1 to 1000/);
        expect(resources.filter((r) => r.type !== "pulumi:pulumi:Stack")).toEqual([]);
    });

    // The examples: each passed validation before, and a renderer refused it later — the
    // swarm's daemon.json after the Consul cluster was registered, the deploy script inside an apply
    // after the whole swarm was — naming its own field (defaultAddressPools, stopGracePeriodSeconds).
    test("a value only a renderer refused is refused up front, named by its config key", async () => {
        const { error, resources } = await runProgramExpectingError("dev", {
            network: { subnet: "10.0.0.0/8" },
            lb: { vip: undefined },
            web: { stopGraceSeconds: 4000, replicas: 1001, portMin: 10000, portMax: 65535, resources: { cpus: 0.0001, memoryMb: 5000000 } },
        });
        expect(error.name).toBe("StackConfigError");
        expect(error.message.split("\n").slice(1)).toEqual([
            "  - web.replicas = 1001: must be a whole number from 1 to 1000",
            "  - web.resources.cpus = 0.0001: must be a number of CPUs from 0.001 to 64, at most 3 decimals",
            "  - web.resources.memoryMb = 5000000: must be a whole number of MiB from 6 (Docker's minimum) to 4194304",
            "  - web.stopGraceSeconds = 4000: must be a whole number of seconds from 1 to 3600",
            '  - network.subnet = "10.0.0.0/8": overlaps 10.214.0.0/16, the address pool of Swarm\'s overlay networks: pick a range outside it',
        ]);
        expect(resources.filter((r) => r.type !== "pulumi:pulumi:Stack")).toEqual([]);
    });

    test("a misspelt top-level key is refused, not ignored", async () => {
        const { error, resources } = await runProgramExpectingError("dev", { webb: { replicas: 7 } });
        expect(error.message).toMatch(/webb = .*is not a known key/);
        expect(resources.filter((r) => r.type !== "pulumi:pulumi:Stack")).toEqual([]);
    });

    test("a section set as a plain string is reported, not a JSON.parse crash", async () => {
        const { error, resources } = await runProgramExpectingError("dev", { web: "7" as unknown as object });
        expect(error.message).toMatch(/web = .*must be an object/);
        expect(resources.filter((r) => r.type !== "pulumi:pulumi:Stack")).toEqual([]);
    });

    test("the prod stack (platform aws) refuses a rule of its own the same way: a VIP inside the VPC", async () => {
        const { error, resources } = await runProgramExpectingError("prod", { lb: { vip: "10.20.1.10" } });
        expect(error.message).toContain('Invalid stack config for stack "prod" (nothing was created):');
        expect(error.message).toContain(
            '  - lb.vip = "10.20.1.10": must lie outside the VPC 10.20.0.0/16: on aws the VIP is an overlay address routed to the MASTER',
        );
        expect(resources.filter((r) => r.type !== "pulumi:pulumi:Stack")).toEqual([]);
    });
});
