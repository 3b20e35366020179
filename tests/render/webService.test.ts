/**
 * render/webService.ts, fast set (in-process, run per mutant): determinism, input validation and the
 * helpers. The rendered scripts' text is asserted in webServiceScripts.test.ts; the scripts are RUN
 * against a fake `docker` in webServiceRun.live.test.ts, and shellcheck plus the run that waits out
 * the converge timeout are in webService.live.test.ts.
 */
import { defaultConvergeTimeoutSeconds, renderServiceDeployScript, versionedSecretName, WebServiceSpec } from "../../render/webService";
import { NASTY, SECRET, SPEC, VALUES } from "./serviceFakes";

// ---------------------------------------------------------------------------

describe("renderServiceDeployScript", () => {
    let script: string;
    beforeEach(() => {
        script = renderServiceDeployScript(SPEC, VALUES);
    });

    it("is deterministic: the same spec, in any key order, renders the same text", () => {
        const reordered: WebServiceSpec = {
            ...SPEC,
            env: { GREETING: NASTY, CONSUL_HTTP_ADDR: "127.0.0.1:8500", PORT_RANGE: "8000-8099" },
            labels: { note: "a b", "swarm-platform.component": "web" },
        };
        expect(renderServiceDeployScript(reordered, VALUES)).toBe(script);
    });

    it("refuses an invalid spec, naming every problem and never the secret value", () => {
        let message = "";
        try {
            renderServiceDeployScript(
                {
                    ...SPEC,
                    name: "-web",
                    replicas: 1.5,
                    env: { "BAD-KEY": "x", TASK_NAME: "mine", MULTI: "a\nb" },
                    cpuLimit: 0,
                    memoryLimitMiB: 2,
                    healthcheck: { ...SPEC.healthcheck, cmd: " " },
                    updatePolicy: { ...SPEC.updatePolicy, parallelism: 0 },
                    network: "bridge" as "host",
                    secrets: [
                        { name: "consul web", version: 0, target: "../x" },
                        { name: "constructor", version: 1, target: "t" },
                    ],
                },
                { "consul web": SECRET, stray: SECRET },
            );
        } catch (e) {
            message = (e as Error).message;
        }
        for (const expected of [
            /name "-web"/,
            /replicas 1.5/,
            /env key "BAD-KEY"/,
            /TASK_NAME is reserved/,
            /env MULTI must not contain NUL or newline/,
            /cpuLimit 0/,
            /memoryLimitMiB 2/,
            /healthcheck.cmd/,
            /updatePolicy.parallelism 0/,
            /network "bridge" must be "host"/,
            /secret name "consul web"/,
            /version 0/,
            /target "..\/x"/,
            /secret constructor: no value given in secretValues/,
            /secretValues has "stray", which is not a declared secret/,
        ]) {
            expect(message).toMatch(expected);
        }
        expect(message).not.toContain("c0nsul");
    });
});

describe("helpers", () => {
    it("names secret versions <name>-v<version>", () => {
        expect(versionedSecretName({ name: "consul-web-token", version: 3 })).toBe("consul-web-token-v3");
    });

    it("bounds a rollout by batches × per-task time, twice over for a rollback", () => {
        // batches 3 × (delay 5 + monitor 10 + start 5 + interval 2 × (3 + 1) + grace 20) = 3 × 48; × 2 + 60
        expect(defaultConvergeTimeoutSeconds(SPEC)).toBe(60 + 2 * 3 * 48);
    });
});
