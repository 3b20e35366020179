// Every file and script the program ships, read off its own resource graph (a ProgramRun under
// mocks): exactly what `pulumi up` would hand to containers, commands and instances.
//
// Discovery is by resource type and input, never by resource name:
//   - docker:index/container:Container   `uploads[]` (file path + content)
//   - command:local|remote:Command        `stdin` (the script a node runs), `create`/`update`/`delete`
//                                         (host-side sh), and every `sh -c '<script>'` nested in those
//   - aws:ssm/association:Association     AWS-RunShellScript `commands`
//   - aws EC2 instances, launch templates/configurations, spot requests: user data (base64 and gzip
//     decoded, MIME multipart split); a cloud-config's `write_files` and `bootcmd`/`runcmd` too
//   - aws:ssm/parameter:Parameter values and aws:s3 objects that hold a file (more than one line). A
//     parameter's path on the node is where a node's boot script fetches it to (`<name> <path> [mode]`
//     in user data), else the `node:/path` of its description, else a known path ending its name.
// Each piece is classified by file path, then by content. Anything that cannot be classified throws
// UnknownArtifactError, as does any other resource type carrying `uploads`/`userData`: a new kind of
// artifact must get a classification rule and a checker before the suite passes again.
// filesOnNode() tells what else is on the node receiving an artifact, for configs that name other
// files (keepalived's tracked and notify scripts).
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import * as yaml from "js-yaml";
import { decodeStoredText } from "../../render/storedForm";
import { ProgramRun, RecordedResource, REPO_ROOT } from "./program";

export type ArtifactKind =
    | "haproxy"
    | "haproxy-edge"
    | "keepalived"
    | "consul-json"
    | "shell"
    | "docker-daemon-json"
    | "docker-client-json"
    | "cloud-config"
    | "systemd-unit"
    | "pem"
    | "pem-ca"
    | "consul-tls"
    | "consul-services"
    | "haproxy-lua"
    | "javascript"
    | "prometheus-defaults";

export interface Artifact {
    readonly stack: string;
    /** Logical name of the resource that ships it. */
    readonly resource: string;
    readonly resourceType: string;
    /** File path on the node; for scripts "stdin" | "create" | "update" | "delete" | "commands" | "runcmd"; "userData". */
    readonly path: string;
    /** Where in the resource's inputs it was found, e.g. "uploads[1]", "delete › sh -c #2", "userData › write_files[0]". */
    readonly source: string;
    /** The container or instance (resource name) the file lands on, when the graph says so. */
    readonly node?: string;
    readonly kind: ArtifactKind;
    /** Shell dialect for kind "shell". */
    readonly shell?: "sh" | "bash";
    readonly content: string;
}

export class UnknownArtifactError extends Error {
    constructor(r: Pick<RecordedResource, "type" | "name">, source: string, filePath: string, content: string) {
        const first = content.split("\n", 1)[0].slice(0, 80);
        super(
            `${r.type} ${r.name} ships ${filePath} (${source}) of unknown kind (first line: ${JSON.stringify(first)}). ` +
                "Add a classification rule and a checker in tests/harness/artifacts.ts and tests/artifacts/ so it is checked.",
        );
        this.name = "UnknownArtifactError";
    }
}

/** Files recognised by path (on the node). First match wins. */
const PATH_RULES: readonly (readonly [RegExp, ArtifactKind])[] = [
    [/^\/etc\/haproxy\/edge\.cfg$/, "haproxy-edge"],
    [/^\/etc\/haproxy\/[^/]+-ca\.pem$/, "pem-ca"],
    [/^\/etc\/haproxy\/[^/]+\.pem$/, "pem"],
    [/^(\/consul\/config|\/etc\/consul\.d)\/tls\/[^/]+\.pem$/, "consul-tls"],
    [/^\/etc\/haproxy\/[^/]+\.cfg$/, "haproxy"],
    [/^\/etc\/keepalived\/keepalived\.conf$/, "keepalived"],
    [/^(\/consul\/config|\/etc\/consul\.d)\/metrics\.json$/, "consul-services"],
    [/^(\/consul\/config|\/etc\/consul\.d)\/[^/]+\.json$/, "consul-json"],
    [/^\/etc\/docker\/daemon\.json$/, "docker-daemon-json"],
    [/^\/(root|home\/[^/]+)\/\.docker\/config\.json$/, "docker-client-json"],
    [/^\/etc\/systemd\/system\/[^/]+\.(service|timer|socket)$/, "systemd-unit"],
    [/^\/etc\/haproxy\/[^/]+\.lua$/, "haproxy-lua"],
    [/^\/usr\/local\/lib\/[^/]+\.js$/, "javascript"],
    [/^\/etc\/default\/prometheus$/, "prometheus-defaults"],
];

/** Shell dialect of a `#!` line, undefined for other interpreters. */
function shebangDialect(content: string): "sh" | "bash" | undefined {
    const m = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(content);
    if (!m) return undefined;
    const program = path.basename(m[1]) === "env" ? m[2] : path.basename(m[1]);
    if (program === "bash") return "bash";
    if (program === "sh" || program === "dash") return "sh";
    return undefined;
}

type Piece = Omit<Artifact, "stack" | "resource" | "resourceType">;

/** Classifies one file: by path, else `#!` (shell), `#cloud-config`, or executable mode (sh). */
function classifyFile(r: RecordedResource, source: string, filePath: string, content: string, mode?: string, node?: string): Piece {
    const piece = { path: filePath, source, content, ...(node !== undefined ? { node } : {}) };
    const byPath = PATH_RULES.find(([re]) => re.test(filePath));
    if (byPath) return { ...piece, kind: byPath[1] };
    if (content.startsWith("#!")) {
        const shell = shebangDialect(content);
        if (shell) return { ...piece, kind: "shell", shell };
    } else if (content.startsWith("#cloud-config")) {
        return { ...piece, kind: "cloud-config" };
    } else if (mode !== undefined && (parseInt(mode, 8) & 0o111) !== 0) {
        return { ...piece, kind: "shell", shell: "sh" };
    }
    throw new UnknownArtifactError(r, source, filePath, content);
}

/**
 * The scripts nested in a command line as `sh -c <one shell word>` (the platform's shellQuote
 * output: single-quoted parts joined by `\'`), unquoted: what really runs on the node.
 */
export function nestedShScripts(commandLine: string): string[] {
    const scripts: string[] = [];
    const re = /\bsh -c (?=')/g;
    for (let m = re.exec(commandLine); m !== null; m = re.exec(commandLine)) {
        let i = re.lastIndex;
        let word = "";
        for (;;) {
            if (commandLine[i] === "'") {
                const end = commandLine.indexOf("'", i + 1);
                if (end < 0) throw new Error(`unterminated single quote in: ${commandLine.slice(m.index, m.index + 80)}`);
                word += commandLine.slice(i + 1, end);
                i = end + 1;
            } else if (commandLine.startsWith("\\'", i)) {
                word += "'";
                i += 2;
            } else {
                break;
            }
        }
        scripts.push(word);
        re.lastIndex = i;
    }
    return scripts;
}

/** A command line (run by sh) and the scripts nested in it. */
function commandLinePieces(field: string, line: string, shell: "sh" | "bash"): Piece[] {
    return [
        { path: field, source: field, kind: "shell", shell, content: line },
        ...nestedShScripts(line).map(
            (script, i): Piece => ({
                path: field,
                source: `${field} › sh -c #${i + 1}`,
                kind: "shell",
                shell: shebangDialect(script) ?? "sh",
                content: script,
            }),
        ),
    ];
}

function commandPieces(r: RecordedResource): Piece[] {
    const interpreter: unknown[] | undefined = r.inputs.interpreter;
    let shell: "sh" | "bash" = "sh";
    if (interpreter !== undefined) {
        const program = path.basename(String(interpreter[0]));
        if (program === "bash") shell = "bash";
        else if (program !== "sh" && program !== "dash") {
            throw new UnknownArtifactError(r, "interpreter", "create", JSON.stringify(interpreter));
        }
    }
    const pieces: Piece[] = [];
    if (typeof r.inputs.stdin === "string" && r.inputs.stdin !== "") {
        pieces.push(classifyFile(r, "stdin", "stdin", r.inputs.stdin));
    }
    for (const field of ["create", "update", "delete"] as const) {
        const line = r.inputs[field];
        if (typeof line === "string" && line !== "") pieces.push(...commandLinePieces(field, line, shell));
    }
    return pieces;
}

/** SSM associations: the shell lines of AWS-RunShellScript; any other document with commands is unknown. */
function associationPieces(r: RecordedResource): Piece[] {
    const commands: unknown = r.inputs.parameters?.commands;
    if (commands === undefined) return [];
    const text = Array.isArray(commands) ? commands.join("\n") : String(commands);
    if (r.inputs.name !== "AWS-RunShellScript") throw new UnknownArtifactError(r, `document ${r.inputs.name}`, "commands", text);
    return commandLinePieces("commands", text, "sh");
}

function containerPieces(r: RecordedResource): Piece[] {
    return (r.inputs.uploads ?? []).map((u: Record<string, any>, i: number) => {
        const source = `uploads[${i}]`;
        const mode = u.executable === true ? "0755" : u.permissions;
        if (typeof u.content === "string") return classifyFile(r, source, u.file, u.content, mode, r.name);
        if (typeof u.contentBase64 === "string") {
            return classifyFile(r, source, u.file, Buffer.from(u.contentBase64, "base64").toString("utf8"), mode, r.name);
        }
        // `source` (a file on the machine running Pulumi) cannot be checked from the graph.
        throw new UnknownArtifactError(r, source, u.file, `(upload from host file ${JSON.stringify(u.source)})`);
    });
}

// ---------------------------------------------------------------------------------------------
// User data (EC2) and file-holding parameters
// ---------------------------------------------------------------------------------------------

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Bytes → text: gunzips when gzip-compressed. */
function inflate(bytes: Buffer): string {
    return (bytes[0] === 0x1f && bytes[1] === 0x8b ? zlib.gunzipSync(bytes) : bytes).toString("utf8");
}

/** User data as the instance sees it: base64-decoded when the field is base64 (or the text plainly is), gunzipped. */
export function decodeUserData(value: string, base64Field: boolean): string {
    const compact = value.replace(/\s+/g, "");
    if (base64Field || (compact.length % 4 === 0 && BASE64.test(compact) && !value.startsWith("#"))) {
        return inflate(Buffer.from(compact, "base64"));
    }
    return value;
}

/** Splits a MIME multi-part user data into its parts' (content type, text). */
function mimeParts(text: string): { type: string; content: string }[] {
    const boundary = /boundary="?([^";\r\n]+)"?/i.exec(text)?.[1];
    if (boundary === undefined) throw new Error("multipart user data without a boundary");
    const parts = text.split(`--${boundary}`).slice(1);
    return parts
        .filter((p) => !p.startsWith("--"))
        .map((p) => {
            const [head, ...body] = p.replace(/^\r?\n/, "").split(/\r?\n\r?\n/);
            const type = /^content-type:\s*([^;\s]+)/im.exec(head)?.[1].toLowerCase() ?? "text/plain";
            let content = body.join("\n\n").replace(/\r?\n$/, "");
            if (/^content-transfer-encoding:\s*base64/im.test(head)) content = inflate(Buffer.from(content.replace(/\s+/g, ""), "base64"));
            return { type, content };
        });
}

const MIME_TYPES: Readonly<Record<string, string>> = { "text/cloud-config": "#cloud-config", "text/x-shellscript": "#!" };

/** A cloud-config's `write_files` (decoded) and its `bootcmd`/`runcmd` as sh scripts. */
function cloudConfigPieces(r: RecordedResource, source: string, text: string, node?: string): Piece[] {
    const doc = yaml.load(text) as Record<string, any> | null;
    const pieces: Piece[] = [];
    (doc?.write_files ?? []).forEach((f: Record<string, any>, i: number) => {
        // encoding b64/base64, gz/gzip (bytes, e.g. YAML !!binary), gz+b64…: inflate() gunzips either way.
        const encoding = String(f.encoding ?? "text/plain").toLowerCase();
        const raw: unknown = f.content ?? "";
        const content = /(^|\+)(b64|base64)$/.test(encoding)
            ? inflate(Buffer.from(String(raw), "base64"))
            : raw instanceof Uint8Array
              ? inflate(Buffer.from(raw))
              : String(raw);
        pieces.push(classifyFile(r, `${source} › write_files[${i}]`, String(f.path), content, f.permissions, node));
    });
    for (const key of ["bootcmd", "runcmd"]) {
        const entries: unknown[] = doc?.[key] ?? [];
        if (entries.length === 0) continue;
        // cloud-init writes them as an sh script: strings verbatim, lists as quoted words.
        const quote = (w: unknown) => `'${String(w).replace(/'/g, `'\\''`)}'`;
        const lines = entries.map((e) => (Array.isArray(e) ? e.map(quote).join(" ") : String(e)));
        pieces.push({ path: key, source: `${source} › ${key}`, kind: "shell", shell: "sh", content: `#!/bin/sh\n${lines.join("\n")}\n` });
    }
    return pieces;
}

/** One user-data text: cloud-config with what it carries, a shell script, or MIME parts of those. */
function userDataPieces(r: RecordedResource, source: string, text: string): Piece[] {
    if (/^(content-type:\s*multipart|mime-version:)/i.test(text)) {
        return mimeParts(text).flatMap((p, i) => {
            const marker = MIME_TYPES[p.type];
            if (marker === undefined || !p.content.startsWith(marker)) {
                throw new UnknownArtifactError(r, `${source} › part ${i} (${p.type})`, "userData", p.content);
            }
            return userDataPieces(r, `${source} › part ${i}`, p.content);
        });
    }
    const piece = classifyFile(r, source, "userData", text, undefined, r.name);
    return piece.kind === "cloud-config" ? [piece, ...cloudConfigPieces(r, source, text, r.name)] : [piece];
}

/** EC2-ish resources: which user-data inputs they have, and whether each is base64. */
const USER_DATA_FIELDS: Readonly<Record<string, readonly (readonly [string, boolean])[]>> = {
    "aws:ec2/instance:Instance": [
        ["userData", false],
        ["userDataBase64", true],
    ],
    "aws:ec2/launchTemplate:LaunchTemplate": [["userData", true]],
    "aws:ec2/launchConfiguration:LaunchConfiguration": [
        ["userData", false],
        ["userDataBase64", true],
    ],
    "aws:ec2/spotInstanceRequest:SpotInstanceRequest": [
        ["userData", false],
        ["userDataBase64", true],
    ],
};

function userDataOf(r: RecordedResource): Piece[] {
    return (USER_DATA_FIELDS[r.type] ?? []).flatMap(([field, base64]) =>
        typeof r.inputs[field] === "string" && r.inputs[field] !== ""
            ? userDataPieces(r, field, decodeUserData(r.inputs[field], base64))
            : [],
    );
}

/** Where a stored file (parameter, object) lands: node, path and mode, as far as the graph tells. */
interface Destination {
    readonly node?: string;
    readonly path?: string;
    readonly mode?: string;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** `<stored name> <absolute path> [mode]` in a node's boot scripts: that node fetches it to that path. */
function fetchedBy(bootScripts: readonly { node?: string; content: string }[], stored: string): Destination | undefined {
    const re = new RegExp(`(?<![^\\s'])'?${escapeRegExp(stored)}'?[ \\t]+'?(/[^\\s']+)'?(?:[ \\t]+'?([0-7]{3,4})'?)?`);
    for (const s of bootScripts) {
        const m = re.exec(s.content);
        if (m) return { node: s.node, path: m[1], mode: m[2] };
    }
    return undefined;
}

/** A file stored in a parameter or object (values without a newline are values, not files). */
function storedFilePieces(r: RecordedResource, name: string, source: string, text: string, to: Destination): Piece[] {
    if (!text.includes("\n")) return [];
    const suffixes = [...name.matchAll(/\//g)].map((m) => name.slice(m.index));
    const filePath = to.path ?? suffixes.find((s) => PATH_RULES.some(([re]) => re.test(s))) ?? name;
    const piece = classifyFile(r, source, filePath, text, to.mode, to.node);
    return piece.kind === "cloud-config" ? [piece, ...cloudConfigPieces(r, source, text, to.node)] : [piece];
}

function piecesOf(r: RecordedResource, bootScripts: readonly { node?: string; content: string }[]): Piece[] {
    const inputs = r.inputs;
    switch (r.type) {
        case "docker:index/container:Container":
            return containerPieces(r);
        case "command:local:Command":
        case "command:remote:Command":
            return commandPieces(r);
        case "aws:ssm/association:Association":
            return associationPieces(r);
        case "aws:ssm/parameter:Parameter": {
            const name = String(inputs.name ?? r.name);
            const described = /^([^:\s]+):(\/\S+)$/.exec(String(inputs.description ?? ""));
            const to = fetchedBy(bootScripts, name) ?? (described ? { node: described[1], path: described[2] } : {});
            return ["value", "insecureValue"].flatMap((k) =>
                typeof inputs[k] === "string" ? storedFilePieces(r, name, k, decodeStoredText(inputs[k]), to) : [],
            );
        }
        case "aws:s3/bucketObject:BucketObject":
        case "aws:s3/bucketObjectv2:BucketObjectv2": {
            const key = String(inputs.key ?? r.name);
            const text =
                typeof inputs.content === "string"
                    ? inputs.content
                    : typeof inputs.contentBase64 === "string"
                      ? inflate(Buffer.from(inputs.contentBase64, "base64"))
                      : undefined;
            if (text === undefined && inputs.source !== undefined) throw new UnknownArtifactError(r, "source", key, "(asset)");
            return text === undefined ? [] : storedFilePieces(r, `/${key}`, "content", text, fetchedBy(bootScripts, key) ?? {});
        }
    }
    if (USER_DATA_FIELDS[r.type] !== undefined) return userDataOf(r);
    // Any other resource carrying files or user data is new to this suite: refuse to pass it unchecked.
    for (const key of Object.keys(inputs)) {
        if (/^(uploads|userData|userDataBase64)$/.test(key)) {
            throw new UnknownArtifactError(r, key, key, "(a resource type tests/harness/artifacts.ts does not know)");
        }
    }
    return [];
}

/** Every artifact of the run, in registration order. Throws UnknownArtifactError on anything unclassifiable. */
export function collectArtifacts(run: ProgramRun): Artifact[] {
    // Boot scripts first: they tell which node fetches which stored file, to which path.
    const bootScripts = run.resources.flatMap((r) => userDataOf(r)).filter((p) => p.kind === "shell");
    return run.resources.flatMap((r) =>
        piecesOf(r, bootScripts).map((p) => ({ stack: run.stack, resource: r.name, resourceType: r.type, ...p })),
    );
}

/** Human-readable "where": stack, resource and path. */
export function describeArtifact(a: Artifact): string {
    return `${a.stack} ${a.resource} ${a.path}${a.source !== a.path ? ` (${a.source})` : ""}`;
}

/** Files a Dockerfile installs (`COPY <src> <dest>`), by path in the image, with their content from the build context. */
function dockerfileCopies(dockerfile: string, context: string): Map<string, string> {
    const files = new Map<string, string>();
    for (const m of fs.readFileSync(dockerfile, "utf8").matchAll(/^COPY\s+(?:--\S+\s+)*(\S+)\s+(\/\S+)\s*$/gm)) {
        const src = path.join(context, m[1]);
        if (fs.existsSync(src) && fs.statSync(src).isFile()) files.set(m[2], fs.readFileSync(src, "utf8"));
    }
    return files;
}

/**
 * What is on the node that receives artifact `a`, by path: every file artifact for the same node
 * and, for a container, what its image installs when the program builds that image
 * (docker:index/image:Image, matched by repository name). Configs name such files (keepalived's
 * tracked and notify scripts), and they must be there.
 */
export function filesOnNode(run: ProgramRun, artifacts: readonly Artifact[], a: Artifact): Map<string, string> {
    const files = new Map<string, string>();
    if (a.node === undefined) return files;
    const container = run.ofType("docker:index/container:Container").find((r) => r.name === a.node);
    const repository = (ref: unknown) =>
        String(ref)
            .split("@")[0]
            .replace(/:[^/]*$/, "");
    for (const image of container ? run.ofType("docker:index/image:Image") : []) {
        const build = image.inputs.build ?? {};
        if (repository(image.inputs.imageName) !== repository(container?.inputs.image) || build.dockerfile === undefined) continue;
        const context = path.resolve(REPO_ROOT, build.context ?? ".");
        dockerfileCopies(path.resolve(context, build.dockerfile), context).forEach((content, p) => files.set(p, content));
    }
    for (const other of artifacts) {
        if (other.node === a.node && other.path.startsWith("/")) files.set(other.path, other.content);
    }
    return files;
}
