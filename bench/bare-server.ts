// The baseline of bench/all.ts, run as a process of its own like the service: a Fastify 5 app with no
// plugins and no logger whose one route parses a JSON body and answers {"status":"PENDING"}. It listens on
// 127.0.0.1 and the port given as the first argument, and says "listening" on standard output when it does.
import Fastify from 'fastify';

const port = Number(process.argv[2] ?? '0');
const app = Fastify({ logger: false });
app.post('/bare', async () => ({ status: 'PENDING' }));
await app.listen({ host: '127.0.0.1', port });
process.stdout.write('listening\n');
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
