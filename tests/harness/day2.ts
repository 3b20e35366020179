// Reading an engine plan (tests/harness/engine.ts) the way the day-2 contract asks: which members of
// each quorum group (Consul servers, Swarm managers) — and of the groups that carry traffic (the LB
// pair, the swarm workers) — can be missing at the same time, whatever the engine's parallelism.
import { EnginePlan, Step } from "./engine";

/** A group whose members must go one at a time. */
export interface MemberGroup {
    readonly name: string;
    /** Node resource name of member i, e.g. swarm-manager-2. */
    readonly node: (i: number) => string;
    /** The script that makes member i a member (join, or the ready gate): its end means "back and healthy". */
    readonly membership: (i: number) => string;
}

export const GROUPS: readonly MemberGroup[] = [
    { name: "consul servers", node: (i) => `consul-server-${i}`, membership: (i) => `consul-server-${i}-ready` },
    { name: "swarm managers", node: (i) => `swarm-manager-${i}`, membership: (i) => (i === 0 ? "swarm-init" : `swarm-manager-${i}-join`) },
    { name: "swarm workers", node: (i) => `swarm-worker-${i}`, membership: (i) => `swarm-worker-${i}-join` },
    { name: "LB pair", node: (i) => `lb-${i}`, membership: (i) => `lb-${i}-ready` },
];

/** From the first step that takes a member out to the step after which it is back (or gone for good). */
export interface MissingWindow {
    readonly member: string;
    readonly kind: "replaced" | "removed" | "rejoined";
    readonly start: Step;
    readonly end: Step;
}

function has(plan: EnginePlan, name: string): boolean {
    try {
        plan.op(name);
        return true;
    } catch {
        return false;
    }
}

/** Every member of the group that the plan takes away, with its window. */
export function missingWindows(plan: EnginePlan, group: MemberGroup): MissingWindow[] {
    const windows: MissingWindow[] = [];
    for (let i = 0; has(plan, group.node(i)); i++) {
        const node = group.node(i);
        const op = plan.op(node).op;
        const nodeSteps = plan.stepsOf(node);
        const memberSteps = has(plan, group.membership(i)) ? plan.stepsOf(group.membership(i)) : [];
        const memberDelete = memberSteps.find((s) => s.kind === "delete");
        const nodeDelete = nodeSteps.find((s) => s.kind === "delete");
        const memberCreate = memberSteps.find((s) => s.kind === "create");
        if (op === "replace") {
            if (memberCreate === undefined) throw new Error(`${node} is replaced but ${group.membership(i)} does not run again`);
            windows.push({ member: node, kind: "replaced", start: memberDelete ?? nodeDelete!, end: memberCreate });
        } else if (op === "delete") {
            windows.push({ member: node, kind: "removed", start: memberDelete ?? nodeDelete!, end: nodeDelete! });
        } else if (op !== "create" && memberDelete !== undefined && memberCreate !== undefined) {
            windows.push({ member: node, kind: "rejoined", start: memberDelete, end: memberCreate });
        }
    }
    return windows;
}

/** Two windows that no dependency orders can overlap. */
function concurrent(plan: EnginePlan, a: MissingWindow, b: MissingWindow): boolean {
    return !plan.before(a.end, b.start) && !plan.before(b.end, a.start) && a.end !== b.start && b.end !== a.start;
}

/** The most members of the group that can be missing at once (the largest set of pairwise-concurrent windows). */
export function mostMissingAtOnce(plan: EnginePlan, group: MemberGroup): { count: number; members: string[] } {
    const windows = missingWindows(plan, group);
    let best: MissingWindow[] = [];
    const grow = (chosen: MissingWindow[], rest: MissingWindow[]) => {
        if (chosen.length > best.length) best = chosen;
        rest.forEach((w, k) => {
            if (chosen.every((c) => concurrent(plan, c, w))) grow([...chosen, w], rest.slice(k + 1));
        });
    };
    grow([], windows);
    return { count: best.length, members: best.map((w) => w.member) };
}

/** One line per group, e.g. "swarm managers: 1 (swarm-manager-0)". */
export function quorumSummary(plan: EnginePlan): Record<string, number> {
    return Object.fromEntries(GROUPS.map((g) => [g.name, mostMissingAtOnce(plan, g).count]));
}
