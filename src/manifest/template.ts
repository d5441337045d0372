// A manifest parsed once, answered to every viewer: the origin's text cut at every place a grant goes.
// A viewer's answer is the pieces joined with its grant, so the per-viewer cost is one string join,
// whatever the manifest's size or the number of URIs in it.

/** The pieces of a manifest around its grant slots: the answer is `parts.join(grant)`. */
export interface ManifestTemplate {
  readonly parts: readonly string[];
  /** UTF-8 bytes of all parts: with `slots × grant.length` the answer's Content-Length, no encoding. */
  readonly staticBytes: number;
  /** Number of grant slots (`parts.length - 1`). */
  readonly slots: number;
}

/** Characters a grant may carry into a URI unescaped (RFC 3986 unreserved). Grants are base64url + dots. */
const UNRESERVED = /^[A-Za-z0-9._~-]*$/;

/** The grant as it appears in a URI. */
export function grantInUri(grant: string): string {
  return UNRESERVED.test(grant) ? grant : encodeURIComponent(grant);
}

/** The manifest for one viewer. `grant` is the raw grant value; it is percent-encoded if it needs it. */
export function renderTemplate(t: ManifestTemplate, grant: string): string {
  return t.slots === 0 ? t.parts[0]! : t.parts.join(grantInUri(grant));
}

/** Content-Length of `renderTemplate(t, grant)` without building it. */
export function renderedLength(t: ManifestTemplate, grant: string): number {
  return t.staticBytes + t.slots * Buffer.byteLength(grantInUri(grant));
}

/** Collects the pieces while a rewriter scans `text` forward. */
export class TemplateBuilder {
  private readonly parts: string[] = [];
  private current = '';
  private last = 0;

  constructor(private readonly text: string) {}

  /** Replaces `text[from, to)` with `before` + (grant) + `after`. Calls must move forward. */
  cut(from: number, to: number, before: string, after: string): void {
    this.parts.push(this.current + this.text.slice(this.last, from) + before);
    this.current = after;
    this.last = to;
  }

  finish(): ManifestTemplate {
    const parts = this.parts;
    parts.push(this.parts.length === 0 ? this.text : this.current + this.text.slice(this.last));
    let staticBytes = 0;
    for (const p of parts) staticBytes += Buffer.byteLength(p);
    return { parts, staticBytes, slots: parts.length - 1 };
  }
}
