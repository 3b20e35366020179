/**
 * render/webService.ts, fast set (in-process, run per mutant): determinism, input validation and the
 * helpers. The rendered scripts' text is asserted in webServiceScripts.test.ts; the scripts are RUN
 * against a fake `docker` in webServiceRun.live.test.ts, and shellcheck plus the run that waits out
 * the converge timeout are in webService.live.test.ts.
 */
import {
    defaultConvergeTimeoutSeconds,
    renderServiceDeployScript,
    renderServiceRemoveScript,
    versionedSecretName,
    WebServiceSpec,
} from "../../render/webService";
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
        // 3 replicas, 2 at a time: 2 batches; 0 replicas still bounds one batch.
        expect(defaultConvergeTimeoutSeconds({ ...SPEC, updatePolicy: { ...SPEC.updatePolicy, parallelism: 2 } })).toBe(252);
        expect(defaultConvergeTimeoutSeconds({ ...SPEC, replicas: 0 })).toBe(156);
    });
});

describe("renderServiceDeployScript: every rule of the spec, at its bounds", () => {
    /** The problems the renderer names for `spec` (none: it rendered). */
    function problems(spec: WebServiceSpec, values: Readonly<Record<string, string>> = VALUES): string[] {
        try {
            renderServiceDeployScript(spec, values);
        } catch (e) {
            const [head, ...rest] = (e as Error).message.split("\n  - ");
            expect(head).toMatch(/^web service ".*": invalid spec:$/);
            return rest;
        }
        return [];
    }
    const policy = SPEC.updatePolicy;
    const hc = SPEC.healthcheck;

    it("names the service in the message", () => {
        expect(() => renderServiceDeployScript({ ...SPEC, name: "api", replicas: -1 }, VALUES)).toThrow(
            'web service "api": invalid spec:\n  - replicas -1 must be an integer from 0 to 1000',
        );
    });

    it("accepts every bound's lowest and highest value", () => {
        const low: WebServiceSpec = {
            ...SPEC,
            name: "w",
            replicas: 0,
            cpuLimit: 0.001,
            cpuReservation: 0.001,
            memoryLimitMiB: 6,
            memoryReservationMiB: 1,
            healthcheck: { cmd: ["x"], intervalSeconds: 1, timeoutSeconds: 1, retries: 1, startPeriodSeconds: 0 },
            updatePolicy: { ...policy, parallelism: 1, delaySeconds: 0, monitorSeconds: 0, maxFailureRatio: 0 },
            rollbackPolicy: { ...SPEC.rollbackPolicy, parallelism: 1, delaySeconds: 0, monitorSeconds: 0, maxFailureRatio: 0 },
            stopGracePeriodSeconds: 0,
            stopSignal: "9",
            secrets: [{ name: "consul-web-token", version: 1, target: "t", mode: 0 }],
            convergeTimeoutSeconds: 1,
            readyTimeoutSeconds: 1,
        };
        expect(problems(low)).toEqual([]);
        const high: WebServiceSpec = {
            ...SPEC,
            name: `w${"x".repeat(62)}`,
            replicas: 1000,
            cpuLimit: 1024,
            cpuReservation: 1024,
            memoryLimitMiB: 4194304,
            memoryReservationMiB: 4194304,
            healthcheck: { cmd: "x", intervalSeconds: 3600, timeoutSeconds: 3600, retries: 100, startPeriodSeconds: 3600 },
            updatePolicy: { ...policy, parallelism: 1000, delaySeconds: 3600, monitorSeconds: 3600, maxFailureRatio: 1 },
            rollbackPolicy: {
                ...SPEC.rollbackPolicy,
                parallelism: 1000,
                delaySeconds: 3600,
                monitorSeconds: 3600,
                maxFailureRatio: 1,
                order: "stop-first",
                failureAction: "continue",
            },
            stopGracePeriodSeconds: 3600,
            stopSignal: "SIGRTMIN+3",
            secrets: [{ name: `c${"x".repeat(54)}`, version: 1_000_000, target: "t", mode: 0o777, uid: "1000", gid: "1000" }],
            convergeTimeoutSeconds: 86400,
            readyTimeoutSeconds: 3600,
        };
        expect(problems(high, { [`c${"x".repeat(54)}`]: "v" })).toEqual([]);
    });

    it("stop signals: a name with or without SIG, or a number", () => {
        for (const ok of ["TERM", "SIGQUIT", "15"]) expect(problems({ ...SPEC, stopSignal: ok })).toEqual([]);
        for (const bad of ["1SIGTERM", "x9"])
            expect(problems({ ...SPEC, stopSignal: bad })).toEqual([`stopSignal "${bad}" must be a signal name like SIGTERM`]);
    });

    it.each<[string, Partial<WebServiceSpec>, string[]]>([
        ["a name too long", { name: `w${"x".repeat(63)}` }, [`name "w${"x".repeat(63)}" must match /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/`]],
        ["a name with a bad last character", { name: "web!" }, ['name "web!" must match /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/']],
        ["an empty image", { image: "" }, ['image "" must be a non-empty reference without whitespace']],
        ["an image with a space", { image: "web :1" }, ['image "web :1" must be a non-empty reference without whitespace']],
        ["an image ending in a newline", { image: "web\n" }, ['image "web\\n" must be a non-empty reference without whitespace']],
        ["1001 replicas", { replicas: 1001 }, ["replicas 1001 must be an integer from 0 to 1000"]],
        ["an env key with a bad last character", { env: { "A-": "x" } }, ['env key "A-" must match /^[A-Za-z_][A-Za-z0-9_]*$/']],
        ["an env key starting with a digit", { env: { "1A": "x" } }, ['env key "1A" must match /^[A-Za-z_][A-Za-z0-9_]*$/']],
        ["TASK_NAME in env", { env: { TASK_NAME: "mine" } }, ["env key TASK_NAME is reserved (always the Swarm task name)"]],
        ["a NUL in an env value", { env: { A: "a\0b" } }, ["env A must not contain NUL or newline characters"]],
        ["a CR in an env value", { env: { A: "a\rb" } }, ["env A must not contain NUL or newline characters"]],
        ["cpuLimit under 0.001", { cpuLimit: 0.0009, cpuReservation: undefined }, ["cpuLimit 0.0009 must be from 0.001 to 1024 cores"]],
        ["cpuLimit over 1024", { cpuLimit: 1024.5 }, ["cpuLimit 1024.5 must be from 0.001 to 1024 cores"]],
        [
            "memoryLimitMiB 5",
            { memoryLimitMiB: 5, memoryReservationMiB: undefined },
            ["memoryLimitMiB 5 must be an integer from 6 to 4194304"],
        ],
        [
            "memoryLimitMiB over 4 TiB",
            { memoryLimitMiB: 4194305, memoryReservationMiB: undefined },
            ["memoryLimitMiB 4194305 must be an integer from 6 to 4194304"],
        ],
        ["a cpu reservation over the limit", { cpuReservation: 0.6 }, ["cpuReservation 0.6 must be from 0.001 to cpuLimit (0.5)"]],
        ["a cpu reservation under 0.001", { cpuReservation: 0.0009 }, ["cpuReservation 0.0009 must be from 0.001 to cpuLimit (0.5)"]],
        [
            "a memory reservation over the limit",
            { memoryReservationMiB: 129 },
            ["memoryReservationMiB 129 must be an integer from 1 to memoryLimitMiB (128)"],
        ],
        [
            "a memory reservation of 0",
            { memoryReservationMiB: 0 },
            ["memoryReservationMiB 0 must be an integer from 1 to memoryLimitMiB (128)"],
        ],
        ["an empty argv health check", { healthcheck: { ...hc, cmd: [] } }, ["healthcheck.cmd must be a non-empty single-line command"]],
        ["a blank health check", { healthcheck: { ...hc, cmd: "  " } }, ["healthcheck.cmd must be a non-empty single-line command"]],
        [
            "a health check argv with a newline",
            { healthcheck: { ...hc, cmd: ["sh", "a\nb"] } },
            ["healthcheck.cmd must be a non-empty single-line command"],
        ],
        ["a health check with a CR", { healthcheck: { ...hc, cmd: "a\rb" } }, ["healthcheck.cmd must be a non-empty single-line command"]],
        ["a health check with a NUL", { healthcheck: { ...hc, cmd: "a\0b" } }, ["healthcheck.cmd must be a non-empty single-line command"]],
        [
            "health check bounds below",
            { healthcheck: { ...hc, intervalSeconds: 0, timeoutSeconds: 0, retries: 0, startPeriodSeconds: -1 } },
            [
                "healthcheck.intervalSeconds 0 must be an integer from 1 to 3600",
                "healthcheck.timeoutSeconds 0 must be an integer from 1 to 3600",
                "healthcheck.retries 0 must be an integer from 1 to 100",
                "healthcheck.startPeriodSeconds -1 must be an integer from 0 to 3600",
            ],
        ],
        [
            "health check bounds above",
            { healthcheck: { ...hc, intervalSeconds: 3601, timeoutSeconds: 3601, retries: 101, startPeriodSeconds: 3601 } },
            [
                "healthcheck.intervalSeconds 3601 must be an integer from 1 to 3600",
                "healthcheck.timeoutSeconds 3601 must be an integer from 1 to 3600",
                "healthcheck.retries 101 must be an integer from 1 to 100",
                "healthcheck.startPeriodSeconds 3601 must be an integer from 0 to 3600",
            ],
        ],
        [
            "update policy bounds below",
            { updatePolicy: { ...policy, parallelism: 0, delaySeconds: -1, monitorSeconds: -1, maxFailureRatio: -0.1 } },
            [
                "updatePolicy.parallelism 0 must be an integer from 1 to 1000",
                "updatePolicy.delaySeconds -1 must be an integer from 0 to 3600",
                "updatePolicy.monitorSeconds -1 must be an integer from 0 to 3600",
                "updatePolicy.maxFailureRatio -0.1 must be from 0 to 1",
            ],
        ],
        [
            "rollback policy bounds above and bad words",
            {
                rollbackPolicy: {
                    parallelism: 1001,
                    delaySeconds: 3601,
                    monitorSeconds: 3601,
                    maxFailureRatio: 1.1,
                    order: "random" as "start-first",
                    failureAction: "retry" as "pause",
                },
            },
            [
                "rollbackPolicy.parallelism 1001 must be an integer from 1 to 1000",
                "rollbackPolicy.delaySeconds 3601 must be an integer from 0 to 3600",
                "rollbackPolicy.monitorSeconds 3601 must be an integer from 0 to 3600",
                "rollbackPolicy.maxFailureRatio 1.1 must be from 0 to 1",
                'rollbackPolicy.order "random" must be "start-first" or "stop-first"',
                'rollbackPolicy.failureAction "retry" must be "pause", "continue" or "rollback"',
            ],
        ],
        [
            "a rollback that would roll back",
            { rollbackPolicy: { ...SPEC.rollbackPolicy, failureAction: "rollback" } },
            ['rollbackPolicy.failureAction cannot be "rollback"'],
        ],
        ["grace -1", { stopGracePeriodSeconds: -1 }, ["stopGracePeriodSeconds -1 must be an integer from 0 to 3600"]],
        ["grace 3601", { stopGracePeriodSeconds: 3601 }, ["stopGracePeriodSeconds 3601 must be an integer from 0 to 3600"]],
        ["a lower-case signal", { stopSignal: "sigterm" }, ['stopSignal "sigterm" must be a signal name like SIGTERM']],
        ["a signal with a trailing space", { stopSignal: "SIGTERM " }, ['stopSignal "SIGTERM " must be a signal name like SIGTERM']],
        ["a number and a word", { stopSignal: "9x" }, ['stopSignal "9x" must be a signal name like SIGTERM']],
        [
            "a constraint without a comparison",
            { placementConstraints: ["node.role"] },
            ['placement constraint "node.role" must be one line with == or !='],
        ],
        [
            "a constraint on two lines",
            { placementConstraints: ["a==b\nc==d"] },
            ['placement constraint "a==b\\nc==d" must be one line with == or !='],
        ],
        ["an empty constraint", { placementConstraints: [""] }, ['placement constraint "" must be one line with == or !=']],
        ["a label key with a space", { labels: { "a b": "x" } }, ['label key "a b" must match /^[A-Za-z0-9][A-Za-z0-9_./-]*$/']],
        ["a label key starting with a dot", { labels: { ".a": "x" } }, ['label key ".a" must match /^[A-Za-z0-9][A-Za-z0-9_./-]*$/']],
        ["a NUL in a label", { labels: { a: "x\0" } }, ["label a must not contain a NUL character"]],
        ["convergeTimeoutSeconds 0", { convergeTimeoutSeconds: 0 }, ["convergeTimeoutSeconds 0 must be an integer from 1 to 86400"]],
        [
            "convergeTimeoutSeconds 86401",
            { convergeTimeoutSeconds: 86401 },
            ["convergeTimeoutSeconds 86401 must be an integer from 1 to 86400"],
        ],
        ["readyTimeoutSeconds 0", { readyTimeoutSeconds: 0 }, ["readyTimeoutSeconds 0 must be an integer from 1 to 3600"]],
        ["readyTimeoutSeconds 3601", { readyTimeoutSeconds: 3601 }, ["readyTimeoutSeconds 3601 must be an integer from 1 to 3600"]],
    ])("refuses %s", (_name, patch, expected) => {
        expect(problems({ ...SPEC, ...patch })).toEqual(expected);
    });

    it.each<[string, WebServiceSpec["secrets"], Record<string, string>, string[]]>([
        [
            "a secret name too long",
            [{ name: `c${"x".repeat(55)}`, version: 1, target: "t" }],
            { [`c${"x".repeat(55)}`]: "v" },
            [`secret name "c${"x".repeat(55)}" must match /^[A-Za-z0-9][A-Za-z0-9_.-]{0,54}$/`],
        ],
        [
            "version 1000001",
            [{ name: "s", version: 1_000_001, target: "t" }],
            { s: "v" },
            ["secret s: version 1000001 must be an integer of at least 1"],
        ],
        [
            "a target with a slash",
            [{ name: "s", version: 1, target: "a/b" }],
            { s: "v" },
            ['secret s: target "a/b" must be a file name (letters, digits, _ . -)'],
        ],
        [
            "an empty value",
            [{ name: "s", version: 1, target: "t" }],
            { s: "" },
            ["secret s: value must be non-empty and contain no NUL character"],
        ],
        [
            "a NUL in a value",
            [{ name: "s", version: 1, target: "t" }],
            { s: "a\0" },
            ["secret s: value must be non-empty and contain no NUL character"],
        ],
        [
            "a non-string value",
            [{ name: "s", version: 1, target: "t" }],
            { s: 7 as unknown as string },
            ["secret s: no value given in secretValues"],
        ],
        [
            "a value inherited from Object",
            [{ name: "toString", version: 1, target: "t" }],
            {},
            ["secret toString: no value given in secretValues"],
        ],
        [
            "bad owner and mode",
            [{ name: "s", version: 1, target: "t", uid: "a1", gid: "a1", mode: 0o1000 }],
            { s: "v" },
            ["secret s: uid must be numeric", "secret s: gid must be numeric", "secret s: mode must be from 0 to 0o777"],
        ],
        ["a negative mode", [{ name: "s", version: 1, target: "t", mode: -1 }], { s: "v" }, ["secret s: mode must be from 0 to 0o777"]],
        [
            "a name and a target twice",
            [
                { name: "s", version: 1, target: "t" },
                { name: "s", version: 2, target: "t" },
            ],
            { s: "v" },
            ["secret s is listed twice", "secret target t is used twice"],
        ],
        [
            "values for undeclared secrets, in byte order",
            [],
            { b: "v", B: "v", a: "v" },
            [
                'secretValues has "B", which is not a declared secret',
                'secretValues has "a", which is not a declared secret',
                'secretValues has "b", which is not a declared secret',
            ],
        ],
        [
            "a uid with a trailing letter",
            [{ name: "s", version: 1, target: "t", uid: "1a", gid: "1a" }],
            { s: "v" },
            ["secret s: uid must be numeric", "secret s: gid must be numeric"],
        ],
    ])("refuses %s", (_name, secrets, values, expected) => {
        expect(problems({ ...SPEC, secrets }, values)).toEqual(expected);
    });
});

describe("renderServiceRemoveScript: its input", () => {
    it("accepts the bounds and refuses what is past them, naming every problem", () => {
        expect(() => renderServiceRemoveScript(`w${"x".repeat(62)}`, { drainTimeoutSeconds: 1, readyTimeoutSeconds: 1 })).not.toThrow();
        expect(() => renderServiceRemoveScript("w", { drainTimeoutSeconds: 86400, readyTimeoutSeconds: 3600 })).not.toThrow();
        expect(() => renderServiceRemoveScript("-w", { drainTimeoutSeconds: 0, readyTimeoutSeconds: 0 })).toThrow(
            [
                "renderServiceRemoveScript: invalid input:",
                '  - name "-w" must match /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/',
                "  - drainTimeoutSeconds 0 must be an integer from 1 to 86400",
                "  - readyTimeoutSeconds 0 must be an integer from 1 to 3600",
            ].join("\n"),
        );
        expect(() => renderServiceRemoveScript("w", { drainTimeoutSeconds: 86401, readyTimeoutSeconds: 3601 })).toThrow(
            [
                "renderServiceRemoveScript: invalid input:",
                "  - drainTimeoutSeconds 86401 must be an integer from 1 to 86400",
                "  - readyTimeoutSeconds 3601 must be an integer from 1 to 3600",
            ].join("\n"),
        );
    });
});
