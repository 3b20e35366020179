// DOT → SVG and PNG with Graphviz's `dot` (Debian: apt-get install graphviz).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

/** Runs `dot -T<format>` on the DOT text; throws with dot's message when it fails. */
export function runDot(dot: string, format: "svg" | "png"): Buffer {
    const r = spawnSync("dot", [`-T${format}`], { input: dot, maxBuffer: 64 * 1024 * 1024 });
    if (r.error) throw new Error(`could not run Graphviz's dot (apt-get install graphviz): ${r.error.message}`);
    if (r.status !== 0 || r.stderr.length > 0) throw new Error(`dot -T${format} failed (${r.status}): ${r.stderr.toString()}`);
    return r.stdout;
}

/** Writes <dir>/<name>.dot, .svg and .png; returns the paths written. */
export function writeDiagram(dot: string, dir: string, name: string): string[] {
    fs.mkdirSync(dir, { recursive: true });
    const files: string[] = [];
    const write = (ext: string, data: string | Buffer) => {
        const file = path.join(dir, `${name}.${ext}`);
        fs.writeFileSync(file, data);
        files.push(file);
    };
    write("dot", dot);
    write("svg", runDot(dot, "svg"));
    write("png", runDot(dot, "png"));
    return files;
}
