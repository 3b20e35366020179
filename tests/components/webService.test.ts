// WebService against the in-memory platform: the task spec and rolling-update policy it deploys (its
// defaults, literally), its refusal of bad arguments, and the one cluster-wide deploy it asks for.
import * as fs from "fs";
import * as path from "path";
import { ConsulCluster } from "../../components/consulCluster";
import { SwarmCluster } from "../../components/swarmCluster";
import { WEB_DOCKERFILE, WEB_HEALTH_PATH, WebService, WebServiceArgs } from "../../components/webService";
import { FakePlatform, FakePlatformOptions, isSecret, registeredOutputs, settled, thrown, useMocks } from "./fakePlatform";

useMocks();

/** The service on its own fake platform; the swarm and the Consul cluster each on another. */
function build(args: Partial<WebServiceArgs> = {}, options: FakePlatformOptions = {}, workers = 2) {
    const consul = new ConsulCluster("consul", { platform: new FakePlatform(), registeringServices: ["web"] });
    const swarm = new SwarmCluster("swarm", { platform: new FakePlatform(), consul, subnet: "10.77.0.0/24", workers });
    const platform = new FakePlatform(options);
    const image = platform.buildImage({ name: "web", dockerfile: "images/web/Dockerfile", tag: "1.2.3" });
    const web = new WebService("web", { platform, swarm, consul, image, version: "1.2.3", ...args });
    return { consul, swarm, platform, image, web };
}

describe("defaults", () => {
    test("the deployed spec: 3 tasks of 0.25 CPU and 64 MiB on the workers, ports 20000–20099, drain 3 s, grace 15 s", async () => {
        const { web } = build();
        expect(web.serviceName).toBe("web");
        expect(web.replicas).toBe(3);
        expect(await settled(web.imageRef)).toBe("fake/web:1.2.3");
        expect(await settled(web.spec)).toEqual({
            name: "web",
            image: "fake/web:1.2.3",
            replicas: 3,
            env: {
                APP_VERSION: "1.2.3",
                PORT_MIN: "20000",
                PORT_MAX: "20099",
                DRAIN_SECONDS: "3",
                SHUTDOWN_TIMEOUT_SECONDS: "14",
                SERVICE_NAME: "web",
                CONSUL_HTTP_ADDR: "http://127.0.0.1:8500",
                CONSUL_HTTP_TOKEN_FILE: "/run/secrets/consul-registration-token",
                HEALTHCHECK_TIMEOUT_SECONDS: "4",
            },
            cpuLimit: 0.25,
            memoryLimitMiB: 128,
            healthcheck: { cmd: ["bash", "/app/healthcheck.sh"], intervalSeconds: 2, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 5 },
            updatePolicy: {
                parallelism: 1,
                delaySeconds: 2,
                order: "start-first",
                monitorSeconds: 21,
                failureAction: "rollback",
                maxFailureRatio: 0,
            },
            rollbackPolicy: {
                parallelism: 1,
                delaySeconds: 0,
                order: "start-first",
                failureAction: "pause",
                monitorSeconds: 21,
                maxFailureRatio: 0,
            },
            stopGracePeriodSeconds: 15,
            stopSignal: "SIGTERM",
            network: "host",
            placementConstraints: ["node.role==worker"],
            secrets: [
                {
                    name: "consul-registration-token",
                    version: 1,
                    target: "consul-registration-token",
                    uid: "10001",
                    gid: "10001",
                    mode: 0o400,
                },
            ],
            labels: { "swarm-platform.version": "1.2.3" },
            resolveImage: false,
            registryAuth: false,
        });
    });

    test("without workers the tasks run on the managers", async () => {
        const { web } = build({}, {}, 0);
        expect((await settled(web.spec)).placementConstraints).toEqual([]);
    });

    test("an image in a registry is resolved and pulled with the deploying manager's credentials", async () => {
        const { web } = build({}, { pullsImages: true });
        const spec = await settled(web.spec);
        expect([spec.resolveImage, spec.registryAuth]).toEqual([true, true]);
    });
});

describe("what it asks the platform for", () => {
    test("one cluster-wide deploy on the managers, after the swarm is ready and the image is built, again for a new swarm", async () => {
        const { platform, swarm, image, web } = build();
        expect(platform.clusterScripts.map((s) => s.name)).toEqual(["web-deploy"]);
        const [deploy] = platform.clusterScripts;
        expect(deploy.parent).toBe(web);
        expect(deploy.args.nodes).toEqual(swarm.managers);
        expect(deploy.args.dependsOn).toEqual([...swarm.ready, image.resource]);
        expect(deploy.args.reapplyOn).toEqual([swarm.identity]);
        expect(platform.nodes).toEqual([]);
        expect(platform.scripts).toEqual([]);
    });

    test("the deploy script carries the registration token as a secret and the spec's update policy", async () => {
        const { platform } = build();
        const script = platform.clusterScripts[0].args.script;
        expect(await isSecret(script)).toBe(true);
        const text = await settled(script);
        expect(text).toContain("SECRET_VALUE_0=uuid-consul-web-register-token\n");
        expect(text).toContain("    --update-delay 2s \\\n");
        expect(text).toContain("    --update-monitor 21s \\\n");
        expect(text).toContain("    --rollback-monitor 21s \\\n");
        expect(text).toContain("    --stop-grace-period 15s \\\n");
        expect(text).toContain("    --replicas 3 \\\n");
    });

    test("its delete removes the service, by its name", async () => {
        const { platform } = build();
        const remove = platform.clusterScripts[0].args.deleteScript ?? "";
        expect(remove).toContain("\nSERVICE=web\n");
        expect(remove).toContain('docker service rm "$SERVICE"');
    });
});

describe("the app it runs", () => {
    test("built from images/web/Dockerfile, which exists; checked on /health, the path app/server.js answers", () => {
        expect(WEB_DOCKERFILE).toBe("images/web/Dockerfile");
        expect(fs.existsSync(path.join(__dirname, "..", "..", WEB_DOCKERFILE))).toBe(true);
        expect(WEB_HEALTH_PATH).toBe("/health");
        expect(fs.readFileSync(path.join(__dirname, "..", "..", "app", "server.js"), "utf8")).toContain('path === "/health"');
    });
});

describe("in the stack's state", () => {
    test("its type and its outputs: the service name, the image, the replicas and the deployed spec", async () => {
        const { web } = build({ replicas: 2 });
        expect(await settled(web.urn)).toBe("urn:pulumi:test::swarm-platform::swarm-platform:web:Service::web");
        const outputs = await registeredOutputs(web);
        expect(outputs).toEqual({ serviceName: "web", imageRef: "fake/web:1.2.3", replicas: 2, spec: await settled(web.spec) });
        expect(outputs.spec).toMatchObject({ name: "web", image: "fake/web:1.2.3", replicas: 2 });
    });
});

describe("arguments", () => {
    test("given values win over the defaults", async () => {
        const { web } = build({
            replicas: 5,
            resources: { cpus: 1, memoryMb: 128 },
            portRange: { min: 30000, max: 30005 },
            drainSeconds: 5,
            stopGraceSeconds: 20,
            updatePolicy: { parallelism: 2, delaySeconds: 0, order: "stop-first", monitorSeconds: 30 },
            preferWorkers: false,
        });
        const spec = await settled(web.spec);
        expect(web.replicas).toBe(5);
        expect(spec).toMatchObject({
            replicas: 5,
            cpuLimit: 1,
            memoryLimitMiB: 128,
            stopGracePeriodSeconds: 20,
            placementConstraints: [],
            updatePolicy: { parallelism: 2, delaySeconds: 0, order: "stop-first", monitorSeconds: 30 },
            rollbackPolicy: { monitorSeconds: 30 },
        });
        expect(spec.env).toMatchObject({ PORT_MIN: "30000", PORT_MAX: "30005", DRAIN_SECONDS: "5", SHUTDOWN_TIMEOUT_SECONDS: "19" });
    });

    test("a service the Consul cluster has a token for, under another name", async () => {
        const consul = new ConsulCluster("consul", { platform: new FakePlatform(), registeringServices: ["shop"] });
        const swarm = new SwarmCluster("swarm", { platform: new FakePlatform(), consul, subnet: "10.77.0.0/24" });
        const platform = new FakePlatform();
        const image = platform.buildImage({ name: "shop", dockerfile: "images/web/Dockerfile", tag: "2" });
        const web = new WebService("shop", { platform, swarm, consul, image, version: "2", serviceName: "shop" });
        const spec = await settled(web.spec);
        expect([spec.name, spec.env?.SERVICE_NAME]).toEqual(["shop", "shop"]);
        expect(platform.clusterScripts.map((s) => s.name)).toEqual(["shop-deploy"]);
        expect(platform.clusterScripts[0].args.deleteScript).toContain("\nSERVICE=shop\n");
        expect(await settled(platform.clusterScripts[0].args.script)).toContain("SECRET_VALUE_0=uuid-consul-shop-register-token\n");
    });

    test("the edges of each range are accepted", () => {
        expect(() => build({ replicas: 1, portRange: { min: 1024, max: 1025 }, drainSeconds: 0, stopGraceSeconds: 2 })).not.toThrow();
        expect(() => build({ replicas: 2, portRange: { min: 65533, max: 65535 }, drainSeconds: 60, stopGraceSeconds: 62 })).not.toThrow();
        expect(() => build({ updatePolicy: { parallelism: 1, delaySeconds: 0, monitorSeconds: 0 } })).not.toThrow();
    });
});

describe("bad arguments are refused before anything is deployed, all at once, with key, value and rule", () => {
    test.each([
        [{ replicas: 0 }, "replicas = 0: must be a whole number from 1 to 1000"],
        [{ replicas: 2.5 }, "replicas = 2.5: must be a whole number from 1 to 1000"],
        [{ version: "" }, 'version = "": must be a non-empty image tag ([A-Za-z0-9_.-], at most 128 characters, not starting with . or -)'],
        [
            { version: ".1" },
            'version = ".1": must be a non-empty image tag ([A-Za-z0-9_.-], at most 128 characters, not starting with . or -)',
        ],
        [{ resources: { cpus: 0, memoryMb: 64 } }, "resources.cpus = 0: must be a number of CPUs from 0.001 to 64, at most 3 decimals"],
        [{ portRange: { min: 1023, max: 1030 } }, "portRange.min = 1023: must be an unprivileged TCP port, 1024–65535"],
        [{ portRange: { min: 20000, max: 65536 } }, "portRange.max = 65536: must be an unprivileged TCP port, 1024–65535"],
        [
            { portRange: { min: 8000, max: 8600 } },
            "portRange.max = 8600: portRange.min–portRange.max (8000–8600) must not include 8300, the Consul server RPC port on every swarm node",
        ],
        [
            { portRange: { min: 7946, max: 7946 }, replicas: 1 },
            "portRange.max = 7946: portRange.min–portRange.max (7946–7946) must not include 7946, the Swarm gossip port on every swarm node; portRange.max = 7946: must leave at least replicas + 1 = 2 ports from portRange.min = 7946",
        ],
        [
            { portRange: { min: 30000, max: 29999 } },
            "portRange.max = 29999: must not be below portRange.min = 30000; portRange.max = 29999: must leave at least replicas + 1 = 4 ports from portRange.min = 30000",
        ],
        [
            { portRange: { min: 30000, max: 30002 } },
            "portRange.max = 30002: must leave at least replicas + 1 = 4 ports from portRange.min = 30000",
        ],
        [{ drainSeconds: 61, stopGraceSeconds: 70 }, "drainSeconds = 61: must be 0–60 seconds"],
        [{ drainSeconds: -1 }, "drainSeconds = -1: must be 0–60 seconds"],
        [{ stopGraceSeconds: 5.5 }, "stopGraceSeconds = 5.5: must be a whole number of seconds from 1 to 3600"],
        [
            { drainSeconds: 3, stopGraceSeconds: 4 },
            "stopGraceSeconds = 4: must be at least drainSeconds + 2 = 5 so a draining task is not killed mid-request",
        ],
        [{ updatePolicy: { parallelism: 0 } }, "updatePolicy.parallelism = 0: must be a whole number ≥ 1"],
        [{ updatePolicy: { delaySeconds: -1 } }, "updatePolicy.delaySeconds = -1: must be a whole number ≥ 0"],
        [{ updatePolicy: { monitorSeconds: 1.5 } }, "updatePolicy.monitorSeconds = 1.5: must be a whole number ≥ 0"],
        [{ updatePolicy: { order: "random" as "stop-first" } }, 'updatePolicy.order = "random": must be "start-first" or "stop-first"'],
        [{ serviceName: "api" }, 'consul = "api": the Consul cluster issues no registration token for "api" (registeringServices)'],
    ])("%j", (args, issue) => {
        // The smallest cluster and swarm: only the service's own rules are under test here.
        const consul = new ConsulCluster("consul", { platform: new FakePlatform(), servers: 1, registeringServices: ["web"] });
        const swarm = new SwarmCluster("swarm", { platform: new FakePlatform(), consul, subnet: "10.77.0.0/24", managers: 1, workers: 0 });
        const platform = new FakePlatform();
        const image = platform.buildImage({ name: "web", dockerfile: "images/web/Dockerfile", tag: "1" });
        expect(thrown(() => new WebService("web", { platform, swarm, consul, image, version: "1", ...args })).message).toBe(
            `WebService: invalid arguments: ${issue}`,
        );
        expect(platform.clusterScripts).toEqual([]);
    });

    test("every broken rule in one error, each with its key, value and rule", () => {
        const error = thrown(() => build({ replicas: 0, version: "", stopGraceSeconds: 0, serviceName: "api" }));
        expect(error.errors).toEqual([
            { propertyPath: "replicas", reason: "0: must be a whole number from 1 to 1000" },
            {
                propertyPath: "version",
                reason: '"": must be a non-empty image tag ([A-Za-z0-9_.-], at most 128 characters, not starting with . or -)',
            },
            { propertyPath: "stopGraceSeconds", reason: "0: must be a whole number of seconds from 1 to 3600" },
            {
                propertyPath: "stopGraceSeconds",
                reason: "0: must be at least drainSeconds + 2 = 5 so a draining task is not killed mid-request",
            },
            { propertyPath: "consul", reason: '"api": the Consul cluster issues no registration token for "api" (registeringServices)' },
        ]);
    });
});
