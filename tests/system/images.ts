// The images the system tests build: the graph's docker.Image resources under the tests' own tags
// (same Dockerfile, context and build args), and the harness's stand-in images for what cannot run
// here (the Consul binary, the Consul agent's DNS).
import { spawn } from "child_process";
import * as path from "path";
import { ProgramRun, REPO_ROOT } from "../harness/program";
import { docker } from "./docker";
import type { SystemSettings } from "./settings";

const IMAGE = "docker:index/image:Image";

export interface ImageBuild {
    /** Reference the graph uses (mock digest or image name). */
    readonly graphRef: string;
    /** Local tag the system tests build and run. */
    readonly tag: string;
    /** Dockerfile path relative to the context. */
    readonly dockerfile: string;
    readonly context: string;
    readonly buildArgs: Readonly<Record<string, string>>;
}

/** Build arg of the node images naming the image their Consul binary comes from (images/lb, images/swarm-node). */
const CONSUL_IMAGE_ARG = "CONSUL_IMAGE";

/** An image of the harness's own (a stand-in for something that cannot run here), built under the tests' namespace. */
export function standInImage(
    settings: SystemSettings,
    image: {
        readonly name: string;
        readonly what: string;
        readonly dockerfile: string;
        readonly buildArgs?: Readonly<Record<string, string>>;
    },
): ImageBuild {
    return {
        graphRef: `(system test) ${image.what}`,
        tag: `${settings.imageNamespace}/${image.name}:local`,
        dockerfile: image.dockerfile,
        context: REPO_ROOT,
        buildArgs: image.buildArgs ?? {},
    };
}

export const consulStandInImage = (settings: SystemSettings): ImageBuild =>
    standInImage(settings, { name: "consul-standin", what: "consul binary stand-in", dockerfile: "tests/system/consul/Dockerfile" });

/**
 * Each LB node's Consul agent DNS (tests/system/consul/dns.js): Consul's exact answer shape, and it
 * rereads the records on every query, so a catalog change needs no restart (a restarting server
 * refuses queries for a moment, and HAProxy then retries only after `timeout retry`). Node.js comes
 * from the web image, so nothing is downloaded.
 */
export const dnsImage = (settings: SystemSettings, nodeImage: string): ImageBuild =>
    standInImage(settings, {
        name: "consul-dns",
        what: "Consul agent DNS stand-in",
        dockerfile: "tests/system/consul/dns.Dockerfile",
        buildArgs: { NODE_IMAGE: nodeImage },
    });

/**
 * The builds behind an image reference of the graph (a mock digest or an image name), in build
 * order: the stand-in Consul image first when the image takes it as its CONSUL_IMAGE, then the
 * graph's docker.Image (same Dockerfile, context and build args) under our own tag.
 */
export function imageBuildsFor(run: ProgramRun, settings: SystemSettings, ref: string): ImageBuild[] {
    // The mock gives a built image the digest `<repo>@sha256:<resource name>`; the web spec uses the image name.
    const graphImages = run.ofType(IMAGE);
    const byDigest = graphImages.find((i) => ref.endsWith(`@sha256:${i.name}`));
    const resource = byDigest ?? graphImages.find((i) => i.inputs.imageName === ref);
    if (resource === undefined) throw new Error(`graph: no docker.Image builds ${ref}`);
    const [repo, tag] = String(resource.inputs.imageName).split(":");
    const build = resource.inputs.build ?? {};
    const buildArgs: Record<string, string> = { ...(build.args ?? {}) };
    const builds: ImageBuild[] = [];
    // The one substitution: the official Consul image cannot be pulled here (see consulStandInImage).
    if (buildArgs[CONSUL_IMAGE_ARG] !== undefined) {
        const consul = consulStandInImage(settings);
        buildArgs[CONSUL_IMAGE_ARG] = consul.tag;
        builds.push(consul);
    }
    builds.push({
        graphRef: ref,
        tag: `${settings.imageNamespace}/${repo.split("/").pop()}:${tag ?? "latest"}`,
        dockerfile: path.relative(build.context, build.dockerfile),
        context: build.context,
        buildArgs,
    });
    return builds;
}

/** Builds an image from the graph's declaration; the context goes as a tar without node_modules/.git. */
export async function buildImage(b: ImageBuild): Promise<void> {
    const tar = await tarContext(b.context);
    const args = ["build", "-q", "-f", b.dockerfile, "-t", b.tag];
    for (const [k, v] of Object.entries(b.buildArgs)) args.push("--build-arg", `${k}=${v}`);
    args.push("-");
    await docker(args, { input: tar, timeoutMs: 15 * 60_000 });
}

async function tarContext(dir: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
        const excludes = ["node_modules", ".git", ".pulumi-state", "bench/tmp"].map((e) => `--exclude=./${e}`);
        const child = spawn("tar", ["-C", dir, ...excludes, "-c", "."], { stdio: ["ignore", "pipe", "inherit"] });
        const chunks: Buffer[] = [];
        child.stdout.on("data", (c: Buffer) => chunks.push(c));
        child.on("error", reject);
        child.on("close", (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`tar exited ${code}`))));
    });
}
