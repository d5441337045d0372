// The RTMP handshake (RTMP specification §5.2), done separately on each leg: the gate answers the
// client as a server and greets the origin as a client, both with the plain ("simple") handshake —
// version 3, zero version bytes in C1/S1, the peer's packet echoed back. ffmpeg, librtmp (OBS) and
// hardware encoders accept it; the chunk streams that follow are then relayed byte for byte, so
// acknowledgements and windows stay consistent end to end.
import { randomFillSync } from 'node:crypto';
import type { Socket } from 'node:net';
import { ErrorCode, StreamgateError } from '../errors.js';
import type { Inbox } from './inbox.js';

export const RTMP_VERSION = 3;
export const HANDSHAKE_PACKET = 1536;

/** The peer does not speak RTMP version 3 (e.g. RTMPE, or not RTMP at all). */
export class HandshakeError extends StreamgateError {
  constructor(message: string) {
    super(ErrorCode.rtmpHandshake, message);
  }
}

function packet(): Buffer {
  const p = Buffer.alloc(HANDSHAKE_PACKET);
  p.writeUInt32BE(Math.floor(performance.now()) >>> 0, 0); // time; bytes 4–7 stay zero (plain handshake)
  randomFillSync(p, 8);
  return p;
}

/** Server side: reads C0+C1, sends S0+S1+S2 (S2 echoes C1), reads C2. */
export async function acceptHandshake(socket: Socket, inbox: Inbox, deadline: number): Promise<void> {
  const c0 = await inbox.read(1, deadline, 'C0');
  if (c0[0] !== RTMP_VERSION) throw new HandshakeError(`RTMP version ${c0[0]} is not supported (only 3)`);
  const c1 = await inbox.read(HANDSHAKE_PACKET, deadline, 'C1');
  socket.write(Buffer.concat([Buffer.from([RTMP_VERSION]), packet(), c1]));
  await inbox.read(HANDSHAKE_PACKET, deadline, 'C2');
}

/** Client side: sends C0+C1, reads S0+S1+S2, sends C2 (echoing S1). */
export async function initiateHandshake(socket: Socket, inbox: Inbox, deadline: number): Promise<void> {
  socket.write(Buffer.concat([Buffer.from([RTMP_VERSION]), packet()]));
  const s0 = await inbox.read(1, deadline, 'S0');
  if (s0[0] !== RTMP_VERSION) throw new HandshakeError(`origin answered RTMP version ${s0[0]}`);
  const s1 = await inbox.read(HANDSHAKE_PACKET, deadline, 'S1');
  await inbox.read(HANDSHAKE_PACKET, deadline, 'S2');
  socket.write(s1);
}
