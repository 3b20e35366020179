// A fake `consul` CLI for the render/consul.ts scripts (tests/render/consul*.test.ts).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** A fake `consul` CLI in a fresh temp dir: `list-peers` prints PEERS (or fails if absent), `members` prints MEMBERS. */
export function runWithFakeConsul(
    script: string,
    files: { peers?: string; members?: string },
): { status: number | null; stderr: string; ms: number } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "consul-ready-"));
    try {
        if (files.peers !== undefined) fs.writeFileSync(path.join(dir, "peers"), files.peers);
        fs.writeFileSync(path.join(dir, "members"), files.members ?? "");
        fs.writeFileSync(
            path.join(dir, "consul"),
            `#!/bin/sh\ncase "$1 $2" in\n  "operator raft") [ -f ${dir}/peers ] || exit 1; cat ${dir}/peers ;;\n  "members -status=alive") cat ${dir}/members ;;\n  *) exit 3 ;;\nesac\n`,
            { mode: 0o755 },
        );
        const started = Date.now();
        const r = spawnSync("sh", ["-s"], { input: script, encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
        return { status: r.status, stderr: r.stderr, ms: Date.now() - started };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/**
 * A fake `consul` CLI of a healthy cluster, for running every script of a graph
 * (tests/security/argv.test.ts): a leader exists and the node it runs on ($FAKE_NODE) is a voter and
 * alive; no ACL policy or token exists yet (reads fail, creates succeed); anything else succeeds.
 */
export const FAKE_CONSUL_CLUSTER = `#!/bin/sh
case "$1 $2" in
  "operator raft") printf 'Node ID Address State Voter RaftProtocol\\n%s id 10.0.0.1:8300 leader true 3\\n' "$FAKE_NODE" ;;
  "members -status=alive") printf 'Node Address Status Type\\n%s 10.0.0.1:8301 alive server\\n' "$FAKE_NODE" ;;
  "acl policy" | "acl token") [ "$3" = read ] && exit 1; exit 0 ;;
  *) exit 0 ;;
esac
`;
