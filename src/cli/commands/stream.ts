// `streamgate stream register|unregister|show`: the registered-stream list used when an app's
// `publish.acceptUndefinedStreams` is false.
import { parseSubcommand, need, requireConfig } from '../args.js';
import { withStore } from '../with-store.js';

const HELP = `usage:
  streamgate stream register   --config FILE --app APP --stream ID [--name NAME]
  streamgate stream unregister --config FILE --app APP --stream ID
  streamgate stream show       --config FILE --app APP --stream ID`;

export async function stream(argv: string[]): Promise<number> {
  const parsed = parseSubcommand(argv, { config: { type: 'string', short: 'c' }, app: { type: 'string' }, stream: { type: 'string' }, name: { type: 'string' } }, HELP);
  if (typeof parsed === 'number') return parsed;
  const { sub, values: v } = parsed;
  const config = requireConfig(v.config);
  const app = need(v, 'app');
  const streamId = need(v, 'stream');
  if (!/^[A-Za-z0-9_.-]+$/.test(streamId)) throw new Error('--stream must match [A-Za-z0-9_.-]+');
  return withStore(config, app, async (store) => {
    switch (sub) {
      case 'register':
        await store.registerStream(app, { streamId, name: typeof v.name === 'string' ? v.name : null, registeredAt: Date.now() });
        console.log(JSON.stringify({ success: true, streamId }));
        return 0;
      case 'unregister':
        console.log(JSON.stringify({ success: await store.unregisterStream(app, streamId), streamId }));
        return 0;
      case 'show': {
        const s = await store.getStream(app, streamId);
        console.log(JSON.stringify(s));
        return s ? 0 : 1;
      }
      default:
        console.error(`unknown stream command '${sub}'\n\n${HELP}`);
        return 2;
    }
  });
}
