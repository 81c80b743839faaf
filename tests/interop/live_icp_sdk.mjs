// Live flows of @icp-sdk/core 6.1.0 against a running `icbox start`: v4 sync calls, v3
// queries and read_state, the subnet endpoints (creation, list_canisters, subnet status).
// Input: {url, wasm, base_wasm, upgrade_mode, cycles}. Output: the recorded steps.

import * as agentLib from '@icp-sdk/core/agent';
import * as candid from '@icp-sdk/core/candid';
import * as identity from '@icp-sdk/core/identity';
import * as secp256k1 from '@icp-sdk/core/identity/secp256k1';
import * as principal from '@icp-sdk/core/principal';
import { errorText, hex, readInput, writeOutput } from './_io.mjs';
import {
  ANY_CANISTER,
  asyncCallAndPoll,
  createOnManagementId,
  deployAndUse,
  identities,
  managementActor,
  step,
} from './live_flows.mjs';

const lib = { agent: agentLib, candid, identity, secp256k1, principal };
const input = await readInput();
const out = { identities: {} };
try {
  const ids = await identities(lib);
  for (const [name, id] of Object.entries(ids)) {
    const agent = await agentLib.HttpAgent.create({
      host: input.url,
      identity: id,
      shouldFetchRootKey: true,
    });
    out.root_key = hex(agent.rootKey);
    const subnet = await step(out, `subnet_of_${name}`, async () =>
      (await agent.getSubnetIdFromCanister(ANY_CANISTER)).toText(),
    );
    const subnetId = subnet.ok ? subnet.value : undefined;
    out.identities[name] = await deployAndUse(lib, agent, id, { ...input, subnet_id: subnetId });
    if (name !== 'delegation') {
      continue; // the subnet-level steps run once, after every identity deployed
    }
    const cid = out.identities[name].canister_id;
    await step(out, 'async_call_polling', () => asyncCallAndPoll(lib, agent, cid));
    await step(out, 'base_flavour', () =>
      deployAndUse(lib, agent, id, {
        ...input,
        subnet_id: subnetId,
        wasm: input.base_wasm,
        upgrade_mode: 'plain',
      }),
    );
    await step(out, 'subnet_status', async () => {
      const map = await agentLib.SubnetStatus.request({
        subnetId: principal.Principal.fromText(subnetId),
        agent,
        paths: ['time', 'canisterRanges', 'publicKey', 'nodeKeys'],
      });
      // 'canisterRanges' is the legacy /subnet/<sid>/canister_ranges path, which the v3
      // endpoint serves only for the root subnet: the helper reports null (spec behaviour)
      return {
        time_ms: map.get('time') instanceof Date ? map.get('time').getTime() : null,
        legacy_canister_ranges: map.get('canisterRanges') ?? null,
        public_key: map.get('publicKey') ? hex(map.get('publicKey')) : null,
        node_count: map.get('nodeKeys') ? map.get('nodeKeys').size : null,
      };
    });
    // the sharded ranges `/canister_ranges/<sid>` at the v3 subnet read_state endpoint,
    // looked up with the agent's own range lookup (as it does for v4 call certificates)
    await step(out, 'canister_ranges', async () => {
      const sid = principal.Principal.fromText(subnetId);
      const path = [new TextEncoder().encode('canister_ranges'), sid.toUint8Array()];
      const { verifiedCertificate } = await agent.readSubnetState(sid, { paths: [path] });
      const raw = agentLib.lookupCanisterRanges({
        subnetId: sid,
        tree: verifiedCertificate.cert.tree,
        canisterId: principal.Principal.fromText(cid),
      });
      return agentLib.decodeCanisterRanges(raw).map(([lo, hi]) => [lo.toText(), hi.toText()]);
    });
    await step(out, 'create_on_management_id', () =>
      createOnManagementId(lib, agent, input.cycles),
    );
    await step(out, 'list_canisters', async () => {
      const mgmt = managementActor(lib, agent, { subnetId });
      const { canisters } = await mgmt.list_canisters();
      return canisters.map((r) => [r.start.toText(), r.end.toText()]);
    });
  }
} catch (error) {
  out.fatal = errorText(error);
}
writeOutput(out);
