// Principals through @dfinity/principal 3.4.3.
//
// Input:  {"texts": [text…], "bytes": [hex…], "der_keys": [hex…]}
// Output: {"from_text": [{"bytes": hex, "text": text} | {"error": text}…],
//          "from_bytes": [{"text": text} | {"error": text}…],
//          "self_authenticating": [{"bytes": hex, "text": text}…],
//          "anonymous": {...}, "management_canister": {...}}
import { Principal } from '@dfinity/principal';
import { errorText, hex, readInput, unhex, writeOutput } from './_io.mjs';

function both(p) {
  return { bytes: hex(p.toUint8Array()), text: p.toText() };
}

function attempt(fn) {
  try {
    return fn();
  } catch (error) {
    return { error: errorText(error) };
  }
}

const input = await readInput();
writeOutput({
  from_text: (input.texts ?? []).map(t => attempt(() => both(Principal.fromText(t)))),
  from_bytes: (input.bytes ?? []).map(b =>
    attempt(() => ({ text: Principal.fromUint8Array(unhex(b)).toText() })),
  ),
  self_authenticating: (input.der_keys ?? []).map(k =>
    both(Principal.selfAuthenticating(unhex(k))),
  ),
  anonymous: both(Principal.anonymous()),
  management_canister: both(Principal.managementCanister()),
});
