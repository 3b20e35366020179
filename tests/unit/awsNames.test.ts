// AWS names made from the stack name: valid for the service that checks them (platforms/aws/names.ts
// cites each rule) and distinct per stack, for stack names Pulumi accepts but AWS would refuse.
import { ECR_NAME_PATTERN, associationName, ecrNamespace, ecrRepositoryName, elbName } from "../../platforms/aws/names";
import { runProgramAs } from "../harness/program";

/** ELB/target group rule: ≤ 32, [a-zA-Z0-9-], no leading/trailing hyphen, not "internal-". */
const ELB_NAME = /^(?!internal-)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?$/;
const ASSOCIATION = /^[a-zA-Z0-9_.-]{3,128}$/;
/** Stack names Pulumi accepts ([A-Za-z0-9_.-]) that break naive AWS names. */
const STACKS = ["prod", "production-green", "Prod_EU.1", "production-eu-west-1", "production-eu-west-2", "x".repeat(100), "a.b-c_d"];

test.each(STACKS)("stack %s: the NLB name obeys ELB's rule", (stack) => {
    expect(elbName("swarm-platform", stack, "ingress")).toMatch(ELB_NAME);
});

test.each(STACKS)("stack %s: the ECR repository name obeys ECR's rule", (stack) => {
    const name = ecrRepositoryName("swarm-platform", stack, "web");
    expect(name).toMatch(ECR_NAME_PATTERN);
    expect(name.length).toBeGreaterThanOrEqual(2);
    expect(name.length).toBeLessThanOrEqual(256);
    expect(name.startsWith(`${ecrNamespace("swarm-platform", stack)}/`)).toBe(true);
});

test.each(STACKS)("stack %s: association names obey SSM's rule", (stack) => {
    expect(associationName(`swarm-platform-${stack}-`, "swarm-worker-2-swarm-join-manager-token-publish", "0123456789ab")).toMatch(
        ASSOCIATION,
    );
});

test("distinct stacks get distinct names, also where they had to be cut or changed", () => {
    for (const make of [
        (s: string) => elbName("swarm-platform", s, "ingress"),
        (s: string) => ecrNamespace("swarm-platform", s),
        (s: string) => associationName(`swarm-platform-${s}-`, "lb-0-config", "0123456789ab"),
    ]) {
        const names = [...STACKS, "prod-eu-1", "prod.eu.1", "PROD"].map(make);
        expect(new Set(names).size).toBe(names.length);
    }
});

test("one stack's ECR namespace is not a prefix match for another's (IAM grants <namespace>/*)", () => {
    expect(ecrRepositoryName("swarm-platform", "prod-eu", "web").startsWith(`${ecrNamespace("swarm-platform", "prod")}/`)).toBe(false);
});

test("a short valid stack name is kept readable", () => {
    expect(elbName("swarm-platform", "prod", "ingress")).toBe("swarm-platform-prod-ingress");
    expect(ecrRepositoryName("swarm-platform", "prod", "web")).toBe("swarm-platform-prod/web");
});

describe("the program's graph under awkward stack names", () => {
    test.each(["production-green", "Prod_EU.1"])("stack %s: every NLB, target group and ECR name AWS checks is valid", async (stack) => {
        const run = await runProgramAs(stack, "prod");
        for (const nlb of run.ofType("aws:lb/loadBalancer:LoadBalancer")) expect(nlb.inputs.name).toMatch(ELB_NAME);
        for (const tg of run.ofType("aws:lb/targetGroup:TargetGroup"))
            if (tg.inputs.name !== undefined) expect(tg.inputs.name).toMatch(ELB_NAME);
        for (const repo of run.ofType("aws:ecr/repository:Repository")) expect(repo.inputs.name).toMatch(ECR_NAME_PATTERN);
        for (const a of run.ofType("aws:ssm/association:Association")) expect(a.inputs.associationName).toMatch(ASSOCIATION);
    });

    test("production-eu-west-1 and -2 in one account: no NLB or ECR name in common", async () => {
        const names = async (stack: string) => {
            const run = await runProgramAs(stack, "prod");
            return [...run.ofType("aws:lb/loadBalancer:LoadBalancer"), ...run.ofType("aws:ecr/repository:Repository")].map(
                (r) => r.inputs.name,
            );
        };
        const [one, two] = [await names("production-eu-west-1"), await names("production-eu-west-2")];
        expect(one.filter((n) => two.includes(n))).toEqual([]);
    });
});
