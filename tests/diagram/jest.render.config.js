// jest config of `npm run diagram` only: runs tests/diagram/render.ts (which `npm test` does not).
const base = require("../../jest.config.js");

/** @type {import('jest').Config} */
module.exports = {
    ...base,
    rootDir: "../..",
    testMatch: ["<rootDir>/tests/diagram/render.ts"],
    testPathIgnorePatterns: ["/node_modules/"],
};
