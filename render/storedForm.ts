// The form node files and scripts are stored in on AWS (Parameter Store values): gzip, then base64.
// Pure, so the program, the tests and the diagram read it alike (platforms/aws/parameters.ts says why).
import * as zlib from "zlib";

/** The stored form of a text: gzip (deterministic: no name, mtime 0) then base64. */
export function encodeStoredText(text: string): string {
    return zlib.gzipSync(Buffer.from(text, "utf8"), { level: 9 }).toString("base64");
}

/** The shell filter that turns a stored value (on stdin) back into its text. */
export const DECODE_STORED_TEXT = "base64 -d | gunzip";

/** Whether a value is in the stored form (base64 of gzip data). */
export function isStoredText(value: string): boolean {
    if (value.length < 24 || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
    const bytes = Buffer.from(value.slice(0, 4), "base64");
    return bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** The text a stored value holds; any other value as it is. */
export function decodeStoredText(value: string): string {
    return isStoredText(value) ? zlib.gunzipSync(Buffer.from(value, "base64")).toString("utf8") : value;
}
