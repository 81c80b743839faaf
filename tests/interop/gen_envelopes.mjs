// Signed call / query / read_state envelopes exactly as @dfinity/agent 3.4.3 sends them.
//
// Input: {canister_id, method_name, arg, paths: [[hex label, ...], ...],
//         identities: [{name, kind: "ed25519"|"secp256k1"|"ecdsa"|"anonymous"|"delegation",
//                       seed?, root?, links?: [{kind, seed, targets?, expiration_ms?}]}]}
// Output: {now_ms, identities: [{name, kind, sender, public_key, delegations?, envelopes:
//          {call|query|read_state: {body, request_id, content_request_id}}}]}
//
// call and query go through a real HttpAgent whose `fetch` captures the POSTed body (and
// answers 202 / a canned reply), so nonce, ingress_expiry rounding, transforms and signing
// are the agent's own; read_state uses the agent's public `createReadStateRequest`.
import { AnonymousIdentity, Cbor, HttpAgent, requestIdOf } from '@dfinity/agent';
import {
  DelegationChain,
  DelegationIdentity,
  ECDSAKeyIdentity,
  Ed25519KeyIdentity,
} from '@dfinity/identity';
import { Secp256k1KeyIdentity } from '@dfinity/identity-secp256k1';
import { Principal } from '@dfinity/principal';
import { hex, readInput, unhex, writeOutput } from './_io.mjs';

// Any 133-byte value: the agent only needs *a* root key before it sends requests.
const DUMMY_ROOT_KEY = new Uint8Array(133);

async function makeKey(spec) {
  switch (spec.kind) {
    case 'ed25519':
      return Ed25519KeyIdentity.generate(unhex(spec.seed));
    case 'secp256k1':
      return Secp256k1KeyIdentity.generate(unhex(spec.seed));
    case 'ecdsa':
      return ECDSAKeyIdentity.generate();
    case 'anonymous':
      return new AnonymousIdentity();
    default:
      throw new Error(`unknown key kind ${spec.kind}`);
  }
}

async function makeIdentity(spec) {
  if (spec.kind !== 'delegation') {
    return makeKey(spec);
  }
  let from = await makeKey(spec.root);
  let chain;
  for (const link of spec.links) {
    const to = await makeKey(link);
    const expiration = new Date(link.expiration_ms ?? Date.now() + 15 * 60 * 1000);
    const options = { previous: chain };
    if (link.targets) {
      options.targets = link.targets.map(t => Principal.fromText(t));
    }
    chain = await DelegationChain.create(from, to.getPublicKey(), expiration, options);
    from = to;
  }
  return DelegationIdentity.fromDelegation(from, chain);
}

function capturingAgent(identity, captured) {
  const fetch = async (url, init) => {
    captured.push({ url: String(url), body: new Uint8Array(init.body) });
    if (String(url).endsWith('/query')) {
      const reply = Cbor.encode({ status: 'replied', reply: { arg: new Uint8Array([0x44, 0x49, 0x44, 0x4c, 0, 0]) } });
      return new Response(reply, { status: 200, headers: { 'Content-Type': 'application/cbor' } });
    }
    return new Response(null, { status: 202 });
  };
  return HttpAgent.createSync({
    host: 'http://127.0.0.1:4943',
    identity,
    fetch,
    rootKey: DUMMY_ROOT_KEY,
    verifyQuerySignatures: false,
    retryTimes: 0,
  });
}

function describe(body, agentRequestId) {
  const envelope = Cbor.decode(body);
  return {
    body: hex(body),
    request_id: agentRequestId === undefined ? null : hex(agentRequestId),
    content_request_id: hex(requestIdOf(envelope.content)),
  };
}

async function envelopesFor(spec, input) {
  const identity = await makeIdentity(spec);
  const captured = [];
  const agent = capturingAgent(identity, captured);
  const arg = unhex(input.arg);

  const call = await agent.call(input.canister_id, { methodName: input.method_name, arg });
  const query = await agent.query(input.canister_id, { methodName: input.method_name, arg });
  const paths = input.paths.map(p => p.map(unhex));
  const readState = await agent.createReadStateRequest({ paths }, identity);
  const readStateBody = Cbor.encode(readState.body);

  const callBody = captured.find(c => c.url.endsWith('/call')).body;
  const queryBody = captured.find(c => c.url.endsWith('/query')).body;
  const out = {
    name: spec.name,
    kind: spec.kind,
    sender: identity.getPrincipal().toText(),
    public_key: spec.kind === 'anonymous' ? null : hex(identity.getPublicKey().toDer()),
    envelopes: {
      call: describe(callBody, call.requestId),
      query: describe(queryBody, query.requestId),
      read_state: describe(readStateBody, requestIdOf(readState.body.content)),
    },
  };
  if (spec.kind === 'delegation') {
    const chain = identity.getDelegation();
    out.delegations = chain.delegations.map(d => ({
      pubkey: hex(d.delegation.pubkey),
      expiration: d.delegation.expiration.toString(),
      targets: d.delegation.targets ? d.delegation.targets.map(t => t.toText()) : null,
    }));
  }
  return out;
}

const input = await readInput();
const identities = [];
for (const spec of input.identities) {
  identities.push(await envelopesFor(spec, input));
}
writeOutput({ identities, now_ms: Date.now() });
