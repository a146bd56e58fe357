import { createPolicy, createServer, Decision, definePlugin } from '@policyd/core';
import { pino } from 'pino';

const logger = pino();
const rejectNullSender = definePlugin({
  name: 'reject_null_sender',
  priority: 100,
  check: (req) =>
    req.sender.address === '' && req.saslUsername.address !== ''
      ? Decision.reject('Policy rejection due to null sender')
      : Decision.dunno(),
});
const server = createServer(await createPolicy({ plugins: [rejectNullSender], logger }), { logger });
const at = await server.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 10040) });
logger.info(at, 'policyd listening; main.cf: check_policy_service inet:127.0.0.1:10040');
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void server.close());
