// The AwsContext the AWS platform's functions get, for tests that build a part of the platform under
// Pulumi's mock runtime without the rest: stack "test", a two-zone address plan, prefix
// swarm-platform-test-.
import * as pulumi from "@pulumi/pulumi";
import { DEFAULTS, planAwsAddresses } from "../../config";
import { AwsContext } from "../../platforms/aws/context";

export function testAwsContext(component: pulumi.Resource, platformName: string, aws: Partial<AwsContext["args"]["aws"]> = {}): AwsContext {
    return {
        component,
        platformName,
        args: {
            project: "swarm-platform",
            namePrefix: "swarm-platform-test-",
            stack: "test",
            plan: planAwsAddresses("10.20.0.0/16", 2, "192.168.255.10", { consulServers: 3, managers: 3, workers: 2 }),
            consulVersion: "1.20.2",
            aws: { ...DEFAULTS.aws, operatorCidrs: [], domain: "www.example.com", ...aws },
            webPorts: { min: 20000, max: 20099 },
        },
        region: pulumi.output("eu-west-1"),
        accountId: pulumi.output("123456789012"),
        parameterRoot: "/swarm-platform/test",
    };
}
