// How many cases a fast-check property samples. Under StrykerJS (tests/mutation/) every property runs
// once per mutant it covers, and the address properties cover nearly every line of config/: at the
// full count they were ~80 % of the config mutation run's time. There they sample a tenth as many
// cases, from a fixed seed so a mutant's verdict does not change between runs; `npm test` samples
// the full count with a fresh seed every time.
import type { Parameters } from "fast-check";

/** Stryker's worker processes set STRYKER_MUTATOR_WORKER. */
const UNDER_MUTATION = process.env.STRYKER_MUTATOR_WORKER !== undefined;

export function propertyRuns<T>(numRuns: number): Parameters<T> {
    return UNDER_MUTATION ? { numRuns: Math.ceil(numRuns / 10), seed: 17 } : { numRuns };
}
