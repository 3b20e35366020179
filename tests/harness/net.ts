// Small network helpers the tests share: a free loopback port for a server a test starts, and a
// plain HTTP GET of a loopback URL.
import * as http from "node:http";
import * as net from "node:net";

/** A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read back, released). */
export async function freePort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
}

/** GET a URL over plain HTTP: its status and body as text; rejects when the connection fails. */
export function getText(url: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        http.get(url, (res) => {
            let body = "";
            res.on("data", (c) => (body += c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        }).on("error", reject);
    });
}
