#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (npm run build).
import('../dist/cli/main.js').catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
