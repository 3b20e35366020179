// The GitHub Actions workflows: actionlint (the real linter) finds nothing, and the properties that
// matter hold — pinned actions, least-privilege permissions, previews commented on pull requests,
// deploys serialised per stack with prod behind the protected environment, documented secrets.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { REPO_ROOT } from "../harness/program";
import { actionlint } from "./actionlint";

const DIR = path.join(REPO_ROOT, ".github", "workflows");
const files = fs
    .readdirSync(DIR)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
const text = (file: string) => fs.readFileSync(path.join(DIR, file), "utf8");

interface Step {
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
    if?: string;
    name?: string;
}
interface Job {
    uses?: string;
    needs?: string | string[];
    permissions?: Record<string, string> | string;
    environment?: string | { name: string };
    concurrency?: { group: string; "cancel-in-progress": boolean };
    steps?: Step[];
    "runs-on"?: string;
}
interface Workflow {
    on: Record<string, any>;
    permissions?: Record<string, string>;
    concurrency?: unknown;
    jobs: Record<string, Job>;
}

const load = (file: string) => yaml.load(text(file)) as Workflow;
const workflows = Object.fromEntries(files.map((f) => [f, load(f)]));
const allJobs = () => Object.entries(workflows).flatMap(([file, wf]) => Object.entries(wf.jobs).map(([id, job]) => ({ file, id, job })));
const stepsUsing = (job: Job, action: string) => (job.steps ?? []).filter((s) => s.uses?.split("@")[0] === action);

test("the workflows exist: tests and previews on pull requests, deploys from main, a shared test workflow", () => {
    expect(files).toEqual(["deploy.yml", "pull-request.yml", "test.yml"]);
});

describe("actionlint", () => {
    test("finds nothing in any workflow", () => {
        expect(actionlint(files.map((f) => ({ file: f, text: text(f) })))).toEqual([]);
    });

    test("runs for real: a mistyped input of a known action and a broken expression are reported", () => {
        const broken = text("pull-request.yml")
            .replace("comment-on-pr: true", "coment-on-pr: true")
            .replace("${{ vars.AWS_PREVIEW_ROLE_ARN }}", "${{ vars.AWS_PREVIEW_ROLE_ARN }");
        const findings = actionlint([{ file: "broken.yml", text: broken }]);
        expect(findings.map((f) => f.kind).sort()).toEqual(["action", "expression"]);
        expect(findings.find((f) => f.kind === "action")?.message).toMatch(
            /input "coment-on-pr" is not defined in action "pulumi\/actions@v6"/,
        );
    });
});

describe("every workflow", () => {
    test("pins every action to a version tag or a commit SHA", () => {
        const refs = allJobs().flatMap(({ job }) => [job.uses, ...(job.steps ?? []).map((s) => s.uses)].filter((u): u is string => !!u));
        expect(refs.length).toBeGreaterThan(10);
        for (const ref of refs)
            expect(ref).toMatch(/^(\.\/\.github\/workflows\/[\w.-]+\.ya?ml|[\w.-]+\/[\w.-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40}))$/);
    });

    test("grants nothing at the top and only what each job needs", () => {
        for (const wf of Object.values(workflows)) expect(wf.permissions).toEqual({});
        for (const { file, id, job } of allJobs()) {
            const perms = job.permissions;
            expect({ file, id, declared: typeof perms === "object" }).toEqual({ file, id, declared: true });
            const grants = perms as Record<string, string>;
            expect({ id, contents: grants.contents }).toEqual({ id, contents: "read" });
            // OIDC tokens only where credentials are assumed through OIDC.
            const oidc = stepsUsing(job, "aws-actions/configure-aws-credentials").length > 0;
            expect({ id, idToken: grants["id-token"] === "write" }).toEqual({ id, idToken: oidc });
            // Pull request write only where the preview comments on it.
            const comments = stepsUsing(job, "pulumi/actions").some((s) => s.with?.["comment-on-pr"] === true);
            expect({ id, pullRequests: grants["pull-requests"] === "write" }).toEqual({ id, pullRequests: comments });
            const others = Object.entries(grants).filter(([k]) => !["contents", "id-token", "pull-requests"].includes(k));
            expect({ id, others }).toEqual({ id, others: [] });
        }
    });

    test("assumes AWS roles by OIDC only (no long-lived keys), with the role from a variable", () => {
        for (const { job } of allJobs()) {
            for (const step of stepsUsing(job, "aws-actions/configure-aws-credentials")) {
                expect(step.with?.["role-to-assume"]).toMatch(/^\$\{\{ vars\.AWS_\w+_ROLE_ARN \}\}$/);
                expect(step.with).not.toHaveProperty("aws-access-key-id");
            }
        }
        for (const file of files) expect(text(file)).not.toMatch(/AWS_SECRET_ACCESS_KEY|aws-secret-access-key/);
    });

    test("runs every Pulumi command with the policy pack and the configurable backend", () => {
        const pulumiSteps = allJobs().flatMap(({ job }) => stepsUsing(job, "pulumi/actions"));
        expect(pulumiSteps).toHaveLength(4);
        for (const step of pulumiSteps) {
            expect(step.with).toMatchObject({ policyPacks: "policy", "cloud-url": "${{ vars.PULUMI_BACKEND_URL }}", diff: true });
            expect((step as any).env).toEqual({
                PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}",
                PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
            });
        }
    });

    test("run: scripts pass shellcheck", () => {
        const scripts = allJobs().flatMap(({ id, job }) => (job.steps ?? []).filter((s) => s.run).map((s) => ({ id, run: s.run! })));
        expect(scripts.length).toBeGreaterThan(5);
        for (const { id, run } of scripts) {
            // As actionlint does: an expression becomes a plain word of the same length.
            const script = run.replace(/\$\{\{[^}]*\}\}/g, (m) => "_".repeat(m.length));
            const r = spawnSync("shellcheck", ["-s", "bash", "-"], { input: script, encoding: "utf8" });
            expect(r.error).toBeUndefined();
            expect({ id, out: r.stdout, status: r.status }).toEqual({ id, out: "", status: 0 });
        }
    });
});

describe("pull requests", () => {
    const wf = workflows["pull-request.yml"];

    test("run the test suite, then preview dev and prod with the result commented on the pull request", () => {
        expect(Object.keys(wf.on)).toEqual(["pull_request"]);
        expect(wf.jobs.test.uses).toBe("./.github/workflows/test.yml");
        for (const stack of ["dev", "prod"]) {
            const job = wf.jobs[`preview-${stack}`];
            expect(job.needs).toBe("test");
            const [pulumi] = stepsUsing(job, "pulumi/actions");
            expect(pulumi.with).toMatchObject({ command: "preview", "stack-name": stack, diff: true, "comment-on-pr": true });
            expect(pulumi.with?.["github-token"]).toBe("${{ secrets.GITHUB_TOKEN }}");
        }
    });

    test("prod is previewed with AWS credentials from OIDC; dev needs them only for an s3:// backend", () => {
        expect(stepsUsing(wf.jobs["preview-prod"], "aws-actions/configure-aws-credentials")[0].if).toBeUndefined();
        expect(stepsUsing(wf.jobs["preview-dev"], "aws-actions/configure-aws-credentials")[0].if).toBe(
            "startsWith(vars.PULUMI_BACKEND_URL, 's3://')",
        );
    });
});

describe("main", () => {
    const wf = workflows["deploy.yml"];

    test("deploys dev on every push to main, then prod behind the protected production environment", () => {
        expect(wf.on.push).toEqual({ branches: ["main"] });
        expect(wf.jobs["deploy-dev"].needs).toBe("test");
        expect(wf.jobs["deploy-prod"].needs).toBe("deploy-dev");
        expect(stepsUsing(wf.jobs["deploy-dev"], "pulumi/actions")[0].with).toMatchObject({ command: "up", "stack-name": "dev" });
        expect(stepsUsing(wf.jobs["deploy-prod"], "pulumi/actions")[0].with).toMatchObject({ command: "up", "stack-name": "prod" });
        expect(wf.jobs["deploy-prod"].environment).toBe("production");
        expect(wf.jobs["deploy-dev"].environment).toBeUndefined();
    });

    test("two deploys of one stack never overlap: one static concurrency group per stack, never cancelled", () => {
        const groups = ["dev", "prod"].map((stack) => wf.jobs[`deploy-${stack}`].concurrency);
        expect(groups).toEqual([
            { group: "pulumi-stack-dev", "cancel-in-progress": false },
            { group: "pulumi-stack-prod", "cancel-in-progress": false },
        ]);
        // Nothing else (e.g. a workflow-level group) may cancel a running deploy.
        expect(wf.concurrency).toBeUndefined();
    });
});

describe("the test workflow", () => {
    const job = workflows["test.yml"].jobs.test;
    const runs = (job.steps ?? []).map((s) => s.run ?? s.uses ?? "");

    test("checks out, sets up Node 20, npm ci, npm test — on Debian 12 as root, like the project's CI", () => {
        expect(workflows["test.yml"].on).toEqual({ workflow_call: null });
        expect(stepsUsing(job, "actions/checkout")).toHaveLength(1);
        expect(stepsUsing(job, "actions/setup-node")[0].with).toMatchObject({ "node-version": 20 });
        expect(runs.some((r) => /^npm ci\b/.test(r))).toBe(true);
        expect(runs[runs.length - 1]).toBe("npm test");
        expect((job as any).container).toEqual({ image: "debian:bookworm", options: "--privileged" });
    });

    test("installs every checker .ci/run installs", () => {
        const packages = (script: string) =>
            [...script.matchAll(/apt-get install ([^\n>]*)/g)].flatMap((m) => m[1].split(/\s+/).filter((w) => w && !w.startsWith("-")));
        const ci = packages(fs.readFileSync(path.join(REPO_ROOT, ".ci", "run"), "utf8"));
        expect(ci.length).toBeGreaterThan(3);
        expect(packages(runs.join("\n"))).toEqual(expect.arrayContaining(ci));
    });
});

test("every secret and variable the workflows read is documented in the README's Delivery section", () => {
    const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
    const section = readme.split(/^## /m).find((s) => s.startsWith("Delivery (CI/CD)"));
    expect(section).toBeDefined();
    const used = new Set(files.flatMap((f) => [...text(f).matchAll(/\b(secrets|vars)\.(\w+)/g)].map((m) => m[2])));
    expect(used.size).toBeGreaterThanOrEqual(8);
    for (const name of used) expect({ name, documented: section!.includes(`\`${name}\``) }).toEqual({ name, documented: true });
    expect(section).toContain("`production`");
});
