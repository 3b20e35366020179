// Picks the platform for a stack and its address plan. The only place that switches on `platform`.
import * as pulumi from "@pulumi/pulumi";
import { AddressPlan, assertNever, planAddresses, planAwsAddresses, StackConfig } from "../config";
import { AwsPlatform } from "./aws";
import { LocalPlatform } from "./local";
import { Platform } from "./types";

export * from "./types";
export { LocalPlatform } from "./local";
export { AwsPlatform } from "./aws";

export function createPlatform(config: StackConfig): { platform: Platform; plan: AddressPlan } {
    const counts = { consulServers: config.consul.servers, managers: config.swarm.managers, workers: config.swarm.workers };
    const namePrefix = `${pulumi.getProject()}-${config.stack}-`;
    switch (config.platform) {
        case "local": {
            const plan = planAddresses(config.network.subnet, config.lb.vip, counts);
            const platform = new LocalPlatform("local", {
                namePrefix,
                subnet: plan.subnet,
                gateway: plan.gateway,
                consulVersion: config.consul.version,
                edge: {
                    address: plan.edge,
                    bindAddress: config.edge.bindAddress,
                    hostPorts: { web: config.edge.webPort, stats: config.edge.statsPort, "consul-ui": config.edge.consulUiPort },
                    resources: config.edge.resources,
                },
            });
            return { platform, plan };
        }
        case "aws": {
            const plan = planAwsAddresses(config.network.subnet, config.aws.zones, config.lb.vip, counts);
            const platform = new AwsPlatform("aws", {
                project: pulumi.getProject(),
                namePrefix,
                stack: config.stack,
                plan,
                consulVersion: config.consul.version,
                webPorts: { min: config.web.portMin, max: config.web.portMax },
                aws: config.aws,
            });
            return { platform, plan };
        }
        default:
            return assertNever(config.platform);
    }
}
