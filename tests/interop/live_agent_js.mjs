// Live flows of @dfinity/agent 3.4.3 against a running `icbox start`.
// Input: {url, wasm, upgrade_mode, cycles, base_wasm}. Output: the recorded steps.

import * as agentLib from '@dfinity/agent';
import * as candid from '@dfinity/candid';
import * as identity from '@dfinity/identity';
import * as secp256k1 from '@dfinity/identity-secp256k1';
import * as principal from '@dfinity/principal';
import { errorText, readInput, writeOutput } from './_io.mjs';
import {
  asyncCallAndPoll,
  createOnManagementId,
  deployAndUse,
  identities,
  step,
} from './live_flows.mjs';

const lib = { agent: agentLib, candid, identity, secp256k1, principal };
const input = await readInput();
const out = { identities: {} };
try {
  const ids = await identities(lib);
  for (const [name, id] of Object.entries(ids)) {
    // fetchRootKey: trust the root key icbox serves; query signatures are verified (default)
    const agent = await agentLib.HttpAgent.create({
      host: input.url,
      identity: id,
      shouldFetchRootKey: true,
    });
    out.root_key = Buffer.from(agent.rootKey).toString('hex');
    out.identities[name] = await deployAndUse(lib, agent, id, input);
    if (name === 'ed25519') {
      const cid = out.identities[name].canister_id;
      await step(out, 'async_call_polling', () => asyncCallAndPoll(lib, agent, cid));
      await step(out, 'create_on_management_id', () =>
        createOnManagementId(lib, agent, input.cycles),
      );
      await step(out, 'base_flavour', () =>
        deployAndUse(lib, agent, id, { ...input, wasm: input.base_wasm, upgrade_mode: 'plain' }),
      );
    }
  }
} catch (error) {
  out.fatal = errorText(error);
}
writeOutput(out);
