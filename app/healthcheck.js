"use strict";
/**
 * Docker HEALTHCHECK for the web service: exit 0 if GET /health answers 200, else 1.
 *
 * The server picks its port at runtime (host networking, see server.js), so
 * the port is read from PORT_FILE. What this prints ends up in
 * `docker inspect` (.State.Health.Log), so failures say why.
 *
 * Environment: PORT_FILE (default /tmp/web.port), BIND_ADDR (the server's;
 * used as the target unless it is a wildcard, then 127.0.0.1),
 * HEALTHCHECK_TIMEOUT_SECONDS (default 2).
 */

const http = require("http");
const fs = require("fs");

function targetHost(bindAddr) {
    if (!bindAddr || bindAddr === "0.0.0.0") return "127.0.0.1";
    if (bindAddr === "::") return "::1";
    return bindAddr;
}

/** Resolves with { code, message }; never rejects. */
function check(env = process.env) {
    const portFile = env.PORT_FILE || "/tmp/web.port";
    const seconds = Number(env.HEALTHCHECK_TIMEOUT_SECONDS);
    const timeoutMs = (Number.isFinite(seconds) && seconds > 0 ? seconds : 2) * 1000;

    let port;
    try {
        port = Number(fs.readFileSync(portFile, "utf8").trim());
    } catch (err) {
        return Promise.resolve({ code: 1, message: `cannot read ${portFile}: ${err.code || err.message}` });
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
        return Promise.resolve({ code: 1, message: `${portFile} does not hold a port number` });
    }

    return new Promise((resolve) => {
        const done = (code, message) => {
            clearTimeout(timer);
            resolve({ code, message });
        };
        const req = http.get({ host: targetHost((env.BIND_ADDR || "").trim()), port, path: "/health", agent: false }, (res) => {
            res.resume();
            if (res.statusCode === 200) done(0, "ok");
            else done(1, `/health answered ${res.statusCode}`);
        });
        // One deadline for connect + response (Docker's --timeout would kill us anyway).
        const timer = setTimeout(() => {
            req.destroy();
            done(1, `no answer within ${timeoutMs / 1000}s`);
        }, timeoutMs);
        req.on("error", (err) => done(1, `request failed: ${err.code || err.message}`));
    });
}

module.exports = { check, targetHost };

if (require.main === module) {
    check().then(({ code, message }) => {
        console.log(message);
        // Exit explicitly: don't wait for sockets or timers to wind down.
        process.exit(code);
    });
}
