// npm run diagram -- [--stack dev|prod]... [--out DIR] [--set section.key=value]...
// Renders the stack's topology from the program's resource graph (the real index.ts under Pulumi's
// mock runtime; no cloud, no Pulumi CLI) to DIR/<stack>.dot, .svg and .png (default docs/diagrams).
// The program is evaluated by the tests' harness, so the work runs under jest (tests/diagram/render.ts).
import { spawnSync } from "child_process";
import * as path from "path";

export interface DiagramArgs {
    readonly stacks: string[];
    readonly out: string;
    /** Config overrides by section, e.g. { swarm: { workers: 4 } }. */
    readonly overrides: Record<string, Record<string, unknown>>;
}

const STACKS = ["dev", "prod"];

export function parseArgs(argv: readonly string[]): DiagramArgs {
    const stacks: string[] = [];
    let out = "docs/diagrams";
    const overrides: Record<string, Record<string, unknown>> = {};
    for (let i = 0; i < argv.length; i++) {
        const [flag, inline] = argv[i].split(/=(.*)/s, 2);
        const value = () => {
            const v = inline ?? argv[++i];
            if (v === undefined) throw new Error(`${flag} needs a value`);
            return v;
        };
        if (flag === "--stack") {
            const stack = value();
            if (!STACKS.includes(stack)) throw new Error(`--stack ${stack}: must be one of ${STACKS.join(", ")}`);
            stacks.push(stack);
        } else if (flag === "--out") out = value();
        else if (flag === "--set") {
            const m = /^(\w+)\.(\w+)=(.*)$/.exec(value());
            if (!m) throw new Error(`--set wants section.key=value, e.g. swarm.workers=4`);
            let parsed: unknown = m[3];
            try {
                parsed = JSON.parse(m[3]);
            } catch {
                // a plain string
            }
            overrides[m[1]] = { ...(overrides[m[1]] ?? {}), [m[2]]: parsed };
        } else
            throw new Error(
                `unknown argument ${argv[i]} (usage: npm run diagram -- --stack dev|prod [--out DIR] [--set section.key=value])`,
            );
    }
    return { stacks: stacks.length > 0 ? stacks : STACKS, out, overrides };
}

function main(): number {
    let args: DiagramArgs;
    try {
        args = parseArgs(process.argv.slice(2));
    } catch (err) {
        process.stderr.write(`diagram: ${(err as Error).message}\n`);
        return 2;
    }
    const root = path.join(__dirname, "..");
    const jest = spawnSync(
        process.execPath,
        [require.resolve("jest/bin/jest"), "-c", "tests/diagram/jest.render.config.js", "--silent=false", "--verbose=false"],
        {
            cwd: root,
            stdio: "inherit",
            env: {
                ...process.env,
                DIAGRAM_STACKS: args.stacks.join(","),
                DIAGRAM_OUT: path.resolve(process.cwd(), args.out),
                DIAGRAM_OVERRIDES: JSON.stringify(args.overrides),
            },
        },
    );
    return jest.status ?? 1;
}

if (require.main === module) process.exit(main());
