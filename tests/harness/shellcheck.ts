// shellcheck for rendered scripts: required, never skipped (CI installs it; a missing binary fails).
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export function requireShellcheck(): void {
    try {
        execFileSync("shellcheck", ["--version"], { stdio: "pipe" });
    } catch {
        throw new Error("shellcheck is not installed; these tests need it: apt-get install -y shellcheck");
    }
}

/** Runs shellcheck (every severity) on a script text; returns its report ("" = clean). */
export function shellcheck(text: string, shell: "sh" | "bash" = "sh"): string {
    requireShellcheck();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sc-"));
    const file = path.join(dir, "script");
    fs.writeFileSync(file, text);
    const r = spawnSync("shellcheck", ["--norc", "-s", shell, "-S", "style", file], { encoding: "utf8" });
    fs.rmSync(dir, { recursive: true, force: true });
    return r.status === 0 ? "" : `${r.stdout}${r.stderr}`;
}
