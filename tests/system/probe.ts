// One-off HTTP probes of the harness (readiness, health checks): not load (see load.ts).
import * as http from "http";
import * as https from "https";

/**
 * The CA the harness's HTTPS clients trust: the stack's own (output webCaCertificate), set once the
 * graph is evaluated (DataPlane). Certificates are always verified — nothing here turns that off.
 */
let trustedCa: string | undefined;
export function trustCa(pem: string): void {
    trustedCa = pem;
}

/** `http.get` or, for https:// URLs, `https.get` verifying against the trusted CA. */
export function getFor(url: URL): {
    get: typeof http.get;
    tls: https.RequestOptions;
} {
    if (url.protocol === "http:") return { get: http.get, tls: {} };
    if (url.protocol !== "https:") throw new Error(`only http:// and https:// are supported (got ${url.href})`);
    if (trustedCa === undefined) throw new Error(`no CA to verify ${url.href} against: call trustCa first`);
    return { get: https.get as unknown as typeof http.get, tls: { ca: trustedCa } };
}

/** GET with one deadline; never rejects (status 0 = no answer). */
export function httpGet(url: string, timeoutMs: number): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
    return new Promise((resolve) => {
        let done = false;
        const finish = (v: { status: number; body: string; headers: http.IncomingHttpHeaders }) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            resolve(v);
        };
        const { get, tls } = getFor(new URL(url));
        const req = get(url, { agent: false, ...tls }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => (body += c));
            res.on("end", () => finish({ status: res.statusCode ?? 0, body, headers: res.headers }));
            res.on("error", () => finish({ status: 0, body: "", headers: {} }));
        });
        const timer = setTimeout(() => {
            req.destroy();
            finish({ status: 0, body: "", headers: {} });
        }, timeoutMs);
        req.on("error", () => finish({ status: 0, body: "", headers: {} }));
    });
}

/** The task that answered, from the app's body ("swarm-platform web <version> task=<name> host=… port=…"). */
export function taskOf(body: string): string | undefined {
    return /task=(\S+)/.exec(body)?.[1];
}
