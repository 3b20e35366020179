// render/storedForm.ts: the stored form (gzip + base64) and the shell filter that reverses it.
import { spawnSync } from "child_process";
import { decodeStoredText, DECODE_STORED_TEXT, encodeStoredText, isStoredText } from "../../render/storedForm";

describe("stored form", () => {
    const text = "line one\nline two: é ✓\n".repeat(5);

    test("round-trips, and the shell filter decodes what the program encodes", () => {
        const stored = encodeStoredText(text);
        expect(isStoredText(stored)).toBe(true);
        expect(decodeStoredText(stored)).toBe(text);
        const r = spawnSync("sh", ["-c", DECODE_STORED_TEXT], { input: stored, encoding: "utf8" });
        expect(r.stdout).toBe(text);
    });

    test("is deterministic (no name, no mtime) and gzip at its best compression", () => {
        expect(encodeStoredText(text)).toBe(encodeStoredText(text));
        expect(Buffer.from(encodeStoredText(text), "base64")[8]).toBe(2); // gzip XFL 2: maximum compression
    });

    test("other values are not the stored form and decode to themselves", () => {
        for (const plain of ["", "hello", "H4sI", "a".repeat(24), `${"A".repeat(24)}!`, Buffer.alloc(24, 1).toString("base64")]) {
            expect(isStoredText(plain)).toBe(false);
            expect(decodeStoredText(plain)).toBe(plain);
        }
        // Base64 of gzip's magic but shorter than any gzip member.
        expect(isStoredText(encodeStoredText("x").slice(0, 23))).toBe(false);
        expect(isStoredText(`${encodeStoredText("x").slice(0, 24)}`)).toBe(true);
    });
});

describe("what isStoredText takes for the stored form", () => {
    const stored = encodeStoredText("some text to store\n");

    test("the whole value must be base64: nothing before or after it", () => {
        expect(isStoredText(`!${stored}`)).toBe(false);
        expect(isStoredText(`${stored}!`)).toBe(false);
        expect(isStoredText(`${stored} `)).toBe(false);
        expect(isStoredText(`${stored.replace(/=+$/, "")}===`)).toBe(false);
    });

    test("base64 with any padding (none, = or ==) is taken", () => {
        const paddings = new Set<number>();
        for (let n = 0; n < 12; n++) {
            const text = "x".repeat(n) + "\n";
            const value = encodeStoredText(text);
            paddings.add(value.length - value.replace(/=+$/, "").length);
            expect(isStoredText(value)).toBe(true);
            expect(decodeStoredText(value)).toBe(text);
        }
        expect([...paddings].sort()).toEqual([0, 1, 2]);
    });

    test("both bytes of gzip's magic (1f 8b) must be there", () => {
        const withHead = (a: number, b: number) => Buffer.concat([Buffer.from([a, b]), Buffer.alloc(22, 8)]).toString("base64");
        expect(isStoredText(withHead(0x1f, 0x8b))).toBe(true);
        expect(isStoredText(withHead(0x1f, 0x00))).toBe(false);
        expect(isStoredText(withHead(0x00, 0x8b))).toBe(false);
    });
});
