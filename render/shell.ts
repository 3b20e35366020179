// Shell quoting shared by every renderer that writes scripts or command lines.

const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quotes `value` as ONE word for POSIX sh. Plain words (letters, digits and
 * `_@%+=:,./-`) are returned as they are so scripts stay readable; anything
 * else is single-quoted with embedded `'` written as `'\''`. Inside single
 * quotes sh expands nothing (`$`, backquotes, `\`, newlines are literal).
 * @throws if the value contains a NUL character (no shell word can hold one).
 */
export function shellQuote(value: string): string {
    if (value.includes("\0")) {
        throw new Error("shellQuote: a shell word cannot contain a NUL character");
    }
    if (SHELL_SAFE.test(value)) {
        return value;
    }
    return `'${value.replace(/'/g, `'\\''`)}'`;
}
