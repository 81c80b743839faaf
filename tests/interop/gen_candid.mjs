// Candid through @dfinity/candid 3.4.3: IDL.encode of described values, IDL.decode of blobs.
//
// Types are JSON descriptions shared with the Python side (see conftest.py); a bare
// string "nat" stands for {"t": "nat"}:
//   {"t": "null"|"bool"|"nat"|"int"|"nat8"…"nat64"|"int8"…"int64"|"float32"|"float64"|
//         "text"|"reserved"|"empty"|"principal"}
//   {"t": "opt"|"vec", "of": T}   {"t": "tuple", "of": [T…]}
//   {"t": "record"|"variant", "fields": [[name, T], …]}   (a name of digits is a numeric id)
//   {"t": "func", "args": [T…], "rets": [T…], "modes": ["query"|"oneway"|"composite_query"]}
//   {"t": "service", "methods": [[name, func T], …]}
//   {"t": "rec", "name": N, "body": T}   {"t": "ref", "name": N}   (recursive types)
// Values are rendered type-directed: integers as decimal strings, floats as numbers,
// opt as [] or [v], vec nat8 as {"blob": hex}, record as an object, tuple as a list,
// variant as {tag: v}, principal as {"principal": text}, func as {"func": [text, method]},
// service as {"service": text}, null/reserved as null.
//
// Input:  {"encode": [{"types": [T…], "values": [v…]}…], "decode": [{"types": [T…], "blob": hex}…]}
// Output: {"encoded": [{"blob": hex} | {"error": text}…], "decoded": [{"values": [v…]} | {"error": text}…]}
import { IDL } from '@dfinity/candid';
import { Principal } from '@dfinity/principal';
import { errorText, hex, readInput, unhex, writeOutput } from './_io.mjs';

function label(name) {
  return /^\d+$/.test(name) ? `_${name}_` : name;
}

function norm(desc) {
  return typeof desc === 'string' ? { t: desc } : desc;
}

function buildType(desc0, env = new Map()) {
  const desc = norm(desc0);
  const simple = {
    null: IDL.Null, bool: IDL.Bool, nat: IDL.Nat, int: IDL.Int,
    nat8: IDL.Nat8, nat16: IDL.Nat16, nat32: IDL.Nat32, nat64: IDL.Nat64,
    int8: IDL.Int8, int16: IDL.Int16, int32: IDL.Int32, int64: IDL.Int64,
    float32: IDL.Float32, float64: IDL.Float64, text: IDL.Text,
    reserved: IDL.Reserved, empty: IDL.Empty, principal: IDL.Principal,
  };
  if (desc.t in simple) {
    return simple[desc.t];
  }
  const sub = d => buildType(d, env);
  switch (desc.t) {
    case 'opt':
      return IDL.Opt(sub(desc.of));
    case 'vec':
      return IDL.Vec(sub(desc.of));
    case 'tuple':
      return IDL.Tuple(...desc.of.map(sub));
    case 'record':
      return IDL.Record(Object.fromEntries(desc.fields.map(([n, t]) => [label(n), sub(t)])));
    case 'variant':
      return IDL.Variant(Object.fromEntries(desc.fields.map(([n, t]) => [label(n), sub(t)])));
    case 'func':
      return IDL.Func(desc.args.map(sub), desc.rets.map(sub), desc.modes ?? []);
    case 'service':
      return IDL.Service(Object.fromEntries(desc.methods.map(([n, t]) => [n, sub(t)])));
    case 'rec': {
      const rec = IDL.Rec();
      const inner = new Map(env);
      inner.set(desc.name, { rec, desc: desc.body });
      rec.fill(buildType(desc.body, inner));
      return rec;
    }
    case 'ref':
      return env.get(desc.name).rec;
    default:
      throw new Error(`unknown type ${desc.t}`);
  }
}

function resolve(desc, env) {
  desc = norm(desc);
  while (desc.t === 'rec' || desc.t === 'ref') {
    if (desc.t === 'rec') {
      env = new Map(env);
      env.set(desc.name, { desc: desc.body });
      desc = norm(desc.body);
    } else {
      desc = norm(env.get(desc.name).desc);
    }
  }
  return [desc, env];
}

const BIG = new Set(['nat', 'int', 'nat64', 'int64']);
const SMALL = new Set(['nat8', 'nat16', 'nat32', 'int8', 'int16', 'int32']);

// JSON rendering → agent-js value.
function toJs(desc0, v, env0 = new Map()) {
  const [desc, env] = resolve(desc0, env0);
  const t = desc.t;
  if (BIG.has(t)) return BigInt(v);
  if (SMALL.has(t)) return Number(v);
  switch (t) {
    case 'null': case 'reserved': return null;
    case 'bool': case 'float32': case 'float64': case 'text': return v;
    case 'principal': return Principal.fromText(v.principal);
    case 'opt': return v.length ? [toJs(desc.of, v[0], env)] : [];
    case 'vec':
      if (norm(desc.of).t === 'nat8') return unhex(v.blob);
      return v.map(x => toJs(desc.of, x, env));
    case 'tuple': return desc.of.map((d, i) => toJs(d, v[i], env));
    case 'record':
      return Object.fromEntries(desc.fields.map(([n, d]) => [label(n), toJs(d, v[n], env)]));
    case 'variant': {
      const [tag] = Object.keys(v);
      const [, d] = desc.fields.find(([n]) => n === tag);
      return { [label(tag)]: toJs(d, v[tag], env) };
    }
    case 'func': return [Principal.fromText(v.func[0]), v.func[1]];
    case 'service': return Principal.fromText(v.service);
    default: throw new Error(`no value of type ${t}`);
  }
}

// agent-js value → JSON rendering.
function render(desc0, v, env0 = new Map()) {
  const [desc, env] = resolve(desc0, env0);
  const t = desc.t;
  if (BIG.has(t) || SMALL.has(t)) return BigInt(v).toString();
  switch (t) {
    case 'null': case 'reserved': return null;
    case 'bool': case 'float32': case 'float64': case 'text': return v;
    case 'principal': return { principal: v.toText() };
    case 'opt': return v.length ? [render(desc.of, v[0], env)] : [];
    case 'vec':
      if (norm(desc.of).t === 'nat8') return { blob: hex(v) };
      return Array.from(v, x => render(desc.of, x, env));
    case 'tuple': return desc.of.map((d, i) => render(d, v[i], env));
    case 'record':
      return Object.fromEntries(desc.fields.map(([n, d]) => [n, render(d, v[label(n)], env)]));
    case 'variant': {
      const [key] = Object.keys(v);
      const [n, d] = desc.fields.find(([name]) => label(name) === key);
      return { [n]: render(d, v[key], env) };
    }
    case 'func': return { func: [v[0].toText(), v[1]] };
    case 'service': return { service: v.toText() };
    default: throw new Error(`no value of type ${t}`);
  }
}

const input = await readInput();
const encoded = (input.encode ?? []).map(({ types, values }) => {
  try {
    const idl = types.map(d => buildType(d));
    const js = types.map((d, i) => toJs(d, values[i]));
    return { blob: hex(IDL.encode(idl, js)) };
  } catch (error) {
    return { error: errorText(error) };
  }
});
const decoded = (input.decode ?? []).map(({ types, blob }) => {
  try {
    const idl = types.map(d => buildType(d));
    const values = IDL.decode(idl, unhex(blob));
    return { values: types.map((d, i) => render(d, values[i])) };
  } catch (error) {
    return { error: errorText(error) };
  }
});
writeOutput({ encoded, decoded });
