const os = require("os");

/** @type {import('jest').Config} */
module.exports = {
    // Jest's default is one worker per core but one, which is a single, serial worker on the 2-core
    // CI machine: a CI run's test files added up to 854 s of a 893 s run. The files spend much of
    // their time in the real checkers they spawn (haproxy, keepalived, shellcheck, promtool, openssl,
    // strace), so two workers keep both cores busy.
    maxWorkers: Math.max(2, os.cpus().length - 1),
    testEnvironment: "node",
    roots: ["<rootDir>/tests"],
    testMatch: ["**/*.test.ts"],
    testPathIgnorePatterns: ["/node_modules/", "<rootDir>/tests/system/", "<rootDir>/tests/rehearsal/"],
    transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.jest.json" }] },
    // Pulumi's mock runtime keeps module-level state: one program evaluation per test file.
    resetModules: false,
    // Evaluating the whole program under mocks takes seconds on a busy 2-core machine.
    testTimeout: 60000,
};
