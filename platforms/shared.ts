// What both platforms share, so neither imports the other: the address plan lookup (each platform
// owns its plan and answers Platform.nodeAddress from it), the images' build context, and the alias
// that keeps a moved declaration's URN.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { AddressPlan } from "../config";
import { assertNever, NodeRole } from "./types";

/** The plan's address of node `index` of a role; throws when the plan holds no such node. */
export function plannedAddress(plan: AddressPlan, role: NodeRole, index: number): string {
    const group = ((): readonly string[] => {
        switch (role) {
            case "consul-server":
                return plan.consulServers;
            case "swarm-manager":
                return plan.managers;
            case "swarm-worker":
                return plan.workers;
            case "lb":
                return plan.lb;
            case "monitoring":
                return [plan.monitoring];
            default:
                return assertNever(role);
        }
    })();
    const address = group[index];
    if (address === undefined) throw new Error(`the address plan holds ${group.length} ${role} addresses, none for node ${index}`);
    return address;
}

/** The build context of every image: the repo root (Dockerfiles COPY from app/ and images/). */
export const REPO_ROOT = path.join(__dirname, "..");

/** The alias that keeps a resource declared before under another parent and name (no replacement). */
export function formerName(parent: pulumi.Input<string> | undefined, name: string): pulumi.Alias[] {
    return parent === undefined ? [] : [{ name, parent }];
}
