// The leave command of an aws node script (platforms/aws/scripts.ts renderSsmDeleteSteps) runs on
// the operator's machine with the real AWS CLI. Here it runs against a fake `aws` on PATH that
// records each call and answers like EC2 and SSM do, so the order and the fallbacks are real.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderSsmDeleteSteps } from "../../platforms/aws/scripts";
import { shellcheck } from "../harness/shellcheck";

const steps = renderSsmDeleteSteps([
    { on: ["swarm-manager"], parameters: '{"commands":["drain"]}' },
    { on: "self", parameters: '{"commands":["leave"]}' },
    { on: ["swarm-manager"], parameters: '{"commands":["node rm"]}' },
]);

/**
 * Runs the steps for NODE_INSTANCE=i-self with a fake aws: describe-instances lists `running`;
 * send-command is refused by the instances in `unreachable`; invocations on `failing` end Failed.
 */
function runLeave(
    running: string[],
    unreachable: string[] = [],
    failing: string[] = [],
): { calls: string[]; stderr: string; status: number | null } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "leave-"));
    const log = path.join(dir, "calls");
    fs.writeFileSync(
        path.join(dir, "aws"),
        [
            "#!/bin/sh",
            `log=${log}`,
            'case "$1 $2" in',
            `  "ec2 describe-instances") echo "describe $*" >>"$log"; printf '${running.join("\\t")}\\n' ;;`,
            '  "ssm send-command")',
            "    id=$4; params=$8",
            '    echo "send $id $params" >>"$log"',
            `    case " ${unreachable.join(" ")} " in *" $id "*) exit 255 ;; esac`,
            '    echo "cmd-$id" ;;',
            '  "ssm get-command-invocation")',
            "    id=$6",
            `    case " ${failing.join(" ")} " in *" $id "*) echo Failed ;; *) echo Success ;; esac ;;`,
            '  *) echo "unexpected aws $*" >&2; exit 2 ;;',
            "esac",
            "",
        ].join("\n"),
        { mode: 0o755 },
    );
    fs.writeFileSync(path.join(dir, "sleep"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    const r = spawnSync("sh", ["-c", steps], {
        encoding: "utf8",
        env: { PATH: `${dir}:/usr/bin:/bin`, AWS_REGION: "eu-west-1", STACK: "prod", NODE_INSTANCE: "i-self" },
        timeout: 20_000,
    });
    const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
    fs.rmSync(dir, { recursive: true, force: true });
    return { calls, stderr: r.stderr, status: r.status };
}

const sends = (calls: string[]) =>
    calls.filter((c) => c.startsWith("send ")).map((c) => c.replace(/^send (\S+) \{"commands":\["(.*)"\]\}$/, "$1:$2"));

test("passes shellcheck", () => {
    expect(shellcheck(steps)).toBe("");
});

test("drains on another manager, leaves on the node itself, then removes it on another manager", () => {
    const r = runLeave(["i-m1", "i-self", "i-m2"]);
    expect(r.status).toBe(0);
    expect(sends(r.calls)).toEqual(["i-m1:drain", "i-self:leave", "i-m1:node rm"]);
    expect(r.calls.filter((c) => c.startsWith("describe"))[0]).toContain("Name=tag:swarm-platform:stack,Values=prod");
});

test("a manager that does not answer or fails the step is skipped for the next one", () => {
    expect(sends(runLeave(["i-m1", "i-m2"], ["i-m1"]).calls)).toEqual([
        "i-m1:drain",
        "i-m2:drain",
        "i-self:leave",
        "i-m1:node rm",
        "i-m2:node rm",
    ]);
    expect(sends(runLeave(["i-m1", "i-m2"], [], ["i-m1"]).calls)).toEqual([
        "i-m1:drain",
        "i-m2:drain",
        "i-self:leave",
        "i-m1:node rm",
        "i-m2:node rm",
    ]);
});

test("best effort: with no manager left and the node gone it says so and still ends (a gone node must not wedge the stack)", () => {
    const r = runLeave([], ["i-self"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/leave: step 1 of 3 did not complete/);
    expect(r.stderr).toMatch(/leave: step 2 of 3 did not complete/);
});
