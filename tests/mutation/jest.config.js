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
};
