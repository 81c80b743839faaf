// Shared I/O for the interop scripts: read one JSON document (argv[2] or stdin), print one.
// Bytes travel as lowercase hex strings; bigints as decimal strings.

export function hex(bytes) {
  return Buffer.from(bytes).toString('hex');
}

export function unhex(text) {
  return new Uint8Array(Buffer.from(text, 'hex'));
}

export async function readInput() {
  if (process.argv.length > 2) {
    return JSON.parse(process.argv[2]);
  }
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text.trim() ? JSON.parse(text) : {};
}

export function writeOutput(value) {
  process.stdout.write(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
  process.stdout.write('\n');
}

export function errorText(error) {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
