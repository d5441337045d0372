// HLS segment suffix formats (Ant Media's `hlsSegmentFileSuffixFormat` app setting): the part of a
// segment name between the stream id (plus rendition) and `.ts`/`.fmp4`. Ant Media hands the format to
// ffmpeg's HLS muxer (`%0Nd` segment number, or strftime fields with `strftime` on); its default `%09d`
// gives `stream1000000001.ts`, `-%Y%m%d-%s` gives `stream1-20240131-1719999999.ts`, and older
// versions wrote 4-digit indexes (`%04d`).
//
// Only fixed-width formats are accepted, so a suffix is recognized by comparing the last `width`
// characters of a name position by position: linear, no backtracking, and it cuts a stream id at
// exactly one place per format.

/** One position of a compiled format: a digit, or this exact character. */
type Slot = 'digit' | string;

export interface SuffixFormat {
  /** The format as configured (e.g. `%09d`). */
  source: string;
  /** Characters the suffix always occupies. */
  width: number;
  slots: readonly Slot[];
}

/** Fixed-width fields: strftime's (as Ant Media's TokenFilterManager reads them) and `%0Nd`. */
const FIELD_WIDTH: ReadonlyMap<string, number> = new Map([
  ['Y', 4], // year
  ['y', 2],
  ['m', 2],
  ['d', 2], // day of month (Ant Media reads `%d` as the day, not as an unpadded number)
  ['H', 2],
  ['M', 2],
  ['S', 2],
  ['s', 10], // seconds since the epoch (10 digits until the year 2286)
]);

const MAX_WIDTH = 64;

function isIdChar(c: string): boolean {
  return /^[A-Za-z0-9_.-]$/.test(c);
}

/**
 * Compiles a suffix format. Throws a RangeError naming the problem for: a variable-width field
 * (`%d` with a width other than `%0Nd`, `%9d`, any unknown `%x`), a character that cannot appear in a
 * segment name, no field at all, or a suffix wider than 64 characters.
 */
export function compileSuffixFormat(source: string): SuffixFormat {
  const slots: Slot[] = [];
  let fields = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source.charAt(i);
    if (c !== '%') {
      if (!isIdChar(c)) throw new RangeError(`'${c}' cannot appear in a segment name (letters, digits, '_', '.', '-')`);
      slots.push(c);
      continue;
    }
    const next = source.charAt(i + 1);
    let digits: number | undefined;
    if (next === '0') {
      // %0Nd: the segment number, zero-padded to N digits.
      let j = i + 2;
      while (j < source.length && /[0-9]/.test(source.charAt(j))) j++;
      const n = Number(source.slice(i + 2, j));
      if (source.charAt(j) !== 'd' || j === i + 2 || n < 1 || n > 20) throw new RangeError(`'${source.slice(i, j + 1)}' is not a zero-padded number field (%01d … %020d)`);
      digits = n;
      i = j;
    } else {
      digits = FIELD_WIDTH.get(next);
      if (digits === undefined) {
        throw new RangeError(`'%${next}' is not a fixed-width field (use %0Nd, %Y, %y, %m, %d, %H, %M, %S or %s)`);
      }
      i += 1;
    }
    fields++;
    for (let k = 0; k < digits; k++) slots.push('digit');
  }
  if (fields === 0) throw new RangeError('needs at least one field (e.g. %09d), or every segment would have the same name');
  if (slots.length > MAX_WIDTH) throw new RangeError(`is ${slots.length} characters wide; at most ${MAX_WIDTH}`);
  return { source, width: slots.length, slots };
}

/** The name without the suffix when `base` ends in it (and something is left before it); else null. */
export function stripSuffix(base: string, format: SuffixFormat): string | null {
  const start = base.length - format.width;
  if (start <= 0) return null;
  for (let i = 0; i < format.width; i++) {
    const slot = format.slots[i]!;
    const code = base.charCodeAt(start + i);
    if (slot === 'digit' ? code < 0x30 || code > 0x39 : base.charAt(start + i) !== slot) return null;
  }
  return base.slice(0, start);
}

/** Ant Media's default `%09d`. */
export const DEFAULT_SUFFIX_FORMAT = '%09d';
