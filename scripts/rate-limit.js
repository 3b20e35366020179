#!/usr/bin/env node
// Copies stdin to stdout at most MB_PER_SECOND megabytes a second (default 16). The dev stack pipes
// `docker save` through it into a node's `docker load`: unpacked at full speed, a load took the
// machine's CPUs from the tasks serving beside it (the swarm system test counted 13–20 requests past
// their 1 s deadline while the image went into a node that served nothing); spread over a few more
// seconds, the load leaves them room. Dependency-free: it runs wherever the Pulumi program runs.
"use strict";
const rate = Number(process.argv[2] ?? 16) * 1024 * 1024;
if (!(rate > 0)) {
    process.stderr.write("usage: rate-limit.js [MB per second > 0]\n");
    process.exit(2);
}
const started = Date.now();
let sent = 0;
process.stdin.on("data", (chunk) => {
    sent += chunk.length;
    const due = started + (sent / rate) * 1000;
    const wait = due - Date.now();
    if (!process.stdout.write(chunk) || wait > 0) {
        process.stdin.pause();
        const resume = () => setTimeout(() => process.stdin.resume(), Math.max(0, wait));
        if (process.stdout.writableNeedDrain) process.stdout.once("drain", resume);
        else resume();
    }
});
process.stdin.on("end", () => process.stdout.end());
process.stdout.on("error", (err) => {
    process.stderr.write(`rate-limit: ${err.message}\n`);
    process.exit(1);
});
