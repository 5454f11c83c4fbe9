import type { AddressInfo } from 'node:net';
import type { Command } from 'commander';
import { openLocalKms } from './local.js';
import type { GlobalOptions } from './local.js';
import type { CredentialStore } from '../local-kms/credentials.js';
import { FileError, UsageError } from './exit.js';
import { readSmallFile } from './input.js';
import { integerOption } from './args.js';
import { displayText } from './display.js';

/**
 * The server (and its SigV4 dependencies, ~60 ms to load) only for the commands that use it:
 * every other command starts faster.
 */
const loadServer = () => import('../kms-server/server.js');

/** `export NAME=value` lines, each value quoted for POSIX shells when it needs it. */
function shellExports(vars: Record<string, string>): string {
  const quote = (v: string): string => (/^[A-Za-z0-9_./+=:@-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);
  return Object.entries(vars).map(([name, value]) => `export ${name}=${quote(value)}\n`).join('');
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Whether a listening address is this machine's loopback only (127.0.0.0/8, ::1, or 127.x mapped to IPv6). */
export function isLoopbackAddress(address: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(address) || address === '::1' || /^::ffff:127\.\d+\.\d+\.\d+$/i.test(address);
}

/** The most a policy document can be (PutPrincipalPolicy: 32,768 characters) as UTF-8 bytes. */
const MAX_POLICY_BYTES = 32_768 * 3;

/**
 * `kms policy put --file`: the document as text. Read up to one byte past the largest document
 * there can be (never a whole endless or huge input), and decoded strictly: a file that is not
 * UTF-8 is refused, not stored with U+FFFD where its bytes were. Usage errors (exit 1) naming
 * the file, before the key store is opened.
 */
function readPolicyDocument(file: string): string {
  const where = file === '-' ? 'standard input' : file;
  let bytes: Buffer;
  try {
    bytes = readSmallFile(file, '', MAX_POLICY_BYTES);
  } catch (err) {
    if (err instanceof FileError && err.code === 'EFBIG') throw new UsageError(`--file: ${where} is larger than a policy document can be (32,768 characters)`);
    throw err;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`--file: ${where} is not UTF-8 text`);
  }
}

/** `sealbox kms serve` and `sealbox kms credentials create|list|deactivate|activate|delete`. */
export function registerKms(program: Command, globals: () => GlobalOptions): void {
  const kms = program.command('kms').description('The local KMS over the AWS KMS JSON protocol, for AWS SDKs and the AWS CLI')
    .addHelpText('after', `
Examples:
  sealbox kms credentials create --description "my laptop"
  sealbox kms serve --port 4599
  aws kms create-key --endpoint-url http://127.0.0.1:4599 --region us-east-1`);

  kms.command('serve').description('Serve the local KMS on 127.0.0.1 (SigV4-authenticated); prints its URL')
    // Defaults applied in the action: given to commander, they were shown twice in --help ("(default 0: a free one) (default: 0)").
    .option('--port <n>', 'TCP port, 0-65535 (default 0: a free one)', (v: string) => integerOption(v, '--port', 0, 65535))
    .option('--host <addr>', 'interface (default 127.0.0.1: this machine only)')
    .option('--cors-origin <origin>', 'allow browser calls from this origin (repeatable, or * for any)', collect)
    .addHelpText('after', '\nExample:\n  sealbox kms serve --port 4599 --cors-origin http://localhost:5173')
    .action(async (opts: { port?: number; host?: string; corsOrigin?: string[] }) => {
      const port = opts.port ?? 0;
      const origins = opts.corsOrigin;
      const { startKmsServer } = await loadServer();
      const server = await startKmsServer({
        kms: openLocalKms(globals()),
        port,
        host: opts.host ?? '127.0.0.1',
        ...(origins ? { cors: { origins: origins.includes('*') ? '*' : origins } } : {}),
        onInternalError: (err) => process.stderr.write(`sealbox: internal error serving a request (${err instanceof Error ? err.name : 'Error'})\n`),
      });
      const local = server.kms as { region?: string; dataDir?: string; close?: () => void };
      // Ctrl-C, SIGTERM or a closed terminal stop it cleanly (connections closed, the database
      // closed and its write-ahead log checkpointed, exit 0), from before the URL is printed: a
      // client told the URL may stop it at once.
      const stop = (): void => {
        void server.close().finally(() => local.close?.());
      };
      for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, stop);
      process.stdout.write(`${server.url}\n`);
      process.stderr.write(`sealbox: local KMS (${local.dataDir}) listening on ${server.url}, every region by the request's SigV4 region (default ${local.region}); Ctrl-C stops it\n`);
      // The endpoint has no TLS (docs/security.md): off loopback, data keys and plaintext cross the network in clear.
      if (!isLoopbackAddress((server.server.address() as AddressInfo).address)) {
        process.stderr.write(`sealbox: warning: ${server.url} can be reached from other machines and has no TLS: requests and answers, data keys and plaintext included, cross the network in clear; serve on 127.0.0.1, or behind a TLS-terminating proxy you trust\n`);
      }
    });

  const creds = kms.command('credentials').description('Access keys for SigV4 clients of `sealbox kms serve`')
    .addHelpText('after', '\nExamples:\n  sealbox kms credentials create --description ci\n  sealbox kms credentials list\n  sealbox kms credentials deactivate LKIAABCDEFGHIJKLMNOP');
  creds.command('create').description('Create an access key; the secret is shown once, here, and never logged')
    .option('--principal <arn>', 'IAM principal ARN the key acts as (default: the local account root)')
    .option('--description <text>', 'what the key is for')
    .addHelpText('after', '\nExample:\n  sealbox kms credentials create --principal arn:aws:iam::111122223333:user/alice')
    .action(async (opts: { principal?: string; description?: string }) => {
      const { credentialStoreFor } = await loadServer();
      const local = openLocalKms(globals());
      try {
        const key = credentialStoreFor(local).create({
          principal: opts.principal ?? `arn:aws:iam::${local.accountId}:root`,
          ...(opts.description ? { description: opts.description } : {}),
        });
        if (globals().json) process.stdout.write(JSON.stringify({ accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey, principal: key.principal, region: local.region }, null, 2) + '\n');
        // `export` lines for `eval "$(sealbox kms credentials create)"`: the region under both names,
        // since AWS CLI v1 and older SDKs read AWS_DEFAULT_REGION and v2 and the JS SDK AWS_REGION.
        else process.stdout.write(shellExports({ AWS_ACCESS_KEY_ID: key.accessKeyId, AWS_SECRET_ACCESS_KEY: key.secretAccessKey, AWS_REGION: local.region, AWS_DEFAULT_REGION: local.region }));
      } finally {
        local.close();
      }
    });
  creds.command('list').description('List access keys (never their secrets)')
    .addHelpText('after', '\nExample:\n  sealbox --json kms credentials list')
    .action(async () => {
      const { credentialStoreFor } = await loadServer();
      const local = openLocalKms(globals(), true);
      try {
        const keys = credentialStoreFor(local).list();
        if (globals().json) process.stdout.write(JSON.stringify(keys, null, 2) + '\n');
        else for (const k of keys) process.stdout.write(`${displayText(k.accessKeyId)}  ${displayText(k.status)}  ${displayText(k.principal)}  ${displayText(k.description)}\n`);
      } finally {
        local.close();
      }
    });

  // A key whose secret leaked, or that is no longer needed: refused by a running server from its
  // next request on (the server reads the row every time), with an audit row for the change.
  const change = (done: string, fn: (store: CredentialStore, accessKeyId: string) => Record<string, unknown>) =>
    async (accessKeyId: string): Promise<void> => {
      const { credentialStoreFor } = await loadServer();
      const local = openLocalKms(globals(), true);
      let result: Record<string, unknown>;
      try {
        result = fn(credentialStoreFor(local), accessKeyId);
      } finally {
        local.close();
      }
      process.stdout.write(globals().json ? JSON.stringify({ accessKeyId, ...result }) + '\n' : `${done}\n`);
    };
  creds.command('deactivate').argument('<access-key-id>', 'the key (LKIA...)').description('Refuse an access key from now on (its requests fail as an unknown key); `activate` undoes it')
    .addHelpText('after', '\nExample:\n  sealbox kms credentials deactivate LKIAABCDEFGHIJKLMNOP')
    .action(change('access key deactivated', (store, id) => (store.setStatus(id, 'Inactive'), { status: 'Inactive' })));
  creds.command('activate').argument('<access-key-id>', 'the key (LKIA...)').description('Accept a deactivated access key again')
    .addHelpText('after', '\nExample:\n  sealbox kms credentials activate LKIAABCDEFGHIJKLMNOP')
    .action(change('access key activated', (store, id) => (store.setStatus(id, 'Active'), { status: 'Active' })));
  creds.command('delete').argument('<access-key-id>', 'the key (LKIA...)').description('Delete an access key for good')
    .addHelpText('after', '\nExample:\n  sealbox kms credentials delete LKIAABCDEFGHIJKLMNOP')
    .action(change('access key deleted', (store, id) => (store.delete(id), { deleted: true })));

  registerPolicy(kms, globals);
}

/** `sealbox kms policy put|get|list|delete`: identity policies of local principals (docs/kms-server.md). */
function registerPolicy(kms: Command, globals: () => GlobalOptions): void {
  const policy = kms.command('policy').description('Identity (IAM) policies of local principals, evaluated with key policies as AWS does')
    .addHelpText('after', '\nExamples:\n  sealbox kms policy put --principal arn:aws:iam::111122223333:user/ci --name decrypt --file policy.json\n  sealbox kms policy list --principal arn:aws:iam::111122223333:user/ci');
  const withKms = async <T>(existing: boolean, body: (local: ReturnType<typeof openLocalKms>) => Promise<T>): Promise<T> => {
    const local = openLocalKms(globals(), existing);
    try {
      return await body(local);
    } finally {
      local.close();
    }
  };
  policy.command('put').description('Attach (or replace) a policy: the key policy grammar without Principal')
    .requiredOption('--principal <arn>', 'principal of the local account (user or role ARN)')
    .requiredOption('--name <name>', 'policy name')
    .requiredOption('--file <path>', 'the policy document (JSON); - reads standard input')
    .action(async (opts: { principal: string; name: string; file: string }) => {
      const document = readPolicyDocument(opts.file);
      await withKms(false, (local) => local.putPrincipalPolicy({ Principal: opts.principal, PolicyName: opts.name, PolicyDocument: document }));
    });
  policy.command('get').description('Print a policy document')
    .requiredOption('--principal <arn>', 'principal ARN')
    .requiredOption('--name <name>', 'policy name')
    .action(async (opts: { principal: string; name: string }) => {
      const out = await withKms(true, (local) => local.getPrincipalPolicy({ Principal: opts.principal, PolicyName: opts.name }));
      process.stdout.write(`${out.PolicyDocument}\n`);
    });
  policy.command('list').description('List the policy names of a principal')
    .requiredOption('--principal <arn>', 'principal ARN')
    .action(async (opts: { principal: string }) => {
      const out = await withKms(true, (local) => local.listPrincipalPolicies({ Principal: opts.principal }));
      if (globals().json) process.stdout.write(JSON.stringify(out.PolicyNames) + '\n');
      else for (const name of out.PolicyNames) process.stdout.write(`${displayText(name)}\n`);
    });
  policy.command('delete').description('Remove a policy')
    .requiredOption('--principal <arn>', 'principal ARN')
    .requiredOption('--name <name>', 'policy name')
    .action(async (opts: { principal: string; name: string }) => {
      await withKms(true, (local) => local.deletePrincipalPolicy({ Principal: opts.principal, PolicyName: opts.name }));
    });
}
