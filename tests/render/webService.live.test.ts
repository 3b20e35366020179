/**
 * render/webService.ts, slow set (`npm test` only, not run per mutant): shellcheck over the
 * rendered scripts, and a fake-docker run that waits out the converge timeout.
 */
import { renderServiceDeployScript, renderServiceRemoveScript } from "../../render/webService";
import { requireShellcheck, shellcheck } from "../harness/shellcheck";
import { cleanupRuns, runFake, SPEC, VALUES } from "./serviceFakes";

beforeAll(requireShellcheck);
afterAll(cleanupRuns);

describe("renderServiceDeployScript", () => {
    const script = renderServiceDeployScript(SPEC, VALUES);

    it("passes shellcheck", () => {
        expect(shellcheck(script)).toBe("");
        expect(shellcheck(renderServiceDeployScript({ ...SPEC, env: {}, labels: {}, placementConstraints: [], secrets: [] }))).toBe("");
        expect(
            shellcheck(
                renderServiceDeployScript({ ...SPEC, healthcheck: { ...SPEC.healthcheck, cmd: ["node", "/app/health check.js"] } }, VALUES),
            ),
        ).toBe("");
    });

    describe("on an existing service", () => {
        const files = { service: "" };

        it("gives up after convergeTimeoutSeconds", () => {
            const r = runFake(renderServiceDeployScript({ ...SPEC, convergeTimeoutSeconds: 1 }, VALUES), {
                ...files,
                "update-sleep": "20",
            });
            expect(r.status).not.toBe(0);
            expect(r.stderr).toMatch(/did not converge within 1 s/);
            expect(r.ms).toBeLessThan(10_000);
        });
    });
});

describe("renderServiceRemoveScript", () => {
    const script = renderServiceRemoveScript("web");

    it("passes shellcheck", () => {
        expect(shellcheck(script)).toBe("");
    });
});
