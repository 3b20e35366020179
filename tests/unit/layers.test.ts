// The program's layers, enforced: wiring (index.ts) → components → platforms → config → component
// contracts → renderers, each importing only layers below it, with no import cycle between files, and
// neither platform importing the other. Read from the sources' import statements, so a new import
// across a layer fails here before it reaches a review.
import * as fs from "fs";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");
const LAYERS = ["index", "components", "platforms", "config", "contracts", "render"] as const;
type Layer = (typeof LAYERS)[number];

function layerOf(file: string): Layer {
    if (file === "index.ts") return "index";
    if (file.startsWith("components/contracts/")) return "contracts";
    const top = file.split("/")[0];
    if ((LAYERS as readonly string[]).includes(top)) return top as Layer;
    throw new Error(`${file} is in no layer`);
}

function sources(dir: string): string[] {
    return fs
        .readdirSync(path.join(ROOT, dir), { withFileTypes: true })
        .flatMap((e) => (e.isDirectory() ? sources(`${dir}/${e.name}`) : e.name.endsWith(".ts") ? [`${dir}/${e.name}`] : []));
}

const FILES = ["index.ts", ...["components", "platforms", "config", "render"].flatMap(sources)];

/** The program files a file imports (relative imports only; packages are not layers). */
function importsOf(file: string): string[] {
    const text = fs.readFileSync(path.join(ROOT, file), "utf8");
    const specifiers = [...text.matchAll(/^(?:import|export)\b[^;]*?from\s+"(\.[^"]+)"/gms)].map((m) => m[1]);
    return specifiers.map((s) => {
        const base = path.posix.normalize(path.posix.join(path.posix.dirname(file), s));
        const candidates = [`${base}.ts`, `${base}/index.ts`];
        const found = candidates.find((c) => fs.existsSync(path.join(ROOT, c)));
        if (found === undefined) throw new Error(`${file}: cannot resolve ${s}`);
        return found;
    });
}

const GRAPH = new Map(FILES.map((f) => [f, importsOf(f)]));

test("every layer imports only the layers below it", () => {
    const upward = [...GRAPH].flatMap(([file, deps]) =>
        deps
            .filter((dep) => LAYERS.indexOf(layerOf(dep)) < LAYERS.indexOf(layerOf(file)))
            .map((dep) => `${file} (${layerOf(file)}) imports ${dep} (${layerOf(dep)})`),
    );
    expect(upward).toEqual([]);
});

test("config/ reads the component contracts, never the renderers", () => {
    const offenders = [...GRAPH].filter(([file, deps]) => file.startsWith("config/") && deps.some((d) => d.startsWith("render/")));
    expect(offenders.map(([file]) => file)).toEqual([]);
});

test("neither platform imports the other", () => {
    const crossing = [...GRAPH].flatMap(([file, deps]) =>
        deps
            .filter(
                (d) =>
                    (file.startsWith("platforms/aws/") && d === "platforms/local.ts") ||
                    (file === "platforms/local.ts" && d.startsWith("platforms/aws/")),
            )
            .map((d) => `${file} imports ${d}`),
    );
    expect(crossing).toEqual([]);
});

test("no import cycle between files", () => {
    const state = new Map<string, "open" | "done">();
    const cycles: string[] = [];
    const visit = (file: string, trail: string[]) => {
        if (state.get(file) === "done") return;
        if (state.get(file) === "open") {
            cycles.push([...trail.slice(trail.indexOf(file)), file].join(" → "));
            return;
        }
        state.set(file, "open");
        for (const dep of GRAPH.get(file) ?? []) visit(dep, [...trail, file]);
        state.set(file, "done");
    };
    FILES.forEach((f) => visit(f, []));
    expect(cycles).toEqual([]);
});
