// The tests that judge config/ and render/ mutants (tests/mutation/layers.stryker.mjs): the focused
// suite of jest.config.js without tests/components.
const focused = require("./jest.config.js");

/** @type {import('jest').Config} */
module.exports = {
    ...focused,
    testMatch: ["<rootDir>/tests/{render,config}/**/*.test.ts"],
};
