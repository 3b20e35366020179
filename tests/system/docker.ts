// The docker CLI, asynchronously (the load generator shares this event loop: nothing here blocks it),
// every call bounded by a timeout.
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** Label on every container and network the system tests create; cleanup removes by it. */
export const SYSTEM_LABEL = "swarm-platform.system-test";

export interface CommandResult {
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
    readonly ms: number;
    readonly timedOut: boolean;
}

export interface CommandOptions {
    /** Written to the command's stdin (then closed). */
    readonly input?: string | Buffer;
    /** Killed (SIGKILL) after this long. Default 60 s. */
    readonly timeoutMs?: number;
    /** The command's environment. Default: this process's. */
    readonly env?: NodeJS.ProcessEnv;
}

/** Runs a command; never rejects for a non-zero exit (see `code`), only if it cannot be spawned. */
export function runCommand(file: string, args: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
        const started = performance.now();
        const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"], ...(opts.env === undefined ? {} : { env: opts.env }) });
        let stdout = "";
        let stderr = "";
        let timedOut = false;
        const timer = setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
        }, opts.timeoutMs ?? 60_000);
        child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
        child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
        child.stdin.on("error", () => undefined); // the command may exit before reading its input
        child.on("error", (err) => {
            clearTimeout(timer);
            reject(err);
        });
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code, stdout, stderr, ms: performance.now() - started, timedOut });
        });
        child.stdin.end(opts.input ?? "");
    });
}

/** `docker ARGS`; resolves with the result whatever the exit status. */
export function dockerResult(args: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
    return runCommand("docker", args, opts);
}

/** `docker ARGS`; resolves with trimmed stdout, rejects on a non-zero exit or timeout. */
export async function docker(args: readonly string[], opts: CommandOptions = {}): Promise<string> {
    const r = await dockerResult(args, opts);
    if (r.code !== 0) {
        const why = r.timedOut ? `timed out after ${opts.timeoutMs ?? 60_000} ms` : `exit ${r.code}`;
        throw new Error(`docker ${args.join(" ")}: ${why}: ${r.stderr.trim() || r.stdout.trim()}`);
    }
    return r.stdout.trim();
}

/** Lines of `docker ... -q` style output. */
export function lines(text: string): string[] {
    return text
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l.length > 0);
}

/** An object cleanup could not remove. */
export interface Leftover {
    readonly kind: "network";
    readonly name: string;
    readonly error: string;
}

/**
 * Removes every container, network and volume a system-test suite ever created on this engine (by
 * its label key, and by name prefix for anything created without it). Safe to call at any time;
 * bounded. `labelKey` defaults to the data-plane suite's SYSTEM_LABEL; a suite with a key of its
 * own (the swarm suite) never removes another suite's objects, even when both run at once.
 * Resolves with what could not be removed (empty when everything is gone).
 */
export async function removeSystemTestObjects(namePrefix: string, labelKey: string = SYSTEM_LABEL): Promise<Leftover[]> {
    const containers = [
        ...new Set([
            ...lines(await docker(["ps", "-aq", "--filter", `label=${labelKey}`])),
            ...lines(await docker(["ps", "-aq", "--filter", `name=^/${namePrefix}`])),
        ]),
    ];
    if (containers.length > 0) {
        // Containers that live in another container's network namespace go first, then the others one at
        // a time: removed all at once (`docker rm -f` works in parallel), the engine (20.10) once kept an
        // LB node's endpoint, and the network could not be removed until dockerd restarted ("has active
        // endpoints", moby/moby#42119).
        // (A container gone in the meantime is simply not listed.)
        const inspected = await dockerResult(["inspect", "-f", "{{.Id}} {{.HostConfig.NetworkMode}}", ...containers]);
        const modes = lines(inspected.stdout).map((l) => l.split(" "));
        const guests = modes.filter(([, mode]) => mode.startsWith("container:")).map(([id]) => id);
        const owners = modes.filter(([, mode]) => !mode.startsWith("container:")).map(([id]) => id);
        if (guests.length > 0) await docker(["rm", "-f", "-v", ...guests], { timeoutMs: 120_000 });
        for (const id of owners) await docker(["rm", "-f", "-v", id], { timeoutMs: 120_000 });
    }
    const leftovers: Leftover[] = [];
    const networks = new Set([
        ...lines(await docker(["network", "ls", "-q", "--filter", `label=${labelKey}`])),
        ...lines(await docker(["network", "ls", "-q", "--filter", `name=^${namePrefix}`])),
    ]);
    for (const n of networks) {
        // The engine releases a removed container's endpoint asynchronously: a few tries.
        let r = await dockerResult(["network", "rm", n], { timeoutMs: 30_000 });
        for (let i = 0; i < 5 && r.code !== 0 && /active endpoints/.test(r.stderr); i++) {
            await sleep(1000);
            r = await dockerResult(["network", "rm", n], { timeoutMs: 30_000 });
        }
        if (r.code !== 0 && !/not found|No such network/i.test(r.stderr)) {
            const name = (await dockerResult(["network", "inspect", "-f", "{{.Name}}", n])).stdout.trim() || n;
            leftovers.push({ kind: "network", name, error: r.stderr.trim() });
        }
    }
    // Named volumes (the swarm nodes' engine data). The name filter is a substring match for volumes: check the prefix here.
    const volumes = new Set([
        ...lines(await docker(["volume", "ls", "-q", "--filter", `label=${labelKey}`])),
        ...lines(await docker(["volume", "ls", "-q", "--filter", `name=${namePrefix}`])).filter((v) => v.startsWith(namePrefix)),
    ]);
    if (volumes.size > 0) await docker(["volume", "rm", "-f", ...volumes], { timeoutMs: 120_000 });
    return leftovers;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `probe` every `everyMs` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 100): Promise<T> {
    const deadline = performance.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
        try {
            const value = await probe();
            if (value !== undefined) return value;
        } catch (err) {
            lastError = err;
        }
        if (performance.now() >= deadline) {
            const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
        }
        await sleep(everyMs);
    }
}

/** A file a container gets before it starts, as a docker.Container `uploads` entry declares it. */
export interface UploadFile {
    readonly path: string;
    readonly content: string;
    /** Octal, e.g. "0600". */
    readonly mode: string;
}

/**
 * Copies `files` into a created container as the Docker provider uploads them: one tar archive whose
 * entries are named by the files' full paths, extracted at `/` (terraform-provider-docker: a tar
 * header named by the file's path, CopyToContainer to "/"), so a missing directory
 * (/consul/config/tls) is made on the way — `docker cp FILE CONTAINER:PATH` would refuse it. Modes
 * kept, root the owner.
 */
export async function uploadFiles(container: string, files: readonly UploadFile[]): Promise<void> {
    if (files.length === 0) return;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "spsys-upload-"));
    try {
        for (const f of files) {
            const local = path.join(dir, f.path);
            fs.mkdirSync(path.dirname(local), { recursive: true });
            fs.writeFileSync(local, f.content);
            fs.chmodSync(local, parseInt(f.mode, 8));
        }
        // Only the files: the directories on the way are made by the extraction as the engine's defaults.
        const list = files.map((f) => `.${f.path}`);
        const tar = spawnSync("tar", ["-C", dir, "--owner=0", "--group=0", "--no-recursion", "-c", ...list], {
            maxBuffer: 64 * 1024 * 1024,
        });
        if (tar.status !== 0) throw new Error(`tar: ${tar.stderr.toString()}`);
        await docker(["cp", "-", `${container}:/`], { input: tar.stdout });
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
