/**
 * render/prometheus.ts through the real Prometheus tools (Debian's `prometheus` package: promtool
 * 2.42): the rendered rules pass `promtool check rules`, every rule's behaviour passes
 * `promtool test rules` (rules.test.yml, beside this file), and every alert has a test that makes it
 * fire and one that keeps it quiet. The rendered prometheus.yml passes `promtool check config`.
 * A missing promtool fails the suite (no skipping): `apt-get install prometheus`.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";

import { ALERT_NAMES, PROMETHEUS_PATHS, renderAlertRules, renderPrometheusConfig } from "../../render/prometheus";

const TESTS_FILE = path.join(__dirname, "rules.test.yml");
// The stack rules.test.yml is written for.
const COUNTS = { consulServers: 3, swarmManagers: 3, swarmNodes: 5, lbNodes: 2 };

function promtool(args: string[], cwd: string): string {
    const r = spawnSync("promtool", args, { cwd, encoding: "utf8" });
    if (r.error !== undefined) throw new Error(`promtool not runnable (${r.error.message}): run \`apt-get install -y prometheus\``);
    const output = `${r.stdout}${r.stderr}`;
    if (r.status !== 0) throw new Error(`promtool ${args.join(" ")} exited ${r.status}:\n${output}`);
    return output;
}

let dir = "";
beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "prometheus-rules-"));
    fs.writeFileSync(path.join(dir, "rules.yml"), renderAlertRules(COUNTS));
    fs.copyFileSync(TESTS_FILE, path.join(dir, "rules.test.yml"));
});
afterAll(() => {
    if (dir !== "") fs.rmSync(dir, { recursive: true, force: true });
});

interface PromtoolTests {
    tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
}

test("the rendered rules pass promtool check rules", () => {
    expect(promtool(["check", "rules", "rules.yml"], dir)).toContain(`SUCCESS: ${ALERT_NAMES.length} rules found`);
});

test("every rule behaves as rules.test.yml says (promtool test rules)", () => {
    expect(promtool(["test", "rules", "rules.test.yml"], dir)).toContain("SUCCESS");
});

test("the rules file holds exactly the alerts ALERT_NAMES lists, in order", () => {
    const rules = yaml.load(renderAlertRules(COUNTS)) as { groups: { rules: { alert: string }[] }[] };
    expect(rules.groups.flatMap((g) => g.rules.map((r) => r.alert))).toEqual([...ALERT_NAMES]);
});

test.each([...ALERT_NAMES])("%s has a test that fires it and one that keeps it quiet", (alert) => {
    const tests = (yaml.load(fs.readFileSync(TESTS_FILE, "utf8")) as PromtoolTests).tests;
    const checks = tests.flatMap((t) => t.alert_rule_test ?? []).filter((c) => c.alertname === alert);
    expect(checks.some((c) => (c.exp_alerts ?? []).length > 0)).toBe(true);
    expect(checks.some((c) => (c.exp_alerts ?? []).length === 0)).toBe(true);
});

test("the quorum rules follow the stack's counts", () => {
    const rules = renderAlertRules({ consulServers: 5, swarmManagers: 7, swarmNodes: 9, lbNodes: 2 });
    expect(rules).toContain('count(up{job="consul-servers"} == 1)) or vector(0)) < 5');
    expect(rules).toContain("count(swarm_node_manager == 1)) or vector(0)) < 7");
});

test("the rendered prometheus.yml passes promtool check config, with TLS to the servers and without", () => {
    for (const scheme of ["https", "http"] as const) {
        // The config names the node's paths: check a copy whose paths point into the temp dir.
        const text = renderPrometheusConfig({ stack: "dev", datacenter: "dc1", consulServersScheme: scheme });
        const local = Object.values(PROMETHEUS_PATHS).reduce((t, p) => t.split(p).join(path.join(dir, path.basename(p))), text);
        for (const p of Object.values(PROMETHEUS_PATHS)) {
            if (p !== PROMETHEUS_PATHS.rules && p !== PROMETHEUS_PATHS.data) fs.writeFileSync(path.join(dir, path.basename(p)), "x\n");
        }
        fs.writeFileSync(path.join(dir, `prometheus-${scheme}.yml`), local);
        expect(promtool(["check", "config", `prometheus-${scheme}.yml`], dir)).toContain("is valid prometheus config file syntax");
    }
});

test("renderAlertRules rejects a count that is not a whole number", () => {
    expect(() => renderAlertRules({ ...COUNTS, consulServers: 2.5 })).toThrow("consulServers must be an integer ≥ 0 (got 2.5)");
});
