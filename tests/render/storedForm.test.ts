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
