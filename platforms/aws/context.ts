// What every part of the aws platform shares: the stack's settings, the looked-up account facts and
// the naming helpers. One place, so network, IAM, nodes, scripts, images and ingress agree.
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { AwsAddressPlan, AwsConfig } from "../../config";

export interface AwsPlatformArgs {
    /** The Pulumi project: the first part of AWS names (see names.ts). */
    readonly project: string;
    /** Prefix of the Name tag of every resource, e.g. "swarm-platform-prod-". */
    readonly namePrefix: string;
    readonly stack: string;
    readonly plan: AwsAddressPlan;
    /** Official Consul image tag (pinned). */
    readonly consulVersion: string;
    readonly aws: AwsConfig;
    /** The port range web tasks bind on swarm nodes: opened from the LB nodes only. */
    readonly webPorts: { readonly min: number; readonly max: number };
}

/** The platform component and what its parts read. */
export interface AwsContext {
    /** Parent of the platform's own resources (network, IAM, images, ingress). */
    readonly component: pulumi.Resource;
    /** The component's name ("aws"): prefix of its resources' Pulumi names. */
    readonly platformName: string;
    readonly args: AwsPlatformArgs;
    readonly region: pulumi.Output<string>;
    readonly accountId: pulumi.Output<string>;
    /** SSM parameter path prefix of this stack. */
    readonly parameterRoot: string;
}

/** Tags every resource carries: its AWS name and the stack it belongs to. */
export function stackTags(args: AwsPlatformArgs, resourceName: string): Record<string, string> {
    return { Name: `${args.namePrefix}${resourceName}`, "swarm-platform:stack": args.stack };
}

/** A short stable hash for names. */
export function shortHash(text: string): string {
    return crypto.createHash("sha256").update(text).digest("hex").slice(0, 12);
}
