import { createPolicy, createServer } from '@policyd/core';
import { rejectBareIpHelo } from './reject-bare-ip-helo.ts';

const server = createServer(await createPolicy({ plugins: [rejectBareIpHelo()] }));
const at = await server.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 10041) });
console.log('listening', at);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void server.close());
