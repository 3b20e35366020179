// Shell quoting shared by every renderer that writes scripts or command lines.

/** Single-quotes a value for POSIX sh: safe for spaces, quotes, `$`, backslashes and newlines. */
export function shq(value: string): string {
    return `'${value.replace(/'/g, `'"'"'`)}'`;
}
