// Certificate verification by @dfinity/agent 3.4.3's own `Certificate.create`.
//
// Input:  {"cases": [{"certificate": hex, "root_key": hex (DER), "canister_id": text,
//                     "paths": [[hex label, …], …], "disable_time_verification"?: bool}]}
// Output: {"results": [{"verified": bool, "error": text|null,
//                       "lookups": [{"status": "Found"|"Absent"|"Unknown"|"Error",
//                                    "value": hex|null}]}]}
// Lookups run on the decoded certificate (verified or not), through `lookup_path` and
// `lookupResultToBuffer`, as agent code reads certified values.
import { Certificate, lookupResultToBuffer } from '@dfinity/agent';
import { Principal } from '@dfinity/principal';
import { errorText, hex, readInput, unhex, writeOutput } from './_io.mjs';

async function check(c) {
  const options = {
    certificate: unhex(c.certificate),
    rootKey: unhex(c.root_key),
    canisterId: Principal.fromText(c.canister_id),
    disableTimeVerification: c.disable_time_verification ?? false,
  };
  let verified = false;
  let error = null;
  try {
    await Certificate.create(options);
    verified = true;
  } catch (e) {
    error = errorText(e);
  }
  let lookups = [];
  try {
    const cert = Certificate.createUnverified(options);
    lookups = (c.paths ?? []).map(path => {
      const result = cert.lookup_path(path.map(unhex));
      const value = lookupResultToBuffer(result);
      return { status: result.status, value: value === undefined ? null : hex(value) };
    });
  } catch (e) {
    error = error ?? errorText(e);
  }
  return { verified, error, lookups };
}

const input = await readInput();
const results = [];
for (const c of input.cases) {
  results.push(await check(c));
}
writeOutput({ results });
