#!/usr/bin/env python3
"""EC2 instance metadata service (IMDSv2) stand-in for the swarm-platform rehearsal.

Serves on 169.254.169.254:80 inside one rehearsal node what EC2 serves an instance: a session token
(PUT /latest/api/token), then, with that token, its id, address, MAC, interface id, region, zone and
the instance role's temporary credentials (what the AWS CLI's default credential chain reads on EC2).
Without a token GETs get 401 when the instance's metadataOptions.httpTokens is "required" (the
program's value, passed in by the rehearsal). Like the hop limit of 1, a token is handed out only to
the node itself, not to a container on one of its bridges.

Data: the JSON file given as argument (written by the rehearsal before the container starts).
"""
import datetime
import json
import secrets
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DATA = json.load(open(sys.argv[1]))
TOKENS = {}  # token -> expiry (epoch seconds)


def mac_of(interface):
    try:
        return open(f"/sys/class/net/{interface}/address").read().strip()
    except OSError:
        return "02:00:00:00:00:00"


def own_addresses():
    """Addresses of this network namespace (a request from one of them is the node itself)."""
    found = {"127.0.0.1", "169.254.169.254", DATA["localIpv4"]}
    try:
        found.update(socket.gethostbyname_ex(socket.gethostname())[2])
    except OSError:
        pass
    return found


def credentials():
    now = datetime.datetime.now(datetime.timezone.utc)
    c = DATA["credentials"]
    return {
        "Code": "Success",
        "LastUpdated": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Type": "AWS-HMAC",
        "AccessKeyId": c["AccessKeyId"],
        "SecretAccessKey": c["SecretAccessKey"],
        "Token": c["Token"],
        "Expiration": (now + datetime.timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def metadata(path):
    """The text for a metadata path, or None (404)."""
    mac = mac_of(DATA["interface"])
    role = DATA["roleName"]
    paths = {
        "meta-data/instance-id": DATA["instanceId"],
        "meta-data/instance-type": DATA.get("instanceType", "t3.small"),
        "meta-data/ami-id": DATA.get("amiId", "ami-00000000"),
        "meta-data/local-ipv4": DATA["localIpv4"],
        "meta-data/local-hostname": DATA["localHostname"],
        "meta-data/hostname": DATA["localHostname"],
        "meta-data/mac": mac,
        "meta-data/placement/region": DATA["region"],
        "meta-data/placement/availability-zone": DATA["availabilityZone"],
        f"meta-data/network/interfaces/macs/{mac}/interface-id": DATA["interfaceId"],
        f"meta-data/network/interfaces/macs/{mac}/local-ipv4s": DATA["localIpv4"],
        "meta-data/iam/security-credentials/": role,
        f"meta-data/iam/security-credentials/{role}": json.dumps(credentials()),
        "meta-data/iam/info": json.dumps({"Code": "Success", "InstanceProfileArn": DATA["instanceProfileArn"]}),
        "dynamic/instance-identity/document": json.dumps(
            {
                "accountId": DATA["accountId"],
                "instanceId": DATA["instanceId"],
                "region": DATA["region"],
                "availabilityZone": DATA["availabilityZone"],
                "privateIp": DATA["localIpv4"],
                "instanceType": DATA.get("instanceType", "t3.small"),
                "imageId": DATA.get("amiId", "ami-00000000"),
                "architecture": "x86_64",
            }
        ),
    }
    if path in paths:
        return paths[path]
    if path.endswith("/") or path in ("meta-data", "dynamic"):
        # A directory listing: the next path segment of every key below it.
        prefix = path.rstrip("/") + "/"
        names = sorted({k[len(prefix) :].split("/")[0] + ("/" if "/" in k[len(prefix) :] else "") for k in paths if k.startswith(prefix)})
        return "\n".join(n for n in names if n) or None
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("imds: %s %s\n" % (self.client_address[0], fmt % args))

    def reply(self, code, body="", content_type="text/plain"):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        if self.path != "/latest/api/token":
            return self.reply(404, "Not Found")
        if self.client_address[0] not in own_addresses():
            # EC2: the response's hop limit (1) keeps it from reaching a container behind a bridge.
            return self.reply(403, "Forbidden")
        try:
            ttl = int(self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", ""))
        except ValueError:
            return self.reply(400, "Bad Request")
        if not 1 <= ttl <= 21600:
            return self.reply(400, "Bad Request")
        token = secrets.token_urlsafe(32)
        TOKENS[token] = time.time() + ttl
        self.reply(200, token)

    def do_GET(self):
        if not self.path.startswith("/latest/"):
            return self.reply(404, "Not Found")
        token = self.headers.get("X-aws-ec2-metadata-token")
        valid = token is not None and TOKENS.get(token, 0) > time.time()
        if token is not None and not valid:
            return self.reply(401, "Unauthorized")
        if not valid and DATA.get("httpTokens") == "required":
            return self.reply(401, "Unauthorized")
        body = metadata(self.path[len("/latest/") :])
        if body is None:
            return self.reply(404, "Not Found")
        self.reply(200, body, "application/json" if body.startswith("{") else "text/plain")


ThreadingHTTPServer(("169.254.169.254", int(sys.argv[2]) if len(sys.argv) > 2 else 80), Handler).serve_forever()
