import { createPolicy, createServer } from '@policyd/core';
import { openStorage } from '@policyd/storage-knex';
import { createWblistAdmin, wblist } from '@policyd/plugin-wblist';

const storage = await openStorage({ client: 'sqlite', filename: '/var/lib/policyd/policyd.sqlite' });
const policy = await createPolicy({
  plugins: [wblist({ store: storage.wblist, domains: storage.domains, discardInsteadOfReject: false })],
});
const server = createServer(policy);
await server.listen({ host: '127.0.0.1', port: 7777 });
process.once('SIGTERM', () => void server.close().then(() => storage.close()));
const admin = createWblistAdmin(storage.wblist);
const { changed, unchanged } = await admin.add({ account: 'user@example.com', list: 'whitelist', addresses: ['@partner.example'] });
const { entries } = await admin.list({ account: 'user@example.com' });
console.log(changed, unchanged, entries);
