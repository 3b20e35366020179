// The pure parts of prod monitoring: which instance types run on CPU credits, the engine's log
// settings and Fluent Bit's config. The graph they make is checked in tests/unit/prodStack.test.ts ("monitoring").
import { isBurstable } from "../../platforms/aws/monitoring";
import { alarmName, ALARM_NAME_MAX, logGroupName, snsTopicName } from "../../platforms/aws/names";
import { renderFluentBitConfig, withAwsLogsDriver } from "../../render/cloudInit";
import { renderDockerDaemonConfig } from "../../render/swarm";

test.each(["t2.micro", "t2.2xlarge", "t3.nano", "t3.medium", "t3a.small", "t4g.large"])("%s is burstable", (type) => {
    expect(isBurstable(type)).toBe(true);
});
test.each(["m7i.large", "c6i.xlarge", "m6g.medium", "r5.large", "x2iedn.xlarge", "trn1.2xlarge", "c7gn.large"])("%s is not", (type) => {
    expect(isBurstable(type)).toBe(false);
});

/** Log group names: [.-_/#A-Za-z0-9]{1,512} (CreateLogGroup). SNS topic names: [A-Za-z0-9_-]{1,256} (CreateTopic). */
const LOG_GROUP = /^[.\-_/#A-Za-z0-9]{1,512}$/;
const SNS_TOPIC = /^[A-Za-z0-9_-]{1,256}$/;
const STACKS = ["prod", "Prod_EU.1", "production-eu-west-1", "x".repeat(100), "a.b-c_d"];

test.each(STACKS)("stack %s: its log group, alarm topic and alarm names obey their services' rules", (stack) => {
    expect(logGroupName("swarm-platform", stack)).toMatch(LOG_GROUP);
    expect(snsTopicName("swarm-platform", stack, "alarms")).toMatch(SNS_TOPIC);
    const alarm = alarmName(`swarm-platform-${stack}-`, `swarm-worker-12-status-check`);
    expect(alarm.length).toBeLessThanOrEqual(ALARM_NAME_MAX);
    expect(alarmName(`swarm-platform-${stack}-`, "x".repeat(300)).length).toBeLessThanOrEqual(ALARM_NAME_MAX);
});

test("distinct stacks get distinct topics, also where the stack name had to change", () => {
    const topics = ["prod.eu.1", "prod-eu-1", "prod_eu_1", "PROD"].map((s) => snsTopicName("swarm-platform", s, "alarms"));
    expect(new Set(topics).size).toBe(topics.length);
    expect(snsTopicName("swarm-platform", "prod", "alarms")).toBe("swarm-platform-prod-alarms");
    expect(logGroupName("swarm-platform", "prod")).toBe("/swarm-platform/prod");
});

describe("dockerd's log settings", () => {
    const logs = { nodeName: "swarm-worker-0", region: "eu-west-1", logGroup: "/swarm-platform/prod" };

    test("the awslogs driver replaces json-file and its rotation options; every other setting stays as it was, in order", () => {
        const base = renderDockerDaemonConfig({ outerSubnet: "10.20.0.0/16" });
        const text = withAwsLogsDriver(base, logs);
        expect(text.endsWith("}\n")).toBe(true);
        const before = JSON.parse(base);
        const after = JSON.parse(text);
        expect(Object.keys(after)).toEqual(Object.keys(before));
        expect(after["log-driver"]).toBe("awslogs");
        // awslogs refuses options it does not know: no max-size / max-file left over.
        expect(after["log-opts"]).toEqual({
            "awslogs-region": "eu-west-1",
            "awslogs-group": "/swarm-platform/prod",
            tag: "swarm-worker-0/{{.Name}}",
            mode: "non-blocking",
            "max-buffer-size": "4m",
        });
        for (const key of Object.keys(before).filter((k) => k !== "log-driver" && k !== "log-opts"))
            expect(after[key]).toEqual(before[key]);
    });
});

test("Fluent Bit ships the whole journal to the node's streams of the log group and never creates the group", () => {
    const config = renderFluentBitConfig({ nodeName: "lb-1", region: "eu-west-1", logGroup: "/swarm-platform/prod" });
    const settings = (section: string) =>
        Object.fromEntries(
            config
                .split(/^\[/m)
                .find((s) => s.startsWith(`${section}]`))!
                .split("\n")
                .slice(1)
                .filter((l) => l.trim() !== "")
                .map((l) => l.trim().split(/\s+/, 2)),
        );
    expect(settings("INPUT")).toEqual({
        Name: "systemd",
        Tag: "host.*",
        DB: "/var/lib/fluent-bit/journal.db",
        Strip_Underscores: "On",
    });
    expect(settings("OUTPUT")).toEqual({
        Name: "cloudwatch_logs",
        Match: "host.*",
        region: "eu-west-1",
        log_group_name: "/swarm-platform/prod",
        log_stream_prefix: "lb-1/",
        log_key: "MESSAGE",
        auto_create_group: "Off",
    });
});
