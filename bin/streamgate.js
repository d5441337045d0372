#!/usr/bin/env -S node --max-semi-space-size=32
// --max-semi-space-size: see src/cli/heap-tuning.ts; V8 takes it only at start-up.
// Thin launcher: the compiled CLI lives in dist/ (npm run build).
import('../dist/cli/main.js').catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
