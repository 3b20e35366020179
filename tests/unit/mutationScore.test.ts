// tools/mutation/score.ts: the per-folder score the mutation run prints and judges.
import { formatScores, mergeReports, scoreByFolder, type EquivalentMutant, type MutationReport } from "../../tools/mutation/score";

function mutant(id: string, line: number, status: string, replacement = "false") {
    return {
        id,
        mutatorName: "BooleanLiteral",
        replacement,
        location: { start: { line, column: 1 } },
        status,
    } as MutationReport["files"][string]["mutants"][number];
}

const report: MutationReport = {
    files: {
        "config/a.ts": {
            source: "",
            mutants: [mutant("1", 1, "Killed"), mutant("2", 2, "Timeout"), mutant("3", 3, "Survived"), mutant("4", 4, "NoCoverage")],
        },
        "render/b.ts": {
            source: "",
            mutants: [mutant("5", 1, "Killed"), mutant("6", 2, "Survived"), mutant("7", 3, "CompileError"), mutant("8", 4, "Ignored")],
        },
        "tools/c.ts": { source: "", mutants: [mutant("9", 1, "Survived")] },
    },
};

describe("mutation score per folder", () => {
    it("counts killed and timed-out as detected, survivors and uncovered as not, and ignores compile errors", () => {
        const { scores, stale } = scoreByFolder(report, [], ["config", "render", "components"]);
        expect(scores).toEqual([
            { folder: "config", mutants: 4, killed: 2, survived: 1, noCoverage: 1, equivalent: 0, scorePercent: 50 },
            { folder: "render", mutants: 2, killed: 1, survived: 1, noCoverage: 0, equivalent: 0, scorePercent: 50 },
            { folder: "components", mutants: 0, killed: 0, survived: 0, noCoverage: 0, equivalent: 0, scorePercent: null },
        ]);
        expect(stale).toEqual([]);
    });

    it("takes a listed equivalent survivor out of the denominator, and reports an entry that matches nothing as stale", () => {
        const equivalent: EquivalentMutant = { file: "render/b.ts", line: 2, mutator: "BooleanLiteral", replacement: "false", reason: "r" };
        const wrongLine: EquivalentMutant = { ...equivalent, line: 3 };
        const { scores, stale } = scoreByFolder(report, [equivalent, wrongLine], ["render"]);
        expect(scores[0]).toEqual({
            folder: "render",
            mutants: 2,
            killed: 1,
            survived: 0,
            noCoverage: 0,
            equivalent: 1,
            scorePercent: 100,
        });
        expect(stale).toEqual([wrongLine]);
    });

    it('says "goal met" only at or above the goal, and never for a folder with no mutants', () => {
        const table = formatScores(
            [
                { folder: "config", mutants: 5, killed: 4, survived: 1, noCoverage: 0, equivalent: 0, scorePercent: 80 },
                { folder: "render", mutants: 1000, killed: 799, survived: 201, noCoverage: 0, equivalent: 0, scorePercent: 79.9 },
                { folder: "components", mutants: 0, killed: 0, survived: 0, noCoverage: 0, equivalent: 0, scorePercent: null },
            ],
            80,
        );
        expect(table.split("\n").slice(2)).toEqual([
            "| config/ | 5 | 4 | 1 | 0 | 0 | 80.0 % | ≥ 80 % | goal met |",
            "| render/ | 1000 | 799 | 201 | 0 | 0 | 79.9 % | ≥ 80 % | BELOW GOAL |",
            "| components/ | 0 | 0 | 0 | 0 | 0 | no mutants | ≥ 80 % | BELOW GOAL |",
        ]);
    });

    it("merges the passes' reports, and refuses a file two passes mutated (it would count twice)", () => {
        const a: MutationReport = { files: { "config/a.ts": report.files["config/a.ts"] } };
        const b: MutationReport = { files: { "render/b.ts": report.files["render/b.ts"] } };
        expect(
            mergeReports([
                { name: "layers", report: a },
                { name: "components", report: b },
            ]),
        ).toEqual({
            files: { "config/a.ts": report.files["config/a.ts"], "render/b.ts": report.files["render/b.ts"] },
        });
        expect(() =>
            mergeReports([
                { name: "layers", report: a },
                { name: "components", report: a },
            ]),
        ).toThrow("config/a.ts is mutated by two passes (layers, components): count it once");
    });
});
