// Types for healthcheck.js.
export function check(env?: Record<string, string | undefined>): Promise<{ code: number; message: string }>;
export function targetHost(bindAddr: string): string;
