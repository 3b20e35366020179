// The Consul agent API stand-in (tests/system/consul/agent-api.js) as the system suites run it: a
// container of the web image (which brings Node.js) whose entrypoint is node and whose command is
// the script, uploaded before the container starts.
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "../harness/program";
import { UploadFile } from "./docker";

const SCRIPT_PATH = "/tmp/agent-api.js";

/** The stand-in: its file, the `docker create` flags that run it with this CPU limit, and its command. */
export function agentApiContainer(cpus: string): { file: UploadFile; flags: string[]; command: string[] } {
    return {
        file: {
            path: SCRIPT_PATH,
            content: fs.readFileSync(path.join(REPO_ROOT, "tests/system/consul/agent-api.js"), "utf8"),
            mode: "0644",
        },
        // The web image's own health check probes the app, which does not run here.
        flags: ["--cpus", cpus, "--memory", "96m", "--no-healthcheck", "--entrypoint", "node"],
        command: [SCRIPT_PATH],
    };
}
