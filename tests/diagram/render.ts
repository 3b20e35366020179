// The diagram generator, run under jest so it can evaluate the real program with the tests' harness
// (tests/harness/program.ts needs jest's module isolation). Not a test file of `npm test`: it runs
// through `npm run diagram` (scripts/diagram.ts), which passes its options in DIAGRAM_* variables.
import * as path from "path";
import { toDot } from "../../tools/diagram/dot";
import { writeDiagram } from "../../tools/diagram/render";
import { topologyOf } from "../../tools/diagram/topology";
import { ConfigOverrides, REPO_ROOT, runProgram } from "../harness/program";

const stacks = (process.env.DIAGRAM_STACKS ?? "dev,prod").split(",").filter(Boolean);
const outDir = path.resolve(REPO_ROOT, process.env.DIAGRAM_OUT ?? "docs/diagrams");
const overrides = JSON.parse(process.env.DIAGRAM_OVERRIDES ?? "{}") as ConfigOverrides;

test.each(stacks)("render the %s stack", async (stack) => {
    const run = await runProgram(stack, overrides);
    const files = writeDiagram(toDot(topologyOf(run)), outDir, stack);
    process.stdout.write(`diagram: ${files.map((f) => path.relative(process.cwd(), f)).join(", ")}\n`);
});
