// config/index.ts: reading the stack's Pulumi config into validateStackConfig, under Pulumi's mock
// runtime (config and stack name only; no program is evaluated).
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig, StackConfigError } from "../../config";

const PROJECT = "swarm-platform";

/** Sets the stack's config (values as the CLI stores them: strings, sections as JSON) and its name. */
async function stack(name: string, config: Record<string, string>): Promise<void> {
    pulumi.runtime.setAllConfig(config, []);
    await pulumi.runtime.setMocks({ newResource: () => ({ id: "x", state: {} }), call: () => ({}) }, PROJECT, name, false);
}

const thrown = (): StackConfigError => {
    try {
        loadStackConfig();
    } catch (e) {
        return e as StackConfigError;
    }
    throw new Error("loadStackConfig accepted the config");
};

describe("loadStackConfig", () => {
    test("reads platform and JSON sections, and validates them with the stack's name", async () => {
        await stack("dev", {
            "swarm-platform:platform": "local",
            "swarm-platform:web": '{"version":"1.2.3","replicas":5}',
            "swarm-platform:swarm": '{"workers":4}',
            "aws:region": "eu-west-1",
        });
        const config = loadStackConfig();
        expect(config.stack).toBe("dev");
        expect(config.platform).toBe("local");
        expect(config.web.version).toBe("1.2.3");
        expect(config.web.replicas).toBe(5);
        expect(config.swarm.workers).toBe(4);
    });

    test.each(["consul", "swarm", "web", "lb", "network", "edge", "aws"])("section %s is read from the stack config", async (section) => {
        await stack("dev", {
            "swarm-platform:platform": "local",
            "swarm-platform:web": '{"version":"1"}',
            [`swarm-platform:${section}`]: section === "web" ? '{"version":"1","typo":1}' : '{"typo":1}',
        });
        expect(thrown().issues).toEqual([expect.objectContaining({ key: `${section}.typo`, value: 1 })]);
    });

    test("refuses with one error listing every bad key, its value and its rule", async () => {
        await stack("staging", {
            "swarm-platform:platform": "local",
            "swarm-platform:consul": '{"servers":4}',
            "swarm-platform:web": '{"version":"1","replicas":0}',
        });
        const error = thrown();
        expect(error).toBeInstanceOf(StackConfigError);
        expect(error).toBeInstanceOf(pulumi.RunError);
        expect(error.name).toBe("StackConfigError");
        expect(error.stack).toBe("staging");
        expect(error.issues).toHaveLength(2);
        expect(error.message).toBe(
            'Invalid stack config for stack "staging" (nothing was created):\n' +
                "  - consul.servers = 4: must be an odd whole number from 1 to 7 (an even count adds a member without surviving one more failure)\n" +
                "  - web.replicas = 0: must be a whole number from 1 to 1000",
        );
    });

    test("a section set as a plain string is reported with the other issues, not a JSON.parse crash", async () => {
        await stack("dev", { "swarm-platform:platform": "local", "swarm-platform:web": "7x", "swarm-platform:consul": '{"servers":2}' });
        expect(thrown().message).toBe(
            'Invalid stack config for stack "dev" (nothing was created):\n' +
                '  - web = "7x": must be an object (set its keys with `pulumi config set --path`)\n' +
                "  - consul.servers = 2: must be an odd whole number from 1 to 7 (an even count adds a member without surviving one more failure)\n" +
                "  - web.version = (missing): is required; must be a non-empty image tag ([A-Za-z0-9_.-], at most 128 characters, not starting with . or -)",
        );
    });

    test("a misspelt top-level key of this project is refused; other namespaces' keys are not ours", async () => {
        await stack("dev", {
            "swarm-platform:platform": "local",
            "swarm-platform:web": '{"version":"1"}',
            "swarm-platform:webb": '{"replicas":7}',
            "aws:webb": "x",
        });
        expect(thrown().message).toBe(
            'Invalid stack config for stack "dev" (nothing was created):\n' +
                '  - webb = "{\\"replicas\\":7}": is not a known key (known: platform, consul, swarm, web, lb, network, edge, rotation, aws)',
        );
    });

    // Before, `swarm-platform:web:x` was split at every colon and read as the known key `web`.
    test("a top-level key named like an Object member, or with a second colon, is refused as unknown", async () => {
        await stack("dev", {
            "swarm-platform:platform": "local",
            "swarm-platform:web": '{"version":"1"}',
            "swarm-platform:toString": "x",
            "swarm-platform:__proto__": "{}",
            "swarm-platform:constructor": "1",
            "swarm-platform:web:x": "1",
        });
        const known = "is not a known key (known: platform, consul, swarm, web, lb, network, edge, rotation, aws)";
        expect(thrown().issues.map((i) => `${i.key}: ${i.rule}`)).toEqual([
            `toString: ${known}`,
            `__proto__: ${known}`,
            `constructor: ${known}`,
            `web:x: ${known}`,
        ]);
    });

    test("the stack's name reaches the rules (the production quorum floor)", async () => {
        await stack("prod", {
            "swarm-platform:platform": "local",
            "swarm-platform:web": '{"version":"1"}',
            "swarm-platform:consul": '{"servers":1}',
        });
        expect(thrown().issues).toEqual([
            { key: "consul.servers", value: 1, rule: "must be at least 3 on the prod stack (survives one failure)" },
        ]);
    });
});
