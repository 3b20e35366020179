/**
 * render/webService.ts, the scripts RUN: dash against a fake `docker` on PATH that records every argv
 * (tests/render/serviceFakes.ts), so the exact arguments (quoting of nasty values included), the
 * create/update decision, secret handling and failure paths are tested without an engine. Every
 * mutant of the script text would re-run them all, so they are in `npm test` only: the mutation
 * suite (webService.test.ts, webServiceScripts.test.ts) asserts the rendered text these runs execute.
 */
import { renderServiceDeployScript, renderServiceRemoveScript } from "../../render/webService";
import { call, cleanupRuns, flagValues, NASTY, runFake, SECRET, SPEC, VALUES } from "./serviceFakes";

afterAll(cleanupRuns);

describe("renderServiceDeployScript", () => {
    let script: string;
    beforeEach(() => {
        script = renderServiceDeployScript(SPEC, VALUES);
    });

    it("creates an absent service with host networking, no published ports and every declared field", () => {
        const r = runFake(script);
        expect(r.status).toBe(0);
        const argv = call(r, "service", "create");
        expect(argv[argv.length - 1]).toBe("swarm-platform/web:1.2.3");
        expect(argv).toContain("--detach=false");
        expect(argv.some((a) => a.startsWith("--publish") || a === "-p")).toBe(false);
        const flags: Array<[string, string]> = [
            ["--name", "web"],
            ["--replicas", "3"],
            ["--network", "host"],
            ["--endpoint-mode", "dnsrr"],
            ["--limit-cpu", "0.5"],
            ["--limit-memory", "128MiB"],
            ["--reserve-cpu", "0.25"],
            ["--reserve-memory", "64MiB"],
            ["--health-cmd", "wget -qO- http://127.0.0.1:$PORT/health || exit 1"],
            ["--health-interval", "2s"],
            ["--health-retries", "3"],
            ["--health-start-period", "5s"],
            ["--update-parallelism", "1"],
            ["--update-order", "start-first"],
            ["--update-failure-action", "rollback"],
            ["--update-monitor", "10s"],
            ["--rollback-failure-action", "pause"],
            ["--stop-grace-period", "20s"],
            ["--stop-signal", "SIGTERM"],
            ["--constraint", "node.role==worker"],
            ["--secret", "source=consul-web-token-v2,target=consul-token,uid=0,gid=0,mode=0444"],
        ];
        for (const [flag, value] of flags) expect(flagValues(argv, flag)).toEqual([value]);
        expect(flagValues(argv, "--env")).toEqual([
            "CONSUL_HTTP_ADDR=127.0.0.1:8500",
            `GREETING=${NASTY}`,
            "PORT_RANGE=8000-8099",
            "TASK_NAME={{.Task.Name}}",
        ]);
        expect(flagValues(argv, "--label").sort()).toEqual(["note=a b", "swarm-platform.component=web"]);
        expect(argv).toContain("--no-resolve-image");
        expect(argv).toContain("--init");
    });

    it("creates the versioned secret from stdin: the value is in no argv and no output", () => {
        const r = runFake(script);
        expect(r.status).toBe(0);
        expect(r.secretFiles).toEqual({ "consul-web-token-v2": SECRET });
        const create = call(r, "secret", "create");
        expect(create.slice(-2)).toEqual(["consul-web-token-v2", "-"]);
        expect(flagValues(create, "--label")).toEqual(["swarm-platform.service=web", "swarm-platform.secret=consul-web-token"]);
        expect(r.calls.flat().some((a) => a.includes("c0nsul-t0ken"))).toBe(false);
        expect(`${r.stdout}${r.stderr}`).not.toContain("c0nsul-t0ken");
    });

    it("prints nothing on stdout (docker's progress goes to stderr)", () => {
        const r = runFake(script);
        expect(r.stdout).toBe("");
        expect(r.stderr).toContain("overall progress");
    });

    it("quotes an argv health check into one shell command", () => {
        const r = runFake(
            renderServiceDeployScript({ ...SPEC, healthcheck: { ...SPEC.healthcheck, cmd: ["node", "/app/health check.js"] } }, VALUES),
        );
        expect(flagValues(call(r, "service", "create"), "--health-cmd")).toEqual(["node '/app/health check.js'"]);
    });

    it("does not recreate a secret that exists", () => {
        const r = runFake(script, {}, { "consul-web-token-v2": "old" });
        expect(r.calls.filter((c) => c[0] === "secret" && c[1] === "create")).toHaveLength(0);
    });

    describe("on an existing service", () => {
        const files = {
            service: "",
            env: `CONSUL_HTTP_ADDR=127.0.0.1:8500\nGREETING=${NASTY}\nOLD_KEY=1\nTASK_NAME={{.Task.Name}}\nPORT_RANGE=7000-7099\n`,
            labels: "stale\nnote\n",
            constraints: "node.role==manager\n",
            "service-secrets": "consul-web-token-v1\n",
        };

        it("updates in place with the new image and replicas, waiting for convergence", () => {
            const r = runFake(script, files, { "consul-web-token-v1": "old" });
            expect(r.status).toBe(0);
            expect(r.calls.filter((c) => c[1] === "create" && c[0] === "service")).toHaveLength(0);
            const argv = call(r, "service", "update");
            expect(argv[argv.length - 1]).toBe("web");
            expect(argv).toContain("--detach=false");
            expect(flagValues(argv, "--image")).toEqual(["swarm-platform/web:1.2.3"]);
            expect(flagValues(argv, "--replicas")).toEqual(["3"]);
            expect(flagValues(argv, "--update-order")).toEqual(["start-first"]);
            expect(flagValues(argv, "--limit-memory")).toEqual(["128MiB"]);
        });

        it("adds only changed env entries and removes undeclared ones (no spurious reorder)", () => {
            const argv = call(runFake(script, files), "service", "update");
            expect(flagValues(argv, "--env-rm")).toEqual(["OLD_KEY"]);
            expect(flagValues(argv, "--env-add")).toEqual(["PORT_RANGE=8000-8099"]);
        });

        it("reconciles labels, constraints and swaps the secret version", () => {
            const argv = call(runFake(script, files, { "consul-web-token-v1": "old" }), "service", "update");
            expect(flagValues(argv, "--label-rm")).toEqual(["stale"]);
            expect(flagValues(argv, "--label-add").sort()).toEqual(["note=a b", "swarm-platform.component=web"]);
            expect(flagValues(argv, "--constraint-rm")).toEqual(["node.role==manager"]);
            expect(flagValues(argv, "--constraint-add")).toEqual(["node.role==worker"]);
            expect(flagValues(argv, "--secret-rm")).toEqual(["consul-web-token-v1"]);
            expect(flagValues(argv, "--secret-add")).toEqual(["source=consul-web-token-v2,target=consul-token,uid=0,gid=0,mode=0444"]);
        });

        it("passes no list changes when the running spec already matches", () => {
            const same = {
                service: "",
                env: `CONSUL_HTTP_ADDR=127.0.0.1:8500\nGREETING=${NASTY}\nPORT_RANGE=8000-8099\nTASK_NAME={{.Task.Name}}\n`,
                labels: "note\nswarm-platform.component\n",
                constraints: "node.role==worker\n",
                "service-secrets": "consul-web-token-v2\n",
            };
            const argv = call(runFake(script, same, { "consul-web-token-v2": SECRET }), "service", "update");
            for (const flag of [
                "--env-add",
                "--env-rm",
                "--label-rm",
                "--constraint-add",
                "--constraint-rm",
                "--secret-add",
                "--secret-rm",
            ]) {
                expect(flagValues(argv, flag)).toEqual([]);
            }
        });

        it("deletes older secret versions once no task uses them", () => {
            const r = runFake(script, files, { "consul-web-token-v1": "old", "other-v1": "x" });
            expect(r.status).toBe(0);
            expect(Object.keys(r.secretFiles).sort()).toEqual(["consul-web-token-v2"]);
            const inUse = runFake(script, { ...files, "secrets-in-use": "consul-web-token-v1\n" }, { "consul-web-token-v1": "old" });
            expect(inUse.status).toBe(0);
            expect(Object.keys(inUse.secretFiles).sort()).toEqual(["consul-web-token-v1", "consul-web-token-v2"]);
        });

        it("fails when Swarm rolled the update back", () => {
            const r = runFake(script, { ...files, "update-state": "rollback_completed\n" });
            expect(r.status).not.toBe(0);
            expect(r.stderr).toMatch(/the update of web ended in state 'rollback_completed'/);
        });

        it("fails when docker reports a failed rollout", () => {
            const r = runFake(script, { ...files, "update-exit": "1" });
            expect(r.status).not.toBe(0);
            expect(r.stderr).toMatch(/did not converge \(docker exited with 1/);
        });
    });
});

describe("renderServiceRemoveScript", () => {
    let script: string;
    beforeEach(() => {
        script = renderServiceRemoveScript("web");
    });

    it("scales to zero and waits, removes the service, then its labelled secrets", () => {
        const r = runFake(script, { service: "" }, { "consul-web-token-v2": "x" });
        expect(r.status).toBe(0);
        const significant = r.calls.filter((c) => ["scale", "rm"].includes(c[1]));
        expect(significant).toEqual([
            ["service", "scale", "--detach=false", "web=0"],
            ["service", "rm", "web"],
            ["secret", "rm", "consul-web-token-v2"],
        ]);
        expect(call(r, "secret", "ls")).toEqual(["secret", "ls", "-q", "--filter", "label=swarm-platform.service=web"]);
        expect(r.stdout).toBe("");
    });

    it("is idempotent: an absent service is fine", () => {
        const r = runFake(script);
        expect(r.status).toBe(0);
        expect(r.calls.filter((c) => c[1] === "rm")).toHaveLength(0);
        expect(r.stderr).toMatch(/does not exist/);
    });
});
