// Boot rehearsal of the prod stack: real containers on the local Docker engine (see boot.test.ts).
// Not part of `npm test` (there the suite is skipped: SWARM_REHEARSAL is set only here); run with
// `npm run test:rehearsal` after scripts/system-setup.sh.
/** @type {import('jest').Config} */
module.exports = {
    rootDir: "../..",
    testEnvironment: "node",
    roots: ["<rootDir>/tests/rehearsal"],
    testMatch: ["**/*.test.ts"],
    transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.jest.json" }] },
    globals: { SWARM_REHEARSAL: true },
    // One suite, in band: nine booting machines already fill the two CPUs.
    maxWorkers: 1,
    // Per test and hook; the suite bounds its own waits far below this.
    testTimeout: 12 * 60 * 1000,
    resetModules: false,
};
