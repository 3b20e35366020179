// System tests: real containers on the local Docker engine (see tests/system/README.md).
// Not part of `npm test` (the default jest config ignores tests/system/); run with `npm run test:system`.
/** @type {import('jest').Config} */
module.exports = {
    rootDir: "../..",
    testEnvironment: "node",
    roots: ["<rootDir>/tests/system"],
    testMatch: ["**/*.test.ts"],
    transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.jest.json" }] },
    // One scenario at a time: they share the machine's two CPUs and measure timings.
    maxWorkers: 1,
    // Per test; every scenario bounds its own loops far below this.
    testTimeout: 10 * 60 * 1000,
    resetModules: false,
};
