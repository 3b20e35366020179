// The suite StrykerJS runs once per mutant: the focused, in-process tests of config/, render/ and
// components/. Files named *.live.test.ts start real daemons (keepalived pairs in network namespaces,
// HAProxy on fixed ports) and cannot run twice at once, so they stay in `npm test` only.
const base = require("../../jest.config.js");

/** @type {import('jest').Config} */
module.exports = {
    ...base,
    rootDir: "../..",
    testMatch: ["<rootDir>/tests/{render,config,components}/**/*.test.ts"],
    testPathIgnorePatterns: [...base.testPathIgnorePatterns, "\\.live\\.test\\.ts$"],
    // StrykerJS runs `jest --findRelatedTests <mutated file>` per mutant. Jest traces a test's imports
    // only through files in its roots: with tests/ alone it found the tests that import the mutated
    // file directly and missed every test that reaches it through another module (a component test
    // through components/contracts/, a config test through components/), so mutants those tests kill
    // were counted as survivors. The source folders are roots too; testMatch still picks the tests.
    roots: ["<rootDir>/tests", "<rootDir>/config", "<rootDir>/render", "<rootDir>/components", "<rootDir>/platforms"],
    // A mutant that leaves an Output unresolved hangs its test under the mock runtime. The slowest
    // focused test takes ~0.5 s; at 5 s jest fails the hung test (the mutant is killed) in the same
    // worker. With npm test's 60 s, StrykerJS's own timeout fired first, ~11 s later, and killed and
    // restarted the worker (a fresh ts-jest start) for every such mutant: 61 of components/' 682.
    testTimeout: 5000,
};
