// Draws a series chart again from the data a run saved beside it ($TMPDIR/swarm-system-charts/<file>.json,
// written by Results.seriesChart): e.g. to put a CI run's pictures into bench/ without a bench run.
//   npx ts-node --transpile-only tests/system/renderSeriesChart.ts DATA.json OUT.png
import * as fs from "fs";
import { SeriesPanel, writeSeriesChart } from "./chart";

const [data, png] = process.argv.slice(2);
if (data === undefined || png === undefined) {
    process.stderr.write("usage: renderSeriesChart.ts DATA.json OUT.png\n");
    process.exit(2);
}
const chart = JSON.parse(fs.readFileSync(data, "utf8")) as { heading: string; panels: SeriesPanel[] };
writeSeriesChart(png, chart.heading, chart.panels);
