// render/cloudInit.ts, slow set (`npm test` only, not run per mutant): shellcheck over the scripts.
import { renderNodeBootScript, renderVipRouteNotifyScript } from "../../render/cloudInit";
import { requireShellcheck, shellcheck } from "../harness/shellcheck";

const BOOT_INPUT = {
    nodeName: "swarm-worker-0",
    region: "eu-west-1",
    packages: ["docker.io", "awscli"],
    files: [
        { path: "/etc/docker/daemon.json", mode: "0644", parameter: "/swarm-platform/prod/swarm-worker/swarm-worker-0/file-0" },
        { path: "/consul/config/client.json", mode: "0644", parameter: "/swarm-platform/prod/swarm-worker/swarm-worker-0/file-1" },
    ],
    services: ["docker"],
    containers: [
        { name: "consul-agent", image: "hashicorp/consul:1.20.2", flags: ["-v", "/consul/config:/consul/config:ro"], command: ["agent"] },
    ],
    filesDigest: "0f".repeat(32),
    ssmAgentVersion: "latest",
};

beforeAll(requireShellcheck);

test("the boot script passes shellcheck", () => {
    expect(shellcheck(renderNodeBootScript(BOOT_INPUT))).toBe("");
    expect(shellcheck(renderNodeBootScript({ ...BOOT_INPUT, files: [], containers: [] }))).toBe("");
});

test("the VIP notify script passes shellcheck", () => {
    expect(shellcheck(renderVipRouteNotifyScript({ vip: "192.168.255.10", routeTableIds: ["rtb-1", "rtb-2"], region: "eu-west-1" }))).toBe(
        "",
    );
});
