// PROXY protocol v1/v2 (HAProxy's proxy-protocol.txt) in front of a TCP door: a load balancer that
// terminates the client's connection tells us the client's address in a header before any payload.
// It is read only from configured peers; from anyone else the first bytes are the protocol itself.
import { V1ProxyProtocol, V2ProxyProtocol } from 'proxy-protocol-js';
import { ErrorCode, StreamgateError } from '../errors.js';
import { normalizeIp } from '../request/client-ip.js';
import type { Inbox } from './inbox.js';

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** A v1 header is at most 107 bytes including CRLF (proxy-protocol.txt §2.1). */
const V1_MAX = 107;

export class ProxyHeaderError extends StreamgateError {
  constructor(message: string) {
    super(ErrorCode.proxyHeader, message);
  }
}

/**
 * Reads one PROXY header and returns the client address it names, or `peer` for LOCAL/UNKNOWN
 * (health checks).
 * @throws ProxyHeaderError when the bytes are not a PROXY header; ReadTimeoutError when too slow.
 */
export async function readProxyHeader(inbox: Inbox, peer: string, deadline: number): Promise<string> {
  await inbox.until(() => inbox.peek().length >= 12 || inbox.peek().includes('\r\n'), deadline, 'PROXY header');
  const head = inbox.peek();
  if (head.subarray(0, 12).equals(V2_SIGNATURE)) {
    await inbox.until(() => inbox.peek().length >= 16, deadline, 'PROXY v2 header');
    const len = inbox.peek().readUInt16BE(14);
    const raw = await inbox.read(16 + len, deadline, 'PROXY v2 header');
    let parsed: V2ProxyProtocol;
    try {
      parsed = V2ProxyProtocol.parse(new Uint8Array(raw));
    } catch (err) {
      throw new ProxyHeaderError(`malformed PROXY v2 header: ${(err as Error).message}`);
    }
    const addr = parsed.proxyAddress as unknown as { sourceAddress?: { address?: number[] | Uint8Array } } | undefined;
    const bytes = addr?.sourceAddress?.address;
    if (parsed.command === 0 || !bytes) return peer; // LOCAL
    const b = Array.from(bytes);
    if (b.length === 4) return b.join('.');
    if (b.length === 16) {
      const groups: string[] = [];
      for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
      return normalizeIp(groups.join(':'));
    }
    return peer;
  }
  if (!head.subarray(0, 6).equals(Buffer.from('PROXY '))) throw new ProxyHeaderError('expected a PROXY header from this peer');
  await inbox.until(() => inbox.peek().subarray(0, V1_MAX).includes('\r\n'), deadline, 'PROXY v1 header');
  const end = inbox.peek().indexOf('\r\n');
  const line = (await inbox.read(end + 2, deadline, 'PROXY v1 header')).toString('latin1');
  if (line.startsWith('PROXY UNKNOWN')) return peer;
  try {
    return normalizeIp(V1ProxyProtocol.parse(line).source.ipAddress);
  } catch (err) {
    throw new ProxyHeaderError(`malformed PROXY v1 header: ${(err as Error).message}`);
  }
}
