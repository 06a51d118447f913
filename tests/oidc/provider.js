// provider.js - a real OpenID Connect provider (the OpenID-certified `oidc-provider`
// package) for Keyward's OIDC realm tests. Not a stub: discovery, the authorization
// endpoint with PKCE, the token endpoint with client authentication, ID tokens signed
// with the provider's own keys and its JWKS are all the package's.
//
//   node provider.js PORT CONFIG.json
//
// It listens on https://127.0.0.1:PORT (the issuer) and prints
// "provider listening on https://127.0.0.1:PORT" once ready. CONFIG holds:
//   cert, key        PEM files of the TLS server certificate (made by the test)
//   clients          oidc-provider client metadata: client_id, client_secret,
//                    redirect_uris, id_token_signed_response_alg, ...
//   accounts         {"alice": {"email": ..., "groups": [...]}}; default: alice
//   authMethods      token endpoint client authentication methods (default
//                    client_secret_basic and client_secret_post)
//   idTokenTTL       seconds an ID token lives (default 3600)
//   clockSkew        seconds added to this process's clock (negative: behind), so
//                    that the provider issues tokens that are already expired
//   writeJwks        a file to write this provider's public JWKS to once started
//   publishJwksFile  a public JWKS served at the jwks_uri *instead of* the keys this
//                    provider signs with: it then signs with keys nobody published
//                    (same kids, other key material)
//
// There is no login page: an authorization request logs in the account named by
// its login_hint (else "alice") and grants what it asks for, so a test can drive a
// full authorization-code login by following redirects without a browser. The
// interaction is finished the documented way (interactionDetails +
// interactionFinished) on the package's own interaction URL.
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';

import Provider from 'oidc-provider';

const [port, configPath] = process.argv.slice(2);
if (!/^\d+$/.test(port || '') || !configPath) {
  console.error('usage: node provider.js PORT CONFIG.json');
  process.exit(2);
}
const cfg = JSON.parse(fs.readFileSync(configPath, 'utf8'));
const issuer = `https://127.0.0.1:${port}`;

if (cfg.clockSkew) {
  // Everything in oidc-provider (iat, exp, code and cookie lifetimes) reads
  // Date.now(), so shifting it keeps the provider consistent with itself.
  const realNow = Date.now;
  const skewMs = Number(cfg.clockSkew) * 1000;
  Date.now = () => realNow() + skewMs;
}

// Fixed kids, so that a provider started with publishJwksFile signs under a kid
// the published set also has, with different key material.
function signingKeys() {
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  return [
    { ...rsa.export({ format: 'jwk' }), kid: 'rs-1', alg: 'RS256', use: 'sig' },
    { ...ec.export({ format: 'jwk' }), kid: 'es-1', alg: 'ES256', use: 'sig' },
  ];
}

function publicJwk(k) {
  const pub = crypto.createPublicKey({ key: k, format: 'jwk' }).export({ format: 'jwk' });
  return { ...pub, kid: k.kid, alg: k.alg, use: k.use };
}

const accounts = cfg.accounts || {
  alice: { email: 'alice@example.test', groups: ['engineering', 'pki-admins'] },
};

async function findAccount(ctx, id) {
  const a = accounts[id];
  if (!a) return undefined;
  return {
    accountId: id,
    async claims() {
      return { sub: id, email: a.email, email_verified: true, groups: a.groups || [] };
    },
  };
}

const keys = signingKeys();
const provider = new Provider(issuer, {
  clients: cfg.clients,
  jwks: { keys },
  findAccount,
  claims: { openid: ['sub'], email: ['email', 'email_verified'], groups: ['groups'] },
  // Put the scope's claims in the ID token itself: the console reads only the ID
  // token, never the userinfo endpoint.
  conformIdTokenClaims: false,
  clientAuthMethods: cfg.authMethods || ['client_secret_basic', 'client_secret_post'],
  pkce: { required: () => true },
  // HS256 too, so that a test can check that the console refuses an ID token
  // MACed with the client secret (its algorithm is pinned to RS256 and ES256).
  enabledJWA: { idTokenSigningAlgValues: ['RS256', 'ES256', 'HS256'] },
  features: { devInteractions: { enabled: false } },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  ttl: { IdToken: cfg.idTokenTTL || 3600 },
  renderError(ctx, out) {
    ctx.type = 'application/json';
    ctx.body = out;
  },
});

// Log in the hinted account, then grant every scope and claim asked for.
async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session, grantId } = details;
  if (prompt.name === 'login') {
    const accountId = params.login_hint || 'alice';
    await provider.interactionFinished(req, res, { login: { accountId } });
    return;
  }
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } });
}

const published = cfg.publishJwksFile
  ? fs.readFileSync(cfg.publishJwksFile, 'utf8')
  : null;
const callback = provider.callback();

function handle(req, res) {
  const path = new URL(req.url, issuer).pathname;
  if (published !== null && path === '/jwks') {
    res.writeHead(200, { 'Content-Type': 'application/jwk-set+json' });
    res.end(published);
    return;
  }
  if (path.startsWith('/interaction/')) {
    interaction(req, res).catch((err) => {
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(String(err && err.message));
    });
    return;
  }
  callback(req, res);
}

const server = https.createServer({
  cert: fs.readFileSync(cfg.cert),
  key: fs.readFileSync(cfg.key),
}, handle);

// A port taken since the test picked it must be said, not waited for.
server.on('error', (err) => {
  console.error(`provider cannot listen: ${err.code || err.message}`);
  process.exit(1);
});

server.listen(Number(port), '127.0.0.1', () => {
  if (cfg.writeJwks) {
    fs.writeFileSync(cfg.writeJwks, JSON.stringify({ keys: keys.map(publicJwk) }));
  }
  console.log(`provider listening on ${issuer}`);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
