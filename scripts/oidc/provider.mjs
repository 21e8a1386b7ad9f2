// A real OpenID Connect provider for the console's browser tests: `oidc-provider` (panva's,
// OpenID Certified), with its development login form (any name logs in; the name is the
// e-mail). It listens on a free loopback port and prints one JSON line with its issuer.
// Clients come from the JSON file CLIENTS_FILE, read at each lookup, so a test registers the
// console's redirect URI once it knows the console's port.
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

const clientsFile = process.env.CLIENTS_FILE;
const models = new Map();

class Adapter {
  constructor(name) { this.name = name; }
  key(id) { return `${this.name}:${id}`; }
  async upsert(id, payload) { models.set(this.key(id), payload); }
  async find(id) {
    if (this.name === 'Client') {
      const clients = JSON.parse(readFileSync(clientsFile, 'utf8'));
      return clients.find((c) => c.client_id === id);
    }
    return models.get(this.key(id));
  }
  async findByUserCode() { return undefined; }
  async findByUid(uid) { return [...models.values()].find((p) => p.uid === uid); }
  async consume(id) { const p = models.get(this.key(id)); if (p) p.consumed = Date.now() / 1000; }
  async destroy(id) { models.delete(this.key(id)); }
  async revokeByGrantId() {}
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    adapter: Adapter,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    scopes: ['openid', 'email'],
    findAccount: async (ctx, id) => ({
      accountId: id,
      claims: async () => ({ sub: id, email: id, email_verified: true }),
    }),
    cookies: { keys: ['opsbell-test-only'] },
    loadExistingGrant: async (ctx) => {
      // Consent is implied (a first-party login): grant what the client asked for.
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid email');
      await grant.save();
      return grant;
    },
  });
  server.on('request', provider.callback());
  console.log(JSON.stringify({ issuer }));
});
