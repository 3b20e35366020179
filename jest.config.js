/** @type {import('jest').Config} */
module.exports = {
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
