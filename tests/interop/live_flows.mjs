// The deploy-and-use flows shared by the live agent scripts (@dfinity/agent 3.x and
// @icp-sdk/core 6.x have the same Actor / HttpAgent / CanisterStatus / identity API).
// `lib` = {agent, candid, principal, identity, secp256k1}: the client's modules.
// Every step is recorded as {ok, value} or {ok: false, error} so one run reports all.

import { readFileSync } from 'node:fs';
import { errorText, hex } from './_io.mjs';

// The part of the management canister's interface (ic.did) the flows use; records list
// only the fields read or sent (Candid subtyping makes the rest optional / skipped).
export function managementIdl(IDL) {
  const canisterId = IDL.Principal;
  const settings = IDL.Record({
    controllers: IDL.Opt(IDL.Vec(IDL.Principal)),
    freezing_threshold: IDL.Opt(IDL.Nat),
  });
  const upgradeFlags = IDL.Record({
    skip_pre_upgrade: IDL.Opt(IDL.Bool),
    wasm_memory_persistence: IDL.Opt(IDL.Variant({ keep: IDL.Null, replace: IDL.Null })),
  });
  const mode = IDL.Variant({
    install: IDL.Null,
    reinstall: IDL.Null,
    upgrade: IDL.Opt(upgradeFlags),
  });
  const status = IDL.Record({
    status: IDL.Variant({ running: IDL.Null, stopping: IDL.Null, stopped: IDL.Null }),
    module_hash: IDL.Opt(IDL.Vec(IDL.Nat8)),
    memory_size: IDL.Nat,
    cycles: IDL.Nat,
    settings: IDL.Record({ controllers: IDL.Vec(IDL.Principal), freezing_threshold: IDL.Nat }),
  });
  const listResult = IDL.Record({
    canisters: IDL.Vec(IDL.Record({ start: IDL.Principal, end: IDL.Principal })),
  });
  return () =>
    IDL.Service({
      provisional_create_canister_with_cycles: IDL.Func(
        [
          IDL.Record({
            amount: IDL.Opt(IDL.Nat),
            settings: IDL.Opt(settings),
            specified_id: IDL.Opt(canisterId),
          }),
        ],
        [IDL.Record({ canister_id: canisterId })],
        [],
      ),
      install_code: IDL.Func(
        [
          IDL.Record({
            mode,
            canister_id: canisterId,
            wasm_module: IDL.Vec(IDL.Nat8),
            arg: IDL.Vec(IDL.Nat8),
          }),
        ],
        [],
        [],
      ),
      canister_status: IDL.Func([IDL.Record({ canister_id: canisterId })], [status], []),
      stop_canister: IDL.Func([IDL.Record({ canister_id: canisterId })], [], []),
      start_canister: IDL.Func([IDL.Record({ canister_id: canisterId })], [], []),
      list_canisters: IDL.Func([], [listResult], ['query']),
    });
}

export function counterIdl(IDL) {
  return () =>
    IDL.Service({
      get: IDL.Func([], [IDL.Nat], ['query']),
      inc: IDL.Func([], [IDL.Nat], []),
      set: IDL.Func([IDL.Nat], [], []),
    });
}

// A management canister actor whose calls go to the canister named in the argument (the
// effective canister id), like agent-js 2.x's getManagementCanister did. A call naming no
// canister (creation) goes to `anyCanister`, an id in icbox's canister range: icbox's
// certificates carry a root→subnet delegation, and the agent checks that the effective
// canister id is in the delegated ranges. (With aaaaa-aa, what tools that name no canister
// send, icbox answers with a root-signed certificate instead: `createOnManagementId`.)
export const ANY_CANISTER = 'rwlgt-iiaaa-aaaaa-aaaaa-cai'; // canister index 0

// With `subnetId` (@icp-sdk/core), calls naming no canister go to the subnet endpoints
// (`/api/v4/subnet/<sid>/call`, `/api/v3/subnet/<sid>/query`) instead.
export function managementActor(lib, agent, { subnetId, anyCanister = ANY_CANISTER } = {}) {
  const { Actor } = lib.agent;
  const { Principal } = lib.principal;
  const effective = (_method, args, config) => {
    const first = args[0];
    const id = first && typeof first === 'object' && first.canister_id;
    if (!id && subnetId) {
      return { ...config, effectiveTarget: { subnetId: Principal.from(subnetId) } };
    }
    return { ...config, effectiveCanisterId: Principal.from(id || anyCanister) };
  };
  return Actor.createActor(managementIdl(lib.candid.IDL), {
    agent,
    canisterId: Principal.fromHex(''),
    callTransform: effective,
    queryTransform: effective,
  });
}

export async function step(record, name, fn) {
  try {
    record[name] = { ok: true, value: await fn() };
  } catch (error) {
    record[name] = { ok: false, error: errorText(error) };
  }
  return record[name];
}

// The identities every flow runs with: Ed25519, secp256k1, and a two-link delegation chain
// (root Ed25519 key → middle key → session key), whose principal is the root key's.
export async function identities(lib) {
  const { Ed25519KeyIdentity, DelegationChain, DelegationIdentity } = lib.identity;
  const { Secp256k1KeyIdentity } = lib.secp256k1;
  const root = Ed25519KeyIdentity.generate();
  const middle = Ed25519KeyIdentity.generate();
  const session = Ed25519KeyIdentity.generate();
  const expiration = new Date(Date.now() + 10 * 60 * 1000);
  const first = await DelegationChain.create(root, middle.getPublicKey(), expiration);
  const chain = await DelegationChain.create(middle, session.getPublicKey(), expiration, {
    previous: first,
  });
  return {
    ed25519: Ed25519KeyIdentity.generate(),
    secp256k1: Secp256k1KeyIdentity.generate(),
    delegation: DelegationIdentity.fromDelegation(session, chain),
  };
}

export function readWasm(path) {
  return new Uint8Array(readFileSync(path));
}

// Deploy the counter through aaaaa-aa, use it, read its status, upgrade it.
// `input`: {wasm, upgrade_mode: 'keep' | 'plain', cycles}
export async function deployAndUse(lib, agent, identity, input) {
  const { Actor, CanisterStatus } = lib.agent;
  const { IDL } = lib.candid;
  const record = { principal: identity.getPrincipal().toText() };
  const mgmt = managementActor(lib, agent, { subnetId: input.subnet_id });
  const wasm = readWasm(input.wasm);
  const created = await step(record, 'create', async () => {
    const { canister_id } = await mgmt.provisional_create_canister_with_cycles({
      amount: [BigInt(input.cycles)],
      settings: [],
      specified_id: [],
    });
    return canister_id.toText();
  });
  if (!created.ok) {
    return record;
  }
  const canisterId = created.value;
  await step(record, 'install', async () => {
    await mgmt.install_code({
      mode: { install: null },
      canister_id: lib.principal.Principal.fromText(canisterId),
      wasm_module: wasm,
      arg: new Uint8Array(IDL.encode([], [])),
    });
    return true;
  });
  const counter = Actor.createActor(counterIdl(IDL), { agent, canisterId });
  await step(record, 'inc1', async () => (await counter.inc()).toString());
  await step(record, 'inc2', async () => (await counter.inc()).toString());
  await step(record, 'get', async () => (await counter.get()).toString());
  await step(record, 'canister_status', async () => {
    const status = await mgmt.canister_status({
      canister_id: lib.principal.Principal.fromText(canisterId),
    });
    return {
      status: Object.keys(status.status)[0],
      module_hash: status.module_hash.length ? hex(status.module_hash[0]) : null,
      cycles: status.cycles.toString(),
      controllers: status.settings.controllers.map((p) => p.toText()),
    };
  });
  await step(record, 'read_state_status', async () => {
    const map = await CanisterStatus.request({
      canisterId: lib.principal.Principal.fromText(canisterId),
      agent,
      paths: ['time', 'controllers', 'module_hash', 'subnet', 'candid'],
    });
    const subnet = map.get('subnet');
    return {
      time_ms: map.get('time') instanceof Date ? map.get('time').getTime() : null,
      controllers: (map.get('controllers') ?? []).map((p) => p.toText()),
      module_hash: map.get('module_hash'),
      subnet_id: subnet?.subnetId ?? null,
      node_count: subnet?.nodeKeys ? subnet.nodeKeys.size : null,
      candid: map.get('candid'),
    };
  });
  await step(record, 'upgrade', async () => {
    const flags =
      input.upgrade_mode === 'keep'
        ? [{ skip_pre_upgrade: [], wasm_memory_persistence: [{ keep: null }] }]
        : [];
    await mgmt.install_code({
      mode: { upgrade: flags },
      canister_id: lib.principal.Principal.fromText(canisterId),
      wasm_module: wasm,
      arg: new Uint8Array(IDL.encode([], [])),
    });
    return true;
  });
  await step(record, 'get_after_upgrade', async () => (await counter.get()).toString());
  record.canister_id = canisterId;
  return record;
}

// An asynchronous call (`callSync: false`: the v2 call endpoint, 202) then the agent's
// read_state polling for the certified reply.
export async function asyncCallAndPoll(lib, agent, canisterText) {
  const { IDL } = lib.candid;
  const canisterId = lib.principal.Principal.fromText(canisterText);
  const { requestId, response } = await agent.call(canisterId, {
    methodName: 'inc',
    arg: new Uint8Array(IDL.encode([], [])),
    callSync: false,
  });
  const polled = await lib.agent.pollForResponse(agent, canisterId, requestId);
  const [value] = IDL.decode([IDL.Nat], polled.reply);
  return { http_status: response.status, value: value.toString() };
}

// Create a canister the way tools that name no canister do: effective canister id aaaaa-aa,
// synchronously (v3) and asynchronously (v2 call, then polling read_state at aaaaa-aa).
export async function createOnManagementId(lib, agent, cycles) {
  const { IDL } = lib.candid;
  const { Principal } = lib.principal;
  const mgmt = managementActor(lib, agent, { anyCanister: 'aaaaa-aa' });
  const { canister_id } = await mgmt.provisional_create_canister_with_cycles({
    amount: [BigInt(cycles)],
    settings: [],
    specified_id: [],
  });
  const management = Principal.fromHex('');
  const argTypes = [
    IDL.Record({
      amount: IDL.Opt(IDL.Nat),
      settings: IDL.Opt(IDL.Reserved),
      specified_id: IDL.Opt(IDL.Principal),
    }),
  ];
  const { requestId, response } = await agent.call(management, {
    methodName: 'provisional_create_canister_with_cycles',
    arg: new Uint8Array(IDL.encode(argTypes, [{ amount: [BigInt(cycles)], settings: [], specified_id: [] }])),
    effectiveCanisterId: management,
    callSync: false,
  });
  const polled = await lib.agent.pollForResponse(agent, management, requestId);
  const [created] = IDL.decode([IDL.Record({ canister_id: IDL.Principal })], polled.reply);
  return {
    sync: canister_id.toText(),
    async_status: response.status,
    async: created.canister_id.toText(),
  };
}
