// The layering of src/, written down once and checked by `npm test` (dependency-cruiser). A module
// may import its own layer and the layers below it, never one above. Bottom to top:
const LAYERS = [
  // 0. The decision vocabulary: types, the reason table, the error family. Imports nothing of ours above.
  { name: 'vocabulary', path: '^src/(errors\\.ts|decision/(types|reasons)\\.ts)$' },
  // 1. Leaves: request parsing, config, logs/metrics, the store, JWT keys, HTTP transport helpers.
  { name: 'leaves', path: '^src/((request|config|observability|store|jwt)/|proxy/(respond|forward|origin-capacity|cors)\\.ts$)' },
  // 2. One file per check.
  { name: 'checks', path: '^src/checks/' },
  // 3. Playback sessions (grants) and manifest rewriting.
  { name: 'sessions', path: '^src/(session|manifest)/' },
  // 4. The decision core: decide(), compiled policies, recording.
  { name: 'decision', path: '^src/decision/(?!(types|reasons)\\.ts$)' },
  // 5. One target → authorize pass.
  { name: 'authorize', path: '^src/authorize/' },
  // 6. Thin doors: HTTP proxy, /verify, WebSocket, RTMP, SRT (and ingest/, what RTMP and SRT share).
  { name: 'doors', path: '^src/(proxy/(?!(respond|forward|origin-capacity|cors)\\.ts$)|(verify|ws|rtmp|srt|ingest)/)' },
  // 7. The edge: management API and REST filter, admin listener.
  { name: 'edge', path: '^src/(api|admin)/' },
  // 8. Assembly: the runtime, the public router, the server, the CLI and the demo.
  { name: 'assembly', path: '^src/(runtime\\.ts|server\\.ts|server/|cli/|demo/)' },
];

const RUNTIME = '^src/runtime\\.ts$';

const forbidden = [
  ...LAYERS.slice(0, -1).map((layer, i) => ({
    name: `layer-${layer.name}`,
    comment: `${layer.name} may not import a higher layer (${LAYERS.slice(i + 1).map((l) => l.name).join(', ')})`,
    severity: 'error',
    from: { path: layer.path },
    // The assembled Runtime is the one upward name doors and the edge may use (rule below).
    to: { path: LAYERS.slice(i + 1).map((l) => l.path), pathNot: RUNTIME },
  })),
  {
    name: 'runtime-is-for-doors',
    comment: 'leaves take what they use: only doors and the edge name the Runtime, and only as a type',
    severity: 'error',
    from: { path: LAYERS.slice(0, 6).map((l) => l.path) },
    to: { path: RUNTIME },
  },
  {
    name: 'runtime-as-type-only',
    comment: 'doors and the edge may name the Runtime type, never import the assembly as a value',
    severity: 'error',
    from: { path: LAYERS.slice(6, 8).map((l) => l.path) },
    to: { path: RUNTIME, dependencyTypesNot: ['type-only'] },
  },
  {
    name: 'every-module-has-a-layer',
    comment: 'a new folder under src/ gets a layer in .dependency-cruiser.cjs before it imports anything',
    severity: 'error',
    from: { path: '^src/', pathNot: LAYERS.map((l) => l.path) },
    to: {},
  },
  {
    name: 'no-circular',
    comment: 'value imports form no cycle',
    severity: 'error',
    from: { path: '^src/' },
    to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
  },
  {
    name: 'not-to-unresolvable',
    severity: 'error',
    from: { path: '^src/' },
    to: { couldNotResolve: true },
  },
];

module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/demo/media/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
