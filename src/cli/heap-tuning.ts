// V8 heap sizing for a proxy's allocation pattern. Relaying media moves hundreds of MB/s through
// short-lived Buffers while the JS heap itself stays small (≈ 20–30 MB live). With V8's default
// old-generation growth the space left after a mark-compact (live × (factor − 1)) is often no larger
// than the young generation, and V8 then starts the next incremental marking at once (its soft
// limit): measured as a full mark-compact every 100–250 ms for as long as segment traffic lasts,
// doubling the CPU per segment (bench/README.md "Why the segment rows moved 2×"). Letting the old
// generation grow to 4× its live size after each collection removes that storm at the cost of a
// larger heap (≈ 100 MB instead of ≈ 40 MB).
import { setFlagsFromString } from 'node:v8';

/** V8 `--heap-growing-percent`: old-generation limit = live × (1 + p/100) after a mark-compact. */
export const HEAP_GROWING_PERCENT = 300;

// The young generation is sized on the command line instead (`--max-semi-space-size=32`: request
// objects die young rather than being promoted): V8 takes it only at start-up, so bin/streamgate.js,
// deploy/Dockerfile's ENTRYPOINT, the npm scripts and the bench pass it.

const GIVEN = /^--heap[-_]growing[-_]percent(=|$)/;

/**
 * Sets V8's heap growth for `streamgate serve` unless the operator chose one on the `node` command
 * line (`execArgv`; Node refuses this flag in `NODE_OPTIONS`, which is checked anyway in case a
 * future release allows it). V8 reads this flag at every collection, so setting it at start-up takes
 * effect. Returns whether it was set.
 */
export function tuneHeap(execArgv: readonly string[] = process.execArgv, nodeOptions: string = process.env.NODE_OPTIONS ?? ''): boolean {
  if ([...execArgv, ...nodeOptions.split(/\s+/)].some((a) => GIVEN.test(a))) return false;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}
