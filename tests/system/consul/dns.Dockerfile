# The system tests' stand-in for a Consul agent's DNS interface: tests/system/consul/dns.js, which
# answers in Consul's exact shape (one A record per SRV record; see the script). Node.js comes from
# the web image the tests build from the program's graph (NODE_IMAGE), so nothing is downloaded.
#
# Build context: the repository root:
#   docker build -f tests/system/consul/dns.Dockerfile --build-arg NODE_IMAGE=swarm-platform-systest/web:1.0.0 \
#     -t swarm-platform-systest/consul-dns:local .
ARG NODE_IMAGE
FROM ${NODE_IMAGE}
USER root
# The harness writes /etc/consul-dns/records.conf; the script rereads it on every query.
RUN install -d -m 0755 /etc/consul-dns && touch /etc/consul-dns/records.conf
COPY tests/system/consul/dns.js /usr/local/lib/consul-dns.js
HEALTHCHECK NONE
ENTRYPOINT ["node", "/usr/local/lib/consul-dns.js"]
CMD []
