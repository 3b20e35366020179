// StrykerJS's settings, shared by the two passes of `npm run test:mutation` (tests/mutation/README.md).
//
// Each folder's mutants are judged by the focused tests of what they are part of:
//   layers     — config/ and render/, by tests/config and tests/render (a renderer by its own tests;
//                the component tests that call a renderer prove the wiring, not the text, and each
//                mutant run would load @pulumi/pulumi for them);
//   components — components/, by tests/components and tests/config (config/ applies the contracts'
//                rules to stack config, so its tests judge them too).
// A mutant only a test of another layer would kill counts as a survivor: the score is a floor.

/** @param {"layers" | "components"} name */
export function pass(name, { mutate, jestConfig }) {
    const reports = `reports/mutation/${name}`;
    return {
        packageManager: "npm",
        testRunner: "jest",
        jest: { configFile: jestConfig, enableFindRelatedTests: true },
        coverageAnalysis: "perTest",
        mutate,
        checkers: [],
        concurrency: 2,
        timeoutMS: 10000,
        incremental: true,
        incrementalFile: `${reports}/stryker-incremental.json`,
        reporters: ["progress", "json", "html"],
        jsonReporter: { fileName: `${reports}/mutation.json` },
        htmlReporter: { fileName: `${reports}/mutation.html` },
        tempDirName: ".stryker-tmp",
        ignorePatterns: ["bench", "docs", "reports", ".pulumi-state", "tests/system", "tests/rehearsal"],
        cleanTempDir: "always",
    };
}
