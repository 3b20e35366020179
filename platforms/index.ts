// Picks the platform for a stack and gives it its address plan (config/addresses.ts): the platform
// owns the plan from then on, and the components ask it for addresses (Platform.nodeAddress).
// The only place that switches on `platform`.
import * as pulumi from "@pulumi/pulumi";
import { assertNever, planAddresses, planAwsAddresses, StackConfig } from "../config";
import { AwsPlatform } from "./aws";
import { LocalPlatform } from "./local";
import { Platform } from "./types";

export * from "./types";
export { LocalPlatform } from "./local";
export { AwsPlatform } from "./aws";

export function createPlatform(config: StackConfig): Platform {
    const counts = { consulServers: config.consul.servers, managers: config.swarm.managers, workers: config.swarm.workers };
    const namePrefix = `${pulumi.getProject()}-${config.stack}-`;
    switch (config.platform) {
        case "local": {
            return new LocalPlatform("local", {
                namePrefix,
                plan: planAddresses(config.network.subnet, config.lb.vip, counts),
                consulVersion: config.consul.version,
                edge: {
                    bindAddress: config.edge.bindAddress,
                    hostPorts: {
                        web: config.edge.webPort,
                        stats: config.edge.statsPort,
                        "consul-ui": config.edge.consulUiPort,
                        prometheus: config.edge.prometheusPort,
                    },
                    httpPort: config.edge.httpPort,
                    resources: config.edge.resources,
                },
            });
        }
        case "aws": {
            return new AwsPlatform("aws", {
                project: pulumi.getProject(),
                namePrefix,
                stack: config.stack,
                plan: planAwsAddresses(config.network.subnet, config.aws.zones, config.lb.vip, counts),
                consulVersion: config.consul.version,
                webPorts: { min: config.web.portMin, max: config.web.portMax },
                aws: config.aws,
            });
        }
        default:
            return assertNever(config.platform);
    }
}
