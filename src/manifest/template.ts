// A manifest parsed once, answered to every viewer: the origin's text cut at every place a grant goes.
// A viewer's answer is the pieces joined with its grants, so the per-viewer cost is one string join,
// whatever the manifest's size or the number of URIs in it.
//
// Two kinds of slot. A *media* slot (segments, keys, init sections, parts) takes the viewer's
// short-lived grant. A *session* slot takes the session grant: URIs of documents a player keeps
// re-requesting unchanged for as long as it plays — the variant and rendition playlists of an HLS
// multivariant playlist, a DASH `Location` — so they must stay good for the whole session.

/** Which grant a slot takes (see the file comment). */
export type SlotKind = 'media' | 'session';

/** The pieces of a manifest around its grant slots: parts[0] grant parts[1] grant … parts[slots]. */
export interface ManifestTemplate {
  readonly parts: readonly string[];
  /** UTF-8 bytes of all parts (the cache's size accounting). */
  readonly staticBytes: number;
  /** Number of grant slots (`parts.length - 1`). */
  readonly slots: number;
  /** Per slot, 1 when it takes the session grant; null when every slot is a media slot. */
  readonly sessionSlots: Uint8Array | null;
  /** Every part is ASCII (grants are), so the answer's UTF-8 bytes are its characters. */
  readonly ascii?: boolean;
}

/** Characters a grant may carry into a URI unescaped (RFC 3986 unreserved). Grants are base64url + dots. */
const UNRESERVED = /^[A-Za-z0-9._~-]*$/;

/** The grant as it appears in a URI. */
export function grantInUri(grant: string): string {
  return UNRESERVED.test(grant) ? grant : encodeURIComponent(grant);
}

/** The grants a viewer's answer carries: `media` always; `session` when the template has session slots. */
export interface ViewerGrants {
  media: string;
  /** Called only for templates with session slots; without it those slots take `media`. */
  session?: (() => string) | undefined;
}

/** The manifest for one viewer. Grants are raw values; they are percent-encoded if they need it. */
export function renderTemplate(t: ManifestTemplate, grants: ViewerGrants | string): string {
  if (t.slots === 0) return t.parts[0]!;
  const media = grantInUri(typeof grants === 'string' ? grants : grants.media);
  const kinds = t.sessionSlots;
  if (kinds === null || typeof grants === 'string' || grants.session === undefined) return t.parts.join(media);
  const session = grantInUri(grants.session());
  const parts = t.parts;
  let out = parts[0]!;
  for (let i = 0; i < t.slots; i++) out += (kinds[i] === 1 ? session : media) + parts[i + 1]!;
  return out;
}

/**
 * The same answer as renderTemplate, as the bytes that go on the wire: one string join, then one
 * copy into a Buffer (a plain byte copy for the usual all-ASCII manifest). Written to the socket as
 * is, so Node does not concatenate the header and a 7 KB body into yet another string per response.
 */
export function renderTemplateBytes(t: ManifestTemplate, grants: ViewerGrants): Buffer {
  return Buffer.from(renderTemplate(t, grants), t.ascii === true ? 'latin1' : 'utf8');
}

/** Collects the pieces while a rewriter scans `text` forward. */
export class TemplateBuilder {
  private readonly parts: string[] = [];
  private readonly kinds: number[] = [];
  private current = '';
  private last = 0;

  constructor(private readonly text: string) {}

  /** Replaces `text[from, to)` with `before` + (grant of `kind`) + `after`. Calls must move forward. */
  cut(from: number, to: number, before: string, after: string, kind: SlotKind = 'media'): void {
    this.parts.push(this.current + this.text.slice(this.last, from) + before);
    this.kinds.push(kind === 'session' ? 1 : 0);
    this.current = after;
    this.last = to;
  }

  finish(): ManifestTemplate {
    const parts = this.parts;
    parts.push(this.parts.length === 0 ? this.text : this.current + this.text.slice(this.last));
    let staticBytes = 0;
    let chars = 0;
    for (const p of parts) {
      staticBytes += Buffer.byteLength(p);
      chars += p.length;
    }
    const sessionSlots = this.kinds.includes(1) ? Uint8Array.from(this.kinds) : null;
    return { parts, staticBytes, slots: parts.length - 1, sessionSlots, ascii: staticBytes === chars };
  }
}
