// Reads StrykerJS's JSON report and prints the mutation score per folder against the goal.
//
// Survivors judged equivalent (no test could ever tell them from the original, e.g. a mutated
// log message nobody reads or a bound that another rule already enforces) are listed with a reason
// in tests/mutation/equivalent.json; they leave the denominator. An entry that no longer matches a
// survivor is an error too, so the list cannot go stale silently.
//
//   npm run test:mutation          # stryker run, then this
//   npx ts-node --transpile-only tools/mutation/score.ts [report.json ...]   # default: every pass's report
import * as fs from "node:fs";
import * as path from "node:path";

/** Goal per folder (issue #17): at least 80 % of non-equivalent mutants killed. */
export const GOAL_PERCENT = 80;
export const FOLDERS = ["config", "render", "components"] as const;

type Status = "Killed" | "Survived" | "NoCoverage" | "Timeout" | "CompileError" | "RuntimeError" | "Ignored" | "Pending";

interface ReportMutant {
    readonly id: string;
    readonly mutatorName: string;
    readonly replacement?: string;
    readonly location: { readonly start: { readonly line: number; readonly column: number } };
    readonly status: Status;
}

export interface MutationReport {
    readonly files: Record<string, { readonly source: string; readonly mutants: readonly ReportMutant[] }>;
}

/** One survivor judged equivalent: where it is, what Stryker did, and why no test can tell. */
export interface EquivalentMutant {
    readonly file: string;
    readonly line: number;
    readonly mutator: string;
    readonly replacement: string;
    readonly reason: string;
}

export interface FolderScore {
    readonly folder: string;
    readonly mutants: number;
    readonly killed: number;
    readonly survived: number;
    readonly noCoverage: number;
    readonly equivalent: number;
    /** killed / (killed + survived + noCoverage), equivalents excluded; null when nothing was mutated. */
    readonly scorePercent: number | null;
}

const DETECTED: ReadonlySet<Status> = new Set(["Killed", "Timeout"]);
const UNDETECTED: ReadonlySet<Status> = new Set(["Survived", "NoCoverage"]);

function matches(e: EquivalentMutant, file: string, m: ReportMutant): boolean {
    return e.file === file && e.line === m.location.start.line && e.mutator === m.mutatorName && e.replacement === (m.replacement ?? "");
}

export function scoreByFolder(
    report: MutationReport,
    equivalents: readonly EquivalentMutant[],
    folders: readonly string[] = FOLDERS,
): { scores: FolderScore[]; stale: EquivalentMutant[] } {
    const used = new Set<EquivalentMutant>();
    const scores = folders.map((folder) => {
        let killed = 0,
            survived = 0,
            noCoverage = 0,
            equivalent = 0,
            mutants = 0;
        for (const [file, { mutants: ms }] of Object.entries(report.files)) {
            const rel = file.split(path.sep).join("/");
            if (!rel.startsWith(`${folder}/`)) continue;
            for (const m of ms) {
                if (!DETECTED.has(m.status) && !UNDETECTED.has(m.status)) continue;
                mutants++;
                if (DETECTED.has(m.status)) {
                    killed++;
                    continue;
                }
                const eq = equivalents.find((e) => matches(e, rel, m));
                if (eq !== undefined) {
                    used.add(eq);
                    equivalent++;
                } else if (m.status === "Survived") survived++;
                else noCoverage++;
            }
        }
        const counted = killed + survived + noCoverage;
        return { folder, mutants, killed, survived, noCoverage, equivalent, scorePercent: counted === 0 ? null : (100 * killed) / counted };
    });
    return { scores, stale: equivalents.filter((e) => !used.has(e)) };
}

export function formatScores(scores: readonly FolderScore[], goal = GOAL_PERCENT): string {
    const rows = scores.map((s) => {
        const score = s.scorePercent === null ? "no mutants" : `${s.scorePercent.toFixed(1)} %`;
        const verdict = s.scorePercent !== null && s.scorePercent >= goal ? "goal met" : "BELOW GOAL";
        return `| ${s.folder}/ | ${s.mutants} | ${s.killed} | ${s.survived} | ${s.noCoverage} | ${s.equivalent} | ${score} | ≥ ${goal} % | ${verdict} |`;
    });
    return [
        "| folder | mutants | killed | survived | no coverage | equivalent | score | goal | |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
        ...rows,
    ].join("\n");
}

/** The two passes of `npm run test:mutation` (tests/mutation/*.stryker.mjs), each writing its own report. */
export const PASSES = ["layers", "components"] as const;

/** One report of every pass's files; a file mutated by two passes would be counted twice, so it is refused. */
export function mergeReports(reports: readonly { name: string; report: MutationReport }[]): MutationReport {
    const files: Record<string, MutationReport["files"][string]> = {};
    const from = new Map<string, string>();
    for (const { name, report } of reports) {
        for (const [file, result] of Object.entries(report.files)) {
            const earlier = from.get(file);
            if (earlier !== undefined) throw new Error(`${file} is mutated by two passes (${earlier}, ${name}): count it once`);
            from.set(file, name);
            files[file] = result;
        }
    }
    return { files };
}

function main(): void {
    const root = path.join(__dirname, "..", "..");
    const reportFiles =
        process.argv.length > 2 ? process.argv.slice(2) : PASSES.map((p) => path.join(root, "reports", "mutation", p, "mutation.json"));
    const reports = reportFiles.map((file) => {
        if (!fs.existsSync(file)) throw new Error(`no mutation report at ${file}: run \`npm run test:mutation\``);
        return { name: file, report: JSON.parse(fs.readFileSync(file, "utf8")) as MutationReport };
    });
    const equivalents = JSON.parse(fs.readFileSync(path.join(root, "tests", "mutation", "equivalent.json"), "utf8")) as EquivalentMutant[];
    const { scores, stale } = scoreByFolder(mergeReports(reports), equivalents);
    console.log(formatScores(scores));
    for (const e of stale)
        console.error(
            `stale entry in tests/mutation/equivalent.json (no such survivor now): ${e.file}:${e.line} ${e.mutator} → ${JSON.stringify(e.replacement)}`,
        );
    const below = scores.filter((s) => s.scorePercent === null || s.scorePercent < GOAL_PERCENT);
    if (below.length > 0 || stale.length > 0) process.exitCode = 1;
}

if (require.main === module) main();
