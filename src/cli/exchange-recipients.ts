/**
 * `npm run exchange-recipients -- <command>`: the registry of receiving organizations of encrypted
 * exchange (issue 9), kept in `DATA_DIR/exchange/recipients.json`. A running server sees changes
 * at its next request.
 *
 *   list                                   the registered recipients and the key used for each
 *   add <id> <jwks.json> [--name <text>]   register (or replace) a recipient's public JWKS
 *   remove <id>                            unregister a recipient
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config.js';
import { encryptionKeyOf, readRecipients, writeRecipients, type RecipientEntry } from '../crypto/recipients.js';

const rootDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const USAGE = 'Usage: npm run exchange-recipients -- list | add <id> <jwks.json> [--name <text>] | remove <id>';

async function main(args: string[]): Promise<void> {
  const [command, ...rest] = args.filter((a) => a !== '--');
  const file = loadConfig(process.env, rootDir).crypto.recipientsFile;
  const registry = await readRecipients(file);
  if (command === 'list') {
    for (const r of registry.recipients) {
      const key = encryptionKeyOf(r.jwks, r.id);
      process.stdout.write(`${r.id}\t${r.name ?? ''}\t${String(key.kty)} ${String(key.kid ?? '(no kid)')}\n`);
    }
    return;
  }
  if (command === 'add' && rest.length >= 2) {
    const [id, jwksFile, ...options] = rest;
    const nameAt = options.indexOf('--name');
    const name = nameAt >= 0 ? options[nameAt + 1] : undefined;
    const jwks = JSON.parse(await readFile(path.resolve(jwksFile), 'utf8')) as RecipientEntry['jwks'];
    const entry: RecipientEntry = { id, ...(name ? { name } : {}), jwks };
    await writeRecipients(file, { recipients: [...registry.recipients.filter((r) => r.id !== id), entry] });
    process.stderr.write(`Registered recipient '${id}' in ${file}.\n`);
    return;
  }
  if (command === 'remove' && rest.length === 1) {
    if (!registry.recipients.some((r) => r.id === rest[0])) throw new Error(`'${rest[0]}' is not registered`);
    await writeRecipients(file, { recipients: registry.recipients.filter((r) => r.id !== rest[0]) });
    process.stderr.write(`Removed recipient '${rest[0]}'.\n`);
    return;
  }
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`exchange-recipients failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
