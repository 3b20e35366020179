// Picks the platform for a stack. The only place that switches on `platform`.
import * as pulumi from "@pulumi/pulumi";
import { AddressPlan, StackConfig } from "../config";
import { LocalPlatform } from "./local";
import { assertNever, Platform } from "./types";

export * from "./types";
export { LocalPlatform } from "./local";

export function createPlatform(config: StackConfig, plan: AddressPlan): Platform {
    switch (config.platform) {
        case "local":
            return new LocalPlatform("local", {
                namePrefix: `${pulumi.getProject()}-${config.stack}-`,
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
        case "aws":
            throw new pulumi.RunError('platform "aws" is not implemented yet: the prod stack lands with the AWS issue (#3)');
        default:
            return assertNever(config.platform);
    }
}
