// The prod web image's tag: version + a digest of exactly the files the image is built from, so a
// changed build never pushes new content under a tag the IMMUTABLE ECR repository already holds,
// and an unrelated commit never makes a new tag.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { contentTag } from "../../platforms/imageContext";
import { REPO_ROOT, runProgram } from "../harness/program";

/** A copy of the web image's build inputs (and a README) in a temp context. */
function webContext(): { dir: string; tag: () => string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "context-"));
    for (const rel of [
        "images/web/Dockerfile",
        "images/web/Dockerfile.dockerignore",
        "app/server.js",
        "app/healthcheck.sh",
        "app/package.json",
        "app/package-lock.json",
        "README.md",
    ]) {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.copyFileSync(path.join(REPO_ROOT, rel), path.join(dir, rel));
        fs.chmodSync(path.join(dir, rel), 0o644);
    }
    return { dir, tag: () => contentTag(dir, path.join(dir, "images/web/Dockerfile")) };
}

test("an edit to the app, its lock file or the Dockerfile makes a new tag; a README edit or another umask does not", () => {
    const { dir, tag } = webContext();
    const first = tag();
    expect(first).toMatch(/^[0-9a-f]{12}$/);
    fs.appendFileSync(path.join(dir, "README.md"), "\nmore words\n");
    fs.chmodSync(path.join(dir, "app/server.js"), 0o664);
    expect(tag()).toBe(first);
    fs.appendFileSync(path.join(dir, "app/server.js"), "\n// a fix\n");
    const second = tag();
    expect(second).not.toBe(first);
    fs.appendFileSync(path.join(dir, "images/web/Dockerfile"), "\nLABEL x=y\n");
    const third = tag();
    expect(third).not.toBe(second);
    // The dependencies the image installs (npm ci from the lock file) are part of what it is built from.
    fs.appendFileSync(path.join(dir, "app/package-lock.json"), "\n");
    expect(tag()).not.toBe(third);
    fs.rmSync(dir, { recursive: true, force: true });
});

test("the prod web image is tagged <web.version>-<content digest> in the stack's ECR repository", async () => {
    const prod = await runProgram("prod");
    const [image] = prod.ofType("docker:index/image:Image");
    const tag = contentTag(REPO_ROOT, path.join(REPO_ROOT, "images/web/Dockerfile"));
    expect(image.inputs.imageName).toBe(`123456789012.dkr.ecr.eu-west-1.amazonaws.com/swarm-platform-prod/web:1.0.0-${tag}`);
});
