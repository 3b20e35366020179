// The AWS API stand-in of the boot rehearsal: one HTTP server in the test process that the nodes'
// real AWS CLI reaches (their /usr/local/bin/aws wrapper adds --endpoint-url for ssm and ec2):
//
// - SSM (JSON 1.1 protocol, `X-Amz-Target: AmazonSSM.<Operation>`): GetParameter, GetParameters,
//   PutParameter (Overwrite), over the graph's Parameter Store values. SecureStrings are returned
//   decrypted only WithDecryption (else an opaque blob, as SSM does); PutParameter holds a value to
//   its tier's size limit (Standard 4 KB, Advanced 8 KB; Intelligent-Tiering picks).
// - EC2 (query protocol, `Action=…` form body): ReplaceRoute and CreateRoute, recorded.
// - IAM, as AWS applies it: the caller is found by the access key id in the SigV4 Authorization
//   header (each node's IMDS stand-in hands out its own), and the call must be allowed by that
//   node's instance-role policy from the graph — else AccessDeniedException / UnauthorizedOperation,
//   as AWS answers. Signatures themselves are not checked.
//
// Every call is recorded (node, operation, resource, allowed, status) for the assertions and report.
import * as http from "http";
import { AddressInfo } from "net";
import { iamAllows, RehearsalNode, RehearsalPlan } from "./graph";

export interface AwsCall {
    readonly at: number;
    readonly node: string;
    readonly service: "ssm" | "ec2" | "other";
    readonly operation: string;
    readonly resource: string;
    readonly params: Record<string, string>;
    readonly status: number;
    readonly error?: string;
}

interface StoredParameter {
    value: string;
    type: string;
    tier: string;
    version: number;
    modified: number;
}

/** Parameter value size limits by tier (https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html). */
const TIER_LIMIT: Record<string, number> = { Standard: 4096, Advanced: 8192 };

export class AwsApiStandIn {
    readonly calls: AwsCall[] = [];
    private readonly parameters = new Map<string, StoredParameter>();
    private readonly byAccessKey = new Map<string, RehearsalNode>();
    private server?: http.Server;

    constructor(
        private readonly plan: RehearsalPlan,
        accessKeys: ReadonlyMap<string, RehearsalNode>,
    ) {
        for (const [name, p] of plan.parameters) this.parameters.set(name, { ...p, version: 1, modified: Date.now() / 1000 });
        for (const [key, node] of accessKeys) this.byAccessKey.set(key, node);
    }

    /** Listens on `host` (the rehearsal network's gateway address); resolves with the endpoint URL. */
    async listen(host: string): Promise<string> {
        this.server = http.createServer((req, res) => {
            const chunks: Buffer[] = [];
            req.on("data", (c: Buffer) => chunks.push(c));
            req.on("end", () => {
                try {
                    this.handle(req, Buffer.concat(chunks).toString("utf8"), res);
                } catch (err) {
                    res.writeHead(500, { "Content-Type": "application/x-amz-json-1.1" });
                    res.end(JSON.stringify({ __type: "InternalServerError", message: String(err) }));
                }
            });
        });
        await new Promise<void>((resolve, reject) => {
            this.server!.once("error", reject);
            this.server!.listen(0, host, () => resolve());
        });
        return `http://${host}:${(this.server.address() as AddressInfo).port}`;
    }

    async close(): Promise<void> {
        const server = this.server;
        if (!server) return;
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
    }

    /** The current value of a parameter (what a script wrote, or the program's). */
    parameterValue(name: string): string | undefined {
        return this.parameters.get(name)?.value;
    }

    private caller(req: http.IncomingMessage): { node?: RehearsalNode; region: string } {
        const auth = String(req.headers.authorization ?? "");
        const m = /Credential=([A-Z0-9]+)\/\d{8}\/([a-z0-9-]+)\//.exec(auth);
        return { node: m ? this.byAccessKey.get(m[1]) : undefined, region: m?.[2] ?? "" };
    }

    private handle(req: http.IncomingMessage, body: string, res: http.ServerResponse): void {
        const target = String(req.headers["x-amz-target"] ?? "");
        const { node, region } = this.caller(req);
        if (target.startsWith("AmazonSSM.")) return this.ssm(target.slice("AmazonSSM.".length), body, node, region, res);
        const form = new URLSearchParams(body);
        if (form.has("Action")) return this.ec2(form, node, region, res);
        this.record(node, "other", req.method + " " + req.url, "", {}, 400, "unsupported");
        res.writeHead(400, { "Content-Type": "text/plain" });
        res.end("rehearsal AWS stand-in: unsupported request");
    }

    private record(
        node: RehearsalNode | undefined,
        service: AwsCall["service"],
        operation: string,
        resource: string,
        params: Record<string, string>,
        status: number,
        error?: string,
    ): void {
        this.calls.push({ at: Date.now(), node: node?.name ?? "(unknown key)", service, operation, resource, params, status, error });
    }

    private ssm(operation: string, body: string, node: RehearsalNode | undefined, region: string, res: http.ServerResponse): void {
        const input = JSON.parse(body || "{}") as Record<string, any>;
        const account = this.plan.accountId;
        const arn = (name: string) => `arn:aws:ssm:${region}:${account}:parameter${name.startsWith("/") ? "" : "/"}${name}`;
        const reply = (status: number, out: object, resource: string, error?: string) => {
            this.record(node, "ssm", operation, resource, { Name: String(input.Name ?? "") }, status, error);
            res.writeHead(status, { "Content-Type": "application/x-amz-json-1.1" });
            res.end(JSON.stringify(out));
        };
        const fail = (status: number, type: string, message: string, resource: string) =>
            reply(status, { __type: type, message }, resource, `${type}: ${message}`);
        const denied = (action: string, resource: string): boolean => {
            if (node && iamAllows(node.policy, action, resource)) return false;
            const who = node ? `arn:aws:sts::${account}:assumed-role/${node.iamRoleName}/${node.instanceId}` : "an unknown access key";
            fail(
                400,
                "AccessDeniedException",
                `User: ${who} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`,
                resource,
            );
            return true;
        };
        const view = (name: string, p: StoredParameter, decrypt: boolean) => ({
            Name: name,
            Type: p.type,
            Value: p.type === "SecureString" && !decrypt ? Buffer.from(`kms-encrypted:${name}:${p.version}`).toString("base64") : p.value,
            Version: p.version,
            LastModifiedDate: p.modified,
            ARN: arn(name),
            DataType: "text",
        });
        switch (operation) {
            case "GetParameter": {
                const name = String(input.Name);
                if (denied("ssm:GetParameter", arn(name))) return;
                const p = this.parameters.get(name);
                if (!p) return fail(400, "ParameterNotFound", `Parameter ${name} not found.`, arn(name));
                return reply(200, { Parameter: view(name, p, input.WithDecryption === true) }, arn(name));
            }
            case "GetParameters": {
                const names = (input.Names ?? []) as string[];
                for (const name of names) if (denied("ssm:GetParameters", arn(name))) return;
                const found = names.filter((n) => this.parameters.has(n));
                return reply(
                    200,
                    {
                        Parameters: found.map((n) => view(n, this.parameters.get(n)!, input.WithDecryption === true)),
                        InvalidParameters: names.filter((n) => !this.parameters.has(n)),
                    },
                    names.map(arn).join(","),
                );
            }
            case "PutParameter": {
                const name = String(input.Name);
                if (denied("ssm:PutParameter", arn(name))) return;
                const existing = this.parameters.get(name);
                if (existing && input.Overwrite !== true) {
                    return fail(
                        400,
                        "ParameterAlreadyExists",
                        "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
                        arn(name),
                    );
                }
                const value = String(input.Value ?? "");
                const tier = String(input.Tier ?? existing?.tier ?? "Standard");
                const limit = tier === "Intelligent-Tiering" ? TIER_LIMIT.Advanced : (TIER_LIMIT[tier] ?? TIER_LIMIT.Standard);
                if (value.length === 0 || Buffer.byteLength(value) > limit) {
                    return fail(
                        400,
                        "ValidationException",
                        `Parameter value length ${Buffer.byteLength(value)} is outside 1–${limit} for tier ${tier}`,
                        arn(name),
                    );
                }
                const version = (existing?.version ?? 0) + 1;
                this.parameters.set(name, {
                    value,
                    type: String(input.Type ?? existing?.type ?? "String"),
                    tier,
                    version,
                    modified: Date.now() / 1000,
                });
                return reply(
                    200,
                    {
                        Version: version,
                        Tier: tier === "Advanced" || Buffer.byteLength(value) > TIER_LIMIT.Standard ? "Advanced" : "Standard",
                    },
                    arn(name),
                );
            }
            default:
                return fail(400, "InvalidAction", `rehearsal stand-in: SSM operation ${operation} is not implemented`, "");
        }
    }

    private ec2(form: URLSearchParams, node: RehearsalNode | undefined, region: string, res: http.ServerResponse): void {
        const action = String(form.get("Action"));
        const params = Object.fromEntries([...form.entries()].filter(([k]) => k !== "Action" && k !== "Version"));
        const routeTable = params.RouteTableId ?? "";
        const resource = `arn:aws:ec2:${region}:${this.plan.accountId}:route-table/${routeTable}`;
        const xml = (status: number, text: string, error?: string) => {
            this.record(node, "ec2", action, resource, params, status, error);
            res.writeHead(status, { "Content-Type": "text/xml;charset=UTF-8" });
            res.end(text);
        };
        const requestId = "00000000-0000-4000-8000-000000000000";
        if (action !== "ReplaceRoute" && action !== "CreateRoute") {
            return xml(
                400,
                `<Response><Errors><Error><Code>InvalidAction</Code><Message>rehearsal stand-in: ${action} is not implemented</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`,
                "InvalidAction",
            );
        }
        if (!node || !iamAllows(node.policy, `ec2:${action}`, resource)) {
            return xml(
                403,
                `<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`,
                "UnauthorizedOperation",
            );
        }
        xml(
            200,
            `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>${requestId}</requestId><return>true</return></${action}Response>`,
        );
    }
}
