// One-off HTTP probes of the harness (readiness, health checks): not load (see load.ts).
import * as http from "http";

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
        const req = http.get(url, { agent: false }, (res) => {
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
