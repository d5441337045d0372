// Maps a config issue's key path (`apps.LiveApp.play.jwt.secret`, `session.secrets[0]`) back to
// the line and column of that key in the YAML source, so errors read `config.yaml:12:7: …`.
import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

const TOKEN = /([^.[\]]+)|\[(\d+)\]/g;

function tokens(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of path.matchAll(TOKEN)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

/**
 * 1-based line and column of the deepest node of `path` present in `doc` (the key itself for a
 * mapping entry, the item for a sequence element), or undefined when not even the first key is in
 * the file (an environment override, a default). A path that leaves the file part-way (a key the
 * file omits) points at the nearest ancestor that is there.
 */
export function locateKey(doc: Document, lines: LineCounter, path: string): { line: number; column: number } | undefined {
  let node: unknown = doc.contents;
  let at: Node | undefined;
  for (const t of tokens(path)) {
    if (typeof t === 'number' && isSeq(node)) {
      const item = node.items[t];
      if (!item) break;
      node = item;
      at = item as Node;
    } else if (typeof t === 'string' && isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === t);
      if (!pair) break;
      node = pair.value;
      at = (isScalar(pair.key) ? pair.key : (pair.value as Node | null)) ?? undefined;
    } else break;
  }
  const offset = at?.range?.[0];
  if (offset === undefined) return undefined;
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}
