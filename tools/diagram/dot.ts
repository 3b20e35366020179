// Topology → Graphviz DOT. A grid: one row per role (LB pair, web service, managers, workers, Consul
// servers; a header on the left says what the row is) and, when the stack spans zones, one column per
// zone (a failure domain: losing a column loses one node of each row); clients, the ingress and the
// VIP on top; the flows as edges.
import { Role, Topology, TopologyNode } from "./topology";

const FONT = "DejaVu Sans,Helvetica,Arial,sans-serif";
const FILL: Record<Role | "ingress" | "vip" | "web" | "clients", string> = {
    clients: "#ffffff",
    ingress: "#ffcdb2",
    vip: "#ffe8a3",
    lb: "#f6bd60",
    "swarm-manager": "#8ecae6",
    "swarm-worker": "#cfe8f3",
    "consul-server": "#b7e4c7",
    web: "#e2ece9",
};

/** A DOT string literal. */
const q = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
const attrs = (a: Record<string, string | number | boolean | undefined>) =>
    `[${Object.entries(a)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${typeof v === "string" ? q(v) : v}`)
        .join(", ")}]`;
const id = (s: string) => s.replace(/[^A-Za-z0-9]/g, "_");
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
const INVISIBLE = attrs({ style: "invis" });

function nodeLine(n: TopologyNode): string {
    const extra = [n.size, n.consulAgent ? "+ Consul agent" : undefined].filter(Boolean).join(" · ");
    return `${q(n.name)} ${attrs({ label: `${n.name}\n${n.address}\n${extra}`, fillcolor: FILL[n.role] })};`;
}

export function toDot(t: Topology): string {
    const out: string[] = [];
    const push = (line: string) => out.push(`    ${line}`);
    const of = (role: Role) => t.nodes.filter((n) => n.role === role);
    const lbs = of("lb");
    const managers = of("swarm-manager");
    const workers = of("swarm-worker");
    const servers = of("consul-server");
    const multiZone = t.zones.length > 1;
    const failures = (n: number) => `tolerates ${plural(n, "failure")}`;

    out.push(`digraph ${q(`swarm-platform-${t.stack}`)} {`);
    push(
        `graph ${attrs({
            label: `swarm-platform · ${t.stack} stack (platform ${t.platform})\n${t.network}`,
            labelloc: "t",
            fontname: FONT,
            fontsize: 18,
            rankdir: "TB",
            newrank: true,
            nodesep: 0.3,
            ranksep: 0.5,
            pad: 0.3,
            bgcolor: "white",
        })};`,
    );
    push(`node ${attrs({ shape: "box", style: "rounded,filled", fontname: FONT, fontsize: 10, margin: "0.12,0.06" })};`);
    push(`edge ${attrs({ fontname: FONT, fontsize: 9, color: "#444444" })};`);

    // Row headers, down the left.
    const rows: { key: string; label: string; members: TopologyNode[] }[] = [
        ...(multiZone ? [{ key: "row_zones", label: `zones (${t.zones.length})\nfailure domains`, members: [] }] : []),
        { key: "row_lb", label: `LB pair (${lbs.length})\nHAProxy + keepalived`, members: lbs },
        { key: "row_web", label: "web service\n(Swarm tasks)", members: [] },
        {
            key: "row_managers",
            label: `Swarm managers (${managers.length})\nRaft, ${failures(t.quorum.managersTolerate)}`,
            members: managers,
        },
        { key: "row_workers", label: `Swarm workers (${workers.length})`, members: workers },
        {
            key: "row_consul",
            label: `Consul servers (${servers.length})\nRaft, ${failures(t.quorum.consulTolerates)}\ngossip encrypted, ACL default deny`,
            members: servers,
        },
    ];
    for (const row of rows) push(`${row.key} ${attrs({ label: row.label, shape: "plaintext", style: "", fontsize: 11 })};`);
    for (let i = 1; i < rows.length; i++) push(`${rows[i - 1].key} -> ${rows[i].key} ${attrs({ style: "invis", weight: 20 })};`);

    // Clients, the ingress, the VIP.
    push(
        `clients ${attrs({ label: t.platform === "aws" ? "internet" : "clients on this machine", shape: "oval", fillcolor: FILL.clients })};`,
    );
    const listenerLines = t.ingress.listeners.map((l) => `${l.bind} → ${l.name}${l.note ? ` (${l.note})` : ""}`);
    push(`ingress ${attrs({ label: `${t.ingress.name}\n${t.ingress.kind}\n${listenerLines.join("\n")}`, fillcolor: FILL.ingress })};`);
    push(`clients -> ingress ${attrs({ label: t.ingress.listeners.map((l) => l.bind).join("  ") })};`);
    push(
        `vip ${attrs({ label: `VIP ${t.vip.address}\n${t.vip.mechanism}`, shape: "ellipse", style: "filled,dashed", fillcolor: FILL.vip })};`,
    );
    push(`{ rank=same; vip; }`);

    // The grid. Clusters would group zones visually, but dot then ignores the left-to-right order:
    // zones are columns under a header node instead, rows are ranks ordered by flat invisible edges.
    push(
        `web ${attrs({
            label: `service web ${t.web.version} × ${t.web.replicas} tasks\non ${t.web.placement}, host network, self-register in Consul`,
            shape: "component",
            fillcolor: FILL.web,
        })};`,
    );
    for (const n of t.nodes) push(nodeLine(n));
    const zoneId = (zone: string) => `zone_${id(zone)}`;
    if (multiZone) {
        for (const zone of t.zones) {
            push(`${zoneId(zone)} ${attrs({ label: zone, shape: "box", style: "dashed,rounded", fontsize: 11, color: "#999999" })};`);
            push(`vip -> ${zoneId(zone)} ${INVISIBLE};`);
        }
        for (const zone of t.zones) {
            const column = [zoneId(zone), ...rows.flatMap((row) => row.members.filter((n) => n.zone === zone)).map((n) => q(n.name))];
            for (let i = 1; i < column.length; i++) push(`${column[i - 1]} -> ${column[i]} ${attrs({ style: "invis", weight: 5 })};`);
        }
    }

    // Rows: same rank as their header, zones (then names) left to right.
    const zoneIndex = (n: TopologyNode) => t.zones.indexOf(n.zone);
    const rowMembers = (row: (typeof rows)[number]) =>
        row.key === "row_zones"
            ? t.zones.map(zoneId)
            : row.key === "row_web"
              ? ["web"]
              : [...row.members].sort((a, b) => zoneIndex(a) - zoneIndex(b)).map((n) => q(n.name));
    for (const row of rows) {
        const members = rowMembers(row);
        if (members.length === 0) continue;
        push(`{ rank=same; ${row.key}; ${members.join("; ")}; }`);
        const chain = [row.key, ...members];
        for (let i = 1; i < chain.length; i++) push(`${chain[i - 1]} -> ${chain[i]} ${INVISIBLE};`);
    }

    // Flows: clients → ingress → (VIP →) HAProxy → web tasks.
    const web = t.ingress.listeners.find((l) => l.name === "web" || l.targets.some((x) => lbs.some((n) => n.name === x)));
    if (web?.targets.includes("vip")) {
        const viaVip = t.ingress.listeners.filter((l) => l.targets.includes("vip")).map((l) => `${l.name} :${l.targetPort}`);
        push(`ingress -> vip ${attrs({ label: viaVip.join(", ") })};`);
        for (const lb of lbs) push(`vip -> ${q(lb.name)} ${attrs({ style: "dashed", label: "MASTER holds it" })};`);
    } else {
        for (const target of web?.targets ?? [])
            push(`ingress -> ${q(target)} ${attrs({ label: `${web?.name} → :${web?.targetPort}`, color: "#c0392b" })};`);
        // The overlay VIP is an internal entry point: a route that follows the MASTER.
        for (const lb of lbs) push(`vip -> ${q(lb.name)} ${attrs({ style: "dashed", label: "route", arrowhead: "empty" })};`);
        push(`ingress -> vip ${INVISIBLE};`);
    }
    for (const [a, b] of t.vrrpPeers)
        push(`${q(a)} -> ${q(b)} ${attrs({ dir: "both", style: "dashed", color: "#b8860b", label: "VRRP unicast", constraint: false })};`);
    lbs.forEach((lb, i) => push(`${q(lb.name)} -> web ${attrs({ label: i === 0 ? `HTTP via ${t.web.discovery}` : undefined })};`));
    const runsOn = t.web.placement === "workers" ? workers : [...managers, ...workers];
    for (const n of runsOn) push(`web -> ${q(n.name)} ${attrs({ style: "dotted", arrowhead: "none", color: "#7a7a7a" })};`);
    // The Consul UI listener (local edge) goes straight to the servers.
    const ui = t.ingress.listeners.find((l) => l.targets.some((x) => servers.some((s) => s.name === x)));
    if (ui && ui.targets.length > 0)
        push(
            `ingress -> ${q(ui.targets[Math.floor(ui.targets.length / 2)])} ${attrs({ label: `${ui.name} → every server :${ui.targetPort}`, style: "dotted", color: "#2d6a4f", fontcolor: "#2d6a4f", constraint: false })};`,
        );
    // Every other node's Consul agent talks to the servers: one edge for the tier.
    if (t.nodes.some((n) => n.consulAgent))
        push(
            `row_workers -> row_consul ${attrs({ label: "Consul agent on every\nLB and swarm node:\ngossip + RPC, ACL tokens", color: "#2d6a4f", fontcolor: "#2d6a4f" })};`,
        );
    out.push("}");
    return `${out.join("\n")}\n`;
}
