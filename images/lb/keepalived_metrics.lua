-- HAProxy Lua service (lua-load in render/haproxy.ts): serves the file keepalived's state hook
-- writes (images/lb/keepalived_metrics.sh) on the metrics frontend, at /keepalived/metrics.
-- The read is a blocking call inside HAProxy's event loop; it is one small file in /run (tmpfs or
-- the container's own layer), read once per scrape, so it never waits on a disk.
local path = os.getenv("KEEPALIVED_METRICS_FILE") or "/run/keepalived/vrrp.prom"

core.register_service("keepalived_metrics", "http", function(applet)
    local body = ""
    local f = io.open(path, "r")
    if f ~= nil then
        body = f:read("*a") or ""
        f:close()
    end
    -- No file yet (keepalived has not reported a state): an empty answer, so the target is up
    -- and simply has no keepalived series.
    applet:set_status(200)
    applet:add_header("content-type", "text/plain; version=0.0.4; charset=utf-8")
    applet:add_header("content-length", tostring(#body))
    applet:start_response()
    applet:send(body)
end)
