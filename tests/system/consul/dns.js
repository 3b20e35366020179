"use strict";
// Stand-in for a Consul agent's DNS interface (127.0.0.1:8600) that answers in Consul's exact shape,
// for both system suites (tests/system/dataplane.ts, swarm.ts). Consul writes an A record per SRV
// record (agent/dns.go, serviceSRVRecords: an SRV answer and its node's A record in the additional
// section for every instance); dnsmasq, the first stand-in, wrote one per target name. The
// difference shows as soon as two instances run on one node, which Swarm does: HAProxy links an
// additional record to one SRV record only, resolves the target of the other with a query of its
// own, and its duplicate-IP check then keeps that server without an address while the other one
// holds it. Measured with the program's haproxy.cfg: with dnsmasq's shape the second of two new
// tasks on one node got no traffic until the first left; with Consul's shape both did at once.
// dnsmasq also had to be restarted for every change (SIGHUP does not reread SRV records), and
// HAProxy retries a refused query only after `timeout retry`.
//
// Reads the records the harness writes (dnsmasq's syntax: `srv-host=NAME,
// TARGET,PORT,PRIO,WEIGHT` and `host-record=NAME,IP` lines in /etc/consul-dns/records.conf) on every
// query, so an update needs no reload. Answers, TTL 0 (Consul's service_ttl "0s"):
//   SRV NAME       → every srv-host of NAME, each with the A record of its target in the additional section
//   A   TARGET     → the host-record's address
//   anything else under .consul → NXDOMAIN (Consul answers only what it knows).
// UDP only (HAProxy's resolvers use UDP; answers stay far below its accepted_payload_size).
const dgram = require("dgram");
const fs = require("fs");

const FILE = process.env.RECORDS_FILE || "/etc/consul-dns/records.conf";
const PORT = Number(process.env.PORT || 8600);
const TYPE = { A: 1, SRV: 33 };

function readRecords() {
    const srv = new Map();
    const hosts = new Map();
    let text = "";
    try {
        text = fs.readFileSync(FILE, "utf8");
    } catch {
        // No file yet: no records.
    }
    for (const line of text.split("\n")) {
        let m = /^srv-host=([^,]+),([^,]+),(\d+),(\d+),(\d+)\s*$/.exec(line);
        if (m) {
            const name = m[1].toLowerCase();
            srv.set(name, [...(srv.get(name) || []), { target: m[2], port: +m[3], priority: +m[4], weight: +m[5] }]);
            continue;
        }
        m = /^host-record=([^,]+),(\d+\.\d+\.\d+\.\d+)\s*$/.exec(line);
        if (m) hosts.set(m[1].toLowerCase(), m[2]);
    }
    return { srv, hosts };
}

function encodeName(name) {
    const labels = name.replace(/\.$/, "").split(".");
    return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, "ascii")])), Buffer.from([0])]);
}

function rr(name, type, data) {
    const head = Buffer.alloc(10);
    head.writeUInt16BE(type, 0);
    head.writeUInt16BE(1, 2); // IN
    head.writeUInt32BE(0, 4); // TTL 0
    head.writeUInt16BE(data.length, 8);
    return Buffer.concat([encodeName(name), head, data]);
}

const aData = (ip) => Buffer.from(ip.split(".").map(Number));

function answer(query) {
    if (query.length < 12 || (query[2] & 0x80) !== 0) return null;
    // The question: labels (never compressed in a query), then type and class.
    const labels = [];
    let off = 12;
    while (off < query.length && query[off] !== 0) {
        labels.push(query.subarray(off + 1, off + 1 + query[off]).toString("ascii"));
        off += query[off] + 1;
    }
    off += 1;
    if (off + 4 > query.length) return null;
    const qtype = query.readUInt16BE(off);
    const question = query.subarray(12, off + 4);
    const qname = labels.join(".").toLowerCase();

    const { srv, hosts } = readRecords();
    const answers = [];
    const extra = [];
    let known = false;
    if (srv.has(qname)) {
        known = true;
        if (qtype === TYPE.SRV) {
            for (const s of srv.get(qname)) {
                const data = Buffer.alloc(6);
                data.writeUInt16BE(s.priority, 0);
                data.writeUInt16BE(s.weight, 2);
                data.writeUInt16BE(s.port, 4);
                answers.push(rr(qname, TYPE.SRV, Buffer.concat([data, encodeName(s.target)])));
                const ip = hosts.get(s.target.toLowerCase());
                if (ip) extra.push(rr(s.target, TYPE.A, aData(ip)));
            }
        }
    } else if (hosts.has(qname)) {
        known = true;
        if (qtype === TYPE.A) answers.push(rr(qname, TYPE.A, aData(hosts.get(qname))));
    }
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2); // ID
    // QR, the query's opcode and RD, AA; RCODE 3 (NXDOMAIN) for a name it does not know.
    header.writeUInt16BE(0x8000 | (query.readUInt16BE(2) & 0x7900) | 0x0400 | (known ? 0 : 3), 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    header.writeUInt16BE(0, 8);
    header.writeUInt16BE(extra.length, 10);
    return Buffer.concat([header, question, ...answers, ...extra]);
}

const socket = dgram.createSocket("udp4");
socket.on("message", (msg, rinfo) => {
    const reply = answer(msg);
    if (reply) socket.send(reply, rinfo.port, rinfo.address);
});
socket.bind(PORT, "127.0.0.1", () => console.log(`consul-dns (Consul's shape): 127.0.0.1:${PORT}, records from ${FILE}`));
process.on("SIGTERM", () => process.exit(0));
