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
        expect(error.message).toMatch(/web\.replicas = 0: must be a whole number ≥ 1/);
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
