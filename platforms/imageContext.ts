// The build context pulumi-docker hashes for a docker.Image: the files an image is made of. The aws
// platform tags its images with a digest of them (contentTag), and the engine model in tests reads
// it to tell which file edits rebuild an image (pulumi-docker provider/provider.go: Check adds the implicit input
// `build.contextDigest = hashContext(context, dockerfile)`; Diff compares it like any input, and any
// Image input change is an UPDATE = rebuild, never a replacement).
//
// What hashContext covers (pulumi-docker provider/provider.go hashContext, getIgnorePatterns):
// - the Dockerfile, always (under the name "Dockerfile");
// - every file of the context not excluded by `<dockerfile>.dockerignore` — or, when that file does
//   not exist, by `<context>/.dockerignore` (the first found is used alone);
// - per file: its relative path, its mode and a sha256 of its content.
// @balena/dockerignore implements Docker's own pattern rules (moby patternmatcher), which is what
// pulumi-docker's fsutil.Walk applies.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import ignore from "@balena/dockerignore";

/** The ignore file pulumi-docker reads for this Dockerfile, or undefined when there is none. */
export function ignoreFileFor(context: string, dockerfile: string): string | undefined {
    const candidates = [`${dockerfile}.dockerignore`, path.join(context, ".dockerignore")];
    return candidates.find((f) => fs.existsSync(f));
}

function patterns(file: string | undefined): string[] {
    if (file === undefined) return [];
    return fs
        .readFileSync(file, "utf8")
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "" && !l.startsWith("#"));
}

/** Relative paths (POSIX) of the files pulumi-docker hashes and sends for this build, sorted. */
export function contextFiles(context: string, dockerfile: string): string[] {
    const rules = patterns(ignoreFileFor(context, dockerfile));
    const ig = ignore().add(rules);
    // A directory is walked unless it is ignored and no `!` exception could re-include a path below it.
    const exceptions = rules.filter((r) => r.startsWith("!")).map((r) => r.slice(1).replace(/^\/+/, ""));
    const mayReinclude = (dir: string) => exceptions.some((e) => e.startsWith(`${dir}/`) || `${dir}/`.startsWith(e.replace(/\/?$/, "/")));
    const files: string[] = [];
    const walk = (rel: string) => {
        for (const entry of fs.readdirSync(path.join(context, rel), { withFileTypes: true })) {
            const child = rel === "" ? entry.name : `${rel}/${entry.name}`;
            if (entry.isDirectory()) {
                if (!ig.ignores(`${child}/`) || mayReinclude(child)) walk(child);
            } else if (!ig.ignores(child)) {
                files.push(child);
            }
        }
    };
    walk("");
    return files.sort();
}

/** A stand-in for pulumi-docker's contextDigest: changes exactly when a hashed file (or the Dockerfile) changes. */
export function contextDigest(context: string, dockerfile: string): string {
    const hash = crypto.createHash("sha256");
    hash.update(fs.readFileSync(dockerfile));
    for (const rel of contextFiles(context, dockerfile)) {
        const full = path.join(context, rel);
        hash.update(`${rel}\0${fs.statSync(full).mode.toString(8)}\0`);
        hash.update(crypto.createHash("sha256").update(fs.readFileSync(full)).digest("hex"));
    }
    return hash.digest("hex");
}

/**
 * A short digest of what an image is built from — the Dockerfile and the context files it lets
 * through (path, executable bit, content) — for an image tag: a changed build gets a new tag, so
 * nothing ever pushes different content under a tag an IMMUTABLE repository already holds. The
 * executable bit, not the mode: clones made under different umasks must agree.
 */
export function contentTag(context: string, dockerfile: string): string {
    const hash = crypto.createHash("sha256");
    hash.update(fs.readFileSync(dockerfile));
    for (const rel of contextFiles(context, dockerfile)) {
        const full = path.join(context, rel);
        const executable = (fs.statSync(full).mode & 0o111) !== 0;
        hash.update(`${rel}\0${executable ? "x" : "-"}\0`);
        hash.update(crypto.createHash("sha256").update(fs.readFileSync(full)).digest("hex"));
    }
    return hash.digest("hex").slice(0, 12);
}
