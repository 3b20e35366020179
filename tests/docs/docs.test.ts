// The docs as a newcomer runs them: every `npm run X` names a real script, README's test command is
// what CI runs, the prerequisites name every package CI installs, and every relative link resolves
// to a file in this repository.
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "../harness/program";

const read = (rel: string) => fs.readFileSync(path.join(REPO_ROOT, rel), "utf8");
const scripts = Object.keys((JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts);

function markdownFiles(dir: string): string[] {
    return fs.readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true }).flatMap((e) => {
        const rel = path.posix.join(dir, e.name);
        if (e.isDirectory())
            return ["node_modules", ".git", ".pulumi-state", "reports", ".stryker-tmp"].includes(e.name) ? [] : markdownFiles(rel);
        return e.name.endsWith(".md") ? [rel] : [];
    });
}
const DOCS = markdownFiles(".").map((f) => f.replace(/^\.\//, ""));
const TEXTS = [
    ...DOCS,
    ".ci/run",
    ".github/workflows/test.yml",
    ".github/workflows/pull-request.yml",
    ".github/workflows/deploy.yml",
].filter((f) => fs.existsSync(path.join(REPO_ROOT, f)));

/** Debian packages an `apt-get install` line names (flags dropped). */
function aptPackages(text: string): Set<string> {
    const out = new Set<string>();
    for (const m of text.matchAll(/apt-get install ([^\n`;>&|]+)/g)) {
        for (const word of m[1].split(/\s+/)) if (/^[a-z0-9][a-z0-9.+-]+$/.test(word)) out.add(word);
    }
    return out;
}

describe("the docs", () => {
    it("finds the markdown it checks", () => {
        expect(DOCS).toEqual(expect.arrayContaining(["README.md", "docs/decisions.md", "docs/day2.md", "tests/system/README.md"]));
    });

    it.each(TEXTS)("%s: every `npm run X` names a script in package.json", (file) => {
        const named = [...read(file).matchAll(/npm run (?:--silent )?([a-z][\w:-]*)/g)].map((m) => m[1]);
        expect(named.filter((s) => !scripts.includes(s))).toEqual([]);
    });

    it.each(DOCS)("%s: every relative link resolves to a file in this repository", (file) => {
        const broken = [...read(file).matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
            .map((m) => m[1])
            .filter((target) => !/^[a-z]+:/.test(target))
            .filter((target) => {
                const resolved = path.resolve(REPO_ROOT, path.dirname(file), target);
                return !resolved.startsWith(REPO_ROOT + path.sep) || !fs.existsSync(resolved);
            });
        expect(broken).toEqual([]);
    });

    it.each(DOCS)("%s: names no file outside this repository (a clone has only what is committed)", (file) => {
        const outside = [
            ...read(file).matchAll(/(?:^|[\s`("'])((?:\/work|\/home|\/root|~)\/[^\s`)"']*|(?:\.\.\/)*shared\/[\w./-]+\.md)/gm),
        ].map((m) => m[1]);
        expect(outside).toEqual([]);
    });

    it("README's test command is the one .ci/run runs, in the same order", () => {
        const readmeBlock = read("README.md").split("```")[1];
        const readmeTest = readmeBlock
            .split("\n")
            .filter((l) => l.startsWith("npm test"))
            .flatMap((l) => l.split("&&").map((c) => c.trim()));
        const ci = read(".ci/run")
            .split("\n")
            .map((l) => l.trim())
            .filter((l) => /^(npm (test|run \S+)|scripts\/\S+\.sh)$/.test(l));
        expect(readmeTest.length).toBeGreaterThan(0);
        expect(ci).toEqual(readmeTest);
    });

    it("README's prerequisites name every Debian package .ci/run installs", () => {
        const ci = aptPackages(read(".ci/run"));
        const prerequisites = read("README.md").split("## Prerequisites")[1].split("\n## ")[0];
        const readme = aptPackages(prerequisites);
        expect(ci.size).toBeGreaterThan(3);
        expect([...ci].filter((p) => !readme.has(p))).toEqual([]);
    });
});
