// npm run docs:config [-- --check]
// Writes the stack-config key docs generated from config/docs.ts into README.md (the table) and
// Pulumi.yaml (the comment); --check writes nothing and exits 1 with a diff when either is out of date.
import * as fs from "fs";
import * as path from "path";
import { generatedDocs } from "../config/docs";

const ROOT = path.join(__dirname, "..");
export const DOC_FILES = { readme: "README.md", pulumiYaml: "Pulumi.yaml" } as const;

/** A line diff (`-` committed, `+` generated) with a line of context, for a failure message. */
export function lineDiff(committed: string, generated: string): string {
    const a = committed.split("\n");
    const b = generated.split("\n");
    // Longest common subsequence table, from the end.
    const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
    for (let i = a.length - 1; i >= 0; i--) {
        for (let j = b.length - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
    const ops: string[] = [];
    let i = 0;
    let j = 0;
    while (i < a.length || j < b.length) {
        if (i < a.length && j < b.length && a[i] === b[j]) (ops.push(`  ${a[i++]}`), j++);
        else if (j < b.length && (i === a.length || lcs[i][j + 1] > lcs[i + 1][j])) ops.push(`+ ${b[j++]}`);
        else ops.push(`- ${a[i++]}`);
    }
    const changed = new Set(ops.flatMap((op, k) => (op.startsWith("  ") ? [] : [k - 1, k, k + 1])));
    return ops.filter((_, k) => changed.has(k)).join("\n");
}

function main(argv: readonly string[]): number {
    const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");
    const committed = { readme: read(DOC_FILES.readme), pulumiYaml: read(DOC_FILES.pulumiYaml) };
    const generated = generatedDocs(committed);
    let stale = 0;
    for (const key of ["readme", "pulumiYaml"] as const) {
        if (committed[key] === generated[key]) continue;
        stale++;
        if (argv.includes("--check")) {
            console.error(`${DOC_FILES[key]} is out of date (npm run docs:config):\n${lineDiff(committed[key], generated[key])}`);
        } else {
            fs.writeFileSync(path.join(ROOT, DOC_FILES[key]), generated[key]);
            console.log(`wrote ${DOC_FILES[key]}`);
        }
    }
    return argv.includes("--check") && stale > 0 ? 1 : 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
